"""GraphQL types of composite datasets (logical datasets in PostgreSQL: composite_datasets/items, feedback)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

import strawberry

from api.catalog.loaders import sample_by_id
from api.catalog.types import Sample
from api.context import Info
from api.errors import Error
from api.pagination import Edge, PageInfo, check_first, decode_cursor, encode_cursor
from rskg.errors import ValidationError


@strawberry.type
class ConceptCount:
    concept_id: str
    direct: int
    supplementary: int


@strawberry.type(description="Why an item is in the dataset: for a supplementary sample the related concept, "
                             "prototype, cosine similarity and graph path; for a direct one its source labels.")
class ItemEvidence:
    concept_id: str | None
    prototype_id: str | None
    similarity: float | None
    graph_distance: float | None
    path: list[str]
    source_labels: list[str]
    hir_distance: float | None

    @classmethod
    def of(cls, ev: dict[str, Any]) -> ItemEvidence:
        return cls(concept_id=ev.get("concept_id"), prototype_id=ev.get("prototype_id"),
                   similarity=ev.get("similarity"), graph_distance=ev.get("graph_distance"),
                   path=list(ev.get("path") or []), source_labels=list(ev.get("source_labels") or []),
                   hir_distance=ev.get("hir_distance"))


@strawberry.type
class CompositeItem:
    sample_id: str
    concept_id: str
    kind: str
    score: float
    decision: str = strawberry.field(description="latest feedback: accept | reject | pending")
    dataset: str
    source_path: str
    evidence: ItemEvidence

    @strawberry.field
    def thumbnail_url(self) -> str:
        return f"/thumbnails/{quote(self.sample_id, safe='')}.jpg"

    @strawberry.field
    async def sample(self, info: Info) -> Sample | None:
        row = await info.context.loader(sample_by_id).load(self.sample_id)
        return Sample.from_row(row) if row else None

    @classmethod
    def of(cls, i: Any) -> CompositeItem:
        return cls(sample_id=i.sample_id, concept_id=i.concept_id, kind=i.kind, score=float(i.score),
                   decision=i.decision, dataset=i.dataset, source_path=i.source_path,
                   evidence=ItemEvidence.of(i.evidence or {}))


@strawberry.type
class CompositeItemConnection:
    edges: list[Edge[CompositeItem]]
    page_info: PageInfo
    total_count: int


@strawberry.type
class CompositeListEntry:
    id: strawberry.ID
    name: str
    created_at: datetime | None
    item_count: int


@strawberry.type(description="A composite (logical) dataset built from one retrieval per requested label.")
class Composite:
    id: strawberry.ID
    name: str
    labels: list[str]
    unmatched: list[str]
    ontology_version: str
    index_version: str
    created_at: datetime | None
    counts: list[ConceptCount]
    params_json: str

    @strawberry.field(description="Items (optionally one kind / decision / concept / source dataset), ordered by "
                                  "concept, kind, score.")
    async def items(self, info: Info, kind: str | None = None, decision: str | None = None, first: int = 200,
                    after: str | None = None, concept_id: str | None = None,
                    dataset: str | None = None) -> CompositeItemConnection:
        return await item_page(info, str(self.id), kind, decision, first, after, concept_id, dataset)


@strawberry.type
class CompositeSuccess:
    composite: Composite


@strawberry.type
class FeedbackSuccess:
    sample_id: str
    concept_id: str
    decision: str
    author: str
    decided_at: datetime


@strawberry.type
class ExportSuccess:
    composite_id: str
    format: str
    path: str
    items: int
    rejected_left_out: int
    pending_left_out: int
    files: list[str]


CompositeResult = Annotated[CompositeSuccess | Error, strawberry.union("CompositeResult")]
FeedbackResult = Annotated[FeedbackSuccess | Error, strawberry.union("FeedbackResult")]
ExportResult = Annotated[ExportSuccess | Error, strawberry.union("ExportResult")]


async def item_page(info: Info, composite_id: str, kind: str | None, decision: str | None, first: int,
                    after: str | None, concept: str | None = None,
                    dataset: str | None = None) -> CompositeItemConnection:
    """One page of items, filtered and keyset-paged in PostgreSQL (cursor = the last item's sort key)."""
    from rskg.composites.items import items_page

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
