"""GraphQL types of the label category system (Concept nodes and their relations in Neo4j)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from api.concepts import loaders as ld
from api.context import Info

if TYPE_CHECKING:
    from api.catalog.types import Sample

SampleRef = Annotated["Sample", strawberry.lazy("api.catalog.types")]


@strawberry.type(description="A unified label category of the label system.")
class Concept:
    id: strawberry.ID
    name: str
    level: int | None
    definition: str | None
    osm_tags: list[str]
    lccs_codes: list[str]
    alt_labels: list[str]
    deprecated: bool
    replaced_by: str | None

    @classmethod
    def from_node(cls, n: dict[str, Any]) -> Concept:
        return cls(id=strawberry.ID(n["id"]), name=n.get("name") or n["id"], level=n.get("level"),
                   definition=n.get("definition"), osm_tags=list(n.get("osm_tags") or []),
                   lccs_codes=list(n.get("lccs_codes") or []), alt_labels=list(n.get("alt_labels") or []),
                   deprecated=bool(n.get("deprecated") or False), replaced_by=n.get("replaced_by"))

    @strawberry.field(description="Direct superclasses (SUBCLASS_OF).")
    async def parents(self, info: Info) -> list[Concept]:
        return [Concept.from_node(n) for n in await info.context.loader(ld.parents).load(self.id)]

    @strawberry.field(description="Direct subclasses that are not deprecated.")
    async def children(self, info: Info) -> list[Concept]:
        return [Concept.from_node(n) for n in await info.context.loader(ld.children).load(self.id)]

    @strawberry.field(description="SIMILAR_TO neighbours, best score first.")
    async def similar(self, info: Info) -> list[SimilarConcept]:
        items = await info.context.loader(ld.similar).load(self.id)
        return [SimilarConcept(concept=Concept.from_node(i["node"]), score=i["score"], text_sim=i.get("text_sim"),
                               struct_sim=i.get("struct_sim")) for i in items]

    @strawberry.field(description="ADJACENT_TO neighbours (labels co-occurring in scenes), most frequent first.")
    async def adjacent(self, info: Info) -> list[AdjacentConcept]:
        items = await info.context.loader(ld.adjacent).load(self.id)
        return [AdjacentConcept(concept=Concept.from_node(i["node"]), cooccurrence=i.get("cooccurrence") or 0)
                for i in items]

    @strawberry.field(description="Source labels of datasets mapped to this concept (MAPS_TO).")
    async def source_labels(self, info: Info) -> list[MappedLabel]:
        items = await info.context.loader(ld.source_labels).load(self.id)
        return [MappedLabel(dataset=i["dataset"], name=i["name"], score=i.get("score"), status=i.get("status"),
                            predicate=i.get("predicate")) for i in items]

    @strawberry.field(description="Number of catalog samples labelled with this concept or a subclass.")
    async def sample_count(self, info: Info) -> int:
        return await info.context.loader(ld.sample_count_of_concept).load(self.id)

    @strawberry.field(description="The first samples (by id) labelled with this concept or a subclass.")
    async def samples(self, info: Info, first: int = 10) -> list[SampleRef]:
        from api.catalog.loaders import sample_by_id
        from api.catalog.types import Sample
        from api.pagination import check_first

        ids = await info.context.loader(ld.sample_ids_of_concept).load((str(self.id), check_first(first)))
        rows = await info.context.loader(sample_by_id).load_many(ids)
        return [Sample.from_row(r) for r in rows if r is not None]


@strawberry.type
class SimilarConcept:
    concept: Concept
    score: float
    text_sim: float | None
    struct_sim: float | None


@strawberry.type
class AdjacentConcept:
    concept: Concept
    cooccurrence: float


@strawberry.type
class MappedLabel:
    dataset: str
    name: str
    score: float | None
    status: str | None
    predicate: str | None


@strawberry.type
class ConceptHit:
    concept: Concept
    score: float
    how: str


@strawberry.type(description="Weighted shortest path (paper Eq. 1 weights) between two concepts.")
class ConceptPath:
    distance: float
    concepts: list[Concept]
    relations: list[str]
