"""Helpers that turn one batched query into a DataLoader (one round trip per request and kind)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any

from strawberry.dataloader import DataLoader

from api.db import Db


def cypher_loader(db: Db, query: str, value: str, default: Any = None, **params: Any) -> DataLoader[str, Any]:
    """Loader for queries of the form ``UNWIND $ids AS id ... RETURN id, <value>``."""

    async def load(ids: list[str]) -> Sequence[Any]:
        rows = await db.cypher(query, ids=list(ids), **params)
        found = {r["id"]: r[value] for r in rows}
        return [found.get(i, default() if callable(default) else default) for i in ids]

    return DataLoader(load_fn=load)


def batch_loader(load: Callable[[list[Any]], Awaitable[Sequence[Any]]],
                 key: Callable[[Any], Hashable] | None = None) -> DataLoader[Any, Any]:
    return DataLoader(load_fn=load, cache_key_fn=key)
