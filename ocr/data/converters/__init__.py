"""Dataset converters: readers that yield ``(image_bytes, label)`` and the LMDB conversion driver.

Recognition formats yield a text label; detection formats yield an ``ocr-det-v1`` annotation dict
(see datasets/README.md). Each format is listed cheaply first (``list_items``), so that a
train/val split is exact and deterministic, then loaded item by item (``load``).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from ..lmdb_store import DET_SCHEMA, LmdbWriter
from . import curved, docs, icdar, tsv
from .common import Report, SkipSample
from .crops import iter_crops


@dataclass(frozen=True)
class Format:
    """A dataset format: ``kind`` is ``rec`` or ``det``."""

    name: str
    kind: str
    list_items: Callable
    load: Callable
    doc: str


FORMATS = {
    "tsv": Format("tsv", "rec", tsv.list_items, tsv.load, "folder + labels.tsv (path<TAB>label)"),
    "ic15": Format("ic15", "det", icdar.pair_items, icdar.load_ic15, "ICDAR2015 quads"),
    "ic13": Format("ic13", "det", icdar.pair_items, icdar.load_ic13, "ICDAR2013 boxes"),
    "sroie": Format("sroie", "det", docs.list_sroie, docs.load_sroie, "SROIE receipts (lines + text)"),
    "funsd": Format("funsd", "det", docs.list_funsd, docs.load_funsd, "FUNSD forms (words, lines, text)"),
    "totaltext": Format("totaltext", "det", curved.list_totaltext, curved.load_totaltext,
                        "Total-Text word polygons"),
    "ctw1500": Format("ctw1500", "det", curved.list_ctw1500, curved.load_ctw1500,
                      "CTW1500 line polygons (xml or txt)"),
}


def get_format(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown format {name!r}; choose from {', '.join(FORMATS)}") from None


def iter_named(fmt: str, items: list, report: Report) -> Iterator[tuple[str, bytes, object]]:
    """Load listed items as ``(image file name, bytes, label)``; unreadable ones are warned
    about, counted and skipped."""
    f = get_format(fmt)
    for item in items:
        try:
            data, label = f.load(item, report)
        except SkipSample as e:
            report.skipped_images += 1
            report.warn(item[0], str(e))
        else:
            yield str(item[0]), data, label


def iter_samples(fmt: str, items: list, report: Report) -> Iterator[tuple[bytes, object]]:
    """Load listed items as ``(bytes, label)`` (see :func:`iter_named`)."""
    for _, data, label in iter_named(fmt, items, report):
        yield data, label


def read_dataset(fmt: str, src, report: Report | None = None) -> Iterator[tuple[bytes, object]]:
    """All ``(image_bytes, label)`` samples of a dataset folder, in natural file order."""
    report = report if report is not None else Report()
    yield from iter_samples(fmt, get_format(fmt).list_items(Path(src), report), report)


def read_crops(fmt: str, src, report: Report | None = None, level: str = "auto"):
    """Recognition crops ``(jpeg_bytes, text)`` cut from a detection dataset."""
    report = report if report is not None else Report()
    items = get_format(fmt).list_items(Path(src), report)
    for name, data, ann in iter_named(fmt, items, report):
        yield from iter_crops(data, ann, report, level, name)


def split_items(items: list, fraction: float, seed: int) -> tuple[list, list]:
    """Deterministic (train, val) split of a listing; both keep the listing's order."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"--split-val must be between 0 and 1, got {fraction}")
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    val = set(order[:int(round(fraction * len(items)))])
    return ([it for i, it in enumerate(items) if i not in val],
            [it for i, it in enumerate(items) if i in val])


def write_store(fmt: str, items: list, out: Path, report: Report, crops: bool = False,
                level: str = "auto", overwrite: bool = False) -> Report:
    """Convert listed items into one LMDB at ``out`` (atomically)."""
    f = get_format(fmt)
    schema = DET_SCHEMA if f.kind == "det" and not crops else None
    with LmdbWriter(out, schema=schema, overwrite=overwrite) as writer:
        for name, data, label in iter_named(fmt, items, report):
            if crops:
                for crop, text in iter_crops(data, label, report, level, name):
                    writer.add(crop, text)
            else:
                writer.add(data, label)
        report.samples = writer.count
    return report


def convert(fmt: str, src, out, crops: bool = False, split_val: float | None = None, seed: int = 0,
            level: str = "auto", overwrite: bool = False, quiet: bool = False) -> dict[str, Report]:
    """Build ``out`` (or ``out/train`` + ``out/val`` with ``split_val``); returns a Report per store.
    Listing problems (malformed lines, images without gt) are counted in the train/only report."""
    f = get_format(fmt)
    if crops and f.kind != "det":
        raise ValueError(f"--crops needs a detection format, not {fmt!r}")
    src, out = Path(src), Path(out)
    if not src.exists():
        raise FileNotFoundError(f"{src}: no such dataset folder")
    report = Report(quiet=quiet)
    items = f.list_items(src, report)
    if split_val is None:
        return {"all": write_store(fmt, items, out, report, crops, level, overwrite)}
    train, val = split_items(items, split_val, seed)
    out.mkdir(parents=True, exist_ok=True)
    return {"train": write_store(fmt, train, out / "train", report, crops, level, overwrite),
            "val": write_store(fmt, val, out / "val", Report(quiet=quiet), crops, level, overwrite)}


__all__ = ["FORMATS", "Format", "Report", "SkipSample", "convert", "read_dataset", "read_crops",
           "iter_samples", "iter_named", "split_items", "write_store", "get_format"]
