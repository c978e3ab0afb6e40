"""ADJACENT_TO follows a newly ingested multi-label dataset, incrementally (rskg.adjacency via rskg.onboard).

Real data: 8 UCMerced images per class (scene class + the 17 multi-labels of multilabels.csv) ingested
under a dataset id of their own, so their labels are mapped by Algorithm 1 (not curated) and their
co-occurrences are counted on top of the curated annotation files. Only the edges around the concepts the
dataset touches are rewritten, and the edges elsewhere whose lift went stale (the sample total N grew); the
result equals a full recompute, and a second ingest changes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kg import mappings_graph as G
from kg.label_sync import sync_label_system
from mappings import decision_table as store
from mappings.cooccurrence import real_cooccurrence
from ontology.store import load_label_system
from rskg.adjacency import refresh_adjacency
from rskg.ingest.admin import drop_dataset
from rskg.ingest.pipeline import IngestOptions, ingest
from rskg.services import Services
from rskg.settings import Settings

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres, pytest.mark.model]

DS = f"test_adjacency_{os.getpid()}"


@pytest.fixture(scope="module")
def env(services: Services, scratch_home: Callable[..., Settings]) -> Iterator[Services]:
    svc = Services(scratch_home("adjacency_home"))
    system = load_label_system(svc.settings.ontology_dir)
    sync_label_system(svc.driver, system)
    refresh_adjacency(svc, system)                      # the full state before the new dataset
    try:
        yield svc
    finally:
        with svc.connection() as conn:
            for ls in (DS, f"{DS}_multilabel"):
                store.delete_dataset(conn, ls)
        for ls in (DS, f"{DS}_multilabel"):
            G.delete_dataset_labels(svc.driver, ls)
        drop_dataset(svc, DS, [f"{DS}_multilabel"])
        refresh_adjacency(svc, system)                  # back to the state without it
        svc.close()


def _edges(svc: Services, ids: list[str]) -> dict[tuple[str, str], tuple[int, tuple[str, ...], float]]:
    return {(r["a"], r["b"]): (int(r["cooccurrence"]), tuple(r["sources"]), round(float(r["lift"]), 4))
            for r in G.read_adjacent(svc.driver, ids)}


def test_multi_label_ingest_updates_adjacency_incrementally(env: Services, data_dir: Path) -> None:
    svc = env
    system = load_label_system(svc.settings.ontology_dir)
    ids = sorted(system.active())
    before = _edges(svc, ids)
    opts = IngestOptions(url=str(data_dir / "ucmerced"), dataset="ucm", dataset_id=DS, limit=8, progress=False,
                         workers=2, onboard=True)
    rep = ingest(svc, opts, None)
    ob = rep.onboarding
    assert ob is not None and set(ob.label_sets) == {DS, f"{DS}_multilabel"}
    assert ob.counts()["auto"] >= 30, ob.summary()
    adj = ob.adjacency
    assert adj is not None and DS in adj.datasets and len(adj.touched) >= 10
    assert "adjacency:" in ob.summary()
    after = _edges(svc, ids)
    touched = set(adj.touched)
    # the incremental result is the full recompute (lift included: N grew, so edges elsewhere were restated) ...
    full = {tuple(sorted((str(r["a"]), str(r["b"])))): (int(r["cooccurrence"]), tuple(r["sources"]),
                                                         round(float(r["lift"]), 4))
            for r in refresh_adjacency(svc, system, write=False).rows}
    assert after == full
    # ... and edges around concepts it did not rewrite are exactly as they were
    assert {k: v for k, v in after.items() if not touched & set(k)} == \
        {k: v for k, v in before.items() if not touched & set(k)}
    ours = {k: v for k, v in after.items() if DS in v[1]}
    assert ours, "no ADJACENT_TO edge counts the new dataset"
    files = real_cooccurrence(system, data_dir)
    for (a, b), (n, _, _) in ours.items():
        assert n > files.counts[(a, b)], (a, b, n)           # the new samples are counted on top of the files
    # a second ingest: nothing new to map, the same edges
    rep2 = ingest(svc, opts, None)
    assert rep2.onboarding is not None and rep2.onboarding.mapped == []
    assert _edges(svc, ids) == after
