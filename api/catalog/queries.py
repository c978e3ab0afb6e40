"""Dataset and sample queries; the sample list is a Relay connection with keyset cursors."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.catalog import loaders as ld
from api.catalog import sql
from api.catalog.search import build_search
from api.catalog.types import CompositionBoundInput, Dataset, Sample, SampleConnection, composition_bounds
from api.concepts import loaders as cld
from api.concepts.queries import resolve_id
from api.concepts.types import Concept
from api.context import Info
from api.pagination import Edge, PageInfo, check_first, decode_cursor, encode_cursor
from rskg import validation
from rskg.retrieval.composition_bounds import measured_concepts, resolve_bounds


@strawberry.input(description="Sample filters; every given filter must hold (AND).")
class SampleFilter:
    datasets: list[str] | None = None
    labels: list[str] | None = strawberry.field(default=None, description="source label names, any label set")
    concepts: list[str] | None = strawberry.field(
        default=None, description="concept ids or names; matches the concept and its subclasses")
    bbox: list[float] | None = strawberry.field(default=None, description="[minLon, minLat, maxLon, maxLat], WGS 84")
    time_from: datetime | None = None
    time_to: datetime | None = None
    sensors: list[str] | None = None
    composition: list[CompositionBoundInput] | None = strawberry.field(
        default=None, description="land-cover share bounds, all must hold; only composed samples pass")


def _check_bbox(bbox: list[float] | None) -> None:
    if bbox is None:
        return
    validation.bbox(bbox)


async def search_samples(info: Info, f: SampleFilter | None, first: int, after: str | None) -> SampleConnection:
    f = f or SampleFilter()
    first = check_first(first)
    _check_bbox(f.bbox)
    pairs = None
    if f.concepts is not None:
        ids = [await resolve_id(info, c) for c in f.concepts]
        lists = await info.context.loader(cld.label_pairs).load_many(ids)
        pairs = sorted({tuple(p) for ps in lists for p in ps})
    bounds = None
    if f.composition is not None:
        resolved = await info.context.db.call(resolve_bounds, info.context.services, composition_bounds(f.composition))
        bounds = [r.bound for r in resolved or []]
    search = build_search(f.datasets, f.labels, [list(p) for p in pairs] if pairs is not None else None, f.bbox,
                          f.time_from, f.time_to, f.sensors, bounds)
    rows = await search.page(info.context, first, decode_cursor(after))
    has_next = len(rows) > first
    rows = rows[:first]
    loader = info.context.loader(ld.sample_by_id)
    for r in rows:                      # prime the loader: nested fields need no second fetch
        loader.prime(r[0], r)
    edges = [Edge(node=Sample.from_row(r), cursor=encode_cursor(r[0])) for r in rows]
    return SampleConnection(edges=edges, search=search, page_info=PageInfo(
        has_next_page=has_next, has_previous_page=after is not None,
        start_cursor=edges[0].cursor if edges else None, end_cursor=edges[-1].cursor if edges else None))


@strawberry.type
class CatalogQueries:
    @strawberry.field(description="Datasets known to the graph (from the label system and ingestion).")
    async def datasets(self, info: Info) -> list[Dataset]:
        return [Dataset.from_node(r["node"]) for r in await info.context.db.cypher(sql.DATASETS)]

    @strawberry.field
    async def dataset(self, info: Info, id: strawberry.ID) -> Dataset | None:
        node = await info.context.loader(ld.dataset_by_id).load(str(id))
        return Dataset.from_node(node) if node else None

    @strawberry.field
    async def sample(self, info: Info, id: strawberry.ID) -> Sample | None:
        row = await info.context.loader(ld.sample_by_id).load(str(id))
        return Sample.from_row(row) if row else None

    @strawberry.field(description="Concepts the stored land-cover compositions measure (what a composition bound "
                                  "can name); [] before `rskg composition backfill`.")
    async def composition_concepts(self, info: Info) -> list[Concept]:
        ids = await info.context.db.call(measured_concepts, info.context.services)
        nodes = await info.context.loader(cld.concept_by_id).load_many(ids)
        return [Concept.from_node(n) for n in nodes if n]

    @strawberry.field(description="Samples matching a filter, ordered by id; Relay cursor pagination.")
    async def samples(self, info: Info, filter: SampleFilter | None = None, first: int = 20,
                      after: str | None = None) -> SampleConnection:
        return await search_samples(info, filter, first, after)
