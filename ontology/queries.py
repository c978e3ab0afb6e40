"""Ready-made SPARQL queries over the label system (used by docs, tests and the API)."""

from __future__ import annotations

PREFIXES = """PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX rskg: <https://w3id.org/rskg/ontology#>
PREFIX concept: <https://w3id.org/rskg/concept/>
"""

# Ancestors of a concept, nearest first is not guaranteed by SPARQL: order by depth via count.
ANCESTORS = PREFIXES + """SELECT ?ancestor ?label WHERE {
  concept:%(id)s skos:broader+ ?ancestor .
  ?ancestor skos:prefLabel ?label .
}"""

# Every active concept below a concept (its subtree), with its parent.
SUBTREE = PREFIXES + """SELECT ?concept ?label ?parent WHERE {
  ?concept skos:broader+ concept:%(id)s ; skos:broader ?parent ; skos:prefLabel ?label .
  FILTER NOT EXISTS { ?concept owl:deprecated true }
} ORDER BY ?label"""

# Concept(s) having a label (preferred or alternative), e.g. "storagetanks".
BY_LABEL = PREFIXES + """SELECT DISTINCT ?concept ?prefLabel WHERE {
  { ?concept skos:altLabel ?l } UNION { ?concept skos:prefLabel ?l }
  FILTER (lcase(str(?l)) = lcase("%(label)s"))
  ?concept skos:prefLabel ?prefLabel .
  FILTER NOT EXISTS { ?concept owl:deprecated true }
}"""

# Datasets with a source label that maps to (or covers) the concept labelled X or any concept below it.
DATASETS_WITH = PREFIXES + """SELECT DISTINCT ?dataset ?name ?label ?concept WHERE {
  ?target skos:prefLabel "%(label)s"@en .
  ?concept rdfs:subClassOf* ?target .
  { ?sl rskg:mapsTo ?concept } UNION { ?sl rskg:covers ?concept }
  ?sl rskg:inDataset ?d ; rskg:labelText ?label .
  ?d rskg:datasetId ?dataset ; dcterms:title ?name .
} ORDER BY ?dataset ?label"""

# Concepts per hierarchy level (level = number of ancestors + 1).
LEVEL_COUNTS = PREFIXES + """SELECT ?level (COUNT(?c) AS ?concepts) WHERE {
  { SELECT ?c (COUNT(?a) + 1 AS ?level) WHERE {
      ?c a skos:Concept ; skos:inScheme <https://w3id.org/rskg/concept-scheme> .
      FILTER NOT EXISTS { ?c owl:deprecated true }
      OPTIONAL { ?c skos:broader+ ?a }
    } GROUP BY ?c }
} GROUP BY ?level ORDER BY ?level"""


def query(template: str, **params: str) -> str:
    """Fill a template; values are escaped for use inside a SPARQL string or as a concept local name."""
    safe = {k: v.replace("\\", "\\\\").replace('"', '\\"') for k, v in params.items()}
    return template % safe
