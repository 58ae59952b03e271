"""Export a trained checkpoint as a shipped fp16 weight file:
``python tools/export_weights.py runs/x/best.safetensors rec_default [--note "..."] [--set score_thr=0.5 ...]``.

``--set KEY=VALUE`` changes a field of the model's config that does not touch the weights (for a
detector, its decoding thresholds, chosen on held-out data) before the file is written. A staged
recipe (``ocr train configs/rec_default.yaml``) exports its shipped file itself."""
import argparse
import sys

from ocr.engine.config import apply_overrides
from ocr.engine.export import export_weights, shipped_path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("checkpoint")
    p.add_argument("name", help="shipped name, e.g. rec_default or det_default")
    p.add_argument("--note", default="", help="provenance (recipe, data, compute) stored in the file")
    p.add_argument("--set", dest="settings", nargs="+", default=[], metavar="KEY=VALUE",
                   help="config changes that keep the weights, e.g. score_thr=0.5 beta=1.0")
    a = p.parse_args(argv)
    try:
        out = export_weights(a.checkpoint, shipped_path(a.name), note=a.note,
                             settings=apply_overrides({}, a.settings))
    except ValueError as e:
        raise SystemExit(f"--set: {e}") from None
    print(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
