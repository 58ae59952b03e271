"""Evaluate a model on LMDBs: ``python tools/eval.py --model CKPT_OR_NAME --data LMDB...``."""
import sys

from ocr.cli import main

if __name__ == "__main__":
    sys.exit(main(["eval", *sys.argv[1:]]))
