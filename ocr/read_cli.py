"""``ocr read`` / ``ocr detect`` / ``ocr recognize``: inputs in, one result per input out, in order.

Output formats (standard output):

- ``text``: read: the page text in reading order (with ``==> name <==`` headers when there are
  several inputs); detect: one region per line, ``score<TAB>x,y x,y ...``; recognize: one line
  of text per crop (an empty line for a crop that failed, so lines stay aligned with inputs).
- ``json``: JSON Lines, one object per input in input order (DESIGN.md); an input that failed
  gives ``{"image", "error"}``.
- ``tsv`` (read): a header, then one row per line: ``image, line, score, text, polygon``.
- ``hocr``, ``alto``, ``pdf`` (read): documents, see ``ocr.export.writer``.

A failed input gets a one-line error on standard error and the run goes on; the exit status is 1
when any input failed, 2 when nothing could be run at all (no inputs, unusable model), else 0.
"""
from __future__ import annotations

import json
import sys

from ocr.data.images import ImageError
from ocr.pipeline.inputs import expand_inputs, load_item
from ocr.types import Page

PAGE_CHUNK = 8  # images decoded and read together (recognition is batched across them)


def run(kind: str, args) -> int:
    """Run ``ocr read|detect|recognize`` with parsed ``args``; returns the exit status."""
    from ocr.api import Reader

    _quiet_decoders()
    items = expand_inputs(args.inputs, dpi=getattr(args, "dpi", None) or 300)
    if not items:
        raise ValueError(f"no images found in {' '.join(args.inputs)}")
    optional = {k: getattr(args, k, None) for k in ("det_size", "crop_margin", "min_score")}  # None: Reader's default
    reader = Reader(det=getattr(args, "det", None), rec=getattr(args, "rec", None), device=args.device,
                    batch_size=args.batch_size, orientation=not getattr(args, "no_orientation", False),
                    beam=getattr(args, "beam", 0) or 0, lexicon=getattr(args, "lexicon", None),
                    straighten_crops=not getattr(args, "no_straighten", False),
                    reread=not getattr(args, "no_reread", False),
                    engine=getattr(args, "engine", "pipeline"), page=getattr(args, "page", None),
                    page_chunks=getattr(args, "page_chunks", None),
                    backend=getattr(args, "backend", "auto"), precision=getattr(args, "precision", "auto"),
                    **{k: v for k, v in optional.items() if v is not None})
    if kind != "detect":
        reader.check_decoding()  # an option the model cannot honour: one error before any input
    out = _output(kind, args, len(items))
    failed = 0
    chunk = args.batch_size * 4 if kind == "recognize" else PAGE_CHUNK
    try:
        for start in range(0, len(items), chunk):
            part = items[start:start + chunk]
            for offset, (item, page) in enumerate(zip(part, _process(kind, reader, part, args))):
                failed += _report(kind, page)
                out.write(page, item)
                if getattr(args, "viz", None) and page.error is None:
                    failed += _save_viz(args.viz, item, page, start + offset)
            out.advance(len(part))
    except BrokenPipeError:  # e.g. piped into head
        sys.stderr.close()
        return 1
    finally:
        out.close()
    if failed:
        print(f"ocr {kind}: {failed} of {len(items)} inputs failed", file=sys.stderr)
    return 1 if failed else 0


def _output(kind: str, args, total: int):
    """Where results go: standard output as text, or documents (hOCR, ALTO, PDF)."""
    bar = _progress(args.progress, total)
    if args.format in ("hocr", "alto", "pdf"):
        from ocr.export.writer import DocumentOutput

        return DocumentOutput(args.format, getattr(args, "output", None), getattr(args, "out_dir", None), bar)
    return _Output(kind, args.format, total > 1, bar)


def _quiet_decoders() -> None:
    """One line per bad file: the decoders' own messages are silenced (see images.quiet_decoders)."""
    from ocr.data.images import quiet_decoders

    quiet_decoders()


def _process(kind: str, reader, items, args=None) -> list[Page]:
    if kind == "read" and getattr(args, "pdf_text", "ocr") == "use":
        return _read_using_text_layers(reader, items)
    if kind == "read":
        return reader.read_batch(items, errors="return", chunk=len(items))
    if kind == "detect":
        return reader.detect_batch(items, errors="return", chunk=len(items))
    return _recognize(reader, items)


