"""The ``ocr batch`` driver: list inputs, skip those already written, read the rest on a pool of
Ray actors, write the results in shards as they come back.

Resuming and worker failures: only the driver writes, and it writes an input's rows only after
an actor returned them; Ray Data restarts a killed actor and runs its batch again. A killed
worker therefore loses and duplicates nothing, and a killed driver loses at most the shard it
had not written yet, which the next run (the same command) reads again.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field

from ocr.batch.shards import ShardWriter, done_inputs
from ocr.batch.sources import list_inputs


@dataclass
class BatchOptions:
    inputs: list[str]
    out: str
    format: str = "jsonl"
    address: str | None = None  # None: start Ray on this machine
    workers: int = 0  # 0: as many as the cluster's CPUs (or GPUs) allow
    cpus_per_worker: float = 1.0
    gpus_per_worker: float | None = None  # None: 0.5 when the cluster has GPUs, else 0
    inputs_per_task: int = 8  # read together, as ``ocr read`` reads chunks of 8
    rows_per_shard: int = 1000
    num_cpus: int | None = None  # local Ray only: CPUs it may use
    reader: dict = field(default_factory=dict)  # Reader keyword arguments (det, rec, det_size, ...)


def run_batch(opts: BatchOptions) -> dict:
    """Read every input not yet in ``opts.out``; returns counts and throughput."""
    import ray

    rows = list_inputs(opts.inputs)
    if not rows:
        raise ValueError(f"no inputs found in {' '.join(opts.inputs)}")
    done = done_inputs(opts.out)
    todo = _unique([r for r in rows if r["name"] not in done])
    stats = {"inputs": len(rows), "skipped": len(rows) - len(todo), "read": 0, "pages": 0, "errors": 0}
    if not todo:
        return {**stats, "seconds": 0.0, "pages_per_s": 0.0}
    _check_models(opts.reader)
    _init_ray(ray, opts)
    ds = _pipeline(ray, todo, opts)
    writer = ShardWriter(opts.out, opts.format, opts.rows_per_shard)
    start = time.perf_counter()
    for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
        for pages in (p for results in batch["results"] for p in json.loads(results)):
            writer.add(pages)
            stats["read"] += 1
            stats["pages"] += len(pages)
            stats["errors"] += sum("error" in p for p in pages)
    writer.flush()
    seconds = time.perf_counter() - start
    return {**stats, "seconds": round(seconds, 2), "pages_per_s": round(stats["pages"] / max(seconds, 1e-9), 2)}


def _check_models(reader: dict) -> None:
    """Fail here, with the model's own message, rather than in every actor."""
    from ocr.api import Reader

    checked = Reader(**{**reader, "device": "cpu"})
    checked.detector, checked.recognizer


def _unique(rows: list[dict]) -> list[dict]:
    """Drop repeated names (an input listed twice is read once)."""
    seen: set[str] = set()
    return [r for r in rows if not (r["name"] in seen or seen.add(r["name"]))]


def _init_ray(ray, opts: BatchOptions) -> None:
    if ray.is_initialized():
        return
    if opts.address:
        ray.init(address=opts.address, log_to_driver=False)
    else:
        ray.init(num_cpus=opts.num_cpus, include_dashboard=False, log_to_driver=False)


def _pipeline(ray, todo: list[dict], opts: BatchOptions):
    from ocr.batch.worker import PageReader

    resources = ray.cluster_resources()
    gpus = opts.gpus_per_worker
    if gpus is None:
        gpus = 0.5 if resources.get("GPU", 0) > 0 else 0.0
    workers = opts.workers or _pool_size(resources, opts.cpus_per_worker, gpus)
    reader = {"device": "cuda" if gpus > 0 else "cpu", **opts.reader}
    n, threads = opts.inputs_per_task, max(1, int(opts.cpus_per_worker))
    chunks = [{"inputs": json.dumps(todo[i:i + n])} for i in range(0, len(todo), n)]
    ds = ray.data.from_items(chunks, override_num_blocks=len(chunks))
    return ds.map_batches(PageReader, fn_constructor_kwargs={"reader_kwargs": reader, "threads": threads},
                          batch_size=1, batch_format="numpy",
                          compute=ray.data.ActorPoolStrategy(size=workers),
                          num_cpus=opts.cpus_per_worker, num_gpus=gpus or None)


def _pool_size(resources: dict, cpus: float, gpus: float) -> int:
    by_cpu = int(resources.get("CPU", 1) // max(cpus, 1e-9))
    by_gpu = int(resources.get("GPU", 0) // gpus) if gpus > 0 else by_cpu
    return max(1, min(by_cpu, by_gpu))


def report(stats: dict) -> None:
    print(f"ocr batch: {stats['read']} inputs read ({stats['pages']} pages, {stats['errors']} with errors), "
          f"{stats['skipped']} already done; {stats['seconds']} s, {stats['pages_per_s']} pages/s",
          file=sys.stderr)
