"""GraphQL types of the mapping review queue (mapping_decisions in PostgreSQL, MAPS_TO in Neo4j)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry

from api.catalog.loaders import sample_by_id
from api.catalog.types import Sample
from api.concepts import loaders as cld
from api.concepts.types import Concept
from api.context import Info
from api.errors import Error


@strawberry.type(description="A candidate concept of a mapping, with the scores of paper Algorithm 1.")
class MappingCandidate:
    concept_id: str
    name: str
    definition: str
    score: float
    text_sim: float | None
    struct_sim: float | None
    lexical: bool

    @classmethod
    def of(cls, c: dict[str, Any]) -> MappingCandidate:
        return cls(concept_id=str(c["concept_id"]), name=c.get("name") or "", definition=c.get("definition") or "",
                   score=float(c.get("score") or 0.0), text_sim=c.get("text_sim"), struct_sim=c.get("struct_sim"),
                   lexical=bool(c.get("lexical")))


@strawberry.type(description="One (current or historical) mapping decision of a source label.")
class MappingDecision:
    id: int
    dataset: str
    label: str
    concept_id: str | None
    status: str
    score: float | None
    justification: str
    predicate: str
    proposed_parent: str | None
    author: str
    decided_at: datetime | None

    @classmethod
    def of(cls, d: Any) -> MappingDecision:
        return cls(id=int(d.id), dataset=d.dataset, label=d.label, concept_id=d.concept_id, status=d.status,
                   score=d.score, justification=d.justification, predicate=d.predicate,
                   proposed_parent=d.proposed_parent, author=d.author, decided_at=d.decided_at)

    @strawberry.field
    async def concept(self, info: Info) -> Concept | None:
        if not self.concept_id:
            return None
        node = await info.context.loader(cld.concept_by_id).load(self.concept_id)
        return Concept.from_node(node) if node else None


@strawberry.type
class MappingReviewItem:
    decision: MappingDecision
    candidates: list[MappingCandidate]
    sample_ids: list[str]
    parent_reason: str | None = strawberry.field(
        default=None, description="For a new-concept proposal: why its parent was proposed.")

    @strawberry.field(description="A few samples carrying the label (to look at).")
    async def samples(self, info: Info) -> list[Sample]:
        rows = await info.context.loader(sample_by_id).load_many(self.sample_ids)
        return [Sample.from_row(r) for r in rows if r is not None]


@strawberry.type
class MappingReviewSuccess:
    decision: MappingDecision


MappingReviewResult = Annotated[MappingReviewSuccess | Error, strawberry.union("MappingReviewResult")]
