"""The services a process needs, built once (CLI entry, app lifespan) and injected downwards.

Per-process caches are typed: each is a small subclass of :class:`Cache` (most are a :class:`KeyedCache`
holding one value rebuilt when its key changes) defined next to the code that uses it, and reached with
``services.cache(ThatCache)`` (one instance per class and process; no string keys). Each has its own
``invalidate()``; :meth:`Services.close` closes them all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

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


V = TypeVar("V")
C = TypeVar("C", bound="Cache")


class Cache:
    """A per-process cache hung off :class:`Services` (subclass it; it must build with no arguments)."""

    def invalidate(self) -> None:
        """Forget what is cached; the next use rebuilds it."""

    def close(self) -> None:
        self.invalidate()


class KeyedCache(Cache, Generic[V]):
    """One value, rebuilt by ``build()`` when the key differs from the one it was built for (thread-safe).

    With ``ttl`` (seconds), an entry older than that is refreshed by ONE background thread while callers keep
    getting the previous copy (nobody waits for a reload, nobody reloads twice); a failed refresh keeps the
    previous copy and the next expiry retries."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._key: object = None
        self._value: V | None = None
        self._at = 0.0
        self._refreshing = False
        self._generation = 0   # bumped by invalidate(): a refresh started before it is dropped

    def get(self, key: object, build: Callable[[], V], ttl: float | None = None) -> V:
        with self._lock:
            if self._value is None or self._key != key:
                self._value, self._key, self._at = build(), key, time.monotonic()
            elif ttl is not None and time.monotonic() - self._at > ttl and not self._refreshing:
                self._refreshing = True
                threading.Thread(target=self._refresh, args=(self._generation, key, build), daemon=True,
                                 name=f"rskg-refresh-{type(self).__name__}").start()
            return self._value

    def _refresh(self, generation: int, key: object, build: Callable[[], V]) -> None:
        try:
            value: V | None = build()
        except Exception:  # noqa: BLE001 - keep serving the previous copy; the next expiry retries
            value = None
        with self._lock:
            if generation != self._generation:
                return
            self._refreshing = False
            if value is not None and self._key == key:
                self._value, self._at = value, time.monotonic()
            elif value is None:
                self._at = time.monotonic()

    @property
    def value(self) -> V | None:
        return self._value

    def invalidate(self) -> None:
        with self._lock:
            self._value, self._key, self._refreshing = None, None, False
            self._generation += 1

    def close(self) -> None:
        with self._lock:
            close = getattr(self._value, "close", None)
            if callable(close):
                close()
        self.invalidate()


class KeyedCaches(Cache, Generic[V]):
    """A family of :class:`KeyedCache` entries by name (e.g. one derived graph per parameter set)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, KeyedCache[V]] = {}

    def entry(self, name: str) -> KeyedCache[V]:
        with self._lock:
            e = self._entries.get(name)
            if e is None:
                e = self._entries[name] = KeyedCache()
            return e

    def invalidate(self) -> None:
        with self._lock:
            entries, self._entries = list(self._entries.values()), {}
        for e in entries:
            e.invalidate()


@dataclass
class Services:
    settings: Settings
    _driver: Driver | None = None
    _pool: ConnectionPool | None = None
    _caches: dict[type[Cache], Cache] = field(default_factory=dict)
    _caches_lock: threading.Lock = field(default_factory=threading.Lock)

    def cache(self, kind: type[C]) -> C:
        """The one ``kind`` cache of this process (created empty on first use)."""
        with self._caches_lock:
            c = self._caches.get(kind)
            if c is None:
                c = self._caches[kind] = kind()
        assert isinstance(c, kind)
        return c

    def invalidate_caches(self) -> None:
        """Forget every cache of this process (after the label system, mappings or prototypes changed)."""
        with self._caches_lock:
            caches = list(self._caches.values())
        for c in caches:
            c.invalidate()

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
        with self._caches_lock:
            caches, self._caches = list(self._caches.values()), {}
        for c in caches:
            c.close()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Cache", "KeyedCache", "KeyedCaches", "Services", "open_driver", "open_pool", "psycopg"]
