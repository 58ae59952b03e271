"""The Ray Data actor of ``ocr batch``: one loaded ``Reader`` that turns a batch of inputs into results.

A dataset row is a chunk of inputs, read together as ``ocr read`` reads its chunks of 8 (recognition
batched across their pages), so that a fresh run gives exactly the rows of ``ocr read``. Each input
gets the list of the ``ocr read --format json`` objects of its pages (one, or one per TIFF page).
An input that cannot be fetched or read gets its error object there: a bad file never fails the job.
"""
from __future__ import annotations

import json

import numpy as np


class PageReader:
    """Holds one ``Reader`` (models loaded once per actor) and reads chunks of ``{"name", "uri", "error"}``.

    ``threads``: CPU threads of PyTorch and ONNX Runtime (its CPUs). Texts and polygons equal
    ``ocr read``'s; a score may differ in its fourth decimal, since floating-point sums are ordered
    by the thread count and, in ONNX Runtime, by the shape of the batch a crop is read in."""

    def __init__(self, reader_kwargs: dict, threads: int = 1):
        from ocr.api import Reader
        from ocr.read_cli import _quiet_decoders
        from ocr.runtime.onnx_session import limit_threads

        limit_threads(threads)
        _quiet_decoders()
        self.reader = Reader(**reader_kwargs)
        self.reader.detector, self.reader.recognizer  # load now, not on the first batch

    def __call__(self, batch: dict) -> dict:
        """Rows ``{"inputs": JSON list of inputs}`` -> rows ``{"results": JSON list, per input, of its pages}``."""
        results = []
        for chunk in batch["inputs"]:
            decoded = [self._decode(r["name"], r["uri"], r["error"]) for r in json.loads(chunk)]
            results.append(json.dumps(self._read(decoded), ensure_ascii=False))
        return {"results": np.array(results, dtype=object)}

    @staticmethod
    def _decode(name: str, uri: str, error) -> list:
        """An input's pages ``[(name, image)]``, or its error object ``[{"image", "error"}]``."""
        from ocr.data.images import ImageError
        from ocr.intake import pages_from_bytes

        if error:
            return [{"image": name, "error": error}]
        try:
            return pages_from_bytes(fetch(uri, name), name)
        except ImageError as e:
            return [{"image": name, "error": " ".join(str(e).split())}]
        except Exception as e:  # never fail the job over one input
            return [{"image": name, "error": f"{name}: {e.__class__.__name__}: {e}"}]

    def _read(self, decoded: list[list]) -> list[list[dict]]:
        """Every good page of the chunk read together, as ``ocr read`` reads a chunk (recognition
        batched across them); then the pages of each input, in order."""
        from ocr.intake import read_pages

        good = [p for pages in decoded for p in pages if isinstance(p, tuple)]
        try:
            done = iter(read_pages(self.reader, good))
        except Exception as e:  # one input broke the chunk: read each on its own
            if len(decoded) == 1:
                return [[{"image": n, "error": f"{n}: {e.__class__.__name__}: {e}"} for n, _ in good]]
            return [r for pages in decoded for r in self._read([pages])]
        return [[next(done).to_dict() if isinstance(p, tuple) else p for p in pages] for pages in decoded]


def fetch(uri: str, name: str) -> bytes:
    """The bytes of a local path or filesystem URI; ImageError naming ``name`` when it cannot be read."""
    from ocr.batch.sources import filesystem
    from ocr.data.images import ImageError

    try:
        fs, path = filesystem(uri)
        with fs.open_input_stream(path) as f:
            return f.read()
    except (OSError, ValueError) as e:
        raise ImageError(f"{name}: cannot read ({getattr(e, 'strerror', None) or e})") from None
