"""GraphQL types of datasets and samples (metadata in PostgreSQL, labels and mappings in Neo4j)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

import strawberry

from api.catalog import loaders as ld
from api.catalog.search import SampleSearch
from api.concepts import loaders as cld
from api.concepts.types import Concept
from api.context import Info
from api.pagination import Edge, PageInfo
from embeddings.seg_legend import COLOUR_OF_CONCEPT
from rskg.catalog.filters import CompositionBound


@strawberry.input(description="A land-cover composition bound: the share of a concept's pixels (segmentation "
                              "head, 0..1) is at least min and at most max (inclusive). Only composed samples pass.")
class CompositionBoundInput:
    concept: str = strawberry.field(description="concept id or label, e.g. water_area or 'water'")
    min: float | None = None
    max: float | None = None

    def bound(self) -> CompositionBound:
        return CompositionBound(self.concept, self.min, self.max)


def composition_bounds(items: list[CompositionBoundInput] | None) -> list[CompositionBound] | None:
    return None if items is None else [i.bound() for i in items]


@strawberry.type(description="The share of a concept's pixels in a sample (land-cover composition).")
class ConceptFraction:
    concept_id: str
    fraction: float
    model_version: str

    @strawberry.field
    async def concept(self, info: Info) -> Concept | None:
        node = await info.context.loader(cld.concept_by_id).load(self.concept_id)
        return Concept.from_node(node) if node else None

    @strawberry.field(description="Colour (#rrggbb) of this concept in the sample's mask thumbnail; null for an "
                                  "ancestor concept (its pixels are drawn in its fine classes' colours).")
    def mask_colour(self) -> str | None:
        return COLOUR_OF_CONCEPT.get(self.concept_id)


@strawberry.type
class LabelOfSet:
    label_set: str
    label: str


@strawberry.type(description="A training sample: one image of a source dataset with its metadata.")
class Sample:
    id: strawberry.ID
    dataset: str
    source_path: str
    labels: list[str]
    footprint_wkt: str | None
    acquired_at: datetime | None
    sensor: str | None
    gsd_m: float | None
    bands: list[str]
    width: int | None
    height: int | None
    split: str | None
    sha256: str

    @classmethod
    def from_row(cls, r: tuple[Any, ...]) -> Sample:
        return cls(id=strawberry.ID(r[0]), dataset=r[1], source_path=r[2], labels=list(r[3] or []),
                   footprint_wkt=r[4], acquired_at=r[5], sensor=r[6], gsd_m=r[7], bands=list(r[8] or []),
                   width=r[9], height=r[10], split=r[11], sha256=(r[13] or "").strip())

    @strawberry.field(description="URL of a JPEG thumbnail (RGB or PCA-3 rendering) of the sample.")
    def thumbnail_url(self) -> str:
        return f"/thumbnails/{quote(str(self.id), safe='')}.jpg"

    @strawberry.field(description="URL of the segmentation head's argmax mask (PNG in the GID-15 legend colours, "
                                  "see ConceptFraction.maskColour); null when the sample is not composed.")
    async def mask_url(self, info: Info) -> str | None:
        return f"/masks/{quote(str(self.id), safe='')}.png" if await info.context.loader(ld.has_mask).load(
            str(self.id)) else None

    @strawberry.field(description="Every label of the sample, from every label set.")
    async def label_sets(self, info: Info) -> list[LabelOfSet]:
        return [LabelOfSet(label_set=ls, label=lab) for ls, lab in await info.context.loader(ld.label_sets).load(
            str(self.id))]

    @strawberry.field(description="Land-cover composition by the segmentation head: the share of each concept's "
                                  "pixels (fine concepts and their ancestors), largest first; [] when not composed.")
    async def composition(self, info: Info, min_fraction: float = 0.0) -> list[ConceptFraction]:
        rows = await info.context.loader(ld.composition).load(str(self.id))
        return [ConceptFraction(concept_id=c, fraction=f, model_version=m) for c, f, m in rows if f >= min_fraction]

    @strawberry.field(description="Concepts its labels map to (active mappings only).")
    async def concepts(self, info: Info) -> list[Concept]:
        pairs = await info.context.loader(ld.label_sets).load(str(self.id))
        lists = await info.context.loader(cld.concepts_of_source_label).load_many([f"{a}:{b}" for a, b in pairs])
        seen: dict[str, Concept] = {}
        for nodes in lists:
            for n in nodes:
                seen.setdefault(n["id"], Concept.from_node(n))
        return sorted(seen.values(), key=lambda c: str(c.id))


@strawberry.type
class SampleConnection:
    edges: list[Edge[Sample]]
    page_info: PageInfo
    search: strawberry.Private[SampleSearch]

    @strawberry.field(description="Number of samples matching the filter (all pages).")
    async def total_count(self, info: Info) -> int:
        return await self.search.count(info.context)


@strawberry.type
class LabelMapping:
    concept_id: str
    score: float | None
    status: str | None
    predicate: str | None

    @strawberry.field
    async def concept(self, info: Info) -> Concept | None:
        node = await info.context.loader(cld.concept_by_id).load(self.concept_id)
        return Concept.from_node(node) if node else None


@strawberry.type(description="A label as a dataset spells it, and the concepts it maps to.")
class SourceLabel:
    dataset: str
    name: str
    mappings: list[LabelMapping]


@strawberry.type
class Dataset:
    id: strawberry.ID
    name: str
    url: str | None
    license: str | None
    multi_label: bool | None
    gsd_m: float | None
    n_samples: int

    @classmethod
    def from_node(cls, n: dict[str, Any]) -> Dataset:
        return cls(id=strawberry.ID(n["id"]), name=n.get("name") or n["id"], url=n.get("url"),
                   license=n.get("license"), multi_label=n.get("multi_label"), gsd_m=n.get("gsd_m"),
                   n_samples=int(n.get("n_samples") or 0))

    @strawberry.field
    async def labels(self, info: Info) -> list[SourceLabel]:
        items = await info.context.loader(ld.dataset_labels).load(str(self.id))
        return [SourceLabel(dataset=i["dataset"], name=i["name"],
                            mappings=[LabelMapping(**m) for m in i["maps"]]) for i in items]
