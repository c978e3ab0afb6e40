"""Shared fixtures. Integration tests talk to the real local servers, started once per run."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from rskg.settings import Settings, load_settings  # noqa: E402


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def data_dir(settings: Settings) -> Path:
    d = settings.data_dir
    if not (d / "ucmerced").is_dir():
        pytest.fail(f"real data not found at {d}: set RSKG_DATA_DIR to the shared data folder")
    return d


@pytest.fixture(scope="session")
def scratch_home(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Settings]:
    """``scratch_home(name, **overrides)``: the settings of a new, empty RSKG home (its own Zarr store, index,
    prototypes, models) that shares this run's cache folder (ONNX exports, cached features, text vectors)."""
    def make(name: str, **overrides: object) -> Settings:
        home = tmp_path_factory.mktemp(name)
        settings.cache_dir.mkdir(parents=True, exist_ok=True)
        (home / "cache").symlink_to(settings.cache_dir)
        return load_settings(home=home, data_dir=settings.data_dir, **overrides)

    return make


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """Headless Chromium (Debian package) driven by Playwright, one per test module; skips when either is absent."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent: `apt-get install -y chromium` (scripts/system-deps.sh)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[dev]' (playwright)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="session")
def servers(settings: Settings) -> Settings:
    """Start (or reuse) the real Neo4j and PostgreSQL servers once for the whole run."""
    from rskg.servers.neo4j_local import Neo4jLocal
    from rskg.servers.postgres_local import PostgresLocal

    PostgresLocal(settings).up()
    Neo4jLocal(settings).up()
    return settings


@pytest.fixture(scope="session")
def services(servers: Settings) -> Iterator[object]:
    """Services with both schemas applied (idempotent)."""
    from kg.schema import apply_schema
    from rskg.catalog.migrate import migrate
    from rskg.services import Services

    svc = Services(servers)
    with svc.connection() as conn:
        migrate(conn)
    apply_schema(svc.driver)
    yield svc
    svc.close()
