"""Soak benchmark of ``ocr serve`` on loopback: N concurrent clients send M requests in all.

    python tools/bench_serve.py --clients 8 --requests 1000 [--image receipt.jpg ...] [--det-size 640]
    python tools/bench_serve.py --url http://127.0.0.1:8000 ...     # a service already running

Without ``--url`` it starts ``ocr serve`` on a free loopback port and stops it afterwards. It
reports p50/p95 latency, requests per second, errors (any answer but 200) and the service's
resident memory after the warm-up and at the end (from ``GET /health``). Only 127.0.0.1 /
localhost is accepted, and the run stops after ``--max-seconds`` whatever is left.
"""
from __future__ import annotations

import argparse
import itertools
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="a running service on loopback (default: start one)")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--requests", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=20, help="requests before memory is first measured")
    p.add_argument("--max-seconds", type=float, default=900)
    p.add_argument("--image", nargs="*", default=[], help="images to send in turn (default: a generated text page)")
    p.add_argument("--det-size", type=int, default=None, help="det_size sent with each request")
    p.add_argument("--serve-args", default="", help="extra arguments for the started 'ocr serve'")
    args = p.parse_args(argv)
    if args.requests > 100_000 or args.clients > 256:
        p.error("at most 100000 requests and 256 clients")

    server = None
    url = args.url
    if url is None:
        url, server = _start_server(args.serve_args)
    elif urlparse(url).hostname not in LOOPBACK:
        p.error(f"{url}: only a service on loopback (127.0.0.1) is benchmarked")
    try:
        files = [(Path(f).name, Path(f).read_bytes()) for f in args.image] or [("page.png", _page())]
        data = {"det_size": str(args.det_size)} if args.det_size else {}
        _run(url, files, data, args.warmup, args.clients, args.max_seconds)  # warm-up
        start_mb = _rss(url)
        result = _run(url, files, data, args.requests, args.clients, args.max_seconds)
        result.update(rss_start_mb=start_mb, rss_end_mb=_rss(url))
        result["rss_growth"] = round(result["rss_end_mb"] / start_mb - 1, 4) if start_mb else None
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
    print(json.dumps(result))
    print(f"{result['done']} requests, {args.clients} clients: p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, "
          f"{result['requests_per_s']} req/s, {result['errors']} errors; resident memory "
          f"{result['rss_start_mb']} -> {result['rss_end_mb']} MB ({result['rss_growth']:+.1%})", file=sys.stderr)
    return 1 if result["errors"] or result["done"] < args.requests else 0


def _run(url: str, files, data, total: int, clients: int, max_seconds: float) -> dict:
    counter = itertools.count()
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds

    def client():
        with httpx.Client(timeout=120) as http:
            while time.monotonic() < deadline:
                i = next(counter)
                if i >= total:
                    return
                name, body = files[i % len(files)]
                t = time.perf_counter()
                try:
                    r = http.post(f"{url}/v1/read", files=[("files", (name, body))], data=data)
                    ok = r.status_code == 200
                    why = f"{r.status_code}: {r.text[:200]}"
                except httpx.HTTPError as e:
                    ok, why = False, f"{e.__class__.__name__}: {e}"
                with lock:
                    latencies.append(time.perf_counter() - t)
                    if not ok:
                        errors.append(why)

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    ordered = sorted(latencies)
    pick = lambda q: round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else None  # noqa: E731
    for why in errors[:5]:
        print(f"bench_serve: error {why}", file=sys.stderr)
    return {"done": len(latencies), "errors": len(errors), "seconds": round(seconds, 2),
            "requests_per_s": round(len(latencies) / seconds, 2), "p50_ms": pick(0.5), "p95_ms": pick(0.95)}


def _rss(url: str) -> float:
    return httpx.get(f"{url}/health", timeout=30).json()["rss_mb"]


def _start_server(extra: str):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "ocr.cli", "serve", "--host", "127.0.0.1", "--port", str(port), *extra.split()]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ocr serve exited with status {proc.returncode}: {' '.join(cmd)}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return url, proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("ocr serve did not start within 120 s")


def _page() -> bytes:
    """A receipt-like page of generated text (no files needed)."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 30)
    except OSError:
        font = ImageFont.load_default(size=30)
    img = Image.new("RGB", (420, 200), (246, 246, 240))
    for i, line in enumerate(["Coffee 3.20", "Bagel 2.10", "TOTAL 5.30"]):
        ImageDraw.Draw(img).text((24, 20 + 60 * i), line, fill=(15, 15, 15), font=font)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


if __name__ == "__main__":
    sys.exit(main())
