"""A real uvicorn server on a free loopback port, in a thread (for the service and page tests)."""
from __future__ import annotations

import contextlib
import socket
import threading
import time


@contextlib.contextmanager
def running_server(app):
    """Serve ``app`` on 127.0.0.1; yields its base URL and stops it afterwards."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def text_page(lines: list[str], size: tuple[int, int] = (480, 160)) -> bytes:
    """A PNG of a few lines of dark text on a light page (DejaVu Sans when installed)."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 30)
    except OSError:
        font = ImageFont.load_default(size=30)
    img = Image.new("RGB", size, (246, 246, 240))
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((24, 20 + 60 * i), line, fill=(15, 15, 15), font=font)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
