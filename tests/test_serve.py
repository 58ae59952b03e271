"""``ocr serve`` through a real HTTP client on loopback: the JSON of ``ocr read``, errors per file,
PDFs and the document formats (hOCR, ALTO, searchable PDF), the limits (413, 422, 429, 408), the
model list, health and the OpenAPI docs."""
from __future__ import annotations

import asyncio
import io
import json
import time

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi", reason="ocr serve needs the serve extra (pip install .[serve])")
httpx = pytest.importorskip("httpx", reason="the service tests need httpx")

from ocr.api import Reader  # noqa: E402
from ocr.cli import main  # noqa: E402
from ocr.serve.app import create_app  # noqa: E402
from ocr.serve.settings import ServeSettings  # noqa: E402
from helpers import same_reading  # noqa: E402
from serve_helpers import running_server, text_page  # noqa: E402
from test_pipeline_helpers import FakeDetector, FakeRecognizer  # noqa: E402

SETTINGS = ServeSettings(device="cpu", det_size=320, max_upload_mb=1, max_pixels=1_000_000, max_pages=3,
                         max_det_size=1024)


@pytest.fixture(scope="module")
def url():
    with running_server(create_app(SETTINGS)) as base:
        yield base


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def _read(url, files, **data):
    return httpx.post(f"{url}/v1/read", files=[("files", f) for f in files], data=data, timeout=120)


def test_read_answers_the_json_of_ocr_read(url, tmp_path, capsys):
    pages = {"receipt.png": text_page(["Total 42.50", "thank you"]), "sign.png": text_page(["OPEN"], (300, 90))}
    for name, data in pages.items():
        (tmp_path / name).write_bytes(data)
    main(["read", str(tmp_path / "receipt.png"), str(tmp_path / "sign.png"), "--format", "json",
          "--det-size", "320", "--device", "cpu"])
    expected = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    for e in expected:
        e["image"] = e["image"].rsplit("/", 1)[-1]
    r = _read(url, list(pages.items()))
    assert r.status_code == 200, r.text
    assert same_reading(r.json(), expected)
    assert "TOTAL" in r.json()[0]["lines"][0]["text"].upper()
    words = _read(url, [("sign.png", pages["sign.png"])], words="true").json()[0]
    assert words["lines"][0]["words"][0]["text"] == expected[1]["lines"][0]["text"]
    text = _read(url, [("receipt.png", pages["receipt.png"])], format="text")
    assert text.headers["content-type"].startswith("text/plain")
    assert text.text == "\n".join(line["text"] for line in expected[0]["lines"])


def test_a_bad_file_is_an_error_entry_and_the_rest_is_read(url):
    r = _read(url, [("bad.png", b"not an image"), ("ok.png", text_page(["hello"]))])
    assert r.status_code == 200
    bad, ok = r.json()
    assert bad["image"] == "bad.png" and "bad.png: not a readable image" in bad["error"]
    assert ok["image"] == "ok.png" and ok["lines"]


def test_pdfs_and_document_formats(url, tmp_path, capsys):
    from helpers import image_pdf

    pages = [np.asarray(Image.open(io.BytesIO(text_page(t))).convert("RGB")) for t in (["Total 42.50"], ["thank you"])]
    pdf = image_pdf(pages, dpi=150)
    (tmp_path / "doc.pdf").write_bytes(pdf)
    main(["read", str(tmp_path / "doc.pdf"), "--format", "json", "--det-size", "320", "--device", "cpu"])
    expected = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    for e in expected:
        e["image"] = e["image"].rsplit("/", 1)[-1]
    r = _read(url, [("doc.pdf", pdf)])
    # every page, named and read as ocr read does (a score within 0.01: see helpers.same_reading)
    assert r.status_code == 200 and same_reading(r.json(), expected, tol=1e-2)
    assert [p["image"] for p in r.json()] == ["doc.pdf#page1", "doc.pdf#page2"]
    hocr = _read(url, [("doc.pdf", pdf)], format="hocr")
    assert hocr.headers["content-type"].startswith("application/xhtml+xml")
    assert hocr.text.count("class='ocr_page'") + hocr.text.count('class="ocr_page"') == 2
    alto = _read(url, [("doc.pdf", pdf), ("bad.png", b"junk")], format="alto")
    assert alto.status_code == 200 and "<alto" in alto.text and "bad.png" in alto.headers["x-ocr-errors"]
    searchable = _read(url, [("doc.pdf", pdf)], format="pdf")
    assert searchable.headers["content-type"] == "application/pdf" and searchable.content.startswith(b"%PDF-")
    too_many = _read(url, [("big.pdf", image_pdf(pages * 2, dpi=150))])
    assert too_many.status_code == 413 and "big.pdf: 4 pages" in too_many.json()["detail"]


