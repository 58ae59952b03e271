"""``ocr batch`` on a local Ray with 2 CPUs: the same results as ``ocr read``, every input exactly
once, after a rerun and after an actor is killed mid-run."""
from __future__ import annotations

import io
import json
import os
import signal
import threading
import time

import numpy as np
import pytest
from PIL import Image

ray = pytest.importorskip("ray", reason="ocr batch needs the batch extra (pip install .[batch])")
pytest.importorskip("pyarrow", reason="ocr batch needs the batch extra (pip install .[batch])")

from ocr.batch.run import BatchOptions, run_batch  # noqa: E402
from ocr.batch.shards import read_rows, shard_paths  # noqa: E402
from ocr.cli import main  # noqa: E402
from helpers import image_pdf, same_reading  # noqa: E402
from serve_helpers import text_page  # noqa: E402

WORDS = ["Total 42.50", "thank you", "OPEN", "Main St 12", "coffee", "RECEIPT", "cash 7", "hello world"]
READER = {"det_size": 320}


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=200 * 2**20)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """24 small text pages, a file that is no image, a damaged PDF and a two-page PDF."""
    root = tmp_path_factory.mktemp("scans")
    for i in range(24):
        (root / f"p{i:02d}.png").write_bytes(text_page([WORDS[i % 8], WORDS[(i * 3 + 1) % 8]], (320, 140)))
    (root / "x_bad.png").write_bytes(b"not an image")
    (root / "y_doc.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\n")
    pages = [np.asarray(Image.open(io.BytesIO(text_page([w], (320, 140)))).convert("RGB")) for w in WORDS[:2]]
    (root / "z_two.pdf").write_bytes(image_pdf(pages, dpi=150))
    return root


@pytest.fixture(scope="module")
def expected(folder):
    """``ocr read --format json`` over the folder, by image (or PDF page) name,
    with one thread as each worker has (see PageReader)."""
    import contextlib
    import io

    import torch

    out, threads = io.StringIO(), torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            main(["read", str(folder), "--format", "json", "--det-size", "320", "--progress", "off"])
    finally:
        torch.set_num_threads(threads)
    rows = {r["image"]: r for r in map(json.loads, out.getvalue().splitlines())}
    assert len(rows) == 28 and "error" in rows[str(folder / "x_bad.png")] and "error" in rows[str(folder / "y_doc.pdf")]
    assert rows[str(folder / "z_two.pdf#page2")]["lines"]
    return rows


def _options(folder, out, **kw):
    return BatchOptions(inputs=[str(folder)], out=str(out), workers=2, reader=READER, **kw)


def _check(rows, expected, folder):
    names = [r["image"] for r in rows]
    assert len(names) == len(set(names)), "an input was written twice"
    by_name = {r["image"]: r for r in rows}
    assert by_name.keys() == expected.keys()
    assert all(same_reading(by_name[name], expected[name]) for name in expected)


def test_batch_equals_ocr_read_and_resumes(local_ray, folder, expected, tmp_path):
    half = tmp_path / "half.txt"
    half.write_text("\n".join(str(folder / f"p{i:02d}.png") for i in range(0, 24, 2)))
    first = run_batch(BatchOptions(inputs=["@" + str(half)], out=str(tmp_path / "out"), workers=2, reader=READER))
    assert first["read"] == 12 and first["skipped"] == 0 and first["errors"] == 0
    again = run_batch(_options(folder, tmp_path / "out", rows_per_shard=5))
    assert again["skipped"] == 12 and again["read"] == 15 and again["errors"] == 2
    _check(read_rows(str(tmp_path / "out")), expected, folder)
    done = run_batch(_options(folder, tmp_path / "out"))
    assert done["read"] == 0 and done["skipped"] == 27


def test_the_command_writes_parquet_from_a_glob(local_ray, folder, expected, tmp_path, capsys):
    rc = main(["batch", str(folder / "p1*.png"), "--out", str(tmp_path / "pq"), "--format", "parquet",
               "--workers", "2", "--det-size", "320"])
    assert rc == 0 and "10 inputs read (10 pages, 0 with errors)" in capsys.readouterr().err
    assert all(p.endswith(".parquet") for p in shard_paths(str(tmp_path / "pq")))
    rows = read_rows(str(tmp_path / "pq"))
    assert sorted(r["image"] for r in rows) == [str(folder / f"p{i}.png") for i in range(10, 20)]
    assert all(same_reading(r, expected[r["image"]]) for r in rows)


def _page_readers() -> list:
    import psutil

    found = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if cmd.startswith("ray::") and "PageReader" in cmd:
            found.append(p)
    return found


def test_a_killed_worker_loses_and_duplicates_nothing(local_ray, folder, expected, tmp_path):
    out = tmp_path / "out"
    killed = []

    def kill_one_mid_run():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            if shard_paths(str(out)):  # some results are written, others are still being read
                for proc in _page_readers()[:1]:
                    os.kill(proc.pid, signal.SIGKILL)
                    killed.append(proc.pid)
            time.sleep(0.05)

    killer = threading.Thread(target=kill_one_mid_run, daemon=True)
    killer.start()
    stats = run_batch(_options(folder, out, rows_per_shard=1))
    killer.join(5)
    assert killed, "no worker was killed while the batch ran"
    assert stats["read"] == 27 and stats["skipped"] == 0
    _check(read_rows(str(out)), expected, folder)
