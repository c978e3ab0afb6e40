"""``build_composite``: one retrieval subtask per requested label, run in parallel (thread pool), stored as a
logical dataset in PostgreSQL (``composite_datasets`` + ``composite_items``) with the parameters, the ontology
version and the index version that produced it (paper 000 section 3.4.3).

A sample found for the same concept by two subtasks is stored once: a direct match wins over a supplementary
one, otherwise the higher score wins.
"""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, is_dataclass, replace
from datetime import datetime
from typing import Any

from rskg.errors import NotFoundError, ValidationError
from rskg.retrieval.model import RetrievalRequest, RetrievalResult, SampleHit
from rskg.retrieval.pipeline import retrieve
from rskg.services import Services
from rskg.settings import Settings

INSERT_COMPOSITE = """
INSERT INTO composite_datasets (id, name, params, ontology_version, index_version, created_by)
VALUES (%s, %s, %s, %s, %s, %s)
"""
INSERT_ITEM = """
INSERT INTO composite_items (composite_id, sample_id, concept_id, kind, score, evidence)
VALUES (%s, %s, %s, %s, %s, %s)
"""
SELECT_COMPOSITE = """
SELECT id, name, params, ontology_version, index_version, created_by, created_at
FROM composite_datasets WHERE id = %s
"""
LIST_COMPOSITES = """
SELECT c.id, c.name, c.created_at, count(i.sample_id)
FROM composite_datasets c LEFT JOIN composite_items i ON i.composite_id = c.id
GROUP BY c.id ORDER BY c.created_at DESC
"""
COUNT_ITEMS = """
SELECT concept_id, kind, count(*) FROM composite_items WHERE composite_id = %s GROUP BY 1, 2 ORDER BY 1, 2
"""

FILTER_FIELDS = ("bbox", "polygon_wkt", "time_from", "time_to", "sensors", "gsd_min", "gsd_max", "datasets",
                 "alpha", "beta", "tau", "max_distance", "k_per_prototype", "similarity_threshold",
                 "limit_direct", "limit_supplementary", "rerank_hir", "hir_grid", "hir_lambda", "spatial",
                 "composition")


@dataclass
class CompositeSummary:
    id: str
    name: str
    labels: list[str]
    counts: dict[str, dict[str, int]]                     # concept -> {"direct": n, "supplementary": n}
    unmatched: list[str]
    ontology_version: str
    index_version: str
    created_at: datetime | None = None
    params: dict[str, Any] = field(default_factory=dict)


def _jsonable(v: object) -> object:
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, tuple | list):
        return [_jsonable(x) for x in v]
    if is_dataclass(v) and not isinstance(v, type):
        return asdict(v)                          # e.g. a CompositionBound
    return v


def _merge(results: list[RetrievalResult]) -> dict[tuple[str, str], SampleHit]:
    items: dict[tuple[str, str], SampleHit] = {}
    for res in results:
        for h in res.direct + res.supplementary:
            key = (h.sample_id, h.concept_id)
            old = items.get(key)
            if old is None or (h.kind == "direct" and old.kind != "direct") or (
                    h.kind == old.kind and h.score > old.score):
                items[key] = h
    return items


def _evidence(h: SampleHit) -> dict[str, Any]:
    if h.evidence is not None:
        ev = asdict(h.evidence)
        ev["path"] = list(h.evidence.path)
        if h.hir_distance is not None:
            ev["hir_distance"] = h.hir_distance
        return ev
    return {"source_labels": list(h.labels)}


def ontology_version(settings: Settings) -> str:
    from ontology.store import version_of

    try:
        return version_of(settings.ontology_dir)
    except OSError:
        return ""


def build_composite(services: Services, settings: Settings, name: str, labels: list[str],
                    template: RetrievalRequest | None = None, workers: int = 4,
                    created_by: str = "rskg") -> CompositeSummary:
    """Run one retrieval per label (filters and parameters from ``template``) and store the logical dataset."""
    labels = [lab.strip() for lab in labels if lab.strip()]
    if not name.strip():
        raise ValidationError("a composite dataset needs a name", "Pass a short name, e.g. `rivers_ireland`.")
    if not labels:
        raise ValidationError("a composite dataset needs at least one label", "Pass --labels river,forest.")
    base = template or RetrievalRequest(labels=[])
    reqs = [replace(base, labels=[lab], example_sample_id=None, example_image=None) for lab in labels]
    with ThreadPoolExecutor(max(1, min(workers, len(reqs)))) as pool:
        results = list(pool.map(lambda r: retrieve(services, settings, r), reqs))
    unmatched = [u for r in results for u in r.unmatched]
    if len(unmatched) == len(labels):
        raise NotFoundError(f"no requested label matched a concept: {', '.join(labels)}",
                            "Check the spelling; `rskg retrieve LABEL` shows how labels resolve.")
    items = _merge(results)
    versions = {k: v for r in results for k, v in r.versions.items()}
    index_version = ";".join(f"{k}={v}" for k, v in sorted(versions.items()))
    params = {
        "labels": labels,
        "request": {f: _jsonable(getattr(base, f)) for f in FILTER_FIELDS},
        "eq1": {"alpha": base.alpha if base.alpha is not None else settings.alpha,
                "beta": base.beta if base.beta is not None else settings.beta,
                "tau": base.tau if base.tau is not None else settings.tau,
                "max_distance": base.max_distance if base.max_distance is not None else settings.max_distance},
        "matches": [{"query": m.query, "concept_id": m.concept_id, "how": m.how} for r in results for m in r.matches],
        "unmatched": unmatched,
        "notes": sorted({n for r in results for n in r.notes}),
    }
    cid = str(uuid.uuid4())
    over = ontology_version(settings)
    with services.connection() as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute(INSERT_COMPOSITE, (cid, name, json.dumps(params), over, index_version, created_by))
        cur.executemany(INSERT_ITEM, [(cid, h.sample_id, h.concept_id, h.kind, h.score, json.dumps(_evidence(h)))
                                      for h in items.values()])
    return get_composite(services, cid)


def _uuid(composite_id: str) -> str:
    try:
        return str(uuid.UUID(str(composite_id)))
    except ValueError as exc:
        raise NotFoundError(f"{composite_id!r} is not a composite dataset id",
                            "Use the UUID printed by `rskg dataset build`; `rskg dataset list` shows them.") from exc


def get_composite(services: Services, composite_id: str) -> CompositeSummary:
    cid = _uuid(composite_id)
    with services.connection() as conn:
        row = conn.execute(SELECT_COMPOSITE, (cid,)).fetchone()
        if row is None:
            raise NotFoundError(f"no composite dataset {cid}", "`rskg dataset list` shows the existing ones.")
        counts: dict[str, dict[str, int]] = {}
        for concept, kind, n in conn.execute(COUNT_ITEMS, (cid,)).fetchall():
            counts.setdefault(concept, {"direct": 0, "supplementary": 0})[kind] = int(n)
    params = row[2] if isinstance(row[2], dict) else json.loads(row[2])
    return CompositeSummary(str(row[0]), row[1], list(params.get("labels", [])), counts,
                            list(params.get("unmatched", [])), row[3] or "", row[4] or "", row[6], params)


def list_composites(services: Services) -> list[tuple[str, str, datetime, int]]:
    with services.connection() as conn:
        return [(str(i), n, t, int(c)) for i, n, t, c in conn.execute(LIST_COMPOSITES).fetchall()]
