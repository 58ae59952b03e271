"""``ocr read --format hocr|alto|pdf``: pages gathered into documents and written out.

The pages of one input file (a multi-page PDF or TIFF) make one document. ``--out-dir DIR`` writes
one file per document (``DIR/NNNNN_name.hocr|.xml|.pdf``); otherwise every page goes into one
document, written to ``--output FILE`` or standard output (a PDF only when it is not a terminal).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from ocr.export import export
from ocr.export.pdf import jpeg

SUFFIX = {"hocr": ".hocr", "alto": ".xml", "pdf": ".pdf"}


class DocumentOutput:
    """Collects ``(page, item)`` in input order and writes documents in ``fmt``."""

    def __init__(self, fmt: str, output: str | None = None, out_dir: str | None = None, bar=None):
        if output and out_dir:
            raise ValueError("give --output or --out-dir, not both")
        if fmt == "pdf" and not (output or out_dir) and sys.stdout.isatty():
            raise ValueError("--format pdf writes binary data: give --output FILE or --out-dir DIR, "
                             "or redirect standard output")
        self.fmt, self.output, self.out_dir, self.bar = fmt, output, out_dir, bar
        self.pages, self.images, self.dpis = [], [], []
        self.doc_key, self.count = None, 0

    def write(self, page, item=None) -> None:
        """Add a page (failed pages are left out, as their error is reported elsewhere)."""
        key = getattr(item, "path", None) or page.image
        if self.out_dir and key != self.doc_key and self.pages:
            self._flush()
        self.doc_key = key
        if page.error is not None:
            return
        self.pages.append(page)
        if self.fmt == "pdf":
            from ocr.pipeline.inputs import load_item_dpi

            img, dpi = load_item_dpi(item)
            self.images.append(jpeg(img))
            self.dpis.append(dpi)

    def advance(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        """Write what is left (the single document, or the last one of ``--out-dir``)."""
        if self.bar is not None:
            self.bar.close()
        if self.pages or not (self.out_dir or self.fmt == "pdf"):  # no PDF without pages
            self._flush()

    def _flush(self) -> None:
        data = export(self.pages, self.fmt, images=self.images, dpi=self.dpis)
        data = data if isinstance(data, bytes) else data.encode("utf-8")
        if self.out_dir:
            self.count += 1
            path = _doc_path(self.out_dir, self.pages[0].image, self.count, SUFFIX[self.fmt])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        elif self.output:
            Path(self.output).write_bytes(data)
        else:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        self.pages, self.images, self.dpis = [], [], []


def _doc_path(folder: str, name: str, index: int, suffix: str) -> Path:
    base = re.sub(r"[^\w.-]+", "_", Path(name.split("#")[0]).stem) or "document"
    return Path(folder) / f"{index:05d}_{base}{suffix}"
