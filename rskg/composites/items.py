"""The items of a composite dataset with their source sample, dataset attribution and latest review decision:
all of them (exports) or one keyset-paged, filtered page (the API), ordered by concept, kind (direct first),
score (best first) and sample id."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql

from rskg.composites.composite import _uuid
from rskg.errors import ValidationError
from rskg.services import Services

KINDS = ("direct", "supplementary")
DECISIONS = ("accept", "reject", "pending")

SELECT_ITEMS = """
SELECT i.sample_id, i.concept_id, i.kind, i.score, i.evidence, coalesce(f.decision, 'pending'),
       s.dataset_id, d.name, d.url, d.license, d.citation, s.source_path, s.storage,
       ST_AsGeoJSON(s.footprint), ST_AsText(s.footprint), s.acquired_at, s.created_at, s.gsd_m, s.sensor,
       s.width, s.height, s.labels
FROM composite_items i
JOIN samples s ON s.id = i.sample_id
JOIN datasets d ON d.id = s.dataset_id
LEFT JOIN LATERAL (
    SELECT decision FROM feedback fb
    WHERE fb.composite_id = i.composite_id AND fb.sample_id = i.sample_id AND fb.concept_id = i.concept_id
    ORDER BY fb.decided_at DESC, fb.id DESC LIMIT 1) f ON true
WHERE i.composite_id = %s
ORDER BY i.concept_id, i.kind, i.score DESC, i.sample_id
"""

# one page: the same rows, filtered in SQL, after a keyset (concept, kind, -score, sample id), LIMIT n + 1
_UNORDERED = SELECT_ITEMS.strip().rsplit("ORDER BY", 1)[0]
PAGE_SQL = """
SELECT * FROM (
""" + _UNORDERED + """) page(sample_id, concept_id, kind, score, evidence, decision,
  dataset_id, dataset_name, url, license, citation, source_path, storage, geojson, wkt, acquired_at, created_at, gsd_m,
  sensor, width, height, labels)
WHERE {filters}
ORDER BY concept_id, kind, -score, sample_id
LIMIT %(limit)s
"""
COUNT_SQL = """
SELECT count(*) FROM (
""" + _UNORDERED + """) page(sample_id, concept_id, kind, score, evidence, decision)
WHERE {filters}
"""


@dataclass
class Item:
    sample_id: str
    concept_id: str
    kind: str
    score: float
    evidence: dict[str, Any]
    decision: str              # 'accept' | 'reject' | 'pending'
    dataset: str
    dataset_name: str
    url: str
    license: str
    citation: str
    source_path: str
    storage: str
    geometry: dict[str, Any] | None
    footprint_wkt: str | None
    acquired_at: datetime | None
    ingested_at: datetime
    gsd_m: float | None
    sensor: str | None
    width: int | None
    height: int | None
    source_labels: list[str]
    image: str = ""            # relative path of the exported image ('' for csv)


def items(services: Services, composite_id: str) -> list[Item]:
    cid = _uuid(composite_id)
    with services.connection() as conn:
        rows = conn.execute(SELECT_ITEMS, (cid,)).fetchall()
    return [_item(r) for r in rows]


def _item(r: Any) -> Item:
    ev = r[4] if isinstance(r[4], dict) else json.loads(r[4] or "{}")
    geom = json.loads(r[13]) if r[13] else None
    return Item(r[0], r[1], r[2], float(r[3] or 0.0), ev, r[5], r[6], r[7] or r[6], r[8] or "", r[9] or "",
                r[10] or "", r[11], r[12], geom, r[14], r[15], r[16], r[17], r[18], r[19], r[20], list(r[21] or []))


Key = tuple[str, str, float, str]          # (concept id, kind, score, sample id) of the last item of a page


@dataclass
class ItemPage:
    items: list[Item]
    keys: list[Key]
    total: int                 # items matching the filters (all pages)
    has_next: bool


def page_key(it: Item) -> Key:
    return (it.concept_id, it.kind, it.score, it.sample_id)


def items_page(services: Services, composite_id: str, first: int, after: Key | None = None,
               kind: str | None = None, decision: str | None = None, concept: str | None = None,
               dataset: str | None = None) -> ItemPage:
    """One page of at most ``first`` items after the key ``after`` (keyset: stable while feedback is added),
    filtered by kind, latest decision, concept and source dataset in PostgreSQL."""
    if kind is not None and kind not in KINDS:
        raise ValidationError(f"kind {kind!r} unknown", "Use 'direct' or 'supplementary'.")
    if decision is not None and decision not in DECISIONS:
        raise ValidationError(f"decision {decision!r} unknown", "Use 'accept', 'reject' or 'pending'.")
    params: dict[str, Any] = {"cid": _uuid(composite_id), "kind": kind, "decision": decision, "concept": concept,
                              "dataset": dataset, "limit": first + 1}
    conds = [sql.SQL("(%(kind)s::text IS NULL OR kind = %(kind)s)"),
             sql.SQL("(%(decision)s::text IS NULL OR decision = %(decision)s)"),
             sql.SQL("(%(concept)s::text IS NULL OR concept_id = %(concept)s)"),
             sql.SQL("(%(dataset)s::text IS NULL OR dataset_id = %(dataset)s)")]
    count_q = sql.SQL(COUNT_SQL.replace("%s", "%(cid)s")).format(filters=sql.SQL(" AND ").join(conds))
    if after is not None:
        conds.append(sql.SQL("(concept_id, kind, -score, sample_id) > (%(a_c)s, %(a_k)s, -%(a_s)s::float8, %(a_id)s)"))
        params.update(a_c=after[0], a_k=after[1], a_s=float(after[2]), a_id=after[3])
    page_q = sql.SQL(PAGE_SQL.replace("%s", "%(cid)s")).format(filters=sql.SQL(" AND ").join(conds))
    with services.connection() as conn:
        rows = conn.execute(page_q, params).fetchall()
        total = int(conn.execute(count_q, params).fetchone()[0])
    found = [_item(r) for r in rows[:first]]
    return ItemPage(found, [page_key(it) for it in found], total, len(rows) > first)


