"""Typed per-process caches on Services: one instance per class, keyed rebuild, own invalidation, TTL refresh."""

from __future__ import annotations

import time

from rskg.services import KeyedCache, KeyedCaches, Services
from rskg.settings import load_settings


class _Numbers(KeyedCache[list[int]]):
    pass


class _Closable:
    closed = False

    def close(self) -> None:
        self.closed = True


class _Things(KeyedCache[_Closable]):
    pass


class _Family(KeyedCaches[int]):
    pass


def test_one_typed_instance_per_class_rebuilt_on_key_change_and_invalidate() -> None:
    services = Services(load_settings())
    c = services.cache(_Numbers)
    assert services.cache(_Numbers) is c and isinstance(c, _Numbers)
    built: list[int] = []

    def build() -> list[int]:
        built.append(1)
        return [len(built)]

    assert c.get("a", build) == [1] and c.get("a", build) == [1]
    assert c.get("b", build) == [2]
    c.invalidate()
    assert c.value is None and c.get("b", build) == [3]
    fam = services.cache(_Family)
    assert fam.entry("x").get(1, lambda: 10) == 10 and fam.entry("y").get(1, lambda: 20) == 20
    assert fam.entry("x").get(1, lambda: 99) == 10
    thing = services.cache(_Things).get(None, _Closable)
    services.close()
    assert thing.closed and services.cache(_Things).value is None and services.cache(_Numbers).value is None


def test_expired_entry_is_refreshed_in_the_background_once() -> None:
    c = _Numbers()
    n = [0]

    def build() -> list[int]:
        n[0] += 1
        return [n[0]]

    assert c.get("k", build, ttl=0.05) == [1]
    time.sleep(0.1)
    assert c.get("k", build, ttl=0.05) == [1]          # the previous copy, while one thread reloads
    for _ in range(100):
        if c.get("k", build, ttl=10) == [2]:
            break
        time.sleep(0.02)
    assert c.get("k", build, ttl=10) == [2] and n[0] == 2
