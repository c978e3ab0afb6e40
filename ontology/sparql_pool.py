"""SPARQL queries in their own bounded pool of worker processes (pebble), away from the API's threads.

Each query runs in a worker process with a wall-clock limit (the worker is killed past it, so a heavy query
stops using its core), an address-space cap, a result-row and a result-byte limit. At most ``workers``
queries run and ``queue`` wait; beyond that a query is refused at once (:class:`SparqlBusy`, HTTP 503 with
Retry-After). A query whose client has gone is cancelled (its worker killed). Workers keep the merged graph
of the label system and reload it when the Turtle files change.
"""

from __future__ import annotations

import asyncio
import atexit
import multiprocessing
import resource
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import CancelledError
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path

from pebble import ProcessExpired, ProcessPool

from ontology.sparql import GraphCache, negotiate, run_query
from rskg.errors import RskgError


@dataclass(frozen=True)
class SparqlLimits:
    workers: int = 2
    queue: int = 8
    timeout_s: float = 10.0
    max_rows: int = 10_000
    max_result_bytes: int = 16 * 2**20
    memory_mb: int = 1024


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str
    version: str = ""


class SparqlBusy(RskgError):
    """All SPARQL workers are busy and the queue is full."""


_CACHES: dict[str, GraphCache] = {}


def _limit_memory(memory_mb: int) -> None:
    limit = memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _text(status: int, message: str) -> Answer:
    return Answer(status, (message + "\n").encode(), "text/plain; charset=utf-8")


def answer(ontology_dir: str, query: str, accept: str | None, fmt: str | None, limits: SparqlLimits) -> Answer:
    """Run one query (in a worker process): rows counted lazily so a huge result stops at ``max_rows``."""
    cache = _CACHES.setdefault(ontology_dir, GraphCache(Path(ontology_dir)))
    try:
        result = run_query(cache.graph(), query)
        if result.kind == "SELECT":
            for n, _ in enumerate(result.result, start=1):
                if n > limits.max_rows:
                    return _text(400, f"the result has more than {limits.max_rows} rows: add a LIMIT (at most "
                                      f"{limits.max_rows}) and page with OFFSET")
        elif result.is_graph and len(result.result.graph or []) > limits.max_rows:
            return _text(400, f"the result graph has more than {limits.max_rows} triples: narrow the query")
        media = negotiate(accept, result.is_graph, fmt)
        if media is None:
            offered = "text/turtle" if result.is_graph else ("application/sparql-results+json, +xml, text/csv, "
                                                             "text/tab-separated-values")
            return _text(406, f"not acceptable: this {result.kind} result is available as {offered}")
        body, ctype = result.serialize(media)
    except RskgError as exc:
        return _text(400, exc.message + (f" ({exc.hint})" if exc.hint else ""))
    except MemoryError:
        return _text(400, "the query needs more memory than a SPARQL worker may use: narrow it or add a LIMIT")
    except RecursionError:
        return _text(400, "the query is nested too deeply")
    if len(body) > limits.max_result_bytes:
        return _text(400, f"the result is larger than {limits.max_result_bytes // 2**20} MiB: add a LIMIT")
    return Answer(200, body, ctype, cache.version)


class SparqlPool:
    def __init__(self, ontology_dir: Path, limits: SparqlLimits | None = None) -> None:
        self.ontology_dir = str(ontology_dir)
        self.limits = limits or SparqlLimits()
        self._pool: ProcessPool | None = None
        self._lock = threading.Lock()
        self._pending = 0

    @property
    def pending(self) -> int:
        return self._pending

    def _get(self) -> ProcessPool:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPool(max_workers=self.limits.workers, initializer=_limit_memory,
                                         initargs=(self.limits.memory_mb,),
                                         context=multiprocessing.get_context("spawn"))
                atexit.register(self.close)
            return self._pool

    def warm(self) -> None:
        """Start the workers and load the graph in each (the first queries then answer at once)."""
        futures = [self._get().schedule(answer, args=(self.ontology_dir, "ASK { ?s ?p ?o }", None, None,
                                                       self.limits)) for _ in range(self.limits.workers)]
        for f in futures:
            f.result(timeout=120)

    async def run(self, query: str, accept: str | None, fmt: str | None,
                  is_disconnected: Callable[[], Awaitable[bool]] | None = None) -> Answer:
        lim = self.limits
        if self._pending >= lim.workers + lim.queue:
            raise SparqlBusy(f"the SPARQL endpoint is busy ({lim.workers} queries running, {lim.queue} waiting)",
                             "Retry in a few seconds.")
        self._pending += 1
        fut = self._get().schedule(answer, args=(self.ontology_dir, query, accept, fmt, lim), timeout=lim.timeout_s)
        try:
            waiting = asyncio.wrap_future(fut)
            while True:
                done, _ = await asyncio.wait({waiting}, timeout=0.25)
                if done:
                    return waiting.result()
                if is_disconnected is not None and await is_disconnected():
                    fut.cancel()  # type: ignore[no-untyped-call]  # kills the worker running it
                    return _text(499, "client closed the request")
        except FutureTimeout:
            return _text(400, f"the query ran past the {lim.timeout_s:g} s limit and was stopped: narrow it "
                              "or add a LIMIT")
        except ProcessExpired:
            return _text(400, "the query stopped its worker (out of memory?): narrow it or add a LIMIT")
        except (asyncio.CancelledError, CancelledError):
            fut.cancel()  # type: ignore[no-untyped-call]
            raise
        finally:
            self._pending -= 1

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.stop()  # type: ignore[no-untyped-call]
            pool.join(timeout=10)
