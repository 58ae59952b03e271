"""``ocr serve`` arguments and command."""
from __future__ import annotations

import argparse

from ocr.runtime import add_backend_args


def add_serve_args(sub) -> None:
    from ocr.serve.settings import ServeSettings

    d = ServeSettings()
    p = sub.add_parser("serve", help="HTTP service and web page: POST /v1/read, GET /v1/models, /health, /docs")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--det", default=d.det, help="default detector (a shipped name or a weight file)")
    p.add_argument("--rec", default=d.rec, help="default recognizer (a shipped name or a weight file)")
    p.add_argument("--device", default=d.device, help="auto | cpu | cuda")
    add_backend_args(p, default=d.backend)
    p.add_argument("--det-size", type=int, default=d.det_size, help="default long side the detector sees")
    p.add_argument("--max-upload-mb", type=float, default=d.max_upload_mb, help="largest request body")
    p.add_argument("--max-pixels", type=int, default=d.max_pixels, help="largest image (width x height)")
    p.add_argument("--max-pages", type=int, default=d.max_pages, help="most pages (files) in one request")
    p.add_argument("--max-det-size", type=int, default=d.max_det_size, help="largest det_size a request may ask")
    p.add_argument("--concurrency", type=int, default=d.concurrency, help="requests read at the same time")
    p.add_argument("--queue", type=int, default=d.queue, help="requests that may wait for a slot (more get 429)")
    p.add_argument("--timeout", type=float, default=d.timeout_s, help="seconds a request may take (waiting included)")
    p.set_defaults(func=run_cmd)


def run_cmd(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from ocr.serve.app import create_app
    except ImportError:
        raise RuntimeError("ocr serve needs FastAPI and uvicorn: pip install 'ocr-toolkit[serve]'") from None
    from ocr.serve.settings import ServeSettings

    settings = ServeSettings(det=args.det, rec=args.rec, device=args.device, det_size=args.det_size,
                             backend=args.backend, precision=args.precision,
                             max_upload_mb=args.max_upload_mb, max_pixels=args.max_pixels,
                             max_pages=args.max_pages, max_det_size=args.max_det_size,
                             concurrency=args.concurrency, queue=args.queue, timeout_s=args.timeout)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
    return 0
