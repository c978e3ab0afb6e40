"""Admission control for expensive operations: per kind (search, describe, retrieve, image), at most
``running`` jobs run, each in that kind's own worker threads (so they never occupy the threads that serve
concept lookups, pages and the catalog), and at most ``queue`` wait. Beyond that, or after waiting longer
than ``wait_s``, a request is refused at once with :class:`Busy` (HTTP 503 + ``Retry-After``). A waiting job
whose client has gone is dropped before it starts; a running one finishes, its answer unsent.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from rskg.errors import RskgError
from rskg.settings import Settings

T = TypeVar("T")


class Busy(RskgError):
    """Too many requests of one kind are running or waiting; retry after ``retry_after_s``."""

    def __init__(self, message: str, hint: str, retry_after_s: int) -> None:
        super().__init__(message, hint)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Limit:
    running: int
    queue: int


class Gate:
    def __init__(self, kind: str, limit: Limit, wait_s: float, retry_after_s: int) -> None:
        self.kind, self.limit, self.wait_s, self.retry_after_s = kind, limit, wait_s, retry_after_s
        self.executor = ThreadPoolExecutor(limit.running, thread_name_prefix=f"rskg-{kind}")
        self.admitted = 0            # running + waiting (changed on the event loop only)
        self.refused = 0

    def _busy(self, why: str) -> Busy:
        self.refused += 1
        return Busy(f"the server is busy: {why}",
                    f"Retry in {self.retry_after_s} s (at most {self.limit.running} {self.kind} requests run "
                    f"and {self.limit.queue} wait at once).", self.retry_after_s)

    async def run(self, fn: Callable[..., T], *args: Any,
                  is_disconnected: Callable[[], Awaitable[bool]] | None = None) -> T:
        if self.admitted >= self.limit.running + self.limit.queue:
            raise self._busy(f"{self.admitted} {self.kind} requests are running or waiting")
        self.admitted += 1
        try:
            loop = asyncio.get_running_loop()
            started = asyncio.Event()

            def job() -> T:
                loop.call_soon_threadsafe(started.set)
                return fn(*args)

            fut = self.executor.submit(job)
            waiting = asyncio.wrap_future(fut)
            deadline = loop.time() + self.wait_s
            while True:
                done, _ = await asyncio.wait({waiting}, timeout=0.25)
                if done:
                    return waiting.result()
                if not started.is_set():
                    if loop.time() > deadline and fut.cancel():
                        raise self._busy(f"a {self.kind} request waited {self.wait_s:g} s for a free worker")
                    if is_disconnected is not None and await is_disconnected() and fut.cancel():
                        raise RskgError(f"the client closed the {self.kind} request before it started")
        finally:
            self.admitted -= 1

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


class Admission:
    """The gates of one app, made from the settings."""

    def __init__(self, settings: Settings) -> None:
        s = settings
        limits = {"search": Limit(s.api_search_running, s.api_search_queue),
                  "describe": Limit(s.api_search_running, s.api_search_queue),
                  "retrieve": Limit(s.api_retrieve_running, s.api_retrieve_queue),
                  "image": Limit(s.api_image_running, s.api_image_queue)}
        self.gates = {k: Gate(k, v, s.api_queue_wait_s, s.api_retry_after_s) for k, v in limits.items()}

    def gate(self, kind: str) -> Gate:
        return self.gates[kind]

    def close(self) -> None:
        for g in self.gates.values():
            g.close()


async def admitted(ctx: Any, kind: str, fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(*args)`` through the ``kind`` gate of the request's app; a refusal sets HTTP 503 + Retry-After
    on the GraphQL response (the error itself says busy and when to retry)."""
    admission: Admission = ctx.request.app.state.admission
    try:
        return await admission.gate(kind).run(functools.partial(fn, *args),
                                              is_disconnected=ctx.request.is_disconnected)
    except Busy as exc:
        if ctx.response is not None:
            ctx.response.status_code = 503
            ctx.response.headers["Retry-After"] = str(exc.retry_after_s)
        raise
