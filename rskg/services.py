"""The services a process needs, built once (CLI entry, app lifespan) and injected downwards."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from neo4j import Driver, GraphDatabase
from neo4j.exceptions import AuthError as NeoAuthError
from neo4j.exceptions import ServiceUnavailable
from psycopg_pool import ConnectionPool

from rskg.errors import AuthError, ServerUnreachableError
from rskg.settings import Settings


def open_driver(settings: Settings) -> Driver:
    driver = GraphDatabase.driver(settings.neo4j_uri, auth=settings.neo4j_auth, connection_timeout=5.0)
    try:
        driver.verify_connectivity()
    except NeoAuthError as exc:
        driver.close()
        raise AuthError(f"Neo4j at {settings.neo4j_uri} refused the credentials") from exc
    except (ServiceUnavailable, OSError) as exc:
        driver.close()
        raise ServerUnreachableError(f"Neo4j does not answer on {settings.neo4j_uri}: {exc}") from exc
    return driver


def open_pool(settings: Settings) -> ConnectionPool:
    # Check once with a plain connection so that a wrong password or a stopped server gives a clear
    # error instead of a pool that retries in the background.
    from rskg.servers.postgres_local import PostgresLocal

    PostgresLocal(settings).connect(timeout=5).close()
    # fail fast: a connection attempt gives up after 5 s and a request waits at most pg_pool_timeout_s for
    # a pooled connection (then PoolTimeout) instead of stalling while the server is unreachable
    pool = ConnectionPool(settings.pg_dsn, min_size=1, max_size=settings.pg_pool_max, open=False,
                          timeout=settings.pg_pool_timeout_s, kwargs={"autocommit": True, "connect_timeout": 5})
    pool.open(wait=True, timeout=10)
    return pool


@dataclass
class Services:
    settings: Settings
    _driver: Driver | None = None
    _pool: ConnectionPool | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def driver(self) -> Driver:
        if self._driver is None:
            self._driver = open_driver(self.settings)
        return self._driver

    @property
    def pool(self) -> ConnectionPool:
        if self._pool is None:
            self._pool = open_pool(self.settings)
        return self._pool

    def connection(self) -> Any:
        """Context manager yielding a pooled autocommit connection."""
        return self.pool.connection()

    def close(self) -> None:
        if self._driver is not None:
            self._driver.close()
            self._driver = None
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        for v in self.extras.values():
            close = getattr(v, "close", None)
            if callable(close):
                close()
        self.extras.clear()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Services", "open_driver", "open_pool", "psycopg"]
