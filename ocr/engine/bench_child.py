"""Benchmarks run each configuration in a child process so that peak memory (max RSS) is its own."""
from __future__ import annotations

import json
import subprocess
import sys


def run_child(script: str, args: dict) -> dict:
    """Run ``python script --child JSON`` and return the JSON object its last line prints."""
    out = subprocess.run([sys.executable, script, "--child", json.dumps(args)], capture_output=True, text=True)
    if out.returncode != 0:
        lines = [ln for ln in out.stderr.strip().splitlines() if not ln.startswith("ocr: building")]
        why = lines[-1] if lines else f"child failed (exit status {out.returncode})"
        raise RuntimeError(f"{args}: {why}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
