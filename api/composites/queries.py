"""Composite dataset queries: list, get, items (with the latest feedback decision of each)."""

from __future__ import annotations

import json

import strawberry

from api.composites.types import Composite, CompositeItem, CompositeItemConnection, CompositeListEntry, ConceptCount
from api.context import Info
from api.pagination import Edge, PageInfo, check_first, decode_cursor, encode_cursor
from rskg.errors import ValidationError


def composite_of(summary: object) -> Composite:
    s = summary
    return Composite(id=strawberry.ID(s.id), name=s.name, labels=list(s.labels),  # type: ignore[attr-defined]
                     unmatched=list(s.unmatched), ontology_version=s.ontology_version,  # type: ignore[attr-defined]
                     index_version=s.index_version, created_at=s.created_at,  # type: ignore[attr-defined]
                     counts=[ConceptCount(concept_id=c, direct=v.get("direct", 0),
                                          supplementary=v.get("supplementary", 0))
                             for c, v in sorted(s.counts.items())],  # type: ignore[attr-defined]
                     params_json=json.dumps(s.params, sort_keys=True, default=str))  # type: ignore[attr-defined]


async def item_page(info: Info, composite_id: str, kind: str | None, decision: str | None, first: int,
                    after: str | None, concept: str | None = None,
                    dataset: str | None = None) -> CompositeItemConnection:
    """One page of items, filtered and keyset-paged in PostgreSQL (cursor = the last item's sort key)."""
    from rskg.datasets.items import items_page

    first = check_first(first)
    key = None
    raw = decode_cursor(after)
    if raw is not None:
        try:
            c, k, sc, sid = json.loads(raw)
            key = (str(c), str(k), float(sc), str(sid))
        except (ValueError, TypeError) as exc:
            raise ValidationError("invalid cursor for composite items", "Use pageInfo.endCursor.") from exc
    info.context.db.counter.postgres += 2
    page = await info.context.db.call(items_page, info.context.services, composite_id, first, key, kind, decision,
                                      concept, dataset)
    edges = [Edge(node=CompositeItem.of(it), cursor=encode_cursor(json.dumps(list(k))))
             for it, k in zip(page.items, page.keys, strict=True)]
    return CompositeItemConnection(edges=edges, total_count=page.total, page_info=PageInfo(
        has_next_page=page.has_next, has_previous_page=key is not None,
        start_cursor=edges[0].cursor if edges else None, end_cursor=edges[-1].cursor if edges else None))


@strawberry.type
class CompositeQueries:
    @strawberry.field(description="Composite datasets, newest first.")
    async def composites(self, info: Info, first: int = 50) -> list[CompositeListEntry]:
        from rskg.datasets.composite import list_composites

        info.context.db.counter.postgres += 1
        rows = await info.context.db.call(list_composites, info.context.services)
        return [CompositeListEntry(id=strawberry.ID(i), name=n, created_at=t, item_count=c)
                for i, n, t, c in rows[:max(0, min(first, 500))]]

    @strawberry.field(description="A composite dataset by id (an unknown id is a NotFoundError).")
    async def composite(self, info: Info, id: strawberry.ID) -> Composite:
        from rskg.datasets.composite import get_composite

        info.context.db.counter.postgres += 1
        return composite_of(await info.context.db.call(get_composite, info.context.services, str(id)))
