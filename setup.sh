#!/usr/bin/env bash
# Set up a machine for the toolkit and its tests: fonts for the synthetic text engine, poppler-utils
# (pdftotext, which the tests use to read searchable PDFs back), chromium and its driver (the web
# page test of `ocr serve`), the CPU build of PyTorch (never the CUDA wheels on a CPU machine), then
# this package with the dev extra and the extras the tests cover (`ocr batch`, `ocr serve`).
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES="fonts-dejavu fonts-liberation2 fonts-freefont-ttf fonts-urw-base35 fonts-comic-neue fonts-texgyre
 fonts-hack fonts-inconsolata fonts-lato fonts-open-sans fonts-roboto fonts-crosextra-carlito
 fonts-crosextra-caladea fonts-cantarell fonts-noto-core fonts-tomsontalks wamerican
 fonts-dkg-handwriting fonts-breip fonts-dancingscript fonts-femkeklaver fonts-kristi poppler-utils
 chromium chromium-driver"
if command -v apt-get >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  missing=$(for p in $APT_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
  if [ -n "$missing" ]; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
  fi
else
  echo "setup.sh: no apt-get; install the fonts listed in setup.sh by other means for tools/synth.py (and poppler-utils for the PDF tests)" >&2
fi

if python3 -c 'import torch' 2>/dev/null; then :; elif command -v nvidia-smi >/dev/null; then
  python3 -m pip install -q torch
else
  python3 -m pip install -q torch==2.13.0 || python3 -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu
fi
python3 -m pip install -q -e ".[dev,test-extras]"
echo "setup done: $(python3 -c 'import torch, ocr; print("torch", torch.__version__, "ocr", ocr.__version__)')"
