#!/usr/bin/env python3
"""Seeded fuzzing of image decoding and LMDB reading.

Valid PNG, JPEG, TIFF, GIF and WebP files in many modes (and a small LMDB store) are mutated:
truncated, bit-flipped, header size fields set huge, bytes zeroed or inserted. Each case must
either give a valid result or raise the documented error with a one-line message naming the
input; anything else (another exception, a crash, a hang) is a failure. Peak memory is reported.

    python tools/fuzz_inputs.py --seed 0 --images 2000 --stores 200      # a long run
    python tools/fuzz_inputs.py --seed 0 --images 200 --stores 20 --read # + `ocr read` on the files
    python tools/fuzz_inputs.py --seed 0 --images 0 --stores 0 --train 20 # `ocr train` on damaged stores

The case being run is printed to standard error first (``--trace``), so that a crash names it.
Exit status: 0 when every case behaved, 1 otherwise.
"""
from __future__ import annotations

import argparse
import io
import os
import random
import resource
import shutil
import struct
import sys
import tempfile
import traceback
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def base_images() -> dict[str, bytes]:
    """Small valid files of every format and an assortment of modes."""
    from PIL import Image, ImageDraw

    rgb = Image.new("RGB", (48, 24), (240, 240, 230))
    ImageDraw.Draw(rgb).text((3, 5), "Fuzz", fill=(0, 0, 0))
    rgba = rgb.convert("RGBA")
    rgba.putalpha(rgb.convert("L").point(lambda v: 255 - v))
    gray16 = Image.fromarray((np.asarray(rgb.convert("L"), np.uint16) * 257))
    variants = {
        "png": [rgb, rgba, rgb.convert("L"), rgb.convert("LA"), rgb.convert("P"), rgb.convert("1"), gray16],
        "jpeg": [rgb, rgb.convert("L"), rgb.convert("CMYK")],
        "tiff": [rgb, rgba, rgb.convert("L"), rgb.convert("F"), gray16, rgb.convert("CMYK")],
        "gif": [rgb.convert("P")],
        "webp": [rgb, rgba],
    }
    out = {}
    for fmt, images in variants.items():
        for im in images:
            buf = io.BytesIO()
            im.save(buf, format=fmt.upper())
            out[f"{fmt}-{im.mode}"] = buf.getvalue()
    pages = io.BytesIO()
    rgb.save(pages, format="TIFF", save_all=True, append_images=[rgb.convert("L"), rgba])
    out["tiff-3pages"] = pages.getvalue()
    anim = io.BytesIO()
    rgb.convert("P").save(anim, format="GIF", save_all=True, append_images=[rgba.convert("P")], duration=50)
    out["gif-animated"] = anim.getvalue()
    return out


def _size_offsets(data: bytes) -> list[tuple[int, str]]:
    """Where each format keeps its declared width and height (offset, struct format)."""
    try:
        return _find_size_fields(data)
    except (struct.error, IndexError):  # an earlier mutation broke the header
        return []


