"""Request limits of ``ocr serve``: body size (413), concurrency with a bounded queue (429) and time (408)."""
from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor

from starlette.exceptions import HTTPException


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` gets 413 before it is parsed."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return await _send_json(send, 413, {"detail": _too_large(self.max_bytes).detail})
        seen = 0
        started = False

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _too_large(self.max_bytes)
            return message

        async def tracked(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except HTTPException as e:
            if e.status_code != 413 or started:
                raise
            await _send_json(send, 413, {"detail": e.detail})


def _too_large(max_bytes: int) -> HTTPException:
    return HTTPException(413, f"request body is larger than the {max_bytes / 2**20:g} MB limit")


async def _send_json(send, status: int, body: dict) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


class Busy(Exception):
    """No slot free and the queue is full."""


class Gate:
    """At most ``concurrency`` requests at work and ``queue`` waiting; the rest are refused."""

    def __init__(self, concurrency: int, queue: int):
        self.slots = asyncio.Semaphore(concurrency)
        self.capacity, self.inside = concurrency + queue, 0  # at work or waiting
        # the same few threads do all the reading: per-thread allocator and library caches stay bounded
        self.threads = ThreadPoolExecutor(concurrency, thread_name_prefix="ocr-read")

    async def run(self, work, deadline: float):
        """Run ``work`` (a blocking function) in a thread once a slot is free, until ``deadline``
        (``time.monotonic()``); raises Busy, or TimeoutError when the deadline passes. A slot is
        given back only when ``work`` has returned, so a late request never overloads the machine."""
        if self.inside >= self.capacity:
            raise Busy
        self.inside += 1
        try:
            await asyncio.wait_for(self.slots.acquire(), max(0.0, deadline - time.monotonic()))
        except BaseException:
            self.inside -= 1
            raise
        future = asyncio.get_running_loop().run_in_executor(self.threads, work)
        future.add_done_callback(self._release)
        return await asyncio.wait_for(asyncio.shield(future), max(0.0, deadline - time.monotonic()))

    def _release(self, future) -> None:
        self.slots.release()
        self.inside -= 1
        if not future.cancelled():
            future.exception()  # seen here, so an answer already given (408) logs no stray error
