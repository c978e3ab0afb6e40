"""A dataset the label system has never seen joins it in one ingest (rskg.onboard, paper 000 Algorithm 1).

The dataset is real: UCMerced images linked (symbolic links in a temporary folder) under class names of
its own, none of them a curated source label. After ONE ingest, with no other command in between,
retrieval by concept finds its samples through the auto-accepted mappings; the uncertain label waits in
the review queue and answers nothing; a second ingest stores nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kg import mappings_graph as G
from kg.label_sync import sync_label_system
from mappings import decision_table as store
from ontology.store import load_label_system
from rskg.ingest.admin import drop_dataset
from rskg.ingest.pipeline import IngestOptions, ingest
from rskg.label_mapping import MappingContext, pending
from rskg.retrieval.model import RetrievalRequest
from rskg.retrieval.pipeline import retrieve
from rskg.services import Services
from rskg.settings import Settings

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres, pytest.mark.model]

DS = f"test_onboard_{os.getpid()}"
DS2 = f"test_onboard_late_{os.getpid()}"
# UCMerced class folder -> the new dataset's own class name
RENAMED = {"airplane": "Aircraft", "golfcourse": "golf_links", "mobilehomepark": "trailer_park",
           "storagetanks": "oil_tanks", "tenniscourt": "Tennis_Courts", "chaparral": "lava field"}
PER_CLASS = 3


@pytest.fixture(scope="module")
def onboard_env(services: Services, data_dir: Path, tmp_path_factory: pytest.TempPathFactory,
                scratch_home: Callable[..., Settings]) -> Iterator[tuple[Settings, Services, Path]]:
    s = scratch_home("onboard_home")                      # shares the text-vector cache and the MiniLM export
    svc = Services(s)
    sync_label_system(svc.driver, load_label_system(s.ontology_dir))
    root = tmp_path_factory.mktemp("onboard_data") / "scenes"
    for src, dst in RENAMED.items():
        (root / dst).mkdir(parents=True)
        for f in sorted((data_dir / "ucmerced" / "images" / src).iterdir())[:PER_CLASS]:
            (root / dst / f.name).symlink_to(f)
    yield s, svc, root
    for ds in (DS, DS2):
        with svc.connection() as conn:
            store.delete_dataset(conn, ds)
        G.delete_dataset_labels(svc.driver, ds)
        drop_dataset(svc, ds)
    svc.close()


def test_ingest_maps_labels_then_retrieve_by_concept_and_rerun_changes_nothing(onboard_env) -> None:
    s, svc, root = onboard_env
    opts = IngestOptions(url=str(root), dataset="imagefolder", dataset_id=DS, progress=False, workers=2,
                         onboard=True)
    rep = ingest(svc, opts, None)
    assert rep.ingested == PER_CLASS * len(RENAMED)
    ob = rep.onboarding
    assert ob is not None and ob.label_sets == {DS: len(RENAMED)}
    by_label = {d.label: d for d in ob.mapped}
    assert set(by_label) == set(RENAMED.values())
    counts = ob.counts()
    assert sum(counts.values()) == len(RENAMED) and counts["auto"] >= 5
    assert f"{counts['auto']} auto-accepted" in ob.summary()
    expected = {"Aircraft": "airplane", "golf_links": "golf_course", "trailer_park": "mobile_home_park",
                "oil_tanks": "storage_tank", "Tennis_Courts": "tennis_court"}
    for label, concept in expected.items():
        assert (by_label[label].status, by_label[label].concept_id) == ("auto", concept), by_label[label]
    lava = by_label["lava field"]
    assert lava.status in ("pending", "proposed")

    # retrieval by concept right after the ingest: the auto mappings answer, each with its own samples
    for label, concept in expected.items():
        res = retrieve(svc, s, RetrievalRequest(labels=[concept], datasets=[DS]))
        hits = {h.sample_id for h in res.direct}
        assert len(hits) == PER_CLASS and all(h.startswith(f"{DS}:{label}/") for h in hits), (concept, hits)
    # the uncertain label answers nothing until reviewed, and it is in the review queue
    target = lava.concept_id or lava.proposed_parent
    assert target is not None
    res = retrieve(svc, s, RetrievalRequest(labels=[target], datasets=[DS]))
    assert not any(h.sample_id.startswith(f"{DS}:lava field/") for h in res.direct)
    ctx = MappingContext.open(svc, with_encoder=False)
    queue = {it["decision"].label: it for it in pending(ctx, DS)}
    assert set(queue) == {"lava field"} and queue["lava field"]["thumbnails"]
    # Neo4j: every label of the set has its MAPS_TO edge with the decision's status
    edges = {r["name"]: (r["concept_id"], r["status"]) for r in G.read_maps_to(svc.driver, DS)}
    assert edges == {d.label: (d.graph_target, d.status) for d in ob.mapped}

    # a second ingest stores nothing and changes nothing
    with svc.connection() as conn:
        before = [(d.id, d.status, d.concept_id) for d in store.current(conn, DS)]
    rep2 = ingest(svc, opts, None)
    assert rep2.ingested == 0 and rep2.onboarding is not None
    assert rep2.onboarding.mapped == [] and rep2.onboarding.already == len(RENAMED)
    with svc.connection() as conn:
        assert [(d.id, d.status, d.concept_id) for d in store.current(conn, DS)] == before
    assert {r["name"]: (r["concept_id"], r["status"]) for r in G.read_maps_to(svc.driver, DS)} == edges


def test_ontology_datasets_are_left_to_the_curated_mappings(onboard_env) -> None:
    from rskg.onboard import onboard_label_sets

    _, svc, _ = onboard_env
    rep = onboard_label_sets(svc, {"ucm": ["airplane", "beach"]})
    assert rep.skipped_sets == ["ucm"] and rep.mapped == [] and rep.label_sets == {}


def test_growth_report_counts_the_onboarded_dataset(onboard_env) -> None:
    from rskg.growth import growth, markdown

    s, svc, root = onboard_env
    ingest(svc, IngestOptions(url=str(root), dataset="imagefolder", dataset_id=DS, progress=False, workers=2,
                              onboard=True), None)                      # idempotent: there after the first test
    system = load_label_system(s.ontology_dir)
    steps = growth(svc, system)
    curated = [st for st in steps if st.kind == "curated"]
    assert len(curated) == len({m.dataset for m in system.mappings})
    assert curated[-1].source_labels == len({(m.dataset, m.name) for m in system.mappings})
    for a, b in zip(steps, steps[1:], strict=False):        # the label system only grows
        assert b.source_labels >= a.source_labels and b.concepts >= a.concepts and b.adjacent_to >= a.adjacent_to
    ours = next(st for st in steps if st.dataset == DS)
    with svc.connection() as conn:
        usable = [d for d in store.current(conn, DS) if d.status in ("auto", "accepted")]
    assert ours.kind == "onboarded" and ours.labels_added == len(usable) >= 5
    assert f"| {DS} | onboarded |" in markdown(steps)


def test_refresh_onboards_a_dataset_ingested_without_mapping(onboard_env) -> None:
    from rskg.onboard import refresh_dataset

    s, svc, root = onboard_env
    rep = ingest(svc, IngestOptions(url=str(root), dataset="imagefolder", dataset_id=DS2, progress=False, workers=2,
                                    onboard=False), None)
    assert rep.onboarding is None
    with svc.connection() as conn:
        assert store.current(conn, DS2) == []
    first = refresh_dataset(svc, DS2)
    assert {d.label for d in first.mapped} == set(RENAMED.values())
    res = retrieve(svc, s, RetrievalRequest(labels=["golf_course"], datasets=[DS2]))
    assert len(res.direct) == PER_CLASS
    again = refresh_dataset(svc, DS2)
    assert again.mapped == [] and again.already == len(RENAMED)
