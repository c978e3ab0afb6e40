"""The attacks of issue 17, each against a real ``rskg serve`` subprocess on a free loopback port, talking to the
real Neo4j and PostgreSQL (the label system and a small real UCMerced subset, as in the API tests)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from rskg.services import Services
from tests.integration.api.conftest import api_dataset, free_port, label_system  # noqa: F401 - fixtures

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres]

# small limits so each attack hits them quickly
SERVE_ENV = {"RSKG_SPARQL_TIMEOUT_S": "10", "RSKG_SPARQL_WORKERS": "2", "RSKG_SPARQL_QUEUE": "2",
             "RSKG_API_SEARCH_RUNNING": "1", "RSKG_API_SEARCH_QUEUE": "3"}


@dataclass
class Served:
    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def get(self, path: str, timeout: float = 30, **kw: Any) -> httpx.Response:
        return httpx.get(self.base + path, timeout=timeout, **kw)

    def post(self, path: str, timeout: float = 30, **kw: Any) -> httpx.Response:
        return httpx.post(self.base + path, timeout=timeout, **kw)

    def gql(self, query: str, variables: dict[str, Any] | None = None, timeout: float = 60,
            **kw: Any) -> httpx.Response:
        return self.post("/graphql", json={"query": query, "variables": variables or {}}, timeout=timeout, **kw)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def start_serve(tmp: Path, extra_env: dict[str, str] | None = None, args: list[str] | None = None,
                wait: bool = True) -> Served:
    port = free_port()
    env = {**os.environ, **SERVE_ENV, **(extra_env or {})}
    log = tmp / f"serve-{port}.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "rskg.cli.main", "serve", "--port", str(port),
                                 *(args or ["--host", "127.0.0.1"])], env=env, stdout=fh, stderr=subprocess.STDOUT)
    served = Served(f"http://127.0.0.1:{port}", proc, log)
    if not wait:
        return served
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"rskg serve exited ({proc.returncode}):\n{served.log_text()[-3000:]}")
        try:
            if httpx.get(served.base + "/healthz", timeout=2).status_code in (200, 503):
                return served
        except httpx.HTTPError:
            time.sleep(0.3)
    stop(served)
    pytest.fail(f"rskg serve did not start in 120 s:\n{served.log_text()[-3000:]}")


def stop(served: Served) -> None:
    if served.process.poll() is None:
        served.process.terminate()
        try:
            served.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            served.process.kill()
            served.process.wait(timeout=10)


@pytest.fixture(scope="session")
def serve(services: Services, label_system: Any, api_dataset: str,  # noqa: F811
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    s = start_serve(tmp_path_factory.mktemp("serve"))
    yield s
    stop(s)
