"""Step 3 of retrieval: direct matches, the samples labelled with a query concept or one of its subclasses.

Two equivalent backends (same rows; ``benchmarks/retrieval.py`` measures both):

Both start from the (label set, source label) pairs that answer the concepts, taken from the cached lexicon
(Neo4j ``MAPS_TO`` edges and the ``COVERS`` edges that `rskg sync` writes for disjunctive labels), then:

* ``sql`` (default, faster): ONE PostgreSQL query joins ``sample_labels`` with ``samples`` under the step-1
  filter, so candidate ids never travel as a list;
* ``cypher``: ``(:Sample)-[:LABELED]->(:SourceLabel)`` in Neo4j with the candidate ids as a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from kg.label_sync import source_label_id
from kg.retrieval_queries import DIRECT_SAMPLES
from rskg.errors import ValidationError
from rskg.retrieval.filters import where
from rskg.retrieval.labels import Lexicon
from rskg.retrieval.model import RetrievalRequest
from rskg.services import Services


@dataclass(frozen=True)
class DirectRow:
    root: str                 # query concept
    sample_id: str
    dataset: str
    labels: tuple[str, ...]   # the sample's source labels that matched


LABEL_SEP = "\x1f"   # the matched labels travel as one string (unit separator): parsing a text[] per row in
# psycopg cost ~10 us of CPU per direct match (170-230 ms for 16-22k matches at 200k catalog rows -> 10-30 ms)
DIRECT_SQL = """
WITH m(label_set, label, root) AS (SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]))
SELECT m.root, s.id, s.dataset_id, string_agg(DISTINCT sl.label, E'\\x1f' ORDER BY sl.label)
FROM m
JOIN sample_labels sl ON sl.label_set = m.label_set AND sl.label = m.label
JOIN samples s ON s.id = sl.sample_id
WHERE {}
GROUP BY m.root, s.id, s.dataset_id
ORDER BY m.root, s.id
"""


def direct_sql(services: Services, lex: Lexicon, closure: dict[str, set[str]],
               req: RetrievalRequest) -> list[DirectRow]:
    sets: list[str] = []
    names: list[str] = []
    roots: list[str] = []
    for root, members in closure.items():
        for label_set, name, cid in lex.mappings:
            if cid in members:
                sets.append(label_set)
                names.append(name)
                roots.append(root)
    if not roots:
        return []
    w = where(req)
    q = sql.SQL(DIRECT_SQL).format(w.clause)
    with services.connection() as conn:
        rows = conn.execute(q, [sets, names, roots, *w.params]).fetchall()
    return [DirectRow(r[0], r[1], r[2], tuple(r[3].split(LABEL_SEP))) for r in rows]


def direct_cypher(services: Services, lex: Lexicon, closure: dict[str, set[str]], candidates: list[str] | None,
                  req: RetrievalRequest) -> list[DirectRow]:
    groups = [{"root": root, "labels": sorted({source_label_id(ls, n) for ls, n, c in lex.mappings if c in members})}
              for root, members in closure.items()]
    groups = [g for g in groups if g["labels"]]
    if not groups:
        return []
    recs = services.driver.execute_query(DIRECT_SAMPLES, groups=groups, candidates=candidates,
                                         datasets=list(req.datasets) if req.datasets else None).records
    rows = [DirectRow(str(r["root"]), str(r["sample_id"]), str(r["dataset"]), tuple(sorted(r["labels"])))
            for r in recs]
    return sorted(rows, key=lambda r: (r.root, r.sample_id))


def direct_matches(services: Services, lex: Lexicon, closure: dict[str, set[str]],
                   candidates: list[str] | None, req: RetrievalRequest) -> list[DirectRow]:
    if req.direct_backend == "sql":
        return direct_sql(services, lex, closure, req)
    if req.direct_backend == "cypher":
        return direct_cypher(services, lex, closure, candidates, req)
    raise ValidationError(f"direct_backend {req.direct_backend!r} unknown", "Use 'sql' or 'cypher'.")
