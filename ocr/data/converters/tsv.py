"""Recognition folders described by a ``labels.tsv``: ``path<TAB>label`` per line, with ``path``
relative to the tsv file. Labels are kept exactly (they may hold spaces and punctuation)."""
from __future__ import annotations

from pathlib import Path

from .common import Report, SkipSample, load_image, read_text


def _tsv_path(src: Path) -> Path:
    if src.is_dir():
        src = src / "labels.tsv"
    if not src.is_file():
        raise FileNotFoundError(f"{src}: no labels.tsv")
    return src


def list_items(src: Path, report: Report) -> list[tuple]:
    """(image path, label) pairs in file order; malformed lines are warned about and counted."""
    tsv = _tsv_path(Path(src))
    items = []
    for lineno, line in enumerate(read_text(tsv).split("\n"), 1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        rel, sep, label = line.partition("\t")
        if not sep or not rel.strip():
            report.bad_line(tsv, lineno, "expected 'path<TAB>label'")
        elif not label:
            report.bad_line(tsv, lineno, "empty label")
        else:
            items.append((tsv.parent / rel.strip(), label))
    return items


def load(item: tuple, report: Report) -> tuple[bytes, str]:
    """Image bytes (verified to decode) and the label."""
    path, label = item
    data, _ = load_image(path, report)
    return data, label


def item_path(item: tuple) -> Path:
    return item[0]


__all__ = ["list_items", "load", "item_path", "SkipSample"]
