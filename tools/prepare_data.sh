#!/usr/bin/env bash
# Build every LMDB the shipped recipes train and validate on (outside git):
#   bash tools/prepare_data.sh [SHARED_DATA=../shared/data] [OUT=data]
# Synthetic store sizes are those the shipped weights were trained on (a size of 0 skips a store;
# SYNTH_CROP_STORES=0 skips every recognizer crop store, which tools/gpu_train.sh renders on the fly
# instead). The fixed synthetic validation sets
# (curved and perspective crops) use seeds 9001 and 9002, which no recipe trains on.
# Real sets are split by source image with a fixed seed; the same split serves the detector and the
# recognizer crops, so no validation image is seen by either model in training. The photo-background
# pool (synth/photo_bg: text-free patches inpainted from the ic15_det and ic13_det training photos)
# is cut from the training stores only; crops_photo_s2, _s5, _s7 and crops_scene_photo_s3, _s4, _s6
# (scene geometry) draw 80% of their crops on it.
set -euo pipefail
D=${1:-../shared/data}
O=${2:-data}
SYNTH_CROPS=${SYNTH_CROPS:-300000}
SYNTH_SCENE_CROPS=${SYNTH_SCENE_CROPS:-100000}
SYNTH_PHOTO_CROPS=${SYNTH_PHOTO_CROPS:-40000}
SYNTH_SCENE_PHOTO_CROPS=${SYNTH_SCENE_PHOTO_CROPS:-30000}
SYNTH_SCENE_PHOTO_CROPS2=${SYNTH_SCENE_PHOTO_CROPS2:-40000}  # rec_default p13's fresh seeds
SYNTH_PHOTO_CROPS2=${SYNTH_PHOTO_CROPS2:-30000}
SYNTH_SCENE_PHOTO_CROPS3=${SYNTH_SCENE_PHOTO_CROPS3:-20000}  # rec_default p14's fresh seeds
SYNTH_PHOTO_CROPS3=${SYNTH_PHOTO_CROPS3:-15000}
SYNTH_CROP_STORES=${SYNTH_CROP_STORES:-1}  # 0: no recognizer crop store (tools/gpu_train.py renders them)
SYNTH_SCENES=${SYNTH_SCENES:-1500}
SYNTH_PAGES=${SYNTH_PAGES:-2000}
SYNTH_VAL=${SYNTH_VAL:-300}
W=${WORKERS:-$(nproc)}
PIDS=()
[ -d "$D" ] || echo "prepare_data: no real data in $D; real stores not built" >&2
mk() { [ ! -d "$D" ] || [ -e "$3" ] || [ -e "$3/train" ] || { python3 -m ocr.cli lmdb create "$@" --quiet & PIDS+=($!); }; }
synth() {  # synth OUT NUM ARGS...: one synthetic store unless it exists or NUM is 0
  local out=$1 num=$2; shift 2
  [ -e "$out" ] || [ "$num" -eq 0 ] || python3 tools/synth.py "$@" --out "$out" --num "$num" --workers "$W"
}

# real stores, built side by side (one process each)
mk tsv "$D/iiit5k/train/labels.tsv" "$O/real/iiit5k" --split-val 0.1 --seed 0
mk tsv "$D/ic15_word/train/labels.tsv" "$O/real/ic15_word" --split-val 0.1 --seed 0
mk tsv "$D/svt/train/labels.tsv" "$O/real/svt"                       # validation only
mk ic13 "$D/ic13_borndigital" "$O/real/ic13_crops" --crops --split-val 0.15 --seed 0
mk sroie "$D/sroie" "$O/real/sroie_crops" --crops --split-val 0.15 --seed 0
mk funsd "$D/funsd/train" "$O/real/funsd_crops" --crops --split-val 0.15 --seed 0
mk ic15 "$D/ic15_det" "$O/real/ic15_det" --split-val 0.2 --seed 0
mk ic13 "$D/ic13_borndigital" "$O/real/ic13_det" --split-val 0.15 --seed 0
mk sroie "$D/sroie" "$O/real/sroie_det" --split-val 0.15 --seed 0
mk funsd "$D/funsd/train" "$O/real/funsd_det" --split-val 0.15 --seed 0
for p in "${PIDS[@]+"${PIDS[@]}"}"; do wait "$p"; done
# synthetic
P=("$O/real/ic15_det/train" "$O/real/ic13_det/train")
[ -e "$O/synth/photo_bg" ] || [ ! -e "${P[0]}" ] || [ ! -e "${P[1]}" ] ||
  python3 tools/synth.py photo-bg --stores "${P[@]}" --out "$O/synth/photo_bg" --workers "$W"
if [ "$SYNTH_CROP_STORES" != 0 ]; then  # the recognizer's crop stores
  synth "$O/synth/crops_s0" "$SYNTH_CROPS" crops --seed 0
  synth "$O/synth/crops_scene_s1" "$SYNTH_SCENE_CROPS" crops --geometry scene --seed 1
  if [ -e "$O/synth/photo_bg" ]; then  # crops on the photo-background pool
    BG=(--photo-bg "$O/synth/photo_bg")
    synth "$O/synth/crops_photo_s2" "$SYNTH_PHOTO_CROPS" crops "${BG[@]}" --seed 2
    synth "$O/synth/crops_scene_photo_s3" "$SYNTH_SCENE_PHOTO_CROPS" crops --geometry scene "${BG[@]}" --seed 3
    synth "$O/synth/crops_scene_photo_s4" "$SYNTH_SCENE_PHOTO_CROPS2" crops --geometry scene "${BG[@]}" --seed 4
    synth "$O/synth/crops_photo_s5" "$SYNTH_PHOTO_CROPS2" crops "${BG[@]}" --seed 5
    synth "$O/synth/crops_scene_photo_s6" "$SYNTH_SCENE_PHOTO_CROPS3" crops --geometry scene "${BG[@]}" --seed 6
    synth "$O/synth/crops_photo_s7" "$SYNTH_PHOTO_CROPS3" crops "${BG[@]}" --seed 7
  fi
fi
synth "$O/synth/scenes_s0" "$SYNTH_SCENES" scenes --seed 0
synth "$O/synth/pages_s0" "$SYNTH_PAGES" pages --seed 0
synth "$O/synth/val_curved_s9001" "$SYNTH_VAL" crops --geometry curved --seed 9001
synth "$O/synth/val_perspective_s9002" "$SYNTH_VAL" crops --geometry perspective --seed 9002
echo "data ready in $O"
