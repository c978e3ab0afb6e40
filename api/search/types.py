"""GraphQL shape of rskg.search results (SearchResult, Description)."""

from __future__ import annotations

from typing import Any

import strawberry

from api.catalog.loaders import sample_by_id
from api.catalog.types import Sample
from api.context import Info


@strawberry.type(description="A concept a phrase matched, and through which text view of the concept.")
class PhraseConcept:
    concept_id: str
    name: str
    level: int
    score: float
    view_kind: str = strawberry.field(description="lexical | prefLabel | altLabel | definition | osm")
    view_text: str


@strawberry.type(description="One phrase of the query and the concepts it matched (none: closest shown).")
class PhraseMatch:
    phrase: str
    concepts: list[PhraseConcept]
    best_score: float
    best_name: str


@strawberry.type(description="A concept the search ran for, with its weight and where the weight came from.")
class WeightedConcept:
    concept_id: str
    name: str
    level: int
    weight: float
    source: str = strawberry.field(description="'label system' (text similarity) or 'captions' (learned)")
    phrases: list[str]


@strawberry.type(description="Why an image came back for one query concept.")
class HitEvidence:
    root: str
    concept_id: str
    prototype_id: str
    similarity: float
    graph_distance: float
    path: list[str]
    labelled: bool


@strawberry.type
class SearchHit:
    sample_id: str
    dataset: str
    score: float
    concept_score: float
    visual_score: float | None
    labels: list[str]
    evidence: list[HitEvidence]

    @strawberry.field
    async def sample(self, info: Info) -> Sample | None:
        row = await info.context.loader(sample_by_id).load(self.sample_id)
        return Sample.from_row(row) if row else None


@strawberry.type
class SearchTiming:
    step: str
    ms: float


@strawberry.type(description="The answer of a free-text search (rskg.search.service.SearchResult).")
class SearchResult:
    query: str
    route: str
    phrases: list[PhraseMatch]
    concepts: list[WeightedConcept]
    hits: list[SearchHit]
    explanation: str
    notes: list[str]
    timings_ms: list[SearchTiming]

    @classmethod
    def of(cls, r: Any) -> SearchResult:
        return cls(
            query=r.query, route=r.route, explanation=r.explanation, notes=list(r.notes),
            phrases=[PhraseMatch(phrase=p.phrase, best_score=float(p.best_score), best_name=p.best_name,
                                 concepts=[PhraseConcept(concept_id=h.concept_id, name=h.name, level=h.level,
                                                         score=float(h.score), view_kind=h.view_kind,
                                                         view_text=h.view_text) for h in p.hits])
                     for p in r.phrases],
            concepts=[WeightedConcept(concept_id=c.concept_id, name=c.name, level=c.level, weight=float(c.weight),
                                      source=c.source, phrases=list(c.phrases)) for c in r.concepts],
            hits=[SearchHit(sample_id=h.sample_id, dataset=h.dataset, score=float(h.score),
                            concept_score=float(h.concept_score), visual_score=h.visual_score, labels=list(h.labels),
                            evidence=[HitEvidence(root=e.root, concept_id=e.concept_id, prototype_id=e.prototype_id,
                                                  similarity=float(e.similarity),
                                                  graph_distance=float(e.graph_distance), path=list(e.path),
                                                  labelled=e.labelled) for e in h.evidence])
                  for h in r.hits],
            timings_ms=[SearchTiming(step=k, ms=float(v)) for k, v in r.timings_ms.items()])


@strawberry.type(description="A concept an image is close to (best cosine with one of its prototypes).")
class DescribedConcept:
    concept_id: str
    name: str
    level: int
    score: float
    path: list[str] = strawberry.field(description="names from the concept up to its top-level ancestor")


@strawberry.type
class ExampleCaption:
    sentence: str
    score: float


@strawberry.type(description="The share of a concept's pixels in the described image (segmentation head).")
class DescribedFraction:
    concept_id: str
    name: str
    fraction: float


@strawberry.type(description="Image -> text (rskg.search.describe.Description).")
class Description:
    source: str
    text: str
    concepts: list[DescribedConcept]
    captions: list[ExampleCaption]
    notes: list[str]
    composition: list[DescribedFraction] = strawberry.field(
        description="land-cover composition, largest shares first (stored for a composed sample, else the "
                    "installed segmentation head applied now; [] with a note when no head is installed)")
    composition_model: str | None
    composition_source: str | None = strawberry.field(description="'stored' or 'segmented'")

    @classmethod
    def of(cls, d: Any) -> Description:
        return cls(source=d.source, text=d.text, notes=list(d.notes),
                   composition=[DescribedFraction(concept_id=c, name=n, fraction=float(f))
                                for c, n, f in d.composition],
                   composition_model=d.composition_model, composition_source=d.composition_source,
                   concepts=[DescribedConcept(concept_id=c.concept_id, name=c.name, level=c.level,
                                              score=float(c.score), path=list(c.path)) for c in d.concepts],
                   captions=[ExampleCaption(sentence=s, score=float(v)) for s, v in d.captions])
