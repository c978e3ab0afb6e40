"""Foundation tests against the real local Neo4j and PostgreSQL/PostGIS servers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from kg.schema import SCHEMA_STATEMENTS, apply_schema, schema_names
from rskg.catalog.migrate import applied, migrate
from rskg.errors import AuthError, JavaMissingError, PortInUseError, ServerUnreachableError
from rskg.servers.common import pid_alive
from rskg.servers.neo4j_local import Neo4jLocal
from rskg.servers.postgres_local import PostgresLocal
from rskg.services import Services, open_driver, open_pool
from rskg.settings import Settings, load_settings

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- shared servers
def test_neo4j_write_and_read_back(services: Services) -> None:
    drv = services.driver
    drv.execute_query("MERGE (n:FoundationProbe {id: $id}) SET n.value = $v", id="probe-1", v=42)
    rec = drv.execute_query("MATCH (n:FoundationProbe {id: $id}) RETURN n.value AS v", id="probe-1").records
    assert rec[0]["v"] == 42
    drv.execute_query("MATCH (n:FoundationProbe) DETACH DELETE n")


def test_apoc_dijkstra_available(services: Services) -> None:
    recs = services.driver.execute_query(
        "SHOW PROCEDURES YIELD name WHERE name = 'apoc.algo.dijkstra' RETURN name").records
    assert [r["name"] for r in recs] == ["apoc.algo.dijkstra"]


def test_postgis_geometry_round_trip(services: Services) -> None:
    with services.connection() as conn:
        conn.execute("CREATE TEMP TABLE geo_probe (id int, g geometry(Polygon, 4326))")
        conn.execute("INSERT INTO geo_probe VALUES (1, ST_MakeEnvelope(10, 50, 11, 51, 4326))")
        row = conn.execute(
            "SELECT ST_AsText(g), ST_Area(g::geography) > 7e9, ST_Intersects(g, ST_Point(10.5, 50.5, 4326))"
            " FROM geo_probe WHERE id = 1").fetchone()
    assert row is not None
    assert row[0] == "POLYGON((10 50,10 51,11 51,11 50,10 50))"
    assert row[1] is True and row[2] is True


def test_samples_table_has_spatial_index(services: Services) -> None:
    with services.connection() as conn:
        idx = conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'samples_footprint_idx'").fetchone()
    assert idx is not None and "gist" in idx[0]


def test_schemas_apply_twice_without_change(services: Services) -> None:
    with services.connection() as conn:
        before = applied(conn)
        assert migrate(conn) == []          # the fixture applied them already
        assert applied(conn) == before
    cons1, idx1 = schema_names(services.driver)
    apply_schema(services.driver)
    apply_schema(services.driver)
    cons2, idx2 = schema_names(services.driver)
    assert (cons1, idx1) == (cons2, idx2)
    assert {"concept_id", "sample_id", "dataset_id", "source_label_id", "prototype_id"} <= cons2
    assert len(SCHEMA_STATEMENTS) <= len(cons2) + len(idx2)


def test_changed_migration_is_refused(services: Services, tmp_path: Path) -> None:
    from rskg.catalog.migrate import MIGRATIONS_DIR
    from rskg.errors import MigrationError

    for f in MIGRATIONS_DIR.glob("*.sql"):
        (tmp_path / f.name).write_text(f.read_text() + "\n-- edited after the fact\n")
    with services.connection() as conn, pytest.raises(MigrationError, match="changed after"):
        migrate(conn, tmp_path)


def test_browser_served(servers: Settings) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{servers.neo4j_http_port}/browser/", timeout=10) as r:
        body = r.read().decode()
    assert r.status == 200 and "<title>Neo4j Browser</title>" in body


def test_up_reuses_healthy_servers(servers: Settings) -> None:
    pg, neo = PostgresLocal(servers), Neo4jLocal(servers)
    pid_pg, pid_neo = pg.pid(), neo.pid()
    assert pg.up().pid == pid_pg
    assert neo.up().pid == pid_neo


def test_cli_status(servers: Settings) -> None:
    out = subprocess.run([sys.executable, "-m", "rskg.cli.main", "servers", "status"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "postgres" in out.stdout and "neo4j" in out.stdout and "healthy" in out.stdout


# --------------------------------------------------------------------------- bad input
def _isolated(tmp: Path, **kw: object) -> Settings:
    base: dict[str, object] = dict(home=tmp / "home", neo4j_bolt_port=_free_port(),
                                   neo4j_http_port=_free_port(), pg_port=_free_port(), startup_timeout_s=20)
    base.update(kw)
    return load_settings(**base)


def test_port_taken_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        s = _isolated(tmp_path, neo4j_bolt_port=port, pg_port=port)
        with pytest.raises(PortInUseError, match=str(port)):
            Neo4jLocal(s).up()
        with pytest.raises(PortInUseError, match=str(port)):
            PostgresLocal(s).up()
    assert not (tmp_path / "home").exists()


def test_missing_java_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    s = _isolated(tmp_path, java="/nonexistent/bin/java")
    with pytest.raises(JavaMissingError, match="/nonexistent/bin/java"):
        Neo4jLocal(s).up()
    assert not (tmp_path / "home").exists()


def test_unreachable_servers_give_clear_errors(tmp_path: Path) -> None:
    s = _isolated(tmp_path)
    with pytest.raises(ServerUnreachableError, match="does not answer"):
        open_driver(s)
    with pytest.raises(ServerUnreachableError, match="does not answer"):
        open_pool(s)
    with Services(s) as svc, pytest.raises(ServerUnreachableError):
        _ = svc.driver


def test_wrong_postgres_password_is_refused(servers: Settings) -> None:
    bad = load_settings(pg_password="definitely-wrong")
    with pytest.raises(AuthError, match="wrong password"):
        open_pool(bad)


# --------------------------------------------------------------------------- crash recovery
@pytest.fixture
def isolated_servers(tmp_path: Path) -> Iterator[Settings]:
    """A second pair of servers in a temp folder, on free ports, with a Neo4j password set."""
    s = _isolated(tmp_path, neo4j_password="s3cret-pass", startup_timeout_s=180, neo4j_heap="512m")
    yield s
    for srv in (Neo4jLocal(s), PostgresLocal(s)):
        try:
            srv.down()
        except Exception:  # noqa: BLE001 - best effort cleanup after a failed test
            pid = srv.pid()
            if pid:
                os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_kill9_recovery_and_neo4j_auth(isolated_servers: Settings) -> None:
    s = isolated_servers
    neo, pg = Neo4jLocal(s), PostgresLocal(s)
    assert neo.up().healthy and pg.up().healthy

    # wrong Neo4j password is refused with a clear error
    with pytest.raises(AuthError):
        open_driver(load_settings(**{**s.model_dump(), "neo4j_password": "wrong"}))

    with Services(s) as svc:
        svc.driver.execute_query("CREATE (:Survivor {id: 'n1'})")
        with svc.connection() as conn:
            migrate(conn)
            conn.execute("INSERT INTO datasets (id, name) VALUES ('survivor', 'kept across kill -9')")

    for srv in (neo, pg):
        pid = srv.pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        deadline = time.time() + 30
        while pid_alive(pid) and time.time() < deadline:
            time.sleep(0.2)
        assert srv.pid() is None
        assert not srv.status().healthy

    assert pg.up().healthy and neo.up().healthy
    with Services(s) as svc:
        recs = svc.driver.execute_query("MATCH (n:Survivor) RETURN n.id AS id").records
        assert [r["id"] for r in recs] == ["n1"]
        with svc.connection() as conn:
            assert conn.execute("SELECT name FROM datasets WHERE id = 'survivor'").fetchone() == (
                "kept across kill -9",)

    # clean shutdown, then restart: data still there (down never corrupts data)
    neo.down()
    pg.down()
    assert neo.pid() is None and pg.pid() is None
    assert pg.up().healthy and neo.up().healthy
    with psycopg.connect(s.pg_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM datasets WHERE id = 'survivor'").fetchone() == (1,)
