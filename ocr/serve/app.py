"""The ``ocr serve`` application: ``POST /v1/read``, ``GET /v1/models``, ``GET /health``, the web
page at ``/`` and OpenAPI docs at ``/docs``.

``POST /v1/read`` takes one or more files (multipart field ``files``) and the options of ``ocr
read``; it answers the ``ocr read --format json`` objects of the pages, in upload order, as a
JSON list (``format=text``: the text; ``hocr``, ``alto``: one document of all the pages;
``pdf``: a searchable PDF of them). Images and PDFs (every page) are read. A file that cannot be
read is an ``{"image", "error"}`` entry when other files could be read (document formats list
the failures in the ``X-OCR-Errors`` header), else the whole request fails with its status: 413
(too large, or too many pages), 422 (not a readable image or PDF).
"""
from __future__ import annotations

import json
import os
import time
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, File, Form, HTTPException, UploadFile
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles

from ocr.data.images import ImageError
from ocr.export import export
from ocr.intake import TooManyPages, pages_from_bytes, read_pages
from ocr.serve.limits import BodyLimit, Busy, Gate
from ocr.serve.settings import ServeSettings

STATIC = Path(__file__).parent / "static"
FORMATS = ("json", "text", "hocr", "alto", "pdf")
DOCUMENT_TYPES = {"hocr": "application/xhtml+xml", "alto": "application/xml", "pdf": "application/pdf"}


def create_app(settings: ServeSettings = ServeSettings(), pool=None) -> FastAPI:
    """The FastAPI app; ``pool``: a ModelPool (default: load the models of ``settings``)."""
    state: dict = {}

    @asynccontextmanager
    async def lifespan(app):
        from ocr.read_cli import _quiet_decoders
        from ocr.serve.models import ModelPool

        _quiet_decoders()
        state["pool"] = pool or ModelPool(settings.det, settings.rec, settings.device, settings.backend, settings.precision)
        state["gate"] = Gate(settings.concurrency, settings.queue)
        yield

    app = FastAPI(title="ocr", summary="Read text in images", lifespan=lifespan)
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC / "index.html")

    @app.get("/health")
    def health():
        """Up, with the resident memory of the process."""
        return {"status": "ok", "pid": os.getpid(), "rss_mb": round(_rss_bytes() / 2**20, 1)}

    @app.get("/v1/models")
    def models():
        """The models a request may name, the defaults, the output formats and the limits."""
        p = state["pool"]
        return {"detection": p.names("detection"), "recognition": p.names("recognition"),
                "default": p.default, "det_size": settings.det_size, "formats": list(FORMATS), "device": p.device,
                "limits": {"max_upload_mb": settings.max_upload_mb, "max_pixels": settings.max_pixels,
                           "max_pages": settings.max_pages, "max_det_size": settings.max_det_size,
                           "concurrency": settings.concurrency, "queue": settings.queue,
                           "timeout_s": settings.timeout_s}}

    @app.post("/v1/read")
    async def read(files: list[UploadFile] = File(..., description="images or PDFs (one or more)"),
                   format: str = Form("json", description="json | text | hocr | alto | pdf"),
                   det: str | None = Form(None, description="detector name (GET /v1/models)"),
                   rec: str | None = Form(None, description="recognizer name (GET /v1/models)"),
                   det_size: int | None = Form(None, description="long side the detector sees, in pixels"),
                   words: bool = Form(False, description="json: add each line's words")):
        """Read the text in the uploaded images and PDFs, as ``ocr read --format json`` (or text,
        hOCR, ALTO, or a searchable PDF)."""
        deadline = time.monotonic() + settings.timeout_s
        reader = _reader(state["pool"], settings, format, det, rec, det_size)
        uploads = [(f.filename or f"upload{i + 1}", await f.read()) for i, f in enumerate(files)]
        for f in files:
            await f.close()
        try:
            pages = await state["gate"].run(lambda: _read_uploads(reader, uploads, settings, deadline), deadline)
        except Busy:
            raise HTTPException(429, f"busy: {settings.concurrency} requests at work and {settings.queue} waiting; "
                                     "retry later", headers={"Retry-After": "1"}) from None
        except TimeoutError:
            raise HTTPException(408, f"reading took longer than the {settings.timeout_s:g} s limit") from None
        return _answer(pages, format, words)

    return app


