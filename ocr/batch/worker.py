"""The Ray Data actor of ``ocr batch``: one loaded ``Reader`` that turns a batch of inputs into results.

Each input gives one output row ``{"name", "pages"}`` where ``pages`` is the JSON list of the
``ocr read --format json`` objects of its pages (one, or one per TIFF page). An input that
cannot be fetched or read gives its error object there: a bad file never fails the job.
"""
from __future__ import annotations

import json

import numpy as np


class PageReader:
    """Holds one ``Reader`` (models loaded once per actor) and reads batches of ``{"name", "uri", "error"}``.

    ``threads``: PyTorch CPU threads (its CPUs). Results equal ``ocr read`` run with as many threads;
    with another count, floating-point sums are ordered differently and a score may differ in its
    fourth decimal."""

    def __init__(self, reader_kwargs: dict, threads: int = 1):
        import torch

        from ocr.api import Reader
        from ocr.read_cli import _quiet_decoders

        torch.set_num_threads(threads)
        _quiet_decoders()
        self.reader = Reader(**reader_kwargs)
        self.reader.detector, self.reader.recognizer  # load now, not on the first batch

    def __call__(self, batch: dict) -> dict:
        names = [str(n) for n in batch["name"]]
        results = [self._read(n, str(u), e) for n, u, e in zip(names, batch["uri"], batch["error"])]
        return {"name": np.array(names, dtype=object), "pages": np.array(results, dtype=object)}

    def _read(self, name: str, uri: str, error) -> str:
        from ocr.data.images import ImageError
        from ocr.intake import pages_from_bytes, read_pages

        if isinstance(error, str) and error:
            return json.dumps([{"image": name, "error": error}], ensure_ascii=False)
        try:
            pages = read_pages(self.reader, pages_from_bytes(fetch(uri, name), name))
            return json.dumps([p.to_dict() for p in pages], ensure_ascii=False)
        except ImageError as e:
            return json.dumps([{"image": name, "error": " ".join(str(e).split())}], ensure_ascii=False)
        except Exception as e:  # never fail the job over one input
            return json.dumps([{"image": name, "error": f"{name}: {e.__class__.__name__}: {e}"}],
                              ensure_ascii=False)


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
