#!/usr/bin/env bash
# Fetch, on a machine with PyPI access, the wheels of the dependencies a bare GPU machine may lack
# (x86-64 Linux, CPython ${PYVER:-3.12}) into .whl/ (ignored by git), for tools/gpu_train.sh to
# install offline there. numpy, torch, OpenCV, Pillow, safetensors, PyYAML and tqdm are assumed present.
#   bash tools/gpu_wheels.sh [DIR=.whl]
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-.whl}
PLAT=()
for n in 2_28 2_27 2_26 2_24 2_17 2014 1; do
  case $n in 2014|1) PLAT+=(--platform "manylinux${n}_x86_64") ;; *) PLAT+=(--platform "manylinux_${n}_x86_64") ;; esac
done
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "${PYVER:-3.12}" --implementation cp \
  "${PLAT[@]}" -d "$DIR" "lmdb>=1.4" "shapely>=2.0" "pyclipper>=1.3" "editdistance>=0.6"
ls -l "$DIR"
