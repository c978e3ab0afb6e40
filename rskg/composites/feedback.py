"""User feedback on the items of a composite dataset (paper 000 section 3.4.3): accept / reject, appended to
the ``feedback`` table (never updated in place, so the history stays); the latest decision of an item wins.
Rejected items are left out of every export; the rejections are kept as feedback for the feature model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rskg.composites.composite import _uuid
from rskg.errors import NotFoundError, ValidationError
from rskg.services import Services

DECISIONS = ("accept", "reject")

ITEM_EXISTS = """
SELECT kind FROM composite_items WHERE composite_id = %s AND sample_id = %s AND concept_id = %s
"""
ITEM_CONCEPTS = "SELECT concept_id FROM composite_items WHERE composite_id = %s AND sample_id = %s"
INSERT_FEEDBACK = """
INSERT INTO feedback (composite_id, sample_id, concept_id, decision, author) VALUES (%s, %s, %s, %s, %s)
RETURNING id, decided_at
"""
# latest decision per item (ties on time broken by the feedback id)
LATEST_DECISIONS = """
SELECT DISTINCT ON (sample_id, concept_id) sample_id, concept_id, decision, author, decided_at
FROM feedback WHERE composite_id = %s
ORDER BY sample_id, concept_id, decided_at DESC, id DESC
"""


@dataclass(frozen=True)
class Decision:
    sample_id: str
    concept_id: str
    decision: str
    author: str
    decided_at: datetime


def record(services: Services, composite_id: str, sample_id: str, concept_id: str | None, decision: str,
           author: str = "rskg") -> Decision:
    if decision not in DECISIONS:
        raise ValidationError(f"decision {decision!r} unknown", "Use 'accept' or 'reject'.")
    cid = _uuid(composite_id)
    with services.connection() as conn:
        if concept_id is None:
            concepts = [r[0] for r in conn.execute(ITEM_CONCEPTS, (cid, sample_id)).fetchall()]
            if len(concepts) != 1:
                raise ValidationError(f"sample {sample_id!r} is in the dataset {len(concepts)} times",
                                      "Say which concept with --concept (see `rskg dataset export --format csv`).")
            concept_id = concepts[0]
        if conn.execute(ITEM_EXISTS, (cid, sample_id, concept_id)).fetchone() is None:
            raise NotFoundError(f"no item ({sample_id}, {concept_id}) in composite dataset {cid}",
                                "Check the sample id and --concept against `rskg dataset export ID --format csv`.")
        row = conn.execute(INSERT_FEEDBACK, (cid, sample_id, concept_id, decision, author)).fetchone()
    assert row is not None
    return Decision(sample_id, concept_id, decision, author, row[1])


def latest(services: Services, composite_id: str) -> dict[tuple[str, str], Decision]:
    cid = _uuid(composite_id)
    with services.connection() as conn:
        rows = conn.execute(LATEST_DECISIONS, (cid,)).fetchall()
    return {(r[0], r[1]): Decision(r[0], r[1], r[2], r[3], r[4]) for r in rows}
