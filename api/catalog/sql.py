"""SQL (and the little Cypher) of the dataset / sample API; values always as parameters."""

from __future__ import annotations

SAMPLE_COLUMNS = ("s.id, s.dataset_id, s.source_path, s.labels, ST_AsText(s.footprint), s.acquired_at, s.sensor, "
                  "s.gsd_m, s.bands, s.width, s.height, s.split, s.storage, s.sha256")

SAMPLES_BY_ID = f"SELECT {SAMPLE_COLUMNS} FROM samples s WHERE s.id = ANY(%s)"

LABEL_SETS_BY_SAMPLE = """
SELECT sample_id, label_set, label FROM sample_labels WHERE sample_id = ANY(%s) ORDER BY sample_id, label_set, label
"""

COMPOSITION_BY_SAMPLE = """
SELECT sample_id, concept_id, fraction, model_version FROM sample_composition WHERE sample_id = ANY(%s)
ORDER BY sample_id, fraction DESC, concept_id
"""

MASKED_SAMPLES = "SELECT sample_id FROM sample_masks WHERE sample_id = ANY(%s)"

DATASETS = """
MATCH (d:Dataset)
RETURN d {.*} AS node ORDER BY d.id
"""

DATASETS_BY_ID = """
UNWIND $ids AS id
MATCH (d:Dataset {id: id})
RETURN id, d {.*} AS node
"""

DATASET_LABELS = """
UNWIND $ids AS id
MATCH (:Dataset {id: id})-[:HAS_LABEL]->(l:SourceLabel)
OPTIONAL MATCH (l)-[m:MAPS_TO]->(c:Concept)
WITH id, l, collect(CASE WHEN c IS NULL THEN null ELSE
     {concept_id: c.id, score: m.score, status: m.status, predicate: m.predicate} END) AS maps
ORDER BY l.name
RETURN id, collect({dataset: l.dataset, name: l.name, maps: maps}) AS items
"""
