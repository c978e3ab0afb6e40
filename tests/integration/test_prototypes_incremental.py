"""Prototypes refitted only for the concepts whose members changed, inside the ingest (rskg.onboard).

Real images and the real ONNX encoder, in a private rskg home (its own Zarr, FAISS index and prototype store):
a UCMerced subset under an id of its own, a full prototype build, then a second dataset of UCMerced airplane
and beach images linked under class names of its own. Its ingest maps the names and refits only the
concepts those samples reach (airplane, beach and their ancestors); the result equals a full rebuild.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from kg import mappings_graph as G
from kg.label_sync import sync_label_system
from kg.prototypes import DELETE_STORE_PROTOTYPES
from mappings import decision_table as store
from ontology.store import load_label_system
from rskg.ingest.admin import drop_dataset
from rskg.ingest.pipeline import IngestOptions, ingest
from rskg.retrieval.prototypes import build_prototypes, prototype_path, read_store, store_key
from rskg.services import Services
from rskg.settings import Settings

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres, pytest.mark.model]

A, B = f"test_proto_a_{os.getpid()}", f"test_proto_b_{os.getpid()}"


@pytest.fixture(scope="module")
def env(services: Services, scratch_home: Callable[..., Settings]) -> Iterator[tuple[Services, object]]:
    from embeddings.image import ImageEncoder

    s = scratch_home("proto_home")
    svc = Services(s)
    sync_label_system(svc.driver, load_label_system(s.ontology_dir))
    try:
        yield svc, ImageEncoder(s, backend="onnx")
    finally:
        with svc.connection() as conn:
            for ls in (A, f"{A}_multilabel", B):
                store.delete_dataset(conn, ls)
        for ls in (A, f"{A}_multilabel", B):
            G.delete_dataset_labels(svc.driver, ls)
        drop_dataset(svc, A, [f"{A}_multilabel"])
        drop_dataset(svc, B)
        svc.driver.execute_query(DELETE_STORE_PROTOTYPES, store=store_key(s))
        svc.close()


def test_only_changed_concepts_are_refitted(env, data_dir: Path, tmp_path: Path) -> None:
    svc, encoder = env
    s = svc.settings
    ingest(svc, IngestOptions(url=str(data_dir / "ucmerced"), dataset="ucm", dataset_id=A, limit=2, progress=False,
                              workers=2, onboard=True), encoder)
    full = build_prototypes(svc, s)
    assert full.rebuilt is None and full.concepts > 20
    root = tmp_path / "scenes"
    for src, dst in (("airplane", "Aircraft"), ("beach", "Beaches")):
        (root / dst).mkdir(parents=True)
        for f in sorted((data_dir / "ucmerced" / "images" / src).iterdir())[2:5]:
            (root / dst / f.name).symlink_to(f)
    rep = ingest(svc, IngestOptions(url=str(root), dataset="imagefolder", dataset_id=B, progress=False, workers=2,
                                    onboard=True), encoder)
    ob = rep.onboarding
    assert ob is not None and {d.concept_id for d in ob.mapped if d.status == "auto"} == {"airplane", "beach"}
    p = ob.prototypes
    assert p is not None and p.rebuilt is not None and 2 <= p.rebuilt < p.concepts // 2, p
    assert "prototypes:" in ob.summary()
    inc = read_store(prototype_path(s))
    again = build_prototypes(svc, s)                   # a full rebuild gives the same store
    ref = read_store(prototype_path(s))
    assert again.version == p.version == inc.version and inc.ids == ref.ids
    assert np.allclose(inc.vectors, ref.vectors, atol=1e-6)
    # nothing changed: the next incremental build refits nothing
    assert build_prototypes(svc, s, only_changed=True).rebuilt == 0
