"""How evaluation goes on past a dataset it cannot read: one line on standard error, the rest
still scored (``ocr eval`` exits 1 then)."""
from __future__ import annotations

import sys

DATASET_ERRORS = (RuntimeError, ValueError, OSError)  # LmdbError, ImageError, unreadable folders


def dataset_failed(path, error) -> int:
    """One line on standard error for a dataset that cannot be evaluated; returns 1 (a failure)."""
    msg = " ".join(str(error).split())
    print(f"ocr eval: {msg if str(path) in msg else f'{path}: {msg}'} (skipped)", file=sys.stderr)
    return 1
