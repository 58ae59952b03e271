"""Command-line front end for building and inspecting LMDB stores.

``ocr lmdb create FORMAT SRC OUT [--crops] [--split-val F --seed S]`` and
``ocr lmdb inspect PATH [--grid PNG] [-n N] [--charset SPEC]``; ``tools/make_lmdb.py`` is the
``create`` command on its own.
"""
from __future__ import annotations

import argparse
import sys

from .converters import FORMATS, convert


def add_create_args(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Arguments of ``create`` (shared with tools/make_lmdb.py)."""
    p.add_argument("format", choices=sorted(FORMATS), metavar="FORMAT",
                   help="; ".join(f"{k}: {v.doc}" for k, v in FORMATS.items()))
    p.add_argument("src", metavar="SRC", help="dataset folder (or the labels.tsv file for tsv)")
    p.add_argument("out", metavar="OUT", help="output LMDB folder (OUT/train + OUT/val with --split-val)")
    p.add_argument("--crops", action="store_true",
                   help="cut rectified word/line crops into a recognition store (skips ###)")
    p.add_argument("--crop-level", choices=("auto", "words", "lines"), default="auto",
                   help="instances to crop; auto = words when present, else lines")
    p.add_argument("--split-val", type=float, default=None, metavar="FRACTION",
                   help="hold out this fraction of source images as OUT/val")
    p.add_argument("--seed", type=int, default=0, help="seed of the --split-val shuffle")
    p.add_argument("--overwrite", action="store_true", help="replace an existing store")
    p.add_argument("--quiet", action="store_true", help="do not print per-file warnings")
    return p


def add_inspect_args(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Arguments of ``inspect``."""
    p.add_argument("path", metavar="PATH", help="LMDB folder")
    p.add_argument("--grid", metavar="PNG", default=None, help="write a grid of samples here")
    p.add_argument("-n", type=int, default=32, help="samples in the grid")
    p.add_argument("--charset", default=None, help="charset spec to check coverage against")
    return p


def add_lmdb_args(subparsers) -> argparse.ArgumentParser:
    """Register ``lmdb create|inspect`` on a parent CLI's subparsers; sets ``func=run_lmdb``."""
    p = subparsers.add_parser("lmdb", help="build or inspect LMDB stores")
    sub = p.add_subparsers(dest="lmdb_cmd", required=True)
    add_create_args(sub.add_parser("create", help="convert a dataset folder into an LMDB"))
    add_inspect_args(sub.add_parser("inspect", help="summarise a store, optionally draw a grid"))
    p.set_defaults(func=run_lmdb)
    return p


def run_create(args) -> int:
    """Run a conversion and print one summary line per store written."""
    try:
        reports = convert(args.format, args.src, args.out, crops=args.crops,
                          split_val=args.split_val, seed=args.seed, level=args.crop_level,
                          overwrite=args.overwrite, quiet=args.quiet)
    except (ValueError, FileNotFoundError, FileExistsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for name, rep in reports.items():
        where = args.out if name == "all" else f"{args.out}/{name}"
        counts = ", ".join(f"{k}={v}" for k, v in rep.as_dict().items())
        print(f"{where}: {counts}")
    return 0


def run_inspect(args) -> int:
    """Print the summary of a store (and write the grid)."""
    from .inspect_lmdb import inspect, print_summary
    from .lmdb_store import LmdbError
    try:
        summary = inspect(args.path, grid_png=args.grid, n=args.n, charset=args.charset)
    except (LmdbError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print_summary(summary)
    return 0


def run_lmdb(args) -> int:
    """Dispatch ``lmdb create`` / ``lmdb inspect``."""
    return run_create(args) if args.lmdb_cmd == "create" else run_inspect(args)


def main(argv=None) -> int:
    """``make_lmdb.py FORMAT SRC OUT ...``"""
    p = add_create_args(argparse.ArgumentParser(description="Convert a dataset folder into an LMDB."))
    return run_create(p.parse_args(argv))