def _find_size_fields(data: bytes) -> list[tuple[int, str]]:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return [(16, ">I"), (20, ">I")]
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return [(6, "<H"), (8, "<H")]
    if data[:4] == b"RIFF":
        return [(24, "<H"), (26, "<H"), (21, "<I")]
    if data[:2] == b"\xff\xd8":
        i = data.find(b"\xff\xc0")
        i = i if i >= 0 else data.find(b"\xff\xc2")
        return [(i + 5, ">H"), (i + 7, ">H")] if i >= 0 else []
    if data[:2] in (b"II", b"MM"):
        end = "<" if data[:2] == b"II" else ">"
        (ifd,) = struct.unpack(end + "I", data[4:8])
        spots = []
        if ifd + 2 <= len(data):
            (n,) = struct.unpack(end + "H", data[ifd:ifd + 2])
            for k in range(n):
                e = ifd + 2 + 12 * k
                tag, typ = struct.unpack(end + "HH", data[e:e + 4])
                if tag in (256, 257):
                    spots.append((e + 8, end + ("H" if typ == 3 else "I")))
        return spots
    return []


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One random mutation -> (what was done, new bytes)."""
    b = bytearray(data)
    kind = rng.choice(["truncate", "flip", "flip", "huge", "huge", "zero", "insert", "chunk", "empty-tail"])
    if kind == "truncate":
        cut = rng.randrange(0, len(b))
        return f"truncate@{cut}", bytes(b[:cut])
    if kind == "flip":
        n = rng.choice([1, 2, 8, 32])
        for _ in range(n):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        return f"flip{n}", bytes(b)
    if kind == "huge":
        spots = _size_offsets(data)
        if spots:
            off, fmt = rng.choice(spots)
            top = (1 << (8 * struct.calcsize(fmt))) - 1
            value = rng.choice([0, 1, top, top // 2, 30000, 65535, 100000])
            value = min(value, top)
            if off + struct.calcsize(fmt) <= len(b):
                struct.pack_into(fmt, b, off, value)
                return f"size@{off}={value}", bytes(b)
    if kind == "zero":
        i = rng.randrange(len(b))
        n = rng.randrange(1, 64)
        b[i:i + n] = bytes(len(b[i:i + n]))
        return f"zero@{i}+{n}", bytes(b)
    if kind == "insert":
        i = rng.randrange(len(b))
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
        return f"insert@{i}", bytes(b[:i] + junk + b[i:])
    if kind == "chunk":
        i, j = sorted(rng.randrange(len(b)) for _ in range(2))
        return f"dup@{i}:{j}", bytes(b[:j] + b[i:j] + b[j:])
    return "junk-tail", bytes(b) + bytes(rng.randrange(256) for _ in range(100))


def check_image_case(name: str, data: bytes) -> str | None:
    """None when the decoder behaved, else what went wrong."""
    from ocr.data import images
    from ocr.data.images import ImageError
    from ocr.pipeline.inputs import load_image

    try:
        img, _ = load_image(data, name)
    except ImageError as e:
        msg = str(e)
        if "\n" in msg or not msg.startswith(name + ": "):
            return f"bad error message: {msg!r}"
        return None
    except Exception:
        return "unexpected " + traceback.format_exc(limit=3).replace("\n", " | ")
    if not (isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3):
        return f"bad result {type(img).__name__} {getattr(img, 'shape', '')} {getattr(img, 'dtype', '')}"
    if img.shape[0] * img.shape[1] > images.MAX_PIXELS or 0 in img.shape:
        return f"result of {img.shape} passed the limits"
    return None


def fuzz_images(seed: int, n: int, trace: bool = False, keep: Path | None = None) -> list[str]:
    """``n`` mutated images; returns the failures (case: problem)."""
    rng = random.Random(seed)
    bases = base_images()
    names = sorted(bases)
    failures = []
    for k in range(n):
        base = names[k % len(names)]
        data = bases[base]
        what = []
        for _ in range(rng.choice([1, 1, 2, 3])):
            step, data = mutate(data, rng) if data else ("empty", data)
            what.append(step)
        case = f"img{k:05d}-{base}-{'+'.join(what)}"
        if trace:
            print(case, file=sys.stderr, flush=True)
        if keep is not None:
            (keep / f"{k:05d}_{base}.{base.split('-')[0]}").write_bytes(data)
        before = peak_mb()
        problem = check_image_case(case, data)
        if problem:
            failures.append(f"{case}: {problem}")
        if peak_mb() - before > 200:
            print(f"memory: {case} raised the peak from {before:.0f} to {peak_mb():.0f} MB", flush=True)
    return failures


def _small_store(path: Path, n: int = 12) -> None:
    from ocr.data.lmdb_store import LmdbWriter

    bases = base_images()
    with LmdbWriter(path) as w:
        for i in range(n):
            w.add(bases["png-RGB"] if i % 2 else bases["jpeg-RGB"], f"word{i}")


def mutate_store(src: Path, dst: Path, rng: random.Random) -> str:
    """Copy a store and damage its data.mdb; returns what was done."""
    shutil.copytree(src, dst)
    data = dst / "data.mdb"
    b = bytearray(data.read_bytes())
    kind = rng.choice(["truncate", "flip", "flip", "meta", "zero-page", "empty"])
    if kind == "truncate":
        cut = rng.randrange(0, len(b))
        b = b[:cut]
        what = f"truncate@{cut}"
    elif kind == "flip":
        n = rng.choice([1, 4, 16])
        for _ in range(n):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        what = f"flip{n}"
    elif kind == "meta":  # the two meta pages: sizes, roots, last page, transaction ids
        page = rng.choice([0, 1]) * 4096
        i = page + rng.randrange(16, 136)
        b[i] ^= 1 << rng.randrange(8)
        what = f"meta-flip@{i}"
    elif kind == "zero-page":
        p = rng.randrange(max(1, len(b) // 4096))
        b[p * 4096:(p + 1) * 4096] = bytes(len(b[p * 4096:(p + 1) * 4096]))
        what = f"zero-page{p}"
    else:
        b = bytearray()
        what = "empty"
    data.write_bytes(bytes(b))
    return what


def check_store_case(path: Path) -> str | None:
    """Open, list, read every sample and inspect: LmdbError naming the store, or success."""
    from ocr.data.images import ImageError, decode_image
    from ocr.data.inspect_lmdb import inspect
    from ocr.data.lmdb_store import LmdbError, LmdbReader

    try:
        reader = LmdbReader(path)
        reader.labels()
        for i in range(1, len(reader) + 1):
            try:
                img, _ = reader.get(i)
                decode_image(img, f"{path}#{i}")
            except ImageError:
                pass
        inspect(path, grid_png=path.parent / (path.name + ".png"), n=8)
    except LmdbError as e:
        if "\n" in str(e) or str(path) not in str(e):
            return f"bad error message: {str(e)!r}"
    except Exception:
        return "unexpected " + traceback.format_exc(limit=3).replace("\n", " | ")
    return None


def fuzz_stores(seed: int, n: int, work: Path, trace: bool = False) -> list[str]:
    rng = random.Random(seed)
    src = work / "store"
    _small_store(src)
    failures = []
    for k in range(n):
        dst = work / f"s{k:04d}"
        what = mutate_store(src, dst, rng)
        if trace:
            print(f"store{k:04d}-{what}", file=sys.stderr, flush=True)
        problem = check_store_case(dst)
        if problem:
            failures.append(f"store{k:04d}-{what}: {problem}")
        shutil.rmtree(dst, ignore_errors=True)
    return failures


def train_on_stores(seed: int, n: int, work: Path, trace: bool = False) -> list[str]:
    """``ocr train`` (a tiny recognizer, 2 steps) with a damaged store as training and validation
    data: it trains past bad samples or stops with one line naming the store; never a traceback."""
    import contextlib

    from ocr.cli import main

    rng = random.Random(seed + 1)
    src = work / "train_src"
    _small_store(src)
    failures = []
    for k in range(n):
        dst = work / f"t{k:04d}"
        what = mutate_store(src, dst, rng)
        case = f"train{k:04d}-{what}"
        if trace:
            print(case, file=sys.stderr, flush=True)
        recipe = work / "recipe.yaml"
        recipe.write_text(
            f"model: crnn_mobilenet\ntask: recognition\nout: {work / f'run{k}'}\n"
            f"model_args: {{charset: lower36, hidden: 16, num_layers: 1, max_width: 64}}\n"
            f"train: [{dst}]\nval: [{{path: {dst}, name: v}}]\n"
            "batch_size: 4\nsteps: 2\nval_every: 2\nwarmup_steps: 1\nworkers: 0\namp: 'off'\n")
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                rc = main(["train", str(recipe), "--device", "cpu", "--no-resume"])
        except BaseException:
            failures.append(f"{case}: unexpected " + traceback.format_exc(limit=3).replace("\n", " | "))
            continue
        lines = [ln for ln in err.getvalue().splitlines() if ln.strip() and not ln.startswith("skipping")]
        if trace:
            print(f"  exit {rc}: {lines[-1] if lines else 'trained'}", file=sys.stderr, flush=True)
        if rc not in (0, 2) or rc == 2 and not (len(lines) == 1 and str(dst) in lines[0]):
            failures.append(f"{case}: exit {rc}, stderr {lines[-3:]!r}")
        shutil.rmtree(dst, ignore_errors=True)
        shutil.rmtree(work / f"run{k}", ignore_errors=True)
    return failures


def read_files(folder: Path) -> tuple[list[str], float]:
    """``ocr read`` on every kept file, in a child process: exit 0/1, and every line on standard
    error names a failed input (or is the final count). Returns (problems, child peak MB)."""
    import subprocess

    code = ("import sys; sys.path.insert(0, sys.argv.pop(1)); from fuzz_inputs import peak_mb; "
            "from ocr.cli import main; rc = main(sys.argv[1:]); sys.stdout.flush(); "
            "sys.stderr.write(f'PEAK {peak_mb()}\\n'); sys.exit(rc)")
    res = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), "read", str(folder),
                          "--format", "json", "--device", "cpu"], capture_output=True, text=True)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    peak = float(lines.pop()[5:]) if lines and lines[-1].startswith("PEAK ") else float("nan")
    problems = [f"ocr read exit {res.returncode}"] if res.returncode not in (0, 1) else []
    problems += [f"ocr read: stray line {ln!r}" for ln in lines
                 if not (ln.startswith(f"ocr read: {folder}") or ln.startswith("ocr read: ") and "inputs failed" in ln)]
    n_json = sum(1 for ln in res.stdout.splitlines() if ln.startswith("{"))
    n_files = len(list(folder.iterdir()))
    if n_json < n_files:  # multi-page TIFFs give more
        problems.append(f"ocr read: {n_json} results for {n_files} files")
    return problems, peak


def peak_mb() -> float:
    """Peak resident memory of this process in MB (VmHWM: unlike getrusage, not inherited
    from the parent across fork and exec)."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--images", type=int, default=500, help="mutated image cases")
    p.add_argument("--stores", type=int, default=50, help="mutated LMDB cases")
    p.add_argument("--read", action="store_true", help="also run `ocr read` on the mutated images")
    p.add_argument("--train", type=int, default=0, help="`ocr train` runs on this many damaged stores")
    p.add_argument("--trace", action="store_true", help="print each case to stderr before running it")
    args = p.parse_args(argv)
    from ocr.data.images import quiet_decoders

    quiet_decoders()  # the decoders' own messages would bury the report
    with tempfile.TemporaryDirectory(prefix="ocr-fuzz-") as tmp:
        work = Path(tmp)
        keep = work / "images" if args.read else None
        if keep:
            keep.mkdir()
        failures = fuzz_images(args.seed, args.images, args.trace, keep)
        failures += fuzz_stores(args.seed, args.stores, work, args.trace)
        failures += train_on_stores(args.seed, args.train, work, args.trace)
        child_peak = 0.0
        if keep:
            problems, child_peak = read_files(keep)
            failures += problems
    for f in failures:
        print("FAIL", f)
    print(f"{args.images} image cases, {args.stores} store cases, {args.train} training runs"
          f"{', ocr read' if args.read else ''}: "
          f"{len(failures)} failures; peak memory {peak_mb():.0f} MB"
          + (f", ocr read {child_peak:.0f} MB" if args.read else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
