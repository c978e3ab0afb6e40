"""Neo4j side of label mapping: SIMILAR_TO and ADJACENT_TO between concepts, and the MAPS_TO status of
source labels (DESIGN.md §2). Every query is a constant with $params; writers take plain rows so that
this module does not depend on ``mappings``.

Undirected relations (SIMILAR_TO, ADJACENT_TO) are stored once, from the smaller concept id to the
larger; readers match them without direction. Writers are idempotent (MERGE + SET of the same
values) and remove the edges of the given kind that the new computation no longer has.
"""

from __future__ import annotations

from typing import Any

from neo4j import Driver, ManagedTransaction

EXISTING_CONCEPTS = "UNWIND $ids AS id MATCH (c:Concept {id: id}) RETURN collect(c.id) AS ids"

MERGE_SIMILAR = """
UNWIND $rows AS r
MATCH (a:Concept {id: r.a}), (b:Concept {id: r.b})
MERGE (a)-[s:SIMILAR_TO]->(b)
SET s.score = r.score, s.text_sim = r.text_sim, s.struct_sim = r.struct_sim
RETURN count(s) AS n
"""

DELETE_STALE_SIMILAR = """
MATCH (a:Concept)-[s:SIMILAR_TO]->(b:Concept)
WHERE a.id IN $ids AND b.id IN $ids AND NOT (a.id + '|' + b.id) IN $keep
DELETE s
RETURN count(*) AS n
"""

READ_SIMILAR = """
MATCH (a:Concept)-[s:SIMILAR_TO]->(b:Concept)
WHERE a.id IN $ids AND b.id IN $ids
RETURN a.id AS a, b.id AS b, s.score AS score, s.text_sim AS text_sim, s.struct_sim AS struct_sim
ORDER BY a, b
"""

MERGE_ADJACENT = """
UNWIND $rows AS r
MATCH (a:Concept {id: r.a}), (b:Concept {id: r.b})
MERGE (a)-[e:ADJACENT_TO]->(b)
SET e.cooccurrence = r.cooccurrence, e.lift = r.lift, e.sources = r.sources
RETURN count(e) AS n
"""

DELETE_STALE_ADJACENT = """
MATCH (a:Concept)-[e:ADJACENT_TO]->(b:Concept)
WHERE a.id IN $ids AND b.id IN $ids AND NOT (a.id + '|' + b.id) IN $keep
DELETE e
RETURN count(*) AS n
"""

READ_ADJACENT = """
MATCH (a:Concept)-[e:ADJACENT_TO]->(b:Concept)
WHERE a.id IN $ids AND b.id IN $ids
RETURN a.id AS a, b.id AS b, e.cooccurrence AS cooccurrence, e.lift AS lift, e.sources AS sources
ORDER BY a, b
"""

MERGE_SOURCE_LABELS = """
UNWIND $rows AS r
MERGE (d:Dataset {id: r.dataset})
  ON CREATE SET d.name = r.dataset
MERGE (l:SourceLabel {id: r.id})
  ON CREATE SET l.dataset = r.dataset, l.name = r.name
MERGE (d)-[:HAS_LABEL]->(l)
"""

# Drop the MAPS_TO edges that do not point at the decision's target (none for a rejection).
DELETE_OTHER_MAPS_TO = """
UNWIND $rows AS r
MATCH (l:SourceLabel {id: r.id})-[m:MAPS_TO]->(c:Concept)
WHERE r.target IS NULL OR c.id <> r.target
DELETE m
"""

SET_MAPS_TO = """
UNWIND $rows AS r
MATCH (l:SourceLabel {id: r.id})
MATCH (c:Concept {id: r.target})
MERGE (l)-[m:MAPS_TO]->(c)
SET m.score = r.score, m.status = r.status, m.predicate = r.predicate, m.justification = r.justification,
    m.decision_id = r.decision_id
"""

READ_MAPS_TO = """
MATCH (d:Dataset {id: $dataset})-[:HAS_LABEL]->(l:SourceLabel)
OPTIONAL MATCH (l)-[m:MAPS_TO]->(c:Concept)
RETURN l.id AS id, l.name AS name, c.id AS concept_id, m.score AS score, m.status AS status,
       m.predicate AS predicate, m.decision_id AS decision_id
ORDER BY name, concept_id
"""

DELETE_DATASET_LABELS = """
MATCH (d:Dataset {id: $dataset})
OPTIONAL MATCH (d)-[:HAS_LABEL]->(l:SourceLabel)
DETACH DELETE l, d
"""


def existing_concepts(driver: Driver, ids: list[str]) -> set[str]:
    rec = driver.execute_query(EXISTING_CONCEPTS, ids=sorted(set(ids))).records
    return set(rec[0]["ids"]) if rec else set()


def _pair_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        a, b = sorted((r["a"], r["b"]))
        out.append({**r, "a": a, "b": b})
    return out


