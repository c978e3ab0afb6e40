"""PostgreSQL going away under a running `rskg serve`: /healthz says 503 naming it, requests fail fast with a
masked error (no driver text), and everything recovers by itself when the server is back. The outage is a real
one for the API: it talks to PostgreSQL through a loopback TCP relay that this test stops and restarts."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from pathlib import Path

from rskg.settings import Settings
from tests.integration.api.conftest import free_port
from tests.security.conftest import start_serve, stop


class Relay:
    """127.0.0.1:port -> 127.0.0.1:target; ``down()`` closes every connection and stops listening."""

    def __init__(self, port: int, target: int) -> None:
        self.port, self.target = port, target
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        self.listener: socket.socket | None = None
        self.up()

    def up(self) -> None:
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", self.port))
        ls.listen(64)
        self.listener = ls
        threading.Thread(target=self._accept, args=(ls,), daemon=True).start()

    def _accept(self, ls: socket.socket) -> None:
        while True:
            try:
                a, _ = ls.accept()
            except OSError:
                return
            b = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.conns += [a, b]
            threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 1.0)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        except OSError:
            return
        finally:
            a.close()
            b.close()

    def down(self) -> None:
        assert self.listener is not None
        self.listener.close()
        with self.lock:
            for c in self.conns:
                with contextlib.suppress(OSError):
                    c.shutdown(socket.SHUT_RDWR)
                c.close()
            self.conns.clear()


PAGE = '{ samples(first: 2) { totalCount } }'


def test_postgres_outage_fails_fast_and_recovers(settings: Settings, services: object, tmp_path: Path) -> None:
    relay = Relay(free_port(), settings.pg_port)
    serve = start_serve(tmp_path, {"RSKG_PG_PORT": str(relay.port), "RSKG_PG_POOL_TIMEOUT_S": "3"})
    try:
        assert serve.get("/healthz").json()["postgres"] == "ok"
        assert serve.gql(PAGE).json()["data"]["samples"]["totalCount"] >= 0
        relay.down()
        t0 = time.monotonic()
        r = serve.get("/healthz", timeout=30)
        assert r.status_code == 503 and r.json()["postgres"].startswith("error"), r.text
        assert r.json()["neo4j"] == "ok"
        for _ in range(3):
            r = serve.gql(PAGE, timeout=30)
            body = r.json()
            assert body["errors"][0]["message"] == "Unexpected error. The server log has the details.", body
            assert "psycopg" not in r.text.lower() and "connection" not in r.text.lower()
        assert time.monotonic() - t0 < 25            # 4 requests, each bounded by the 3-5 s timeouts
        relay.up()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and serve.get("/healthz", timeout=30).status_code != 200:
            time.sleep(0.5)
        assert serve.get("/healthz").status_code == 200
        assert "errors" not in serve.gql(PAGE).json()
    finally:
        stop(serve)
        relay.down()