def test_clear_4xx_answers(url):
    broken = _read(url, [("doc.pdf", b"%PDF-1.7\n1 0 obj\n")])
    assert broken.status_code == 422 and "doc.pdf: not a readable PDF" in broken.json()["detail"]
    bad = _read(url, [("bad.jpg", b"\xff\xd8 broken")])
    assert bad.status_code == 422 and "bad.jpg" in bad.json()["detail"]
    ok = ("a.png", text_page(["a"]))
    assert _read(url, [ok], format="docx").status_code == 422
    assert "det_default" in _read(url, [ok], det="nope").json()["detail"]
    assert _read(url, [ok], det_size="4096").status_code == 422
    pixels = _read(url, [("big.png", _png(np.full((1200, 1000, 3), 255, np.uint8)))])
    assert pixels.status_code == 413 and "big.png" in pixels.json()["detail"]
    assert _read(url, [ok] * 4).status_code == 413
    body = _read(url, [("huge.png", b"\0" * (2 * 2**20))])
    assert body.status_code == 413 and "1 MB" in body.json()["detail"]

    def chunks():  # no Content-Length: the size is counted as the body streams in
        yield b"--x\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\n\r\n"
        for _ in range(40):
            yield b"\0" * 65536

    streamed = httpx.post(f"{url}/v1/read", content=chunks(),
                          headers={"content-type": "multipart/form-data; boundary=x"}, timeout=60)
    assert streamed.status_code == 413


def test_models_health_docs_and_page(url):
    models = httpx.get(f"{url}/v1/models").json()
    assert "det_default" in models["detection"] and "rec_default" in models["recognition"]
    assert models["formats"] == ["json", "text", "hocr", "alto", "pdf"] and models["limits"]["max_pages"] == 3
    health = httpx.get(f"{url}/health").json()
    assert health["status"] == "ok" and health["rss_mb"] > 0
    assert httpx.get(f"{url}/docs").status_code == 200
    assert "/v1/read" in httpx.get(f"{url}/openapi.json").json()["paths"]
    page = httpx.get(f"{url}/")
    assert page.status_code == 200 and 'id="drop"' in page.text
    assert httpx.get(f"{url}/static/app.js").status_code == 200


class _SlowPool:
    """Fake models whose reading takes ``delay`` seconds (for the concurrency and time limits)."""

    default = {"detection": "fake_det", "recognition": "fake_rec"}
    device = "cpu"

    def __init__(self, delay: float):
        self.delay = delay

    def names(self, task):
        return [self.default[task]]

    def reader(self, det, rec, det_size):
        delay = self.delay

        class Slow(Reader):
            def read_batch(self, items, errors="raise", chunk=8):
                time.sleep(delay)
                return super().read_batch(items, errors, chunk)

        return Slow(det=FakeDetector(), rec=FakeRecognizer(), device="cpu", det_size=det_size)


def test_busy_gets_429_and_slow_gets_408():
    settings = ServeSettings(device="cpu", concurrency=1, queue=1, timeout_s=20.0)
    page = ("p.png", text_page(["slow"]))
    with running_server(create_app(settings, pool=_SlowPool(1.0))) as base:

        async def burst():
            async with httpx.AsyncClient(timeout=30) as client:
                return await asyncio.gather(*[client.post(f"{base}/v1/read", files=[("files", page)])
                                              for _ in range(4)])

        codes = sorted(r.status_code for r in asyncio.run(burst()))
        assert codes.count(200) == 2 and codes.count(429) == 2, codes
    with running_server(create_app(ServeSettings(device="cpu", timeout_s=0.5), pool=_SlowPool(1.5))) as base:
        r = httpx.post(f"{base}/v1/read", files=[("files", page)], timeout=30)
        assert r.status_code == 408 and "0.5 s" in r.json()["detail"]
