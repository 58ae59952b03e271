"""``ocr batch`` arguments and command."""
from __future__ import annotations

import argparse

from ocr.runtime import add_backend_args


def add_batch_args(sub) -> None:
    p = sub.add_parser("batch", help="read many images on Ray Data into sharded JSON Lines or Parquet (resumable)")
    p.add_argument("inputs", nargs="+",
                   help="files, folders, globs ('scans/*.png'), @manifest.txt, or URIs (s3://bucket/prefix/)")
    p.add_argument("--out", required=True, help="output folder (path or URI); a rerun skips inputs already in it")
    p.add_argument("--format", choices=["jsonl", "parquet"], default="jsonl")
    p.add_argument("--address", default=None, help="Ray cluster to join (default: start Ray on this machine)")
    p.add_argument("--workers", type=int, default=0, help="actors, each holding one loaded reader (default: as resources allow)")
    p.add_argument("--cpus-per-worker", type=float, default=1.0)
    p.add_argument("--gpus-per-worker", type=float, default=None, help="fraction of a GPU per actor (default: 0.5 when the cluster has GPUs)")
    p.add_argument("--num-cpus", type=int, default=None, help="local Ray only: CPUs it may use (default: all)")
    p.add_argument("--inputs-per-task", type=int, default=8)
    p.add_argument("--rows-per-shard", type=int, default=1000)
    p.add_argument("--det", default=None, help="detector: shipped name or weight file")
    p.add_argument("--rec", default=None, help="recognizer: shipped name or weight file")
    p.add_argument("--det-size", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--no-orientation", action="store_true")
    add_backend_args(p)
    p.set_defaults(func=run_cmd)


def run_cmd(args: argparse.Namespace) -> int:
    try:
        from ocr.batch.run import BatchOptions, report, run_batch
        import ray  # noqa: F401
    except ImportError:
        raise RuntimeError("ocr batch needs Ray Data: pip install 'ocr-toolkit[batch]'") from None
    reader = {"det": args.det, "rec": args.rec, "batch_size": args.batch_size,
              "orientation": not args.no_orientation, "backend": args.backend, "precision": args.precision}
    if args.det_size is not None:
        reader["det_size"] = args.det_size
    opts = BatchOptions(inputs=args.inputs, out=args.out, format=args.format, address=args.address,
                        workers=args.workers, cpus_per_worker=args.cpus_per_worker,
                        gpus_per_worker=args.gpus_per_worker, inputs_per_task=args.inputs_per_task,
                        rows_per_shard=args.rows_per_shard, num_cpus=args.num_cpus, reader=reader)
    stats = run_batch(opts)
    report(stats)
    return 1 if stats["errors"] else 0
