"""Every shipped recognizer reads clean printed words, as `ocr recognize` runs it (PyTorch and the
reader's ONNX Runtime int8 path). Letters are compared ignoring case: the shipped recognizers learned
SROIE's all-capital labels as caseless and still write some mixed-case words in capitals
("Tax" -> "TAX"; README, *Letter case*)."""
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocr.pipeline.recognize import recognize_crops
from ocr.runtime import load
from ocr.weights import DEFAULT_RECOGNIZER, shipped_info

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # setup.sh installs fonts-dejavu
WORDS = ["Total", "RECEIPT", "42.50", "Street", "invoice", "Hello", "Tax", "Cash", "12/05/2019"]
RECOGNIZERS = [r["name"] for r in shipped_info() if r["task"] == "recognition"]


def _printed(word: str) -> np.ndarray:
    font = ImageFont.truetype(FONT, 40)
    left, top, right, bottom = font.getbbox(word)
    img = Image.new("RGB", (right - left + 16, bottom - top + 16), (245, 242, 235))
    ImageDraw.Draw(img).text((8 - left, 8 - top), word, fill=(20, 20, 20), font=font)
    return np.asarray(img)


def test_the_default_recognizer_is_shipped_and_tested_here():
    assert DEFAULT_RECOGNIZER in RECOGNIZERS


@pytest.mark.parametrize("backend,precision", [("torch", "fp32"), ("onnxruntime", "int8")])
@pytest.mark.parametrize("name", RECOGNIZERS)
def test_shipped_recognizer_reads_printed_words(name, backend, precision):
    model = load(name, backend=backend, precision=precision)
    readings = recognize_crops(model, [_printed(w) for w in WORDS])
    assert [t.lower() for t, _ in readings] == [w.lower() for w in WORDS]
    assert all(0.5 < s <= 1.0 for _, s in readings)
