"""Small generated data for tests (no external files)."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ocr.data.lmdb_store import LmdbWriter


def text_image(text: str, height: int = 32, seed: int = 0) -> bytes:
    """A PNG of ``text`` in PIL's default font on a light background."""
    rng = np.random.default_rng(seed)
    font = ImageFont.load_default()
    w = max(8, int(font.getlength(text)) + 8)
    img = Image.new("RGB", (w, 14), tuple(int(v) for v in rng.integers(200, 255, 3)))
    ImageDraw.Draw(img).text((4, 1), text, fill=(0, 0, 0), font=font)
    img = img.resize((max(8, w * height // 14), height))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def make_rec_lmdb(path, labels: list[str], corrupt: tuple[int, ...] = ()) -> str:
    """A recognition LMDB of rendered labels; indices (0-based) in ``corrupt`` get garbage bytes."""
    with LmdbWriter(path) as w:
        for i, label in enumerate(labels):
            w.add(b"not an image" if i in corrupt else text_image(label, seed=i), label)
    return str(path)


def image_pdf(images, dpi=150, password=None) -> bytes:
    """A PDF with one page per image, each page the image at ``dpi``."""
    from fpdf import FPDF

    pdf = FPDF(unit="pt")
    for img in images:
        h, w = img.shape[:2]
        pdf.add_page(format=(w * 72 / dpi, h * 72 / dpi))
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="PNG")
        pdf.image(buf, x=0, y=0, w=w * 72 / dpi, h=h * 72 / dpi)
    if password:
        pdf.set_encryption(owner_password="owner", user_password=password)
    return bytes(pdf.output())


def same_reading(got, want, tol=2e-3) -> bool:
    """Readings (JSON objects of ``ocr read``) equal, but for confidences within ``tol``. When the
    reader padded crops to their batch's width, the int8 recognizer gave a crop a slightly different
    score in another batch (see README, int8 accuracy note); crops are now padded each on its own,
    and the tolerance stays for runs with other thread counts."""
    if isinstance(got, dict) and isinstance(want, dict):
        return got.keys() == want.keys() and all(
            abs(got[k] - want[k]) <= tol if k == "score" else same_reading(got[k], want[k], tol) for k in got)
    if isinstance(got, list) and isinstance(want, list):
        return len(got) == len(want) and all(same_reading(a, b, tol) for a, b in zip(got, want))
    return got == want


def assert_reads_words(model, words: list[str]) -> None:
    """A recognizer trained on ``words`` (the first is "cab") reads each rendered word confidently,
    decodes with a lexicon and refuses beam search."""
    import cv2
    import pytest

    from ocr.models.contract import DecodeOptions, UnsupportedOption
    from ocr.pipeline.recognize import recognize_crops

    crops = [cv2.imdecode(np.frombuffer(text_image(w, seed=i), np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]
             for i, w in enumerate(words)]
    readings = recognize_crops(model, crops)
    assert [t for t, _ in readings] == words and all(c > 0.5 for _, c in readings)
    lex = recognize_crops(model, crops[:1], options=DecodeOptions(lexicon=("cob", "cab", "hijk")))
    assert lex[0][0] == "cab"
    with pytest.raises(UnsupportedOption, match="--beam"):
        recognize_crops(model, crops, options=DecodeOptions(beam=3))


def assert_compiles_for_hopper(launches) -> None:
    """Each recorded ``(kernel, args, kwargs)`` launch compiles to an sm_90 cubin (no GPU needed);
    skips where the kernels were decorated interpreted or no ptxas can assemble for sm_90."""
    import pytest

    from ocr.kernels import compile_for_gpu, is_interpreted

    for kernel, args, kwargs in launches:
        if is_interpreted(kernel):
            pytest.skip("TRITON_INTERPRET=1 was set when the kernels were decorated")
        try:
            compiled = compile_for_gpu(kernel, args, kwargs, arch=90)
        except RuntimeError as error:  # e.g. no usable ptxas in this environment
            if "ptxas" in str(error).lower():
                pytest.skip(f"cannot assemble for sm_90 here: {error}")
            raise
        assert "cubin" in compiled.asm
