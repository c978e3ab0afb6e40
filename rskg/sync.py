"""``rskg sync``: rebuild the operational graph in Neo4j from the ontology and PostgreSQL (idempotent)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from kg.label_graph import store_weights
from kg.label_sync import SyncReport, graph_counts, sync_label_system
from kg.schema import apply_schema
from ontology.store import load_label_system
from rskg.services import Services

SAMPLE_COUNTS_SQL = "SELECT dataset_id, count(*) FROM samples GROUP BY dataset_id"


@dataclass
class SyncOutcome:
    report: SyncReport
    counts: dict[str, int]
    seconds: float
    version: str
    similar_edges: int | None = None
    adjacent_edges: int | None = None


def sample_counts(svc: Services) -> dict[str, int]:
    with svc.connection() as conn:
        return {str(d): int(n) for d, n in conn.execute(SAMPLE_COUNTS_SQL).fetchall()}


def run_sync(svc: Services, derived: bool = True) -> SyncOutcome:
    """Ontology -> Concept/Dataset/SourceLabel graph; then (``derived``) recompute the derived scores:
    SIMILAR_TO (text + OSM structure) and ADJACENT_TO (label co-occurrence), and the Eq. 1 weights."""
    t0 = time.perf_counter()
    s = svc.settings
    system = load_label_system(s.ontology_dir)
    apply_schema(svc.driver)
    report = sync_label_system(svc.driver, system, sample_counts(svc))
    n_similar = n_adjacent = None
    if derived:
        from rskg.label_mapping import MappingContext, adjacency_edges, similar_edges

        ctx = MappingContext.open(svc, system)
        n_similar = len(similar_edges(ctx))
        n_adjacent = len(adjacency_edges(ctx))
    store_weights(svc.driver, s.alpha, s.beta, s.tau)
    return SyncOutcome(report, graph_counts(svc.driver), time.perf_counter() - t0, system.version,
                       n_similar, n_adjacent)
