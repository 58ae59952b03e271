#!/usr/bin/env bash
# Rebuild a shipped weight file from data, in one command:
#   bash tools/reproduce.sh NAME [--out DIR] [--data SHARED_DATA] [key=value ...]
# NAME is a staged recipe in configs/ (rec_default, rec_fast, det_default, page_default, rec_cppd, rec_lister).
# The stores are prepared first (tools/prepare_data.sh SHARED_DATA data; SHARED_DATA defaults to
# ../shared/data), then every stage of configs/NAME.yaml trains in runs/NAME/<stage> (an interrupted run resumes where it stopped,
# finished stages are skipped) and the final checkpoint is exported to ocr/assets/weights/NAME.safetensors,
# replacing the shipped file, or to DIR/NAME.safetensors with --out DIR (to compare before replacing).
# key=value items override every stage (e.g. workers=4); --device cuda trains on a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { echo "usage: bash tools/reproduce.sh NAME [--out DIR] [--data SHARED_DATA] [--device DEV] [key=value ...]" >&2; exit 2; }
[ $# -ge 1 ] || usage
NAME=$1; shift
RECIPE="configs/$NAME.yaml"
[ -f "$RECIPE" ] || { echo "reproduce: no recipe $RECIPE (e.g. rec_default, det_default)" >&2; exit 2; }
DATA=../shared/data
OPTS=()
OVERRIDES=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || usage; OPTS+=(--export-dir "$2"); shift 2 ;;
    --data) [ $# -ge 2 ] || usage; DATA=$2; shift 2 ;;
    --device) [ $# -ge 2 ] || usage; OPTS+=(--device "$2"); shift 2 ;;
    *=*) OVERRIDES+=("$1"); shift ;;
    *) usage ;;
  esac
done
bash tools/prepare_data.sh "$DATA" data
ocr train "$RECIPE" "${OVERRIDES[@]}" "${OPTS[@]}"
