#!/usr/bin/env bash
# Build every LMDB the shipped recipes train and validate on (outside git):
#   bash tools/prepare_data.sh [SHARED_DATA=../shared/data] [OUT=data]
# Synthetic store sizes are those the shipped weights were trained on.
# Real sets are split by source image with a fixed seed; the same split serves the detector and the
# recognizer crops, so no validation image is seen by either model in training.
set -euo pipefail
D=${1:-../shared/data}
O=${2:-data}
SYNTH_CROPS=${SYNTH_CROPS:-300000}
SYNTH_SCENE_CROPS=${SYNTH_SCENE_CROPS:-100000}
SYNTH_SCENES=${SYNTH_SCENES:-1500}
SYNTH_PAGES=${SYNTH_PAGES:-500}
mk() { [ -e "$3" ] || [ -e "$3/train" ] || ocr lmdb create "$@" --quiet; }

# recognition crops
mk tsv "$D/iiit5k/train/labels.tsv" "$O/real/iiit5k" --split-val 0.1 --seed 0
mk tsv "$D/ic15_word/train/labels.tsv" "$O/real/ic15_word" --split-val 0.1 --seed 0
mk tsv "$D/svt/train/labels.tsv" "$O/real/svt"                       # validation only
mk ic13 "$D/ic13_borndigital" "$O/real/ic13_crops" --crops --split-val 0.15 --seed 0
mk sroie "$D/sroie" "$O/real/sroie_crops" --crops --split-val 0.15 --seed 0
mk funsd "$D/funsd/train" "$O/real/funsd_crops" --crops --split-val 0.15 --seed 0
# detection / pages
mk ic15 "$D/ic15_det" "$O/real/ic15_det" --split-val 0.2 --seed 0
mk ic13 "$D/ic13_borndigital" "$O/real/ic13_det" --split-val 0.15 --seed 0
mk sroie "$D/sroie" "$O/real/sroie_det" --split-val 0.15 --seed 0
mk funsd "$D/funsd/train" "$O/real/funsd_det" --split-val 0.15 --seed 0
# synthetic
W=${WORKERS:-$(nproc)}
[ -e "$O/synth/crops_s0" ] || python3 tools/synth.py crops --out "$O/synth/crops_s0" --num "$SYNTH_CROPS" --seed 0 --workers "$W"
[ -e "$O/synth/crops_scene_s1" ] || python3 tools/synth.py crops --geometry scene --out "$O/synth/crops_scene_s1" \
  --num "$SYNTH_SCENE_CROPS" --seed 1 --workers "$W"
[ -e "$O/synth/scenes_s0" ] || python3 tools/synth.py scenes --out "$O/synth/scenes_s0" --num "$SYNTH_SCENES" --seed 0 --workers "$W"
[ -e "$O/synth/pages_s0" ] || python3 tools/synth.py pages --out "$O/synth/pages_s0" --num "$SYNTH_PAGES" --seed 0 --workers "$W"
echo "data ready in $O"
