"""ADJACENT_TO from the label co-occurrences of every ingested multi-label dataset (issue 16).

Sources: the two annotation files of the curated datasets (``mappings.cooccurrence.real_cooccurrence``:
UCMerced multi-labels, BigEarthNet CORINE labels) plus every dataset in the catalog whose samples carry two
labels or more (``sample_labels``: a scene class and multi-labels, or several multi-labels), each label
turned into its concept through the usable MAPS_TO edges in Neo4j (curated, auto-accepted or accepted, so a
freshly onboarded dataset counts at once). The catalog copies of the file sources (``ucm``,
``bigearthnet_43``) are not counted twice. Georeferenced samples add a third source: two samples of different
datasets whose footprints intersect (PostGIS ``ST_Intersects``) make the concepts of one co-occur with those
of the other (``Cooccurrence.add_cross``; source "footprints").

:func:`refresh_adjacency` with a dataset id is incremental: the counts are recomputed (one SQL aggregate),
and the edges with an end among the concepts that dataset's labels map to are rewritten; so are the edges
elsewhere whose stored count, lift or sources no longer equal the recomputed ones (a new dataset raises the
sample total N, so the lift n_ab*N/(n_a*n_b) of an untouched pair grows and may cross ``adjacency_min_lift``:
those edges are restated, added or dropped, the rest is not written). The result equals a full recompute.
Without a dataset id every edge is rewritten (`rskg map adjacency`, `rskg sync`). Both are idempotent.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from kg import mappings_graph as G
from mappings.cooccurrence import Cooccurrence, Sample, real_cooccurrence
from ontology.model import LabelSystem
from rskg.services import Services

FILE_SOURCES = ("ucm", "bigearthnet_43")      # counted from their annotation files

MULTI_LABEL_SAMPLES = """
SELECT s.dataset_id, array_agg(sl.label_set ORDER BY sl.label_set, sl.label),
       array_agg(sl.label ORDER BY sl.label_set, sl.label)
FROM sample_labels sl JOIN samples s ON s.id = sl.sample_id
WHERE NOT (s.dataset_id = ANY(%s))
GROUP BY s.dataset_id, sl.sample_id
HAVING count(*) > 1
"""

# samples of two datasets whose footprints intersect (GiST index samples_footprint_idx)
FOOTPRINT_OVERLAPS = """
SELECT a.dataset_id, b.dataset_id, a.id, b.id
FROM samples a JOIN samples b ON a.dataset_id < b.dataset_id AND ST_Intersects(a.footprint, b.footprint)
WHERE a.footprint IS NOT NULL AND b.footprint IS NOT NULL
ORDER BY a.id, b.id
"""
LABELS_OF_SAMPLES = """
SELECT sample_id, label_set, label FROM sample_labels WHERE sample_id = ANY(%s) ORDER BY sample_id, label_set, label
"""
FOOTPRINT_SOURCE = "footprints"


@dataclass
class AdjacencyReport:
    rows: list[dict[str, Any]] = field(default_factory=list)     # edges written
    touched: list[str] = field(default_factory=list)             # concepts whose edges were rewritten
    datasets: list[str] = field(default_factory=list)            # catalog datasets counted
    restated: int = 0                                            # edges away from the dataset found stale

    def summary(self) -> str:
        return (f"adjacency: {len(self.rows)} ADJACENT_TO edges rewritten around {len(self.touched)} concepts "
                f"({self.restated} stale edges elsewhere restated; catalog multi-label datasets counted: "
                f"{', '.join(self.datasets) or 'none'})")


def catalog_samples(svc: Services) -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = defaultdict(list)
    with svc.connection() as conn:
        for ds, sets, labels in conn.execute(MULTI_LABEL_SAMPLES, (list(FILE_SOURCES),)).fetchall():
            out[str(ds)].append(list(zip(sets, labels, strict=True)))
    return dict(out)


def footprint_overlaps(svc: Services) -> list[tuple[str, str, Sample, Sample]]:
    """(dataset a, dataset b, labels of a's sample, labels of b's sample) per overlapping pair across datasets."""
    with svc.connection() as conn:
        pairs = conn.execute(FOOTPRINT_OVERLAPS).fetchall()
        ids = sorted({x for _, _, a, b in pairs for x in (a, b)})
        labels: dict[str, Sample] = defaultdict(list)
        if ids:
            for sid, ls, lb in conn.execute(LABELS_OF_SAMPLES, (ids,)).fetchall():
                labels[str(sid)].append((str(ls), str(lb)))
    return [(str(da), str(db), labels[str(a)], labels[str(b)]) for da, db, a, b in pairs]


def cooccurrence_all(svc: Services, system: LabelSystem) -> tuple[Cooccurrence, dict[str, set[str]]]:
    """The counts over every source, and the concepts each catalog dataset's samples touch."""
    co = real_cooccurrence(system, svc.settings.data_dir)
    active = system.active()
    graph = {k: c for k, c in G.usable_maps_to(svc.driver).items() if c in active}
    lookup = {(m.dataset, m.name): m.concept_id for m in system.mappings} | graph
    touched: dict[str, set[str]] = {}
    for ds, samples in sorted(catalog_samples(svc).items()):
        co.add(system, samples, ds, lookup)
        touched[ds] = {lookup[k] for s in samples for k in s if k in lookup}
    overlaps = footprint_overlaps(svc)
    co.add_cross(system, [(la, lb) for _, _, la, lb in overlaps], FOOTPRINT_SOURCE, lookup)
    for a, b, la, lb in overlaps:
        concepts = {lookup[k] for k in [*la, *lb] if k in lookup}
        touched.setdefault(a, set()).update(concepts)
        touched.setdefault(b, set()).update(concepts)
    return co, touched


def refresh_adjacency(svc: Services, system: LabelSystem, dataset: str | None = None,
                      write: bool = True) -> AdjacencyReport:
    s = svc.settings
    co, touched = cooccurrence_all(svc, system)
    rows = co.rows(s.adjacency_min_cooccurrence, s.adjacency_min_lift)
    rep = AdjacencyReport(datasets=sorted(touched))
    if dataset is None:
        rep.rows, rep.touched = rows, sorted(system.active())
        if write:
            G.write_adjacent(svc.driver, rows, rep.touched)
        return rep
    ids = set(touched.get(dataset, set()))
    stale = stale_pairs(rows, G.read_adjacent(svc.driver, sorted(system.active())))
    rep.restated = sum(1 for a, b in stale if a not in ids and b not in ids)
    ids |= {c for pair in stale for c in pair}
    rep.touched = sorted(ids)
    rep.rows = [r for r in rows if r["a"] in ids or r["b"] in ids]
    if write and ids:
        G.write_adjacent_touching(svc.driver, rep.rows, rep.touched)
    return rep


def _key(r: dict[str, Any]) -> tuple[str, str]:
    a, b = sorted((str(r["a"]), str(r["b"])))
    return a, b


def stale_pairs(fresh: list[dict[str, Any]], stored: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """Pairs whose stored edge differs from the recomputed one (count, lift to 4 places, sources), is missing,
    or is no longer kept."""
    def val(r: dict[str, Any]) -> tuple[int, float, tuple[str, ...]]:
        return int(r["cooccurrence"]), round(float(r.get("lift") or 0.0), 4), tuple(sorted(r.get("sources") or ()))
    want = {_key(r): val(r) for r in fresh}
    have = {_key(r): val(r) for r in stored}
    return {k for k in want.keys() | have.keys() if want.get(k) != have.get(k)}
