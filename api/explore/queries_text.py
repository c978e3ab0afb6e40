"""Cypher and SQL of the explore / statistics API (read-only, parameterised)."""

from __future__ import annotations

# every spelling of every concept (id, prefLabel, altLabels) and every source label mapped to it, normalised
# (lower case, no spaces / underscores / hyphens / slashes) and matched as a substring of the typed text's form
_NORM = "toLower(replace(replace(replace(replace({x}, ' ', ''), '_', ''), '-', ''), '/', ''))"
SUGGEST_SPELLINGS = f"""
MATCH (c:Concept)
WHERE NOT coalesce(c.deprecated, false)
UNWIND [['prefLabel', c.name], ['id', c.id]] + [a IN coalesce(c.alt_labels, []) | ['altLabel', a]] AS pair
WITH c, pair WHERE pair[1] IS NOT NULL AND {_NORM.format(x="pair[1]")} CONTAINS $norm
RETURN c {{.*}} AS node, pair[1] AS spelling, pair[0] AS how, null AS dataset
UNION ALL
MATCH (l:SourceLabel)-[m:MAPS_TO]->(c:Concept)
WHERE coalesce(m.status, 'curated') IN $active AND NOT coalesce(c.deprecated, false)
  AND {_NORM.format(x="l.name")} CONTAINS $norm
RETURN c {{.*}} AS node, l.name AS spelling, 'sourceLabel' AS how, l.dataset AS dataset
"""

# active MAPS_TO of every source label (label set, label) -> concept
ACTIVE_MAPPINGS = """
MATCH (l:SourceLabel)-[m:MAPS_TO]->(c:Concept)
WHERE coalesce(m.status, 'curated') IN $active
RETURN l.dataset AS label_set, l.name AS label, c.id AS concept, c.name AS name
"""

SAMPLES_PER_CONCEPT_DATASET = """
WITH q AS (SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]) AS q(concept, label_set, label))
SELECT q.concept, s.dataset_id, count(DISTINCT sl.sample_id) FROM q
JOIN sample_labels sl ON sl.label_set = q.label_set AND sl.label = q.label
JOIN samples s ON s.id = sl.sample_id
GROUP BY q.concept, s.dataset_id
ORDER BY q.concept, s.dataset_id
"""

# cumulative label-system growth per day: datasets registered, source labels first given an active mapping,
# samples ingested
GROWTH = """
WITH days AS (
  SELECT date_trunc('day', created_at) AS day, 1 AS datasets, 0 AS labels, 0 AS samples FROM datasets
  UNION ALL
  SELECT date_trunc('day', min(decided_at)), 0, 1, 0 FROM mapping_decisions
   WHERE status = ANY(%s) GROUP BY dataset_id, source_label
  UNION ALL
  SELECT date_trunc('day', created_at), 0, 0, count(*) FROM samples GROUP BY 1)
SELECT day, sum(sum(datasets)) OVER w, sum(sum(labels)) OVER w, sum(sum(samples)) OVER w
FROM days GROUP BY day WINDOW w AS (ORDER BY day) ORDER BY day
"""

FOOTPRINTS = """
SELECT s.id, s.dataset_id, ST_AsGeoJSON(ST_Envelope(s.footprint), 6)
FROM samples s
WHERE s.footprint IS NOT NULL AND (%s::text[] IS NULL OR s.dataset_id = ANY(%s::text[]))
ORDER BY s.id LIMIT %s
"""

SAMPLES_PER_DATASET_OF_PAIRS = """
WITH q AS (SELECT * FROM unnest(%s::text[], %s::text[]) AS q(label_set, label))
SELECT s.dataset_id, count(DISTINCT s.id) FROM q
JOIN sample_labels sl ON sl.label_set = q.label_set AND sl.label = q.label
JOIN samples s ON s.id = sl.sample_id
GROUP BY s.dataset_id ORDER BY s.dataset_id
"""
