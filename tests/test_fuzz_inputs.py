"""A fast seeded slice of tools/fuzz_inputs.py: mutated PNG, JPEG, TIFF, GIF and WebP files and
damaged LMDB stores give a valid result or one clean error naming the input; no crash, bounded
memory. The long campaign is the tool itself (see its docstring)."""
import importlib.util
import json
import random
import re
import subprocess
import sys
from pathlib import Path


from ocr.api import Reader
from ocr.cli import main
from test_pipeline_helpers import FakeDetector, FakeRecognizer

TOOL = Path(__file__).resolve().parents[1] / "tools" / "fuzz_inputs.py"


def _tool():
    spec = importlib.util.spec_from_file_location("fuzz_inputs", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_seeded_slice_in_a_child_process():
    """In a child, so that a crash (bus error, segfault) fails the test instead of killing pytest."""
    res = subprocess.run([sys.executable, str(TOOL), "--seed", "0", "--images", "400", "--stores", "40"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    summary = res.stdout.strip().splitlines()[-1]
    assert "400 image cases, 40 store cases, 0 training runs: 0 failures" in summary
    peak = float(re.search(r"peak memory (\d+) MB", summary).group(1))
    assert peak < 1024, summary


def test_every_base_format_and_mode_decodes():
    from ocr.pipeline.inputs import load_image

    bases = _tool().base_images()
    assert {k.split("-")[0] for k in bases} == {"png", "jpeg", "tiff", "gif", "webp"}
    for name, data in bases.items():
        img, _ = load_image(data, name)
        assert img.shape == (24, 48, 3), name


def test_huge_declared_sizes_are_refused_by_header(tmp_path):
    """Every size field of every format set huge: refused before decoding, naming the input."""
    from ocr.data.images import ImageError
    from ocr.pipeline.inputs import load_image

    tool = _tool()
    refused = 0
    for name, data in tool.base_images().items():
        for off, fmt in tool._size_offsets(data):
            b = bytearray(data)
            import struct

            struct.pack_into(fmt, b, off, min(65535 * 60000, (1 << (8 * struct.calcsize(fmt))) - 1))
            try:
                img, _ = load_image(bytes(b), name)
            except ImageError as e:
                assert str(e).startswith(name + ": ") and "\n" not in str(e)
                refused += 1
            else:
                assert img.shape[0] * img.shape[1] <= 40_000_000
    assert refused >= 10


def test_ocr_read_on_mutated_files_names_each_failure(tmp_path, monkeypatch, capfd):
    monkeypatch.setattr(Reader, "_load", lambda self, spec, task: {"detection": FakeDetector(),
                                                                   "recognition": FakeRecognizer()}[task])
    tool = _tool()
    rng = random.Random(5)
    bases = tool.base_images()
    names = sorted(bases)
    for k in range(60):
        base = names[k % len(names)]
        _, data = tool.mutate(bases[base], rng)
        (tmp_path / f"{k:03d}.{base.split('-')[0]}").write_bytes(data)
    rc = main(["read", str(tmp_path), "--format", "json", "--device", "cpu"])
    out, err = capfd.readouterr()
    assert rc in (0, 1)
    results = [json.loads(line) for line in out.splitlines()]
    assert len(results) >= 60  # multi-page TIFFs may give more
    for line in err.strip().splitlines():
        assert line.startswith(f"ocr read: {tmp_path}/") or re.match(r"ocr read: \d+ of \d+ inputs failed", line), line
    assert sum(1 for r in results if "error" in r) == len(err.strip().splitlines()) - (rc == 1)
