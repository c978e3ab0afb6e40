"""Sample search with filters (datasets, labels, concepts, bbox, time, sensor, composition) and keyset
pagination; the WHERE clause is the one sample-filter builder of the catalog (rskg.catalog.filters, psycopg.sql
composition)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from psycopg import sql as pgsql

from api.catalog import sql
from rskg.catalog.filters import CompositionBound, SampleFilter, Where, where

if TYPE_CHECKING:
    from api.context import Context


@dataclass
class SampleSearch:
    filter: Where

    async def page(self, ctx: Context, first: int, after: str | None) -> list[tuple[Any, ...]]:
        clause, params = self.filter.clause, list(self.filter.params)
        if after is not None:
            clause = pgsql.SQL("{} AND s.id > %s").format(clause)
            params.append(after)
        query = pgsql.SQL("SELECT {cols} FROM samples s WHERE {where} ORDER BY s.id LIMIT %s").format(
            cols=pgsql.SQL(sql.SAMPLE_COLUMNS), where=clause)
        return await ctx.db.sql(query, (*params, first + 1))

    async def count(self, ctx: Context) -> int:
        query = pgsql.SQL("SELECT count(*) FROM samples s WHERE {}").format(self.filter.clause)
        rows = await ctx.db.sql(query, tuple(self.filter.params))
        return int(rows[0][0])


def build_search(datasets: list[str] | None, labels: list[str] | None, label_pairs: list[list[str]] | None,
                 bbox: list[float] | None, time_from: datetime | None, time_to: datetime | None,
                 sensors: list[str] | None, composition: list[CompositionBound] | None = None) -> SampleSearch:
    pairs = None if label_pairs is None else [(p[0], p[1]) for p in label_pairs]
    return SampleSearch(where(SampleFilter(datasets=datasets, sensors=sensors, labels=labels, label_pairs=pairs,
                                           bbox=bbox, time_from=time_from, time_to=time_to,
                                           composition=composition)))
