"""Per-request data access: every Neo4j / PostgreSQL query the API makes goes through one ``Db``.

The blocking drivers run in worker threads (``asyncio.to_thread``) so the event loop keeps serving
other requests, and each query is counted; the counts are returned in the GraphQL response
``extensions.queries`` so that a client (and the N+1 tests) can see how many round trips a
request cost. Queries are parameterised only (Cypher ``$param``, SQL ``%s``); nothing is string-built.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from psycopg.sql import Composable

from rskg.services import Services

T = TypeVar("T")


@dataclass
class QueryCounter:
    neo4j: int = 0
    postgres: int = 0
    statements: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {"neo4j": self.neo4j, "postgres": self.postgres}


class Db:
    def __init__(self, services: Services, counter: QueryCounter | None = None) -> None:
        self.services = services
        self.counter = counter or QueryCounter()

    async def cypher(self, query: str, /, **params: Any) -> list[dict[str, Any]]:
        self.counter.neo4j += 1
        self.counter.statements.append(query)

        def run() -> list[dict[str, Any]]:
            return [r.data() for r in self.services.driver.execute_query(query, params).records]

        return await asyncio.to_thread(run)

    async def sql(self, query: str | Composable, params: Sequence[Any] | dict[str, Any] = (), /
                  ) -> list[tuple[Any, ...]]:
        self.counter.postgres += 1
        self.counter.statements.append(query if isinstance(query, str) else repr(query))

        def run() -> list[tuple[Any, ...]]:
            with self.services.connection() as conn:
                cur = conn.execute(query, params)
                return list(cur.fetchall()) if cur.description is not None else []

        return await asyncio.to_thread(run)

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking domain function (retrieval, composite build, edits) in a worker thread."""
        return await asyncio.to_thread(fn, *args, **kwargs)
