"""Output shards of ``ocr batch``: JSON Lines or Parquet files written whole, and what they already hold.

A shard is written under a temporary name and then moved to ``part-*.jsonl`` / ``part-*.parquet``,
so a shard either holds all its rows or does not exist. Rows have the fields of ``ocr read
--format json``: ``image, width, height, rotation (when the page was turned), lines`` or
``image, error``.
"""
from __future__ import annotations

import json
import os
import re
import time

from ocr.batch.sources import filesystem

FORMATS = ("jsonl", "parquet")
_PAGE_SUFFIX = re.compile(r"#page\d+$")


def _schema():
    import pyarrow as pa

    line = pa.struct([("text", pa.string()), ("score", pa.float64()),
                      ("polygon", pa.list_(pa.list_(pa.float64())))])
    return pa.schema([("image", pa.string()), ("width", pa.int32()), ("height", pa.int32()),
                      ("rotation", pa.int32()), ("lines", pa.list_(line)), ("error", pa.string())])


class ShardWriter:
    """Writes rows to ``out`` (a folder path or URI) in shards of about ``rows_per_shard`` rows."""

    def __init__(self, out: str, fmt: str, rows_per_shard: int = 1000):
        if fmt not in FORMATS:
            raise ValueError(f"output format {fmt!r}: choose one of {', '.join(FORMATS)}")
        self.fs, self.root = filesystem(out)
        self.fs.create_dir(self.root, recursive=True)
        self.fmt, self.rows_per_shard = fmt, rows_per_shard
        self.run = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
        self.rows: list[dict] = []
        self.count = 0

    def add(self, rows: list[dict]) -> None:
        """Rows of one input (kept in one shard together); a full shard is written out."""
        self.rows += rows
        if len(self.rows) >= self.rows_per_shard:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        final = f"{self.root}/part-{self.run}-{self.count:05d}.{self.fmt}"
        tmp = f"{self.root}/_tmp-{self.run}-{self.count:05d}.{self.fmt}"
        with self.fs.open_output_stream(tmp) as f:
            f.write(self._encode(self.rows))
        self.fs.move(tmp, final)
        self.rows, self.count = [], self.count + 1

    def _encode(self, rows: list[dict]) -> bytes:
        if self.fmt == "jsonl":
            return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
        import io

        import pyarrow as pa
        import pyarrow.parquet as pq

        buf = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows, schema=_schema()), buf)
        return buf.getvalue()


def shard_paths(out: str) -> list[str]:
    """The finished shards in ``out`` (none when it does not exist)."""
    from pyarrow import fs as pafs

    fs, root = filesystem(out)
    if fs.get_file_info(root).type != pafs.FileType.Directory:
        return []
    infos = fs.get_file_info(pafs.FileSelector(root, recursive=False))
    return sorted(f.path for f in infos if f.base_name.startswith("part-") and f.extension in FORMATS)


def read_rows(out: str) -> list[dict]:
    """Every row of every finished shard in ``out`` (Parquet nulls dropped, as JSON Lines has them)."""
    fs, _ = filesystem(out)
    return [row for path in shard_paths(out) for row in _read_shard(fs, path)]


def done_inputs(out: str) -> set[str]:
    """Names of the inputs already written to ``out`` (a TIFF page counts for its file)."""
    fs, _ = filesystem(out)
    images = [row["image"] for path in shard_paths(out) for row in _read_shard(fs, path, ["image"])]
    return set(images) | {_PAGE_SUFFIX.sub("", n) for n in images}


def _read_shard(fs, path: str, columns: list[str] | None = None) -> list[dict]:
    with fs.open_input_file(path) as f:
        data = f.read()
    if path.endswith(".jsonl"):
        return [json.loads(line) for line in data.decode("utf-8").splitlines() if line]
    import io

    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(data), columns=columns)
    return [{k: v for k, v in r.items() if v is not None} for r in table.to_pylist()]
