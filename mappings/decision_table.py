"""PostgreSQL store of mapping decisions (table ``mapping_decisions``, migrations 0001 + 0003).

Append-only: recording a decision marks the current row of the same (dataset, label) superseded
and inserts a new row with its author and time. Recording a decision that equals the current one
does nothing, so re-running a mapping changes nothing. Callers wrap writes in
``conn.transaction()`` together with the Neo4j write so that both change or neither does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from psycopg.types.json import Jsonb

from mappings.decisions import MappingDecision
from rskg.errors import NotFoundError

_COLS = ("id, dataset_id, source_label, concept_id, score, status, justification, predicate, candidates, "
         "proposed_parent, author, decided_at")

SELECT_CURRENT = f"SELECT {_COLS} FROM mapping_decisions WHERE NOT superseded"
SELECT_BY_ID = f"SELECT {_COLS}, superseded FROM mapping_decisions WHERE id = %s"
SELECT_HISTORY = (f"SELECT {_COLS} FROM mapping_decisions WHERE dataset_id = %s AND source_label = %s "
                  "ORDER BY id")
SUPERSEDE = ("UPDATE mapping_decisions SET superseded = true "
             "WHERE dataset_id = %s AND source_label = %s AND NOT superseded")
INSERT = ("INSERT INTO mapping_decisions (dataset_id, source_label, concept_id, score, status, justification, "
          "predicate, candidates, proposed_parent, author) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
          "RETURNING id, decided_at")
DELETE_DATASET = "DELETE FROM mapping_decisions WHERE dataset_id = %s"
SAMPLE_THUMBS = ("SELECT id, source_path, storage FROM samples WHERE dataset_id = %s AND %s = ANY(labels) "
                 "ORDER BY id LIMIT %s")


def _row(r: Sequence[Any]) -> MappingDecision:
    return MappingDecision(id=r[0], dataset=r[1], label=r[2], concept_id=r[3], score=r[4], status=r[5],
                           justification=r[6] or "", predicate=r[7], candidates=list(r[8] or []),
                           proposed_parent=r[9], author=r[10], decided_at=r[11])


def current(conn: Any, dataset: str | None = None, status: Iterable[str] | None = None) -> list[MappingDecision]:
    sql = SELECT_CURRENT
    params: list[object] = []
    if dataset is not None:
        sql += " AND dataset_id = %s"
        params.append(dataset)
    if status is not None:
        sql += " AND status = ANY(%s)"
        params.append(list(status))
    sql += " ORDER BY dataset_id, source_label"
    return [_row(r) for r in conn.execute(sql, params).fetchall()]


def current_map(conn: Any, dataset: str) -> dict[str, MappingDecision]:
    return {d.label: d for d in current(conn, dataset)}


def get(conn: Any, decision_id: int) -> tuple[MappingDecision, bool]:
    """The decision and whether it is superseded."""
    r = conn.execute(SELECT_BY_ID, (decision_id,)).fetchone()
    if r is None:
        raise NotFoundError(f"no mapping decision with id {decision_id}",
                            "List the open ones with `rskg map review`.")
    return _row(r), bool(r[12])


def history(conn: Any, dataset: str, label: str) -> list[MappingDecision]:
    return [_row(r) for r in conn.execute(SELECT_HISTORY, (dataset, label)).fetchall()]


def record(conn: Any, decisions: Sequence[MappingDecision]) -> list[MappingDecision]:
    """Store the decisions that differ from the current ones; return those stored (with id/time).

    Must run inside ``conn.transaction()`` (the caller's), so a later failure rolls it back."""
    stored = []
    by_ds: dict[str, dict[str, MappingDecision]] = {}
    for d in decisions:
        cur = by_ds.setdefault(d.dataset, current_map(conn, d.dataset)).get(d.label)
        if cur is not None and cur.same_outcome(d):
            continue
        conn.execute(SUPERSEDE, (d.dataset, d.label))
        new_id, at = conn.execute(INSERT, (d.dataset, d.label, d.concept_id, d.score, d.status, d.justification,
                                           d.predicate, Jsonb(d.candidates), d.proposed_parent,
                                           d.author)).fetchone()
        d.id, d.decided_at = new_id, at
        by_ds[d.dataset][d.label] = d
        stored.append(d)
    return stored


def sample_thumbnails(conn: Any, dataset: str, label: str, limit: int = 3) -> list[tuple[str, str, str]]:
    return [tuple(r) for r in conn.execute(SAMPLE_THUMBS, (dataset, label, limit)).fetchall()]


def delete_dataset(conn: Any, dataset: str) -> int:
    """Remove every decision of a dataset (tests and `rskg map forget`)."""
    return int(conn.execute(DELETE_DATASET, (dataset,)).rowcount)