def _reader(pool, settings: ServeSettings, fmt: str, det, rec, det_size):
    if fmt not in FORMATS:
        raise HTTPException(422, f"format {fmt!r} is not available; choose one of {', '.join(FORMATS)}")
    size = det_size or settings.det_size
    if not 32 <= size <= settings.max_det_size:
        raise HTTPException(422, f"det_size {size} is out of range; use 32 to {settings.max_det_size}")
    try:
        return pool.reader(det, rec, size)
    except ValueError as e:
        raise HTTPException(422, str(e)) from None


class _Failed:
    """A file that could not be read: its name, message and HTTP status."""

    def __init__(self, name: str, message: str, status: int):
        self.image, self.error, self.status = name, " ".join(message.split()), status

    def to_dict(self, words: bool = False) -> dict:
        return {"image": self.image, "error": self.error}


def _read_uploads(reader, uploads: list[tuple[str, bytes]], settings: ServeSettings, deadline: float) -> list:
    """Decode every upload (pages in order, failures kept in place), then read the good pages:
    [(Page or _Failed, its image or None)]."""
    entries: list = []
    for name, data in uploads:
        entries += _decode(name, data, settings, settings.max_pages - len(entries))
        if len(entries) > settings.max_pages:
            raise HTTPException(413, f"more than {settings.max_pages} pages in one request")
    out = []
    for entry in entries:
        if time.monotonic() > deadline:
            raise TimeoutError
        out += [(entry, None)] if isinstance(entry, _Failed) else [(read_pages(reader, [entry])[0], entry[1])]
    return out


def _decode(name: str, data: bytes, settings: ServeSettings, pages_left: int) -> list:
    try:
        pages = pages_from_bytes(data, name, max_pages=max(1, pages_left))
    except TooManyPages as e:
        raise HTTPException(413, f"{e}: more than {settings.max_pages} pages in one request") from None
    except ImageError as e:
        return [_Failed(name, str(e), 413 if "too large" in str(e) else 422)]
    out: list = []
    for page_name, img in pages:
        h, w = img.shape[:2]
        if h * w > settings.max_pixels:
            out.append(_Failed(page_name, f"{page_name}: image is too large ({w}x{h} pixels; "
                                          f"limit {settings.max_pixels} pixels)", 413))
        else:
            out.append((page_name, img))
    return out


def _answer(read: list, fmt: str, words: bool):
    pages = [p for p, _ in read]
    failed = [p for p in pages if isinstance(p, _Failed)]
    if failed and len(failed) == len(pages):
        return JSONResponse({"detail": failed[0].error, "errors": [f.to_dict() for f in failed]},
                            status_code=failed[0].status)
    if fmt in DOCUMENT_TYPES:
        good = [(p, img) for p, img in read if not isinstance(p, _Failed)]
        body = export([p for p, _ in good], fmt, images=[img for _, img in good])
        headers = {"X-OCR-Errors": json.dumps([f.to_dict() for f in failed])} if failed else None
        return Response(body, media_type=DOCUMENT_TYPES[fmt], headers=headers)
    if fmt == "text":
        if len(pages) == 1:
            return PlainTextResponse(pages[0].text)
        return PlainTextResponse("\n\n".join(f"==> {p.image} <==\n" + (p.error or p.text) for p in pages))
    return JSONResponse([p.to_dict(words=words) for p in pages])


def _rss_bytes() -> int:
    """Resident memory of this process (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0
