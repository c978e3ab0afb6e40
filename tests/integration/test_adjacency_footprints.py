"""ADJACENT_TO from overlapping footprints across datasets (rskg.adjacency, PostGIS ST_Intersects).

The shared data has no two georeferenced samples of different datasets that overlap (the 11 BigEarthNet-S2
patches are the only georeferenced ones, and none overlaps another), so the real S2 patches are ingested
twice, under two dataset ids, with their real footprints: each patch overlaps exactly its copy, and the
concepts of one co-occur with those of the other. The counts must equal the pairs of labels.csv.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kg import mappings_graph as G
from kg.label_sync import sync_label_system
from mappings import decision_table as store
from mappings.cooccurrence import Cooccurrence, ancestors
from ontology.store import load_label_system
from rskg.adjacency import FOOTPRINT_SOURCE, cooccurrence_all, footprint_overlaps, refresh_adjacency
from rskg.ingest.admin import drop_dataset
from rskg.ingest.pipeline import IngestOptions, ingest
from rskg.services import Services
from rskg.settings import Settings

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres, pytest.mark.model]

A, B = f"test_fp_a_{os.getpid()}", f"test_fp_b_{os.getpid()}"


@pytest.fixture(scope="module")
def env(services: Services, scratch_home: Callable[..., Settings]) -> Iterator[Services]:
    svc = Services(scratch_home("footprint_home"))
    sync_label_system(svc.driver, load_label_system(svc.settings.ontology_dir))
    try:
        yield svc
    finally:
        for ds in (A, B):
            with svc.connection() as conn:
                store.delete_dataset(conn, ds)
            G.delete_dataset_labels(svc.driver, ds)
            drop_dataset(svc, ds)
        refresh_adjacency(svc, load_label_system(svc.settings.ontology_dir))
        svc.close()


def test_overlapping_footprints_cooccur(env: Services, data_dir: Path) -> None:
    svc = env
    system = load_label_system(svc.settings.ontology_dir)
    for ds in (A, B):
        rep = ingest(svc, IngestOptions(url=str(data_dir / "sentinel2_ms"), dataset="bigearthnet_43", dataset_id=ds,
                                        progress=False, workers=2, onboard=True), None)
        assert rep.ingested == 11 and not rep.quarantined
    ours = [o for o in footprint_overlaps(svc) if {o[0], o[1]} == {A, B}]
    assert len(ours) == 11                                  # each patch overlaps its copy, and nothing else
    assert all(sorted(lb for _, lb in la) == sorted(lb for _, lb in lb_) for _, _, la, lb_ in ours)

    lookup = {k: c for k, c in G.usable_maps_to(svc.driver).items() if k[0] in (A, B)}
    with (data_dir / "sentinel2_ms" / "labels.csv").open(newline="") as fh:
        patches = [row["labels"].split("|") for row in csv.DictReader(fh)]
    want: Counter[tuple[str, str]] = Counter()
    for labels in patches:                                 # independent expectation from the annotation file
        cs = sorted({lookup[(A, lb)] for lb in labels if (A, lb) in lookup})
        for i, x in enumerate(cs):
            for y in cs[i + 1:]:
                if x not in ancestors(system, y) and y not in ancestors(system, x):
                    want[(x, y)] += 1
    assert want, "no concept pair in the S2 patches"
    fp = Cooccurrence()
    fp.add_cross(system, [(la, lb) for _, _, la, lb in ours], FOOTPRINT_SOURCE, lookup)
    assert dict(fp.counts) == dict(want) and fp.n_samples == 11

    co, touched = cooccurrence_all(svc, system)                # the product's counts carry the source
    for pair in want:
        assert FOOTPRINT_SOURCE in co.sources[pair], pair
    assert set(touched[A]) >= {c for pair in want for c in pair}
    adj = refresh_adjacency(svc, system, A)
    assert set(adj.touched) >= {c for pair in want for c in pair}

    drop_dataset(svc, B)                                       # the copy gone: no overlap with it is counted
    assert not [o for o in footprint_overlaps(svc) if B in (o[0], o[1])]
    others = [o for o in footprint_overlaps(svc) if A in (o[0], o[1])]   # e.g. an S2 ingest of another test
    co2, _ = cooccurrence_all(svc, system)
    if not others:
        assert not any(FOOTPRINT_SOURCE in v for v in co2.sources.values() if v)