def _replace_pairs(driver: Driver, rows: list[dict[str, Any]], concept_ids: list[str], delete_stale: str,
                   merge: str) -> None:
    """In one write transaction: delete the edges ``delete_stale`` selects around ``concept_ids`` that are not
    among ``rows`` (unordered pairs), then merge ``rows`` (1,000 a statement)."""
    rows = _pair_rows(rows)
    keep = [f"{r['a']}|{r['b']}" for r in rows]

    def work(tx: ManagedTransaction) -> None:
        tx.run(delete_stale, ids=concept_ids, keep=keep).consume()
        for i in range(0, len(rows), 1000):
            tx.run(merge, rows=rows[i:i + 1000]).consume()

    with driver.session() as s:
        s.execute_write(work)


def write_similar(driver: Driver, rows: list[dict[str, Any]], concept_ids: list[str]) -> None:
    """rows: {a, b, score, text_sim, struct_sim}; replaces SIMILAR_TO among ``concept_ids``."""
    _replace_pairs(driver, rows, concept_ids, DELETE_STALE_SIMILAR, MERGE_SIMILAR)


def read_similar(driver: Driver, concept_ids: list[str]) -> list[dict[str, Any]]:
    return [dict(r) for r in driver.execute_query(READ_SIMILAR, ids=concept_ids).records]


def write_adjacent(driver: Driver, rows: list[dict[str, Any]], concept_ids: list[str]) -> None:
    """rows: {a, b, cooccurrence, sources}; replaces ADJACENT_TO among ``concept_ids``."""
    _replace_pairs(driver, rows, concept_ids, DELETE_STALE_ADJACENT, MERGE_ADJACENT)


def read_adjacent(driver: Driver, concept_ids: list[str]) -> list[dict[str, Any]]:
    return [dict(r) for r in driver.execute_query(READ_ADJACENT, ids=concept_ids).records]


def write_maps_to(driver: Driver, rows: list[dict[str, Any]]) -> None:
    """rows: {id, dataset, name, target (concept id or None), score, status, predicate, justification,
    decision_id}: one transaction that MERGEs Dataset/SourceLabel and sets each label's MAPS_TO."""
    def work(tx: ManagedTransaction) -> None:
        tx.run(MERGE_SOURCE_LABELS, rows=rows).consume()
        tx.run(DELETE_OTHER_MAPS_TO, rows=rows).consume()
        tx.run(SET_MAPS_TO, rows=[r for r in rows if r["target"] is not None]).consume()

    with driver.session() as s:
        s.execute_write(work)


def read_maps_to(driver: Driver, dataset: str) -> list[dict[str, Any]]:
    return [dict(r) for r in driver.execute_query(READ_MAPS_TO, dataset=dataset).records]


def delete_dataset_labels(driver: Driver, dataset: str) -> None:
    driver.execute_query(DELETE_DATASET_LABELS, dataset=dataset)

# Source labels (by id) that already answer a concept: a MAPS_TO edge of any status or a COVERS edge.
MAPPED_SOURCE_LABELS = """
UNWIND $ids AS id
MATCH (l:SourceLabel {id: id})-[:MAPS_TO|COVERS]->(:Concept)
RETURN collect(DISTINCT l.id) AS ids
"""

COUNT_CONCEPTS = "MATCH (c:Concept) RETURN count(c) AS n"


def mapped_source_labels(driver: Driver, ids: list[str]) -> set[str]:
    rec = driver.execute_query(MAPPED_SOURCE_LABELS, ids=sorted(set(ids))).records
    return set(rec[0]["ids"]) if rec else set()


def count_concepts(driver: Driver) -> int:
    rec = driver.execute_query(COUNT_CONCEPTS).records
    return int(rec[0]["n"]) if rec else 0


# Incremental ADJACENT_TO: only edges with an end in $ids are replaced.
DELETE_STALE_ADJACENT_TOUCHING = """
MATCH (a:Concept)-[e:ADJACENT_TO]->(b:Concept)
WHERE (a.id IN $ids OR b.id IN $ids) AND NOT (a.id + '|' + b.id) IN $keep
DELETE e
RETURN count(*) AS n
"""

# Usable MAPS_TO edges of every source label (the statuses retrieval follows).
USABLE_MAPS_TO = """
MATCH (l:SourceLabel)-[m:MAPS_TO]->(c:Concept)
WHERE coalesce(m.status, 'curated') IN ['curated', 'auto', 'accepted'] AND coalesce(c.deprecated, false) = false
RETURN l.dataset AS dataset, l.name AS name, c.id AS concept_id
"""


def write_adjacent_touching(driver: Driver, rows: list[dict[str, Any]], concept_ids: list[str]) -> None:
    """Replace the ADJACENT_TO edges that have an end in ``concept_ids`` by ``rows``; others untouched."""
    _replace_pairs(driver, rows, concept_ids, DELETE_STALE_ADJACENT_TOUCHING, MERGE_ADJACENT)


def usable_maps_to(driver: Driver) -> dict[tuple[str, str], str]:
    """(label set, label) -> concept of every usable MAPS_TO edge (curated, auto, accepted)."""
    return {(str(r["dataset"]), str(r["name"])): str(r["concept_id"])
            for r in driver.execute_query(USABLE_MAPS_TO).records}
