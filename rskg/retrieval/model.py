"""Data contract of one retrieval request and its answer (used by the pipeline, CLI and API)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from rskg.catalog.filters import CompositionBound


@dataclass
class RetrievalRequest:
    labels: list[str]                                   # label names, synonyms or concept ids
    bbox: tuple[float, float, float, float] | None = None   # (min_lon, min_lat, max_lon, max_lat), WGS 84
    polygon_wkt: str | None = None                      # alternative to bbox, WGS 84 WKT
    time_from: datetime | None = None
    time_to: datetime | None = None
    sensors: list[str] | None = None
    gsd_min: float | None = None
    gsd_max: float | None = None
    datasets: list[str] | None = None                   # restrict to these dataset ids
    composition: list[CompositionBound] | None = None   # land-cover shares (concept id or label, min/max 0..1)
    # Equation 1 overrides (None = settings)
    alpha: float | None = None
    beta: float | None = None
    tau: float | None = None
    max_distance: float | None = None
    # supplementary search
    k_per_prototype: int = 20
    similarity_threshold: float | None = None           # cosine similarity floor (None = settings)
    limit_direct: int | None = None
    limit_supplementary: int = 200
    rerank_hir: bool = False                            # paper 002 second stage
    example_sample_id: str | None = None                # query by example (sample in the catalog)
    example_image: bytes | None = None                  # query by example (uploaded image bytes)
    example_gsd_m: float | None = None                  # its ground sampling distance (None: unknown)
    # optional additions (rskg.retrieval.pipeline)
    spatial: str = "intersects"                         # bbox/polygon predicate: "intersects" | "within"
    hir_weights: dict[str, float] | None = None         # HIR class weights by concept id (default 1; query 4)
    hir_shortlist: int = 100                            # supplementary hits re-ranked by HIR
    hir_grid: int | None = None                         # HIR distributions from GxG patches (None: settings; 1: whole)
    hir_lambda: float | None = None                     # HIR order: score - lambda * WMD (None: settings)
    hir_source: str | None = None                       # HIR: "both" | "composition" | "patch" (None: settings)
    direct_backend: str = "sql"                         # "sql" (PostgreSQL) | "cypher" (Neo4j), same result
    max_related: int = 30                               # nearest related concepts whose prototypes search


@dataclass(frozen=True)
class ConceptMatch:
    query: str                  # what the user typed
    concept_id: str
    concept_name: str
    how: str                    # "id" | "prefLabel" | "altLabel" | "source label <dataset>" | "text similarity 0.83"


@dataclass(frozen=True)
class RelatedConcept:
    concept_id: str
    concept_name: str
    distance: float
    source: str                 # query concept it was reached from
    path: tuple[str, ...]
    relations: tuple[str, ...]


@dataclass(frozen=True)
class Evidence:
    concept_id: str             # related concept whose prototype found the sample
    prototype_id: str
    similarity: float           # cosine similarity between prototype and sample feature
    graph_distance: float       # Dijkstra distance of that concept from the query concept
    path: tuple[str, ...]       # graph path from the query concept
    probability: float | None = None   # the concept head's P(query concept | sample), when it decided admission


@dataclass(frozen=True)
class SampleHit:
    sample_id: str
    dataset: str
    concept_id: str             # the query concept this sample answers
    kind: str                   # "direct" | "supplementary"
    score: float
    labels: tuple[str, ...] = ()
    evidence: Evidence | None = None
    hir_distance: float | None = None   # weighted Manhattan distance of the HIR re-rank (when requested)


@dataclass
class RetrievalResult:
    request: RetrievalRequest
    matches: list[ConceptMatch]
    unmatched: list[str]
    related: list[RelatedConcept]
    direct: list[SampleHit]
    supplementary: list[SampleHit]
    candidates: int | None = None          # samples passing the spatial/temporal filter (None = no filter)
    timings_ms: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)   # why a step was skipped (no index, no prototypes...)
    versions: dict[str, str] = field(default_factory=dict)   # image index / prototype versions used
