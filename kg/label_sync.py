"""Load the label category system (ontology) into Neo4j: Concept nodes, SUBCLASS_OF edges, Dataset
and SourceLabel nodes for every dataset vocabulary, and curated MAPS_TO edges.

Idempotent: a second run changes nothing (``SyncReport.changes == 0``), and whatever the ontology no
longer has is removed. Nodes owned by other pipelines (Samples, Prototypes, datasets that exist only
in the catalog, mapping decisions of non-ontology datasets) are left alone.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from neo4j import Driver

from ontology.model import LabelSystem

UPSERT_CONCEPTS = """
UNWIND $rows AS row
MERGE (c:Concept {id: row.id})
WITH c, row, c.sig AS before
SET c.sig = row.sig, c.name = row.name, c.level = row.level, c.definition = row.definition, c.osm_tags = row.osm_tags,
    c.lccs_codes = row.lccs_codes, c.lccs_code = row.lccs_code, c.alt_labels = row.alt_labels,
    c.alt_labels_text = row.alt_labels_text, c.deprecated = row.deprecated, c.replaced_by = row.replaced_by,
    c.provenance = row.provenance
RETURN sum(CASE WHEN before = row.sig THEN 0 ELSE 1 END) AS changed
"""

DELETE_STALE_CONCEPTS = """
MATCH (c:Concept) WHERE NOT c.id IN $ids
DETACH DELETE c
RETURN count(*) AS deleted
"""

MERGE_SUBCLASS = """
UNWIND $pairs AS p
MATCH (child:Concept {id: p[0]}), (parent:Concept {id: p[1]})
OPTIONAL MATCH (child)-[existing:SUBCLASS_OF]->(parent)
WITH child, parent, existing
MERGE (child)-[:SUBCLASS_OF]->(parent)
RETURN sum(CASE WHEN existing IS NULL THEN 1 ELSE 0 END) AS created
"""

DELETE_STALE_SUBCLASS = """
MATCH (a:Concept)-[r:SUBCLASS_OF]->(b:Concept)
WHERE NOT [a.id, b.id] IN $pairs
DELETE r
RETURN count(*) AS deleted
"""

UPSERT_DATASETS = """
UNWIND $rows AS row
MERGE (d:Dataset {id: row.id})
WITH d, row, d.sig AS before
SET d.sig = row.sig, d.name = row.name, d.url = row.url, d.license = row.license, d.multi_label = row.multi_label,
    d.n_classes = row.n_classes, d.gsd_m = row.gsd_m, d.in_ontology = true,
    d.n_samples = coalesce(d.n_samples, 0)
RETURN sum(CASE WHEN before = row.sig THEN 0 ELSE 1 END) AS changed
"""

DELETE_STALE_DATASETS = """
MATCH (d:Dataset {in_ontology: true}) WHERE NOT d.id IN $ids
OPTIONAL MATCH (d)-[:HAS_LABEL]->(l:SourceLabel)
DETACH DELETE l, d
RETURN count(DISTINCT d) AS deleted
"""

UPSERT_SOURCE_LABELS = """
UNWIND $rows AS row
MATCH (d:Dataset {id: row.dataset})
MERGE (l:SourceLabel {id: row.id})
  ON CREATE SET l.dataset = row.dataset, l.name = row.name
MERGE (d)-[:HAS_LABEL]->(l)
WITH l, row
MATCH (c:Concept {id: row.concept})
OPTIONAL MATCH (l)-[old:MAPS_TO]->(c)
WITH l, c, row, old.sig AS before
MERGE (l)-[m:MAPS_TO]->(c)
SET m.sig = row.sig, m.score = row.confidence, m.status = 'curated', m.predicate = row.predicate,
    m.justification = row.justification
RETURN sum(CASE WHEN before = row.sig THEN 0 ELSE 1 END) AS changed
"""

DELETE_STALE_SOURCE_LABELS = """
MATCH (d:Dataset {in_ontology: true})-[:HAS_LABEL]->(l:SourceLabel)
WHERE NOT l.id IN $ids
DETACH DELETE l
RETURN count(*) AS deleted
"""

DELETE_STALE_MAPS_TO = """
MATCH (d:Dataset {in_ontology: true})-[:HAS_LABEL]->(l:SourceLabel)-[m:MAPS_TO]->(c:Concept)
WHERE NOT [l.id, c.id] IN $pairs
DELETE m
RETURN count(*) AS deleted
"""

# Disjunctive labels ("river or lake") also answer the concepts they cover (ontology rskg:covers).
MERGE_COVERS = """
UNWIND $pairs AS p
MATCH (l:SourceLabel {id: p[0]}), (c:Concept {id: p[1]})
OPTIONAL MATCH (l)-[existing:COVERS]->(c)
WITH l, c, existing
MERGE (l)-[:COVERS]->(c)
RETURN sum(CASE WHEN existing IS NULL THEN 1 ELSE 0 END) AS created
"""

DELETE_STALE_COVERS = """
MATCH (d:Dataset {in_ontology: true})-[:HAS_LABEL]->(l:SourceLabel)-[r:COVERS]->(c:Concept)
WHERE NOT [l.id, c.id] IN $pairs
DELETE r
RETURN count(*) AS deleted
"""

UPDATE_SAMPLE_COUNTS = """
UNWIND $rows AS row
MATCH (d:Dataset {id: row.id})
SET d.n_samples = row.n
"""

COUNT_LABEL_SYSTEM = """
CALL () { MATCH (c:Concept) RETURN count(c) AS concepts }
CALL () { MATCH (:Concept)-[r:SUBCLASS_OF]->(:Concept) RETURN count(r) AS subclass }
CALL () { MATCH (d:Dataset {in_ontology: true}) RETURN count(d) AS datasets }
CALL () { MATCH (:Dataset {in_ontology: true})-[:HAS_LABEL]->(l:SourceLabel) RETURN count(l) AS labels }
CALL () { MATCH (:Dataset {in_ontology: true})-[:HAS_LABEL]->(:SourceLabel)-[m:MAPS_TO]->(:Concept)
          RETURN count(m) AS maps_to }
