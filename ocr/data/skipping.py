"""Training datasets go on past a corrupt record: it is counted, logged (the first few), and the
next readable sample takes its place."""
from __future__ import annotations

import logging
from typing import Any, Callable

from ocr.data.images import ImageError
from ocr.data.lmdb_store import LmdbError

log = logging.getLogger(__name__)
MAX_LOGGED = 10


def load_first_readable(owner, i: int, n: int, load: Callable[[int], Any], what: str) -> tuple[int, Any]:
    """``load(i)``, else ``load(i + 1)``, ... (wrapping at ``n``). Each failure increments
    ``owner.corrupt``. Returns (index used, value); raises LmdbError if nothing is readable."""
    for attempt in range(n):
        j = (i + attempt) % n
        try:
            return j, load(j)
        except (ImageError, LmdbError) as e:
            owner.corrupt += 1
            if owner.corrupt <= MAX_LOGGED:
                log.warning("skipping sample: %s", e)
    raise LmdbError(f"{what}: no readable sample")
