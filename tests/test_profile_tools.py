"""tools/profile_read.py and tools/bench_memory.py: they run (random models too) and their stage
accounting adds up."""
import importlib.util
import io
import json
import time
from contextlib import redirect_stdout
from pathlib import Path

import cv2
import numpy as np

from ocr.api import Reader
from test_pipeline_helpers import FakeDetector, FakeRecognizer, page_with_words

TOOLS = Path(__file__).resolve().parents[1] / "tools"


def _tool(name):
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stage_timer_counts_nested_time_once():
    prof = _tool("profile_read")
    timer = prof.StageTimer()
    t0 = time.perf_counter()
    with timer.stage("outer"):
        time.sleep(0.02)
        with timer.stage("inner"):
            time.sleep(0.03)
    total = time.perf_counter() - t0
    assert set(timer.own) == {"outer", "outer > inner"}
    assert timer.own["outer > inner"] >= 0.03 and 0.02 <= timer.own["outer"] < 0.03 + 0.02
    assert abs(sum(timer.own.values()) - total) < 0.005


def test_every_stage_of_a_read_is_timed_and_undone():
    prof = _tool("profile_read")
    words = [(20, 30, 80, 20), (108, 30, 60, 20), (20, 100, 120, 24)]
    reader = Reader(det=FakeDetector(), rec=FakeRecognizer(), device="cpu", det_size=400)
    img = cv2.rotate(page_with_words(words), cv2.ROTATE_180)  # orientation reads turned crops too
    timer = prof.StageTimer()
    undo = prof.instrument(timer, reader)
    try:
        pages = reader.read_batch([img, page_with_words(words)])
    finally:
        for u in undo:
            u()
    assert [p.rotation for p in pages] == [180, 0] and pages[1].text == "word word\nword"
    for stage in ("detect forward", "detect postprocess", "orientation", "orientation > recognize forward",
                  "crop/rectify", "recognize forward", "decode", "layout"):
        assert timer.calls[stage] > 0, (stage, dict(timer.calls))
    import ocr.api

    assert not hasattr(ocr.api.crop_polygon, "__wrapped__") and "forward" not in reader.recognizer.__dict__


def test_profile_read_runs_with_random_models(tmp_path):
    prof = _tool("profile_read")
    crops = tmp_path / "crops"
    crops.mkdir()
    for k in range(3):
        cv2.imwrite(str(crops / f"{k}.png"), np.full((24, 60 + 20 * k, 3), 255 - 60 * k, np.uint8))
    out = io.StringIO()
    with redirect_stdout(out):
        assert prof.main(["--random", "--limit", "1", "--det-size", "96", "--ops-limit", "1", "--top", "5",
                          "--recognize", str(crops)]) == 0
    text = out.getvalue()
    assert "ocr read: 1 pages" in text and "detect forward" in text
    assert "ocr recognize: 3 crops" in text and "recognize forward" in text
    assert text.count("Self CPU") >= 2  # the torch.profiler tables


def test_bench_memory_reports_rss_at_two_pages():
    bench = _tool("bench_memory")
    out = io.StringIO()
    with redirect_stdout(out):
        assert bench.main(["--random", "--pages", "10", "--first", "3", "--distinct", "3", "--det-size", "96",
                           "--json"]) == 0
    r = json.loads(out.getvalue())
    assert r["pages"] == 10 and r["first_page"] == 8  # RSS is read after each chunk of 8
    assert 0 < r["rss_first_mb"] <= r["peak_mb"] and r["ratio"] == round(r["rss_last_mb"] / r["rss_first_mb"], 3)


def test_reader_gives_memory_back_after_every_chunk(monkeypatch):
    import sys

    import ocr.api
    from ocr.pipeline.memory import release_memory

    if sys.platform.startswith("linux"):
        assert release_memory() is True  # glibc: malloc_trim is there
    calls = []
    monkeypatch.setattr(ocr.api, "release_memory", lambda: calls.append(1) or True)
    words = [(20, 30, 80, 20), (108, 30, 60, 20)]
    reader = Reader(det=FakeDetector(), rec=FakeRecognizer(), device="cpu", det_size=400)
    pages = reader.read_batch([page_with_words(words)] * 5, chunk=2)
    assert len(pages) == 5 and len(calls) == 3  # one per chunk of pages
    reader.recognize([page_with_words([(0, 0, 60, 20)], size=(20, 60))])
    assert len(calls) == 4
