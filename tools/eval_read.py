"""Score ``ocr read`` end to end on page stores (images + reading-order text):
``python tools/eval_read.py --data data/real/sroie_det/val data/real/funsd_det/val [--det X --rec Y] [--ignore-case] [--det-size N|auto]``.

``--engine tesseract`` scores the Tesseract program on the same pages, as the baseline;
``--engine fullpage --page FILE`` scores a full-page model (no detector)."""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's package

from ocr.runtime import add_backend_args  # noqa: E402
from ocr.eval_read_cli import run_page_eval  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", nargs="+", required=True)
    p.add_argument("--det", default=None)
    p.add_argument("--rec", default=None)
    p.add_argument("--device", default="auto")
    p.add_argument("--ignore-case", action="store_true")
    p.add_argument("--det-size", default=None,
                   help="long side the detector sees: a number of pixels or auto (default: the reader's)")
    p.add_argument("--engine", choices=["ocr", "fullpage", "tesseract"], default="ocr",
                   help="ocr: detect then recognize; fullpage: the full-page model --page; tesseract: the baseline")
    p.add_argument("--page", default=None, help="full-page model for --engine fullpage (weight file)")
    add_backend_args(p)
    a = p.parse_args(argv)
    return run_page_eval(a.data, a.det, a.rec, a.device, case_sensitive=not a.ignore_case,
                         engine=a.engine, page=a.page, det_size=a.det_size, backend=a.backend,
                         precision=a.precision)


if __name__ == "__main__":
    sys.exit(main())
