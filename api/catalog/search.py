"""Sample search with filters (datasets, labels, concepts, bbox, time, sensor) and keyset pagination."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from api.catalog import sql

if TYPE_CHECKING:
    from api.context import Context


@dataclass
class SampleSearch:
    where: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, fragment: str, *values: Any) -> None:
        self.where.append(fragment)
        self.params.extend(values)

    def clause(self) -> str:
        return " AND ".join(self.where) if self.where else "true"

    async def page(self, ctx: Context, first: int, after: str | None) -> list[tuple[Any, ...]]:
        where, params = list(self.where), list(self.params)
        if after is not None:
            where.append(sql.F_AFTER)
            params.append(after)
        query = sql.SEARCH_SAMPLES.format(cols=sql.SAMPLE_COLUMNS, where=" AND ".join(where) or "true")
        return await ctx.db.sql(query, (*params, first + 1))

    async def count(self, ctx: Context) -> int:
        rows = await ctx.db.sql(sql.COUNT_SAMPLES.format(where=self.clause()), tuple(self.params))
        return int(rows[0][0])


def build_search(datasets: list[str] | None, labels: list[str] | None, label_pairs: list[list[str]] | None,
                 bbox: list[float] | None, time_from: datetime | None, time_to: datetime | None,
                 sensors: list[str] | None) -> SampleSearch:
    s = SampleSearch()
    if datasets is not None:
        s.add(sql.F_DATASETS, datasets)
    if sensors is not None:
        s.add(sql.F_SENSORS, sensors)
    if labels is not None:
        s.add(sql.F_LABELS, labels)
    if label_pairs is not None:
        if label_pairs:
            s.add(sql.F_PAIRS, [p[0] for p in label_pairs], [p[1] for p in label_pairs])
        else:
            s.add(sql.F_NONE)
    if bbox is not None:
        s.add(sql.F_BBOX, *bbox)
    if time_from is not None:
        s.add(sql.F_TIME_FROM, time_from)
    if time_to is not None:
        s.add(sql.F_TIME_TO, time_to)
    return s
