"""Compositions in the catalog (PostgreSQL, queryable) and on the Sample nodes (Neo4j)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from psycopg import Connection

from kg import composition as cy
from rskg.errors import ConfigError
from rskg.services import Services

DELETE = "DELETE FROM sample_composition WHERE sample_id = ANY(%s)"
INSERT = ("INSERT INTO sample_composition (sample_id, concept_id, fraction, model_version) "
          "VALUES (%s, %s, %s, %s)")
UPSERT_MASK = ("INSERT INTO sample_masks (sample_id, model_version, mask_png) VALUES (%s, %s, %s) "
               "ON CONFLICT (sample_id) DO UPDATE SET model_version = EXCLUDED.model_version, "
               "mask_png = EXCLUDED.mask_png, created_at = now()")
SELECT_ONE = ("SELECT concept_id, fraction, model_version FROM sample_composition WHERE sample_id = %s "
              "ORDER BY fraction DESC, concept_id")
SELECT_MASK = "SELECT mask_png, model_version FROM sample_masks WHERE sample_id = %s"
MISSING = ("SELECT s.id, s.storage FROM samples s WHERE s.dataset_id = %s AND NOT EXISTS "
           "(SELECT 1 FROM sample_masks m WHERE m.sample_id = s.id AND m.model_version = %s) ORDER BY s.id")


@dataclass(frozen=True)
class Composition:
    sample_id: str
    fractions: dict[str, float]          # concept id -> share of the sample's pixels (fine + ancestors)
    mask_png: bytes


def missing(conn: Connection, dataset_id: str, model_version: str) -> list[tuple[str, str]]:
    """(sample id, storage) of the samples without a composition by ``model_version``."""
    return [(i, s) for i, s in conn.execute(MISSING, (dataset_id, model_version)).fetchall()]


def write(svc: Services, comps: Sequence[Composition], model_version: str) -> None:
    """Replace the compositions of these samples, in one transaction, then on their Sample nodes."""
    if not comps:
        return
    with svc.connection() as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute(DELETE, ([c.sample_id for c in comps],))
        cur.executemany(INSERT, [(c.sample_id, k, v, model_version) for c in comps
                                 for k, v in sorted(c.fractions.items())])
        cur.executemany(UPSERT_MASK, [(c.sample_id, model_version, c.mask_png) for c in comps])
    rows = [{"id": c.sample_id, "concepts": list(sorted(c.fractions)),
             "fractions": [float(c.fractions[k]) for k in sorted(c.fractions)]} for c in comps]
    svc.driver.execute_query(cy.SET_COMPOSITION, rows=rows, model=model_version)


def read(conn: Connection, sample_id: str) -> tuple[dict[str, float], str | None]:
    """(concept -> fraction, model version) of one sample; empty when it has none."""
    rows = conn.execute(SELECT_ONE, (sample_id,)).fetchall()
    return {c: float(f) for c, f, _ in rows}, (rows[0][2] if rows else None)


def mask(conn: Connection, sample_id: str) -> bytes | None:
    row = conn.execute(SELECT_MASK, (sample_id,)).fetchone()
    return bytes(row[0]) if row else None


def ancestors(svc: Services, concept_ids: Iterable[str]) -> dict[str, list[str]]:
    """Each concept's ancestors in the synced label graph (for the roll-up of fractions)."""
    ids = sorted(set(concept_ids))
    recs = svc.driver.execute_query(cy.ANCESTORS, ids=ids).records
    out = {r["id"]: list(r["ancestors"]) for r in recs}
    if len(out) < len(ids):
        raise ConfigError(f"the label graph lacks the segmentation concepts {sorted(set(ids) - set(out))}",
                          "Load the label system into Neo4j with `rskg sync`.")
    return out
