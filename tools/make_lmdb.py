#!/usr/bin/env python3
"""Convert a dataset folder into an LMDB store (see ``ocr.data.lmdb_cli``).

    python tools/make_lmdb.py FORMAT SRC OUT [--crops] [--split-val FRACTION --seed S]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocr.data.lmdb_cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
