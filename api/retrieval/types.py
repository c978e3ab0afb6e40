"""GraphQL shape of rskg.retrieval.model (RetrievalRequest in, RetrievalResult out)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from api.catalog.loaders import sample_by_id
from api.catalog.types import CompositionBoundInput, Sample
from api.concepts import loaders as cld
from api.concepts.types import Concept
from api.context import Info


@strawberry.input
class HirWeight:
    concept_id: str
    weight: float


@strawberry.input(description="Filters and parameters of a retrieval (everything but the labels).")
class RetrievalOptions:
    bbox: list[float] | None = strawberry.field(default=None, description="[minLon, minLat, maxLon, maxLat]")
    polygon_wkt: str | None = None
    spatial: str = strawberry.field(default="intersects", description="'intersects' or 'within'")
    time_from: datetime | None = None
    time_to: datetime | None = None
    sensors: list[str] | None = None
    gsd_min: float | None = None
    gsd_max: float | None = None
    datasets: list[str] | None = None
    composition: list[CompositionBoundInput] | None = strawberry.field(
        default=None, description="land-cover share bounds, all must hold; only composed samples pass")
    alpha: float | None = None
    beta: float | None = None
    tau: float | None = None
    max_distance: float | None = None
    k_per_prototype: int = 20
    similarity_threshold: float | None = None
    limit_direct: int | None = None
    limit_supplementary: int = 200
    rerank_hir: bool = False
    hir_grid: int | None = strawberry.field(
        default=None, description="HIR class distributions from an NxN patch grid (default 3; 1 = whole images)")
    hir_lambda: float | None = strawberry.field(
        default=None, description="HIR order = score - hirLambda * WMD (default 0.2; 1000 = paper 002's order)")
    hir_source: str | None = strawberry.field(
        default=None, description="HIR class distributions: both (default) | composition (stored pixel fractions) "
                                  "| patch (3x3 patch probabilities)")


@strawberry.input(description="A retrieval request (rskg.retrieval.model.RetrievalRequest).")
class RetrievalInput(RetrievalOptions):
    labels: list[str]
    hir_weights: list[HirWeight] | None = None
    hir_shortlist: int = 100
    example_sample_id: str | None = None
    example_image_base64: str | None = strawberry.field(
        default=None, description="query by example: an uploaded image (PNG/JPEG/TIFF bytes, standard base64, at "
                                  "most 20 MiB), encoded with the image index's encoder")
    example_gsd_m: float | None = strawberry.field(
        default=None, description="ground sampling distance of exampleImageBase64 in metres (unknown if unset)")


async def _concept(info: Info, concept_id: str) -> Concept | None:
    node = await info.context.loader(cld.concept_by_id).load(concept_id)
    return Concept.from_node(node) if node else None


@strawberry.type
class ConceptMatch:
    query: str
    concept_id: str
    concept_name: str
    how: str

    @strawberry.field
    async def concept(self, info: Info) -> Concept | None:
        return await _concept(info, self.concept_id)


@strawberry.type
class RelatedConcept:
    concept_id: str
    concept_name: str
    distance: float
    source: str
    path: list[str]
    relations: list[str]

    @strawberry.field
    async def concept(self, info: Info) -> Concept | None:
        return await _concept(info, self.concept_id)


@strawberry.type(description="Why a supplementary sample was found: which related concept's prototype, how "
                             "similar, and the graph path from the query concept.")
class Evidence:
    concept_id: str
    prototype_id: str
    similarity: float
    graph_distance: float
    path: list[str]
    probability: float | None = strawberry.field(
        default=None, description="the concept head's calibrated P(query concept | sample) that admitted it")


@strawberry.type
class SampleHit:
    sample_id: str
    dataset: str
    concept_id: str
    kind: str
    score: float
    labels: list[str]
    evidence: Evidence | None
    hir_distance: float | None

    @strawberry.field
    async def sample(self, info: Info) -> Sample | None:
        row = await info.context.loader(sample_by_id).load(self.sample_id)
        return Sample.from_row(row) if row else None

    @classmethod
    def of(cls, h: Any) -> SampleHit:
        ev = h.evidence
        return cls(sample_id=h.sample_id, dataset=h.dataset, concept_id=h.concept_id, kind=h.kind,
                   score=float(h.score), labels=list(h.labels), hir_distance=getattr(h, "hir_distance", None),
                   evidence=None if ev is None else Evidence(
                       concept_id=ev.concept_id, prototype_id=ev.prototype_id, similarity=float(ev.similarity),
                       graph_distance=float(ev.graph_distance), path=list(ev.path),
                       probability=getattr(ev, "probability", None)))


@strawberry.type
class Timing:
    step: str
    ms: float


@strawberry.type
class VersionEntry:
    name: str
    version: str


@strawberry.type(description="The answer of one retrieval (rskg.retrieval.model.RetrievalResult).")
class RetrievalResult:
    matches: list[ConceptMatch]
    unmatched: list[str]
    related: list[RelatedConcept]
    direct: list[SampleHit]
    supplementary: list[SampleHit]
    candidates: int | None
    timings_ms: list[Timing]
    notes: list[str]
    versions: list[VersionEntry]

    @classmethod
    def of(cls, r: Any) -> RetrievalResult:
        return cls(
            matches=[ConceptMatch(query=m.query, concept_id=m.concept_id, concept_name=m.concept_name, how=m.how)
                     for m in r.matches],
            unmatched=list(r.unmatched),
            related=[RelatedConcept(concept_id=x.concept_id, concept_name=x.concept_name, distance=float(x.distance),
                                    source=x.source, path=list(x.path), relations=list(x.relations))
                     for x in r.related],
            direct=[SampleHit.of(h) for h in r.direct],
            supplementary=[SampleHit.of(h) for h in r.supplementary],
            candidates=r.candidates,
            timings_ms=[Timing(step=k, ms=float(v)) for k, v in r.timings_ms.items()],
            notes=list(getattr(r, "notes", []) or []),
            versions=[VersionEntry(name=k, version=str(v)) for k, v in (getattr(r, "versions", {}) or {}).items()])
