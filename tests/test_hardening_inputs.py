"""Hostile and odd image inputs: size limits hold whatever decodes, alpha reads on white, bad
arrays fail alone, --viz never writes through links, TSV and pipes stay well formed."""
import io
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

from ocr.api import Reader
from ocr.cli import main
from ocr.data import images
from ocr.data.images import ImageError, decode_image, read_image
from ocr.pipeline.inputs import load_image
from test_pipeline_helpers import FakeDetector, FakeRecognizer


def _chunk(kind: bytes, body: bytes, crc: int | None = None) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF if crc is None else crc
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _png_with_broken_text(w: int, h: int, rows: bytes) -> bytes:
    """A PNG that Pillow refuses (a text chunk with a wrong checksum) but other decoders read."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"tEXt", b"Comment\x00hi", crc=1)
            + _chunk(b"IDAT", zlib.compress(rows)) + _chunk(b"IEND", b""))


def test_declared_size_is_checked_even_when_pillow_refuses_the_file():
    huge = _png_with_broken_text(30000, 30000, b"\x00" * 1000)
    with pytest.raises(ImageError, match=r"^bomb.png: image is too large \(30000x30000"):
        decode_image(huge, "bomb.png")
    small = _png_with_broken_text(4, 2, (b"\x00" + b"\x80" * 12) * 2)
    assert decode_image(small, "ok.png").shape == (2, 4, 3)  # still readable when within limits


def test_peak_memory_of_a_refused_bomb_stays_small(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_with_broken_text(15000, 15000, b"\x00" * (15000 * 3 + 1) * 64))
    code = ("import sys; from ocr.data.images import read_image, ImageError\n"
            "try: read_image(sys.argv[1])\nexcept ImageError as e: print(e)\n"
            "print([ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0])")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    message, peak_kb = out.stdout.splitlines()  # VmHWM: this process's own peak, not its parent's
    assert "too large" in message and str(path) in message
    assert int(peak_kb) < 400_000, f"peak {int(peak_kb) // 1024} MB"


def test_oversized_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "MAX_FILE_BYTES", 1000)
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG" + b"\x00" * 5000)
    with pytest.raises(ImageError, match=r"junk.png: file is too large \(5004 bytes"):
        read_image(junk)


def _alpha_text() -> np.ndarray:
    """Black RGB everywhere, the 'text' (a bar) only in the alpha channel."""
    rgba = np.zeros((20, 40, 4), np.uint8)
    rgba[8:12, 5:35, 3] = 255
    return rgba


@pytest.mark.parametrize("kind", ["png_file", "bytes", "array", "pil", "gray_alpha_png", "palette_png"])
def test_text_drawn_only_in_alpha_reads_dark_on_white(tmp_path, kind):
    rgba = _alpha_text()
    pil = Image.fromarray(rgba, "RGBA")
    if kind == "gray_alpha_png":
        pil = pil.convert("LA")
    if kind == "palette_png":
        pil = pil.convert("P")
        pil.info["transparency"] = pil.getpixel((0, 0))
    buf = io.BytesIO()
    pil.save(buf, format="PNG", **({"transparency": pil.info["transparency"]} if kind == "palette_png" else {}))
    (tmp_path / "a.png").write_bytes(buf.getvalue())
    x = {"png_file": str(tmp_path / "a.png"), "bytes": buf.getvalue(), "array": rgba, "pil": pil,
         "gray_alpha_png": str(tmp_path / "a.png"), "palette_png": str(tmp_path / "a.png")}[kind]
    img, _ = load_image(x)
    assert img.shape == (20, 40, 3) and img.dtype == np.uint8
    assert img[0, 0].min() > 250, "transparent background must be white"
    if kind != "palette_png":
        assert img[10, 20].max() < 5, "opaque black text must stay black"


@pytest.mark.parametrize("bad", [np.zeros((0, 5, 3), np.uint8), np.array([[object(), object()]]),
                                 np.zeros((4, 4, 2), np.uint8), np.zeros((2, 2, 2, 2), np.uint8)])
def test_bad_arrays_fail_alone_in_a_batch(monkeypatch, bad):
    monkeypatch.setattr(Reader, "_load", lambda self, spec, task: {"detection": FakeDetector(),
                                                                   "recognition": FakeRecognizer()}[task])
    good = np.full((40, 60, 3), 255, np.uint8)
    pages = Reader(device="cpu").read_batch([good, bad, good], errors="return")
    assert [p.error is None for p in pages] == [True, False, True]
    assert pages[1].error.startswith("<array>: ") and "\n" not in pages[1].error


def test_pillow_pixel_limit_is_never_touched(tmp_path, monkeypatch):
    """Pillow's limit is process-wide: switching it off and on around a decode races with other
    threads, so decoding must never assign it."""
    import types

    writes = []

    class Watched(types.ModuleType):
        def __setattr__(self, name, value):
            if name == "MAX_IMAGE_PIXELS":
                writes.append(value)
            super().__setattr__(name, value)

    path, tiff = tmp_path / "a.png", tmp_path / "a.tif"
    Image.fromarray(np.zeros((30, 30, 3), np.uint8)).save(path)
    Image.fromarray(np.zeros((30, 30, 3), np.uint8)).save(tiff)
    monkeypatch.setattr(Image, "__class__", Watched)
    load_image(str(path)), load_image(str(tiff) + "#page1"), load_image(Image.open(path))
    load_image(path.read_bytes())
    monkeypatch.undo()
    assert writes == []


@pytest.fixture
def fake_models(monkeypatch):
    import ocr.data.lmdb_cli

    monkeypatch.setattr(ocr.data.lmdb_cli, "add_lmdb_args", lambda parser: None, raising=False)
    models = {"detection": FakeDetector(), "recognition": FakeRecognizer()}
    monkeypatch.setattr(Reader, "_load", lambda self, spec, task: models[task])


def _page(path):
    img = np.full((120, 200, 3), 255, np.uint8)
    img[30:50, 20:100] = 0
    Image.fromarray(img).save(path)
    return str(path)


def test_viz_replaces_a_planted_link_and_never_writes_through_it(tmp_path, fake_models, capsys):
    from ocr.pipeline.viz import viz_path

    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    src = _page(tmp_path / "a.png")
    viz = tmp_path / "viz"
    viz.mkdir()
    os.symlink(victim, viz_path(viz, src, 0))
    assert main(["read", src, "--viz", str(viz)]) == 0
    assert victim.read_text() == "precious"
    assert not viz_path(viz, src, 0).is_symlink() and viz_path(viz, src, 0).stat().st_size > 100


def test_viz_names_keep_same_stem_inputs_apart(tmp_path):
    from ocr.pipeline.viz import viz_path

    assert viz_path(tmp_path, "a/x.png", 0) != viz_path(tmp_path, "b/x.png", 0)


def test_failed_viz_write_fails_the_input(tmp_path, fake_models, capsys):
    src = _page(tmp_path / "a.png")
    blocker = tmp_path / "viz"
    blocker.write_text("a file where the folder should be")
    assert main(["read", src, "--viz", str(blocker)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert any("--viz" in line and "a.png" in line for line in err) and "Traceback" not in "".join(err)


def test_tsv_keeps_one_row_per_line_whatever_the_file_name(tmp_path, fake_models, capsys):
    src = _page(tmp_path / "tab\there\nnewline.png")
    assert main(["read", src, "--format", "tsv"]) == 0
    rows = capsys.readouterr().out.strip().split("\n")
    assert len(rows) >= 2 and all(len(r.split("\t")) == 5 for r in rows)
    assert rows[1].split("\t")[0].endswith("tab\\there\\nnewline.png")


def test_negative_beam_is_refused(tmp_path, fake_models, capsys):
    assert main(["read", _page(tmp_path / "a.png"), "--beam", "-1"]) == 2
    assert "beam" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["models"], ["lmdb", "inspect", "STORE"]])
def test_closed_pipe_ends_quietly(tmp_path, argv):
    from tests.helpers import make_rec_lmdb

    store = make_rec_lmdb(tmp_path / "s", ["word"] * 300)
    cmd = [sys.executable, "-m", "ocr.cli"] + [store if a == "STORE" else a for a in argv]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader went away before anything was written
    err = proc.stderr.read().decode()
    assert proc.wait() in (0, 1) and "Traceback" not in err and "Exception ignored" not in err


def test_one_reader_shared_by_threads_reads_as_it_does_alone(tmp_path):
    """The README's thread-safety statement, with the shipped models."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.helpers import text_image

    torch_threads = __import__("torch").get_num_threads()
    reader = Reader(device="cpu", det_size=256)
    reader.detector, reader.recognizer  # loaded once, before the threads start
    crops = [load_image(text_image(w, height=32, seed=i))[0] for i, w in enumerate(["open", "cat", "river", "42"])]
    alone = [reader.recognize(c) for c in crops]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(reader.recognize, crops * 2))
    assert together == alone * 2
    assert __import__("torch").get_num_threads() == torch_threads


def test_a_chunk_longer_than_the_file_is_refused_in_small_memory(tmp_path):
    """Some PNG decoders allocate the length a chunk declares (up to 2 GB) before reading it."""
    buf = io.BytesIO()
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    idat = data.index(b"IDAT") - 4
    struct.pack_into(">I", data, idat, 0x7FFFFFF0)
    path = tmp_path / "long_chunk.png"
    path.write_bytes(bytes(data))
    code = ("import sys; from ocr.data.images import read_image, ImageError\n"
            "try: read_image(sys.argv[1]); print('read')\nexcept ImageError as e: print(e)\n"
            "print([ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0])")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    message, peak_kb = out.stdout.splitlines()
    assert message == "read" or message.startswith(f"{path}: ")  # Pillow reads what is there
    assert int(peak_kb) < 400_000, f"peak {int(peak_kb) // 1024} MB"
