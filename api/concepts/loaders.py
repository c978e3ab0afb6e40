"""Per-request DataLoaders of the concept domain (Neo4j, batched with UNWIND)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from strawberry.dataloader import DataLoader

from api.concepts import cypher as q
from api.context import Context
from api.loaders import cypher_loader
from mappings.decisions import ACTIVE

ACTIVE_STATUSES = list(ACTIVE)


def concept_by_id(ctx: Context) -> DataLoader[str, Any]:
    return cypher_loader(ctx.db, q.CONCEPTS_BY_ID, "node")


def parents(ctx: Context) -> DataLoader[str, Any]:
    return cypher_loader(ctx.db, q.PARENTS, "nodes", list)


def children(ctx: Context) -> DataLoader[str, Any]:
    return cypher_loader(ctx.db, q.CHILDREN, "nodes", list)


def similar(ctx: Context) -> DataLoader[str, Any]:
    return cypher_loader(ctx.db, q.SIMILAR, "items", list)


def adjacent(ctx: Context) -> DataLoader[str, Any]:
    return cypher_loader(ctx.db, q.ADJACENT, "items", list)


def source_labels(ctx: Context) -> DataLoader[str, Any]:
    return cypher_loader(ctx.db, q.MAPPED_SOURCE_LABELS, "items", list)


def label_pairs(ctx: Context) -> DataLoader[str, Any]:
    """concept id -> [(label_set, label)] of the concept and its subclasses (active mappings)."""
    return cypher_loader(ctx.db, q.DEEP_LABEL_PAIRS, "pairs", list, active=ACTIVE_STATUSES)


def concepts_of_source_label(ctx: Context) -> DataLoader[str, Any]:
    return cypher_loader(ctx.db, q.CONCEPTS_OF_SOURCE_LABELS, "nodes", list, active=ACTIVE_STATUSES)


SAMPLES_OF_PAIRS = """
WITH q AS (SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]) AS q(concept, label_set, label)),
hits AS (SELECT DISTINCT q.concept, sl.sample_id FROM q
         JOIN sample_labels sl ON sl.label_set = q.label_set AND sl.label = q.label),
ranked AS (SELECT concept, sample_id, row_number() OVER (PARTITION BY concept ORDER BY sample_id) AS rn
           FROM hits)
SELECT concept, sample_id FROM ranked WHERE rn <= %s ORDER BY concept, sample_id
"""

COUNT_OF_PAIRS = """
WITH q AS (SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]) AS q(concept, label_set, label))
SELECT q.concept, count(DISTINCT sl.sample_id) FROM q
JOIN sample_labels sl ON sl.label_set = q.label_set AND sl.label = q.label
GROUP BY q.concept
"""


def _unnest(pairs_by_concept: dict[str, list[list[str]]]) -> tuple[list[str], list[str], list[str]]:
    cs, sets, labels = [], [], []
    for c, pairs in pairs_by_concept.items():
        for ls, lab in pairs:
            cs.append(c)
            sets.append(ls)
            labels.append(lab)
    return cs, sets, labels


def sample_ids_of_concept(ctx: Context) -> DataLoader[tuple[str, int], list[str]]:
    """(concept id, first) -> the first sample ids (by id) labelled with the concept or a subclass."""

    pairs, db = ctx.loader(label_pairs), ctx.db

    async def load(keys: list[tuple[str, int]]) -> Sequence[list[str]]:
        out: dict[tuple[str, int], list[str]] = {}
        for first in sorted({k[1] for k in keys}):
            cids = [c for c, f in keys if f == first]
            by = dict(zip(cids, await pairs.load_many(cids), strict=True))
            found: dict[str, list[str]] = {c: [] for c in cids}
            if any(by.values()):
                for c, sid in await db.sql(SAMPLES_OF_PAIRS, (*_unnest(by), first)):
                    found[c].append(sid)
            out.update({(c, first): found[c] for c in cids})
        return [out[k] for k in keys]

    return DataLoader(load_fn=load)


def sample_count_of_concept(ctx: Context) -> DataLoader[str, int]:
    pairs, db = ctx.loader(label_pairs), ctx.db

    async def load(cids: list[str]) -> Sequence[int]:
        by = dict(zip(cids, await pairs.load_many(cids), strict=True))
        counts: dict[str, int] = {}
        if any(by.values()):
            counts = {c: int(n) for c, n in await db.sql(COUNT_OF_PAIRS, _unnest(by))}
        return [counts.get(c, 0) for c in cids]

    return DataLoader(load_fn=load)
