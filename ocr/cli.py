"""The ``ocr`` command. Each subcommand parses its arguments and calls the library."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ocr.runtime import add_backend_args


def _cmd_train(args) -> int:
    from ocr.engine.stages import load_recipe, run_recipe

    recipe = load_recipe(args.config, args.overrides)
    results = run_recipe(recipe, resume=not args.no_resume, device=args.device, export_dir=args.export_dir)
    for stage in recipe.stages:
        cfg, best, name = stage.cfg, results[stage.name], f"stage {stage.name} " if stage.name else ""
        if cfg.val:
            print(f"{name}done: best validation {best:.4f}; weights in {cfg.out}")
        else:
            print(f"{name}done: no validation sets; last weights in {cfg.out}/last.safetensors")
    return 0


def _cmd_eval(args) -> int:
    from ocr.engine.evaluate import run_eval

    return run_eval(args.model, args.data, names=args.names, batch_size=args.batch_size, device=args.device,
                    failures=args.failures, viz=args.viz, test_size=args.test_size,
                    straighten=not args.no_straighten, straighten_with=args.straighten_with, reread=not args.no_reread,
                    backend=args.backend, precision=args.precision)


def _cmd_export(args) -> int:
    from ocr.api import load_model
    from ocr.runtime import build_onnx, cache_path, resolve_backend
    from ocr.runtime.onnx_export import write_atomic
    from ocr.weights import resolve_path

    model = load_model(args.model)
    resolve_backend("onnxruntime", args.precision, model.task)
    out = Path(args.output) if args.output else cache_path(model, args.precision, resolve_path(args.model))
    data = build_onnx(model, args.precision, None if args.output else out)
    if args.output:
        write_atomic(out, data)
    print(f"{args.model} ({model.arch}, {args.precision}): {out} ({len(data) / 2**20:.1f} MB)")
    return 0


def _cmd_models(args) -> int:
    from ocr.registry import list_models
    from ocr.weights import DEFAULT_DETECTOR, DEFAULT_RECOGNIZER, shipped_info

    print("registered models:")
    for e in list_models():
        print(f"  {e.name:<24} {e.task:<12} {e.doc}")
    print("shipped weights:")
    rows = shipped_info()
    for r in rows:
        tag = " (default)" if r["name"] in (DEFAULT_RECOGNIZER, DEFAULT_DETECTOR) else ""
        print(f"  {r['name']:<24} {r['arch']:<24} {r['size_mb']:>6.1f} MB{tag}")
    if not rows:
        print("  none")
    return 0


def _det_size(value: str):
    """``--det-size``: a whole number of pixels, or ``auto``."""
    if value.strip().lower() == "auto":
        return "auto"
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of pixels or auto, got {value!r}") from None


def _add_common_io(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", help="image files, directories, @list.txt, or - for stdin")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--progress", choices=["auto", "on", "off"], default="auto")
    add_backend_args(p)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ocr", description="Scene-text and document OCR.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("read", help="detect and recognize text in images")
    _add_common_io(p)
    p.add_argument("--format", choices=["text", "json", "tsv", "hocr", "alto", "pdf"], default="text",
                   help="hocr (hOCR 1.2), alto (ALTO v4 XML) or pdf (searchable PDF) write documents, see --output")
    p.add_argument("-o", "--output", help="hocr/alto/pdf: write every page into this one file (default: standard output)")
    p.add_argument("--out-dir", help="hocr/alto/pdf: write one file per input document into this folder")
    p.add_argument("--dpi", type=float, default=300,
                   help="resolution PDF pages are rendered at, and that images are taken to have in --format pdf")
    p.add_argument("--pdf-text", choices=["ocr", "use"], default="ocr",
                   help="PDF pages that already hold a text layer: OCR them (default) or use their text and its positions")
    p.add_argument("--viz", help="write each image with polygons and text drawn into this folder")
    p.add_argument("--det", default=None, help="detector: shipped name or weight file")
    p.add_argument("--rec", default=None, help="recognizer: shipped name or weight file")
    p.add_argument("--det-size", type=_det_size, default=None,
                   help="long side the detector sees, in pixels, or auto: chosen per image from its text height (default: the reader's, see README)")
    p.add_argument("--no-orientation", action="store_true", help="do not look for pages turned by 90/180/270")
    p.add_argument("--beam", type=int, default=0, help="beam width (0 = greedy)")
    p.add_argument("--lexicon", help="file with one allowed word per line")
    p.add_argument("--crop-margin", type=float, default=None,
                   help="lengthen word boxes at both ends by this fraction of their height before recognition (default: the reader's, see README)")
    p.add_argument("--min-score", type=float, default=None,
                   help="leave out words read with a lower confidence, 0 keeps every word (default: the reader's, 0.5)")
    p.add_argument("--engine", choices=["pipeline", "fullpage"], default="pipeline",
                   help="pipeline: detect then recognize words; fullpage: a full-page model reads each image whole")
    p.add_argument("--page", default=None, help="full-page model for --engine fullpage: shipped name or weight file")
    p.add_argument("--page-chunks", type=int, default=None,
                   help="--engine fullpage: read each image as this many horizontal chunks (default: by its height)")
    p.set_defaults(func=lambda a: _run_reader_cmd("read", a))

    p = sub.add_parser("detect", help="text polygons only")
    _add_common_io(p)
    p.add_argument("--format", choices=["text", "json"], default="json")
    p.add_argument("--viz")
    p.add_argument("--det", default=None)
    p.add_argument("--det-size", type=_det_size, default=None,
                   help="long side the detector sees, in pixels, or auto: chosen per image from its text height (default: the reader's, see README)")
    p.set_defaults(func=lambda a: _run_reader_cmd("detect", a))

    p = sub.add_parser("recognize", help="one line of text per cropped word/line image")
    _add_common_io(p)
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--rec", default=None)
    p.add_argument("--det", default=None, help="detector that straightens tilted or curved words (default: the shipped one)")
    p.add_argument("--no-straighten", action="store_true", help="read crops only as given (no detector pass)")
    p.add_argument("--no-reread", action="store_true", help="do not read low-confidence crops again stretched and squeezed")
    p.add_argument("--beam", type=int, default=0, help="beam width (0 = greedy)")
    p.add_argument("--lexicon", help="file with one allowed word per line")
    p.set_defaults(func=lambda a: _run_reader_cmd("recognize", a))

    p = sub.add_parser("export", help="write a model as ONNX (for ONNX Runtime) or fill the ONNX cache")
    p.add_argument("model", help="shipped model name or weight file")
    p.add_argument("--format", choices=["onnx"], default="onnx")
    p.add_argument("--precision", choices=["fp32", "int8"], default="fp32",
                   help="int8: static post-training quantization calibrated on synthetic data")
    p.add_argument("-o", "--output", help="ONNX file to write (default: the cache that --backend onnxruntime reads)")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("models", help="registered models and shipped weights")
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser("train", help="train from a YAML recipe")
    p.add_argument("config")
    p.add_argument("overrides", nargs="*", help="key=value (dotted keys allowed)")
    p.add_argument("--no-resume", action="store_true", help="start over even if OUT has a last checkpoint")
    p.add_argument("--device", default="auto")
    p.add_argument("--export-dir", help="write a recipe's export here instead of the package's weights folder")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("eval", help="evaluate a model on LMDB datasets")
    p.add_argument("--model", required=True, help="weight file or shipped model name")
    p.add_argument("--data", nargs="+", required=True, help="LMDB folders")
    p.add_argument("--names", nargs="*", help="display names for the datasets")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default="auto")
    p.add_argument("--failures", help="recognition: write misread crops here")
    p.add_argument("--viz", help="detection: write images with predicted/true polygons here")
    p.add_argument("--test-size", type=int, default=0, help="detection: long side of test images (default: the reader's, see README)")
    p.add_argument("--straighten-with", default=None,
                   help="recognition: detector that straightens tilted or curved words, as `ocr recognize` does (default: the shipped one)")
    p.add_argument("--no-straighten", action="store_true", help="recognition: read crops only as given")
    p.add_argument("--no-reread", action="store_true", help="recognition: do not read low-confidence crops again stretched and squeezed")
    add_backend_args(p, default="torch")
    p.set_defaults(func=_cmd_eval)

    from ocr.data.lmdb_cli import add_lmdb_args

    add_lmdb_args(sub)
    from ocr.batch.cli import add_batch_args
    from ocr.serve.cli import add_serve_args

    add_batch_args(sub)
    add_serve_args(sub)
    return parser


def _run_reader_cmd(kind: str, args) -> int:
    from ocr.read_cli import run

    return run(kind, args)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from ocr.data.images import quiet_decoders

    quiet_decoders()
    try:
        rc = int(args.func(args) or 0)
        sys.stdout.flush()  # inside the try: a closed pipe is reported here, not at exit
        return rc
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. head, which stopped reading
        _silence_stdout()
        return 1
    except (ValueError, FileNotFoundError, FileExistsError, RuntimeError) as e:
        print(f"ocr {args.command}: error: {e}", file=sys.stderr)
        return 2


def _silence_stdout() -> None:
    """Point standard output at /dev/null so that the interpreter's final flush cannot fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
