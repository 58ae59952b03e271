"""Inspect an LMDB store: counts, label-length histogram, charset coverage and a PNG grid.

Recognition stores: labels drawn under each crop. Detection/page stores (``ocr-det-v1``):
polygons drawn on each image, words green, don't-care red, lines blue.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..text.charset import Charset, load_charset
from .lmdb_store import DET_SCHEMA, LmdbReader

GREEN, RED, BLUE = (0, 200, 0), (0, 0, 255), (255, 80, 0)
COLS = 4
REC_CELL = (256, 64)
DET_CELL = (384, 384)
TEXT_H = 20


def _charset(spec) -> Charset | None:
    if spec is None or isinstance(spec, Charset):
        return spec
    return load_charset(spec)


def _coverage(texts: list[str], charset: Charset | None) -> dict:
    """Character statistics; with a charset, the characters it lacks and how often they occur."""
    chars = Counter(c for t in texts for c in t)
    out = {"distinct_chars": len(chars), "total_chars": sum(chars.values())}
    if charset is not None:
        unknown = Counter(c for t in texts for c in charset.unknown(t))
        covered = sum(1 for t in texts if not charset.unknown(t))
        out.update(charset=charset.name, outside_charset=dict(unknown.most_common()),
                   labels_fully_covered=covered)
    return out


def _rec_summary(reader: LmdbReader, charset) -> dict:
    labels = reader.labels()
    present = [lab for lab in labels if lab is not None]
    return {"kind": "rec", "num_samples": len(reader), "missing_labels": len(labels) - len(present),
            "label_length_hist": dict(sorted(Counter(len(t) for t in present).items())),
            **_coverage(present, charset)}


def _det_annotations(reader: LmdbReader) -> tuple[list[dict], int]:
    anns, bad = [], 0
    for text in reader.labels():
        try:
            anns.append(json.loads(text) if text is not None else None)
        except json.JSONDecodeError:
            anns.append(None)
        bad += anns[-1] is None
    return anns, bad


def _det_summary(reader: LmdbReader, charset) -> dict:
    anns, bad = _det_annotations(reader)
    out = {"kind": "det", "num_samples": len(reader), "bad_annotations": bad,
           "pages_with_text": sum(1 for a in anns if a and a.get("text"))}
    texts, points = [], Counter()
    for level in ("words", "lines"):
        insts = [i for a in anns if a for i in a.get(level) or []]
        out[f"{level}"] = len(insts)
        out[f"{level}_ignore"] = sum(1 for i in insts if i.get("ignore"))
        out[f"images_with_{level}"] = sum(1 for a in anns if a and a.get(level))
        points.update(len(i.get("polygon") or []) for i in insts)
        texts += [i.get("text", "") for i in insts if not i.get("ignore")]
    out["points_per_polygon"] = dict(sorted(points.items()))
    out["label_length_hist"] = dict(sorted(Counter(len(t) for t in texts).items()))
    out.update(_coverage(texts, charset))
    return out


def _font(size: int = 14):
    for name in ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "Lato-Regular.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def _decode(data: bytes) -> np.ndarray:
    from .images import native_messages_silenced

    with native_messages_silenced():
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:  # undecodable sample: a grey cell with a red cross
        img = np.full((32, 32, 3), 128, np.uint8)
        cv2.line(img, (0, 0), (31, 31), RED, 2)
        cv2.line(img, (31, 0), (0, 31), RED, 2)
    return img


def _fit(img: np.ndarray, cell: tuple[int, int]) -> tuple[np.ndarray, float]:
    s = min((cell[0] - 4) / img.shape[1], (cell[1] - 4) / img.shape[0])
    size = (max(1, int(round(img.shape[1] * s))), max(1, int(round(img.shape[0] * s))))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR), s


def _draw_polygons(img: np.ndarray, ann: dict, scale: float) -> None:
    for level, color in (("lines", BLUE), ("words", GREEN)):
        for inst in ann.get(level) or []:
            pts = np.asarray(inst.get("polygon") or [], np.float64).reshape(-1, 2) * scale
            if len(pts) >= 2:
                c = RED if inst.get("ignore") else color
                cv2.polylines(img, [np.round(pts).astype(np.int32)], True, c, 1, cv2.LINE_AA)


def _cell(data: bytes, label: str, kind: str, index: int) -> tuple[np.ndarray, str]:
    """One grid cell (BGR, without its caption) and its caption."""
    size = REC_CELL if kind == "rec" else DET_CELL
    canvas = np.full((size[1], size[0], 3), 255, np.uint8)
    img, scale = _fit(_decode(data), size)
    if kind == "det":
        try:
            ann = json.loads(label)
        except json.JSONDecodeError:
            ann = {}
        _draw_polygons(img, ann, scale)
        caption = (f"#{index} {ann.get('width')}x{ann.get('height')} "
                   f"w={len(ann.get('words') or [])} l={len(ann.get('lines') or [])}")
    else:
        caption = f"#{index} {label}"
    y, x = (size[1] - img.shape[0]) // 2, (size[0] - img.shape[1]) // 2
    canvas[y:y + img.shape[0], x:x + img.shape[1]] = img
    return canvas, caption


def _clip(text: str, font, width: int) -> str:
    """Shorten a caption with an ellipsis so that it fits ``width`` pixels."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def write_grid(reader: LmdbReader, png, n: int = 32) -> list[int]:
    """Draw ``n`` evenly spaced samples into a PNG grid; returns the sample indices drawn."""
    kind = "det" if reader.schema == DET_SCHEMA else "rec"
    total = len(reader)
    idx = sorted(set(np.linspace(1, total, min(n, total)).round().astype(int).tolist())) if total else []
    cw, ch = REC_CELL if kind == "rec" else DET_CELL
    rows = max(1, (len(idx) + COLS - 1) // COLS)
    grid = np.full((rows * (ch + TEXT_H), COLS * cw, 3), 230, np.uint8)
    captions = []
    for k, i in enumerate(idx):
        data, label = reader.get(i)
        cell, cap = _cell(data, label, kind, i)
        y, x = (k // COLS) * (ch + TEXT_H), (k % COLS) * cw
        grid[y:y + ch, x + 1:x + cw - 1] = cell[:, 1:-1]
        captions.append(((x + 4, y + ch + 1), cap))
    pil = Image.fromarray(cv2.cvtColor(grid, cv2.COLOR_BGR2RGB))
    draw, font = ImageDraw.Draw(pil), _font()
    for (x, y), cap in captions:
        draw.text((x, y), _clip(cap, font, cw - 8), fill=(0, 0, 0), font=font)
    Path(png).parent.mkdir(parents=True, exist_ok=True)
    pil.save(str(png))
    return idx


def inspect(path, grid_png=None, n: int = 32, charset=None) -> dict:
    """Summary of a store (see module doc); writes a PNG grid of ``n`` samples when asked."""
    reader = LmdbReader(path)
    cs = _charset(charset)
    summary = _det_summary(reader, cs) if reader.schema == DET_SCHEMA else _rec_summary(reader, cs)
    summary.update(path=str(path), schema=reader.schema)
    if grid_png:
        summary["grid"] = str(grid_png)
        summary["grid_indices"] = write_grid(reader, grid_png, n)
    return summary


def _hist_line(hist: dict, limit: int = 30) -> str:
    items = list(hist.items())
    text = " ".join(f"{k}:{v}" for k, v in items[:limit])
    return text + (f" ... (+{len(items) - limit} more)" if len(items) > limit else "")


def print_summary(s: dict, file=None) -> None:
    """Human-readable summary of :func:`inspect`'s dict."""
    out = lambda *a: print(*a, file=file)  # noqa: E731
    out(f"{s['path']}: {s['kind']} store, {s['num_samples']} samples (schema={s.get('schema')})")
    if s["kind"] == "det":
        for level in ("words", "lines"):
            out(f"  {level}: {s[level]} ({s[f'{level}_ignore']} ignore) "
                f"in {s[f'images_with_{level}']} images")
        out(f"  pages with text: {s['pages_with_text']}, bad annotations: {s['bad_annotations']}")
        out(f"  points per polygon: {_hist_line(s['points_per_polygon'])}")
    elif s.get("missing_labels"):
        out(f"  missing labels: {s['missing_labels']}")
    out(f"  label length: {_hist_line(s['label_length_hist'])}")
    out(f"  chars: {s['distinct_chars']} distinct, {s['total_chars']} total")
    if "charset" in s:
        extra = " ".join(f"{c!r}:{k}" for c, k in list(s["outside_charset"].items())[:40])
        out(f"  outside {s['charset']}: {extra or 'none'}; fully covered labels: {s['labels_fully_covered']}")
    if "grid" in s:
        out(f"  grid: {s['grid']} ({len(s['grid_indices'])} samples)")
