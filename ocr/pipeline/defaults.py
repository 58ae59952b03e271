"""The reader's measured defaults, in one place for the API, the CLI, evaluation and benchmarks."""

CROP_MARGIN = 0.2  # word boxes lengthened at both ends by this fraction of their height before
# recognition: held-out word F1 0.333 -> 0.405 on receipts and 0.381 -> 0.429 on forms (0.1: 0.383,
# 0.428; 0.3: 0.403, 0.416); growing them in height as well lowered it (0.1 on every side: 0.302, 0.349)
DET_SIZE = 1600  # long side the detector sees: h-mean on held-out scene, born-digital and form
# images averaged 0.698 at 1600 against 0.682 at 1280 and 0.667 at 1024. Through the reader: ICDAR2015
# val h-mean 0.328 / 0.483 / 0.562 / 0.602 at 640 / 960 / 1280 / 1600; SROIE val word F1 0.462 / 0.526
# / 0.556 / 0.578 at 960 / 1280 / 1600 / 2048 (receipts too need more detector pixels, not fewer)
MIN_SCORE = 0.5  # words the recognizer reads with a lower confidence are left out of pages:
# held-out word F1, ignoring case, SROIE val 0.668 -> 0.671 and FUNSD val
# 0.648 -> 0.655, page CER 0.205 -> 0.200 and 0.315 -> 0.308 (138 of 4597 words dropped; 0.7 gave
# higher F1, 0.676 and 0.663, but worse SROIE CER, 0.207)
