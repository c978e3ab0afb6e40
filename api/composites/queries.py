"""Composite dataset queries: list, get, items (with the latest feedback decision of each)."""

from __future__ import annotations

import json

import strawberry

from api.composites.types import Composite, CompositeListEntry, ConceptCount
from api.context import Info


def composite_of(summary: object) -> Composite:
    s = summary
    return Composite(id=strawberry.ID(s.id), name=s.name, labels=list(s.labels),  # type: ignore[attr-defined]
                     unmatched=list(s.unmatched), ontology_version=s.ontology_version,  # type: ignore[attr-defined]
                     index_version=s.index_version, created_at=s.created_at,  # type: ignore[attr-defined]
                     counts=[ConceptCount(concept_id=c, direct=v.get("direct", 0),
                                          supplementary=v.get("supplementary", 0))
                             for c, v in sorted(s.counts.items())],  # type: ignore[attr-defined]
                     params_json=json.dumps(s.params, sort_keys=True, default=str))  # type: ignore[attr-defined]


@strawberry.type
class CompositeQueries:
    @strawberry.field(description="Composite datasets, newest first.")
    async def composites(self, info: Info, first: int = 50) -> list[CompositeListEntry]:
        from rskg.composites.composite import list_composites

        info.context.db.counter.postgres += 1
        rows = await info.context.db.call(list_composites, info.context.services)
        return [CompositeListEntry(id=strawberry.ID(i), name=n, created_at=t, item_count=c)
                for i, n, t, c in rows[:max(0, min(first, 500))]]

    @strawberry.field(description="A composite dataset by id (an unknown id is a NotFoundError).")
    async def composite(self, info: Info, id: strawberry.ID) -> Composite:
        from rskg.composites.composite import get_composite

        info.context.db.counter.postgres += 1
        return composite_of(await info.context.db.call(get_composite, info.context.services, str(id)))
