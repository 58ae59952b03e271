"""Document pages: SROIE receipts (line quads) and FUNSD forms (words grouped into entities).

- SROIE: ``SRC/images/NNN.jpg``, ``SRC/box/NNN.csv`` (``x1,y1,...,x4,y4,text`` per line; the text
  may hold commas), ``SRC/text/NNN.txt`` (full text in line order; optional).
  -> annotation ``lines`` + ``text``.
- FUNSD: ``SRC/images/X.png|jpg``, ``SRC/annotations/X.json`` (``form``: entities with ``box``,
  ``text``, ``words`` [{box, text}]), ``SRC/text/X.txt`` (reading order; optional).
  -> annotation ``words``, ``lines`` (one per entity, ``words`` indices) + ``text``.
Empty transcriptions are kept as ``ignore`` regions.
"""
from __future__ import annotations

import json
from pathlib import Path

from .common import (Report, SkipSample, box_polygon, det_annotation, instance,
                     load_image, make_polygon, read_text)
from .icdar import pair_items


def _with_text(src: Path, items: list[tuple]) -> list[tuple]:
    """Append the optional ``text/<stem>.txt`` path (or None) to each (image, gt) pair."""
    out = []
    for img, gt in items:
        txt = Path(src) / "text" / f"{img.stem}.txt"
        out.append((img, gt, txt if txt.is_file() else None))
    return out


def _page_text(txt: Path | None, fallback: list[str]) -> str:
    if txt is None:
        return "\n".join(t for t in fallback if t.strip())
    return read_text(txt).replace("\r\n", "\n").rstrip("\n")


def list_sroie(src: Path, report: Report) -> list[tuple]:
    """(image, box csv, text txt|None) triples."""
    return _with_text(src, pair_items(src, report, patterns=("{stem}.csv",), gt_name="box"))


def parse_sroie_line(line: str) -> dict:
    """``x1,y1,...,x4,y4,text`` -> line instance. Raises ValueError when malformed."""
    parts = line.split(",", 8)
    if len(parts) < 9:
        raise ValueError("expected 8 coordinates and a transcription")
    text = parts[8]
    return instance(make_polygon([float(v) for v in parts[:8]]), text, ignore=not text.strip())


def load_sroie(item: tuple, report: Report) -> tuple[bytes, dict]:
    """Image bytes and annotation with ``lines`` and ``text``."""
    img_path, box, txt = item
    data, img = load_image(img_path, report)
    lines = []
    for lineno, line in enumerate(read_text(box).split("\n"), 1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        try:
            lines.append(parse_sroie_line(line))
        except ValueError as e:
            report.bad_line(box, lineno, str(e))
    text = _page_text(txt, [ln["text"] for ln in lines])
    return data, det_annotation(img, lines=lines, text=text)


def list_funsd(src: Path, report: Report) -> list[tuple]:
    """(image, annotation json, text txt|None) triples."""
    return _with_text(src, pair_items(src, report, patterns=("{stem}.json",), gt_name="annotations"))


def _funsd_entity(ent: dict, words: list) -> dict:
    """One FUNSD entity -> line instance, appending its words to ``words``. Raises ValueError."""
    own = []
    for w in ent.get("words") or []:
        text = str(w.get("text", ""))
        own.append(instance(box_polygon(*map(float, w["box"])), text, ignore=not text.strip()))
    text = str(ent.get("text", ""))
    line = instance(box_polygon(*map(float, ent["box"])), text, ignore=not text.strip())
    line["words"] = list(range(len(words), len(words) + len(own)))
    words.extend(own)
    return line


def load_funsd(item: tuple, report: Report) -> tuple[bytes, dict]:
    """Image bytes and annotation with ``words``, ``lines`` (entities) and ``text``."""
    img_path, ann_path, txt = item
    try:
        form = json.loads(read_text(ann_path))["form"]
    except (ValueError, KeyError, TypeError) as e:
        raise SkipSample(f"{ann_path}: not a FUNSD annotation ({e})") from None
    data, img = load_image(img_path, report)
    words, lines = [], []
    for k, ent in enumerate(form):
        try:
            lines.append(_funsd_entity(ent, words))
        except (ValueError, KeyError, TypeError) as e:
            report.bad_line(ann_path, k, f"entity {ent.get('id', k) if isinstance(ent, dict) else k}: {e}")
    text = _page_text(txt, [ln["text"] for ln in lines])
    return data, det_annotation(img, words=words, lines=lines, text=text)
