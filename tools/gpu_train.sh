#!/usr/bin/env bash
# One command for one GPU machine: build the stores, train RECIPE for MINUTES of wall clock (data
# preparation included) while the CPU cores render synthetic crops, then validate and write the
# table. Everything it leaves is in --out (default $OUT, else runs/gpu_out), flat, at most 8 files.
#   bash tools/gpu_train.sh RECIPE MINUTES [--out DIR] [--stage NAME] [--device cpu] [key=value ...]
# Installs nothing from the network: the package runs from this checkout (PYTHONPATH) when it is
# not installed; wheels of missing dependencies in .whl/ (or $OCR_WHEELS) are installed offline,
# and fonts in .fonts/ (or $OCR_FONT_DIRS) join the system ones. See python3 tools/gpu_train.py -h.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: bash tools/gpu_train.sh RECIPE MINUTES [--out DIR] [--stage NAME] [key=value ...]" >&2; exit 2; }
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
WHEELS=${OCR_WHEELS:-.whl}
if ! python3 -c 'import lmdb, cv2, shapely, pyclipper, editdistance, safetensors, yaml, tqdm' 2>/dev/null \
   && compgen -G "$WHEELS/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --target /tmp/ocr_site "$WHEELS"/*.whl
  export PYTHONPATH="$PYTHONPATH:/tmp/ocr_site"
fi
python3 -c 'import lmdb, cv2, shapely, pyclipper, editdistance, safetensors, yaml, tqdm' || {
  echo "gpu_train: a dependency is missing (above); put its wheel in $WHEELS/ (see README)" >&2; exit 1; }
if [ -d .fonts ]; then export OCR_FONT_DIRS="$PWD/.fonts${OCR_FONT_DIRS:+:$OCR_FONT_DIRS}"
elif [ ! -d /usr/share/fonts ] && [ -z "${OCR_FONT_DIRS:-}" ]; then  # no fonts: matplotlib's DejaVu, if any
  OCR_FONT_DIRS=$(python3 -c 'import matplotlib, os; print(os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "fonts", "ttf"))' 2>/dev/null || true)
  export OCR_FONT_DIRS
fi
OUTDIR=${OUT:-runs/gpu_out}
args=("$@")
for ((i = 0; i < ${#args[@]} - 1; i++)); do [ "${args[i]}" = --out ] && OUTDIR=${args[i+1]}; done
mkdir -p "$OUTDIR"
python3 tools/gpu_train.py "$@" --out "$OUTDIR" 2>&1 | tee "$OUTDIR/run.log"