RETURN concepts, subclass, datasets, labels, maps_to
"""


@dataclass
class SyncReport:
    concepts_changed: int = 0
    concepts_deleted: int = 0
    subclass_created: int = 0
    subclass_deleted: int = 0
    datasets_changed: int = 0
    datasets_deleted: int = 0
    labels_changed: int = 0
    labels_deleted: int = 0
    maps_to_deleted: int = 0
    covers_created: int = 0
    covers_deleted: int = 0

    @property
    def changes(self) -> int:
        return sum(asdict(self).values())


def source_label_id(dataset: str, name: str) -> str:
    return f"{dataset}:{name}"


def _signed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add a content signature so that an unchanged row is recognised (null-safe, unlike list equality)."""
    for r in rows:
        r["sig"] = hashlib.sha1(json.dumps(r, sort_keys=True, default=str).encode()).hexdigest()
    return rows


def _one(driver: Driver, query: str, **params: Any) -> int:
    records = driver.execute_query(query, params).records
    return int(records[0][0]) if records and records[0][0] is not None else 0


def sync_label_system(driver: Driver, system: LabelSystem, sample_counts: dict[str, int] | None = None,
                      batch: int = 500) -> SyncReport:
    rep = SyncReport()
    concept_rows = _signed([
        {"id": c.id, "name": c.pref_label, "level": c.level, "definition": c.definition,
         "osm_tags": sorted(c.osm_tags), "lccs_codes": sorted(c.lccs_codes),
         "lccs_code": sorted(c.lccs_codes)[0] if c.lccs_codes else None,
         "alt_labels": sorted(c.alt_labels), "alt_labels_text": " | ".join(sorted(c.alt_labels)),
         "deprecated": c.deprecated, "replaced_by": c.replaced_by, "provenance": sorted(c.provenance)}
        for c in sorted(system.concepts.values(), key=lambda c: c.id)
    ])
    for i in range(0, len(concept_rows), batch):
        rep.concepts_changed += _one(driver, UPSERT_CONCEPTS, rows=concept_rows[i:i + batch])
    rep.concepts_deleted = _one(driver, DELETE_STALE_CONCEPTS, ids=[r["id"] for r in concept_rows])

    pairs = sorted({(c.id, p) for c in system.concepts.values() if not c.deprecated for p in c.parents})
    pair_lists = [list(p) for p in pairs]
    rep.subclass_created = _one(driver, MERGE_SUBCLASS, pairs=pair_lists)
    rep.subclass_deleted = _one(driver, DELETE_STALE_SUBCLASS, pairs=pair_lists)

    ds_rows = _signed([{"id": d.id, "name": d.name, "url": d.url, "license": d.license, "multi_label": d.multi_label,
                "n_classes": len(d.classes), "gsd_m": d.gsd_m}
               for d in sorted(system.datasets.values(), key=lambda d: d.id)])
    rep.datasets_changed = _one(driver, UPSERT_DATASETS, rows=ds_rows)
    rep.datasets_deleted = _one(driver, DELETE_STALE_DATASETS, ids=[r["id"] for r in ds_rows])

    label_rows = _signed([{"id": source_label_id(m.dataset, m.name), "dataset": m.dataset, "name": m.name,
                   "concept": m.concept_id, "confidence": float(m.confidence), "predicate": m.predicate,
                   "justification": m.justification}
                  for m in sorted(system.mappings, key=lambda m: (m.dataset, m.name))])
    for i in range(0, len(label_rows), batch):
        rep.labels_changed += _one(driver, UPSERT_SOURCE_LABELS, rows=label_rows[i:i + batch])
    rep.labels_deleted = _one(driver, DELETE_STALE_SOURCE_LABELS, ids=[r["id"] for r in label_rows])
    rep.maps_to_deleted = _one(driver, DELETE_STALE_MAPS_TO,
                               pairs=[[r["id"], r["concept"]] for r in label_rows])
    covers = [[source_label_id(m.dataset, m.name), c] for m in system.mappings
              for c in sorted(getattr(m, "covers", ()) or ())]
    rep.covers_created = _one(driver, MERGE_COVERS, pairs=covers)
    rep.covers_deleted = _one(driver, DELETE_STALE_COVERS, pairs=covers)
    if sample_counts:
        driver.execute_query(UPDATE_SAMPLE_COUNTS, rows=[{"id": k, "n": v} for k, v in sample_counts.items()])
    return rep


def graph_counts(driver: Driver) -> dict[str, int]:
    rec = driver.execute_query(COUNT_LABEL_SYSTEM).records[0]
    return {k: int(rec[k]) for k in ("concepts", "subclass", "datasets", "labels", "maps_to")}
