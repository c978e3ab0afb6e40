"""SQL of the sample catalog: datasets, samples, sample_labels, ingest_jobs, quarantine.

Each batch of samples is written in ONE transaction (rows + labels + quarantine clean-up): a batch is
either in the catalog completely or not at all, which is what makes a killed run resumable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import Connection


@dataclass
class SampleRow:
    id: str
    dataset_id: str
    source_path: str
    labels: list[str]
    label_sets: dict[str, list[str]]           # label_set -> labels (primary set included)
    footprint_wkt: str | None
    acquired_at: datetime | None
    sensor: str | None
    gsd_m: float | None
    bands: list[str]
    width: int
    height: int
    storage: str
    sha256: str
    vector_id: int


UPSERT_DATASET = """
INSERT INTO datasets (id, name, url, license, citation, multi_label, gsd_m)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, url = EXCLUDED.url, license = EXCLUDED.license,
    citation = EXCLUDED.citation, multi_label = EXCLUDED.multi_label, gsd_m = EXCLUDED.gsd_m
"""

INSERT_SAMPLE = """
INSERT INTO samples (id, dataset_id, source_path, labels, footprint, acquired_at, sensor, gsd_m, bands,
                     width, height, storage, sha256, vector_id)
VALUES (%s, %s, %s, %s, ST_GeomFromText(%s, 4326), %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (id) DO UPDATE SET source_path = EXCLUDED.source_path, labels = EXCLUDED.labels,
    footprint = EXCLUDED.footprint, acquired_at = EXCLUDED.acquired_at, sensor = EXCLUDED.sensor,
    gsd_m = EXCLUDED.gsd_m, bands = EXCLUDED.bands, width = EXCLUDED.width, height = EXCLUDED.height,
    storage = EXCLUDED.storage, sha256 = EXCLUDED.sha256, vector_id = EXCLUDED.vector_id
"""

DELETE_SAMPLE_LABELS = "DELETE FROM sample_labels WHERE sample_id = ANY(%s)"
INSERT_SAMPLE_LABEL = """
INSERT INTO sample_labels (sample_id, label_set, label) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING
"""
DELETE_QUARANTINE = "DELETE FROM quarantine WHERE dataset_id = %s AND source_path = ANY(%s)"
UPSERT_QUARANTINE = """
INSERT INTO quarantine (job_id, dataset_id, source_path, reason, sha256) VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (dataset_id, source_path) DO UPDATE SET job_id = EXCLUDED.job_id, reason = EXCLUDED.reason,
    sha256 = EXCLUDED.sha256, created_at = now()
"""
SELECT_EXISTING = "SELECT source_path, sha256 FROM samples WHERE dataset_id = %s"
SELECT_SAMPLES = "SELECT id, vector_id, storage FROM samples WHERE dataset_id = %s ORDER BY id"
SELECT_LABEL_EDGES = """
SELECT sl.sample_id, sl.label_set, sl.label FROM sample_labels sl JOIN samples s ON s.id = sl.sample_id
WHERE s.dataset_id = %s ORDER BY sl.sample_id
"""
SELECT_COLLISIONS = """
SELECT dataset_id, storage, array_agg(source_path ORDER BY source_path), array_agg(sha256 ORDER BY source_path)
FROM samples WHERE (%(dataset)s::text IS NULL OR dataset_id = %(dataset)s::text)
GROUP BY dataset_id, storage HAVING count(*) > 1 ORDER BY dataset_id, storage
"""

# one row per ingested dataset: metadata, sample counts, sensors, acquisition range (CLI `rskg datasets`, GraphQL)
DATASET_STATS = """
SELECT d.id, d.name, d.url, d.license, d.citation, d.gsd_m, d.multi_label, d.created_at,
       count(s.id) AS n, count(s.footprint) AS n_geo, array_remove(array_agg(DISTINCT s.sensor), NULL) AS sensors,
       min(s.acquired_at), max(s.acquired_at)
FROM datasets d LEFT JOIN samples s ON s.dataset_id = d.id
GROUP BY d.id ORDER BY d.id
"""

COUNT_SAMPLES = "SELECT count(*) FROM samples WHERE dataset_id = %s"
START_JOB = "INSERT INTO ingest_jobs (dataset_id, url, engine) VALUES (%s, %s, %s) RETURNING id"
FINISH_JOB = """
UPDATE ingest_jobs SET status = %s, n_seen = %s, n_ingested = %s, n_skipped = %s, n_quarantined = %s,
    finished_at = now(), error = %s WHERE id = %s
"""
MARK_INTERRUPTED = """
UPDATE ingest_jobs SET status = 'failed', finished_at = now(), error = 'interrupted (process ended before '
    'the job finished); the next run resumed it' WHERE dataset_id = %s AND status = 'running'
RETURNING id
"""
SELECT_QUARANTINE = "SELECT source_path, reason FROM quarantine WHERE dataset_id = %s ORDER BY source_path"
LOCK_DATASET = "SELECT pg_try_advisory_lock(hashtext('rskg.ingest'), hashtext(%s))"
UNLOCK_DATASET = "SELECT pg_advisory_unlock(hashtext('rskg.ingest'), hashtext(%s))"
DELETE_DATASET = "DELETE FROM datasets WHERE id = %s"
DELETE_DATASET_QUARANTINE = "DELETE FROM quarantine WHERE dataset_id = %s"


def upsert_dataset(conn: Connection, id: str, name: str, url: str, license: str, citation: str,
                   multi_label: bool, gsd_m: float | None) -> None:
    conn.execute(UPSERT_DATASET, (id, name, url, license, citation, multi_label, gsd_m))


def existing(conn: Connection, dataset_id: str) -> dict[str, str]:
    return {p: s.strip() for p, s in conn.execute(SELECT_EXISTING, (dataset_id,)).fetchall()}


def write_batch(conn: Connection, rows: list[SampleRow]) -> None:
    """All rows with their labels, in one transaction; clears their old quarantine entries."""
    if not rows:
        return
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(INSERT_SAMPLE, [
            (r.id, r.dataset_id, r.source_path, r.labels, r.footprint_wkt, r.acquired_at, r.sensor,
             r.gsd_m, r.bands, r.width, r.height, r.storage, r.sha256, r.vector_id) for r in rows])
        cur.execute(DELETE_SAMPLE_LABELS, ([r.id for r in rows],))
        cur.executemany(INSERT_SAMPLE_LABEL, [
            (r.id, ls, lab) for r in rows for ls, labs in r.label_sets.items() for lab in labs])
        cur.execute(DELETE_QUARANTINE, (rows[0].dataset_id, [r.source_path for r in rows]))


def add_labels(conn: Connection, items: Iterable[tuple[str, str, str]]) -> int:
    """Attach (sample_id, label_set, label) to samples already in; returns rows given."""
    items = list(items)
    if items:
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(INSERT_SAMPLE_LABEL, items)
    return len(items)


def samples(conn: Connection, dataset_id: str) -> list[tuple[str, int, str]]:
    return [(i, int(v), s) for i, v, s in conn.execute(SELECT_SAMPLES, (dataset_id,)).fetchall()]


def label_edges(conn: Connection, dataset_id: str) -> list[tuple[str, str, str]]:
    return list(conn.execute(SELECT_LABEL_EDGES, (dataset_id,)).fetchall())


@dataclass
class Collision:
    """Samples that share one pixel array (written by the lossy keys of before): all but one show wrong pixels."""
    dataset_id: str
    storage: str
    source_paths: list[str]
    sha256s: list[str]


def collisions(conn: Connection, dataset_id: str | None = None) -> list[Collision]:
    """Storage paths shared by more than one sample (of ``dataset_id``, or of every dataset)."""
    return [Collision(d, st, list(paths), [s.strip() for s in shas])
            for d, st, paths, shas in conn.execute(SELECT_COLLISIONS, {"dataset": dataset_id}).fetchall()]


def count(conn: Connection, dataset_id: str) -> int:
    return int(conn.execute(COUNT_SAMPLES, (dataset_id,)).fetchone()[0])  # type: ignore[index]


def quarantine(conn: Connection, job_id: int | None, dataset_id: str,
               items: Iterable[tuple[str, str, str | None]]) -> None:
    rows = [(job_id, dataset_id, path, reason, sha) for path, reason, sha in items]
    if rows:
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(UPSERT_QUARANTINE, rows)


def quarantined(conn: Connection, dataset_id: str) -> list[tuple[str, str]]:
    return list(conn.execute(SELECT_QUARANTINE, (dataset_id,)).fetchall())


def start_job(conn: Connection, dataset_id: str, url: str, engine: str) -> tuple[int, list[int]]:
    """Mark jobs left 'running' by a killed process as failed, then open a new job."""
    stale = [r[0] for r in conn.execute(MARK_INTERRUPTED, (dataset_id,)).fetchall()]
    row = conn.execute(START_JOB, (dataset_id, url, engine)).fetchone()
    assert row is not None
    return int(row[0]), stale


def finish_job(conn: Connection, job_id: int, status: str, counts: dict[str, int],
               error: str | None = None) -> None:
    conn.execute(FINISH_JOB, (status, counts.get("seen", 0), counts.get("ingested", 0),
                              counts.get("skipped", 0), counts.get("quarantined", 0), error, job_id))


def try_lock(conn: Connection, dataset_id: str) -> bool:
    row: Any = conn.execute(LOCK_DATASET, (dataset_id,)).fetchone()
    return bool(row[0])


def unlock(conn: Connection, dataset_id: str) -> None:
    conn.execute(UNLOCK_DATASET, (dataset_id,))


def delete_dataset(conn: Connection, dataset_id: str) -> None:
    """Remove a dataset's catalog rows (samples, labels and jobs cascade)."""
    with conn.transaction():
        conn.execute(DELETE_DATASET_QUARANTINE, (dataset_id,))
        conn.execute(DELETE_DATASET, (dataset_id,))