def _read_using_text_layers(reader, items) -> list[Page]:
    """PDF pages that hold text are read from their text layer; the others are OCRed."""
    from ocr.pipeline.pdf_text import text_layer_page

    pages = [text_layer_page(item) for item in items]
    rest = [item for item, page in zip(items, pages) if page is None]
    done = iter(reader.read_batch(rest, errors="return", chunk=len(rest)) if rest else [])
    return [page if page is not None else next(done) for page in pages]


def _recognize(reader, items) -> list[Page]:
    """Each crop read as one text; a Page per crop with one line (or an error)."""
    from ocr.types import Line, Word

    pages, crops, where = [], [], []
    for item in items:
        try:
            img = load_item(item)
        except ImageError as e:
            pages.append(Page(image=item.name, width=0, height=0, error=str(e)))
            continue
        h, w = img.shape[:2]
        where.append(len(pages))
        crops.append(img)
        pages.append(Page(image=item.name, width=w, height=h))
    for k, (text, conf) in zip(where, reader.recognize(crops) if crops else []):
        p = pages[k]
        box = [[0, 0], [p.width, 0], [p.width, p.height], [0, p.height]]
        p.lines = [Line(words=[Word(text, box, conf)], polygon=box, score=conf)]
    return pages


def _report(kind: str, page: Page) -> int:
    """Print a failed input's error on one line; 1 if it failed."""
    if page.error is None:
        return 0
    print(f"ocr {kind}: {' '.join(page.error.split())}", file=sys.stderr)
    return 1


def _save_viz(folder: str, item, page: Page, index: int) -> int:
    """Write the picture of one input; 1 (a failed input) when it cannot be written."""
    from ocr.pipeline.viz import save_viz, viz_path

    try:
        save_viz(load_item(item), page, viz_path(folder, item.name, index))
    except (ImageError, OSError) as e:
        print(f"ocr: --viz: {item.name}: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    return 0


def _progress(mode: str, total: int):
    """A tqdm bar on standard error, or None. ``auto``: only for several inputs on a terminal."""
    on = mode == "on" or (mode == "auto" and total > 1 and sys.stdout.isatty() and sys.stderr.isatty())
    if not on:
        return None
    from tqdm import tqdm

    return tqdm(total=total, file=sys.stderr, unit="img", dynamic_ncols=True)


class _Output:
    """Formats each Page for standard output, in the order given."""

    def __init__(self, kind: str, fmt: str, many: bool, bar):
        self.kind, self.fmt, self.many, self.bar = kind, fmt, many, bar
        self.first = True

    def write(self, page: Page, item=None) -> None:
        text = self._format(page)
        if text is None:
            return
        if self.bar is not None:
            self.bar.write(text, file=sys.stdout)
        else:
            sys.stdout.write(text + "\n")
        self.first = False

    def _format(self, page: Page) -> str | None:
        if self.fmt == "json":
            return json.dumps(self._json(page), ensure_ascii=False)
        if self.kind == "recognize":
            return "" if page.error else page.lines[0].text if page.lines else ""
        if page.error:
            return None
        if self.fmt == "tsv":
            return tsv_rows(page, header=self.first)
        body = page.text if self.kind == "read" else _regions_text(page)
        if not self.many:
            return body
        return ("" if self.first else "\n") + f"==> {page.image} <==" + ("\n" + body if body else "")

    def _json(self, page: Page) -> dict:
        if self.kind == "recognize" and page.error is None:
            line = page.lines[0] if page.lines else None
            return {"image": page.image, "text": line.text if line else "",
                    "score": round(line.score, 4) if line else 0.0}
        return page.to_dict(text=self.kind != "detect")

    def advance(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)
        sys.stdout.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _regions_text(page: Page) -> str:
    return "\n".join(f"{line.score:.3f}\t" + " ".join(f"{x:g},{y:g}" for x, y in line.polygon)
                     for line in page.lines)


def _tsv_field(text: str) -> str:
    """A field with its tabs, newlines and backslashes escaped (``\\t``, ``\\n``, ``\\r``, ``\\\\``)."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def tsv_rows(page: Page, header: bool = False) -> str:
    """TSV rows ``image, line, score, text, polygon`` (tabs and newlines in text become spaces)."""
    rows = ["image\tline\tscore\ttext\tpolygon"] if header else []
    for i, line in enumerate(page.lines):
        poly = " ".join(f"{x:g},{y:g}" for x, y in line.polygon)
        rows.append(f"{_tsv_field(page.image)}\t{i}\t{line.score:.4f}\t{' '.join(line.text.split())}\t{poly}")
    return "\n".join(rows) if rows else None
