"""SPARQL: no server-side request forgery (SERVICE, FROM), a time limit that kills the query, a result-size
limit, a bounded queue with 503 + Retry-After, cancellation of abandoned queries, pages unaffected."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.security.conftest import Served

JSON = {"Accept": "application/sparql-results+json"}
CROSS_JOIN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


class Silent:
    """A loopback TCP port that accepts connections and never answers; counts the connections."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.done = threading.Event()
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        held = []
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
                held.append(conn)
                self.accepted += 1
            except OSError:
                continue
        for c in held:
            c.close()
        self.sock.close()


def sparql(serve: Served, query: str, timeout: float = 30) -> httpx.Response:
    return serve.get("/sparql/", params={"query": query}, headers=JSON, timeout=timeout)


def test_service_and_from_are_refused_without_any_fetch(serve: Served) -> None:
    silent = Silent()
    try:
        url = f"http://127.0.0.1:{silent.port}/sparql"
        for q in (f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
                  f"SELECT * WHERE {{ OPTIONAL {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }} }}",
                  f"SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }} LIMIT 1",
                  f"SELECT * FROM NAMED <{url}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }} LIMIT 1"):
            r = sparql(serve, q, timeout=10)
            assert r.status_code == 400, r.text
            assert "not allowed" in r.text
        r = serve.post("/sparql/", content=f"SELECT * {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
                       headers={"Content-Type": "application/sparql-query"}, timeout=10)
        assert r.status_code == 400 and "SERVICE" in r.text
        assert silent.accepted == 0
    finally:
        silent.done.set()


def test_variables_named_like_update_keywords_are_fine(serve: Served) -> None:
    r = sparql(serve, "SELECT ?copy ?add ?load WHERE { ?copy ?add ?load } LIMIT 3")
    assert r.status_code == 200, r.text
    assert len(r.json()["results"]["bindings"]) == 3
    r = sparql(serve, "SELECT * WHERE { ?s ?p ?o } LIMIT 1 ; ADD <a:b> TO <a:c>")
    assert r.status_code == 400 and "read-only" in r.text


def test_heavy_query_is_stopped_and_result_size_is_capped(serve: Served) -> None:
    r = sparql(serve, CROSS_JOIN, timeout=30)
    assert r.status_code == 400 and "limit and was stopped" in r.text, r.text
    r = sparql(serve, "SELECT * WHERE { ?s ?p ?o . ?s2 ?p2 ?o2 }", timeout=30)
    assert r.status_code == 400 and "more than 10000 rows" in r.text, r.text
    r = sparql(serve, "ASK { ?s ?p ?o }", timeout=10)          # the killed worker was replaced
    assert r.status_code == 200 and r.json()["boolean"] is True


def test_flood_gets_busy_and_pages_stay_up(serve: Served) -> None:
    with ThreadPoolExecutor(12) as pool:
        heavy = [pool.submit(sparql, serve, CROSS_JOIN, 60) for _ in range(10)]
        # while 2 run and 2 wait, pages, static files and GraphQL answer
        for path in ("/", "/healthz", "/review/mappings"):
            assert serve.get(path, timeout=10).status_code == 200, path
        r = serve.gql("{ concept(id: \"river\") { id } }", timeout=10)
        assert r.status_code == 200 and r.json()["data"]["concept"]["id"] == "river"
        codes = [f.result().status_code for f in heavy]
    busy = codes.count(503)
    assert busy >= 5 and codes.count(400) == 10 - busy, codes


def _workers(pid: int) -> set[int]:
    """PIDs of the SPARQL worker processes (spawned children) of the server process."""
    kids: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids |= {int(k) for k in (task / "children").read_text().split()}
    out = set()
    for k in kids:
        try:
            if b"spawn_main" in Path(f"/proc/{k}/cmdline").read_bytes():
                out.add(k)
        except OSError:
            continue
    return out


def test_abandoned_query_is_cancelled(serve: Served) -> None:
    """A client that gives up after 0.5 s: its query's worker is killed at once (well before the 10 s limit)
    and replaced, and the endpoint answers the next query."""
    before = _workers(serve.process.pid)
    assert len(before) == 2, before
    t0 = time.monotonic()
    with contextlib.suppress(httpx.TimeoutException):
        sparql(serve, CROSS_JOIN, timeout=0.5)
    while time.monotonic() - t0 < 8 and _workers(serve.process.pid) >= before:
        time.sleep(0.1)
    assert not before <= _workers(serve.process.pid), "the abandoned query's worker is still running"
    r = sparql(serve, "ASK { ?s ?p ?o }", timeout=30)
    assert r.status_code == 200, r.text
