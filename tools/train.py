"""Train a model from a YAML recipe: ``python tools/train.py CONFIG.yaml [key=value ...]``."""
import sys

from ocr.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
