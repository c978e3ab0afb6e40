"""ONE session-scoped corpus for the retrieval / composite-dataset tests: small deterministic subsets of the
real datasets (3 images per class of UCMerced, EuroSAT RGB, NWPU-RESISC45, RSSCN7 and all 11 BigEarthNet
Sentinel-2 patches) ingested with the real ingestion pipeline and encoder under a private rskg home (its own
Zarr store, FAISS index and prototypes) into the shared servers, under dataset ids prefixed
``test_retr_<pid>_``.

The test datasets are copies of ontology datasets under other ids, so their label sets adopt the curated
mappings (MAPS_TO / covers) of the dataset they copy (kg.retrieval_queries.ADOPT_MAPPINGS). Image features are
cached in the main settings' cache_dir keyed by the pixels' hash and the encoder version, so reruns skip the
network. Everything the fixture created is removed at the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kg.label_graph import store_weights
from kg.label_sync import sync_label_system
from kg.prototypes import DELETE_STORE_PROTOTYPES
from kg.retrieval_queries import ADOPT_MAPPINGS
from ontology.store import load_label_system
from rskg.services import Services
from rskg.settings import Settings, load_settings

# unique per process: two test sessions at once (helpers share the servers) must not drop each other's data
PREFIX = f"test_retr_{os.getpid()}_"
# (ontology dataset / reader key, folder under data_dir, images per class)
SUBSETS: tuple[tuple[str, str, int | None], ...] = (
    ("ucm", "ucmerced", 3),
    ("eurosat", "eurosat_rgb", 3),
    ("nwpu_resisc45", "nwpu_resisc45", 3),
    ("rsscn7", "rsscn7", 3),
    ("bigearthnet_43", "sentinel2_ms", None),
)


@dataclass
class Corpus:
    settings: Settings
    services: Services
    datasets: dict[str, str]           # ontology dataset key -> test dataset id
    label_sets: dict[str, str]         # test label set -> ontology label set
    prototypes: object                 # BuildReport


def _drop(svc: Services, label_sets: dict[str, str], datasets: dict[str, str]) -> None:
    from rskg.ingest.admin import drop_dataset

    with svc.connection() as conn:
        conn.execute("DELETE FROM composite_datasets WHERE name LIKE %s", (PREFIX + "%",))
    for ds in datasets.values():
        drop_dataset(svc, ds, [ls for ls in label_sets if ls.startswith(ds)])


def _drop_stale(svc: Services) -> None:
    """Datasets left by test sessions that were killed (their process is gone)."""
    from rskg.ingest.admin import drop_dataset

    with svc.connection() as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM datasets WHERE id LIKE 'test\\_retr\\_%'").fetchall()]
    for ds in ids:
        pid = ds.split("_")[2]
        if not (pid.isdigit() and Path(f"/proc/{pid}").exists()):
            drop_dataset(svc, ds, [ds + "_multilabel"])


@pytest.fixture(scope="session")
def corpus(services: Services, data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    from rskg.catalog.migrate import migrate
    from rskg.ingest.features import CachedExtractor, default_extractor
    from rskg.ingest.pipeline import IngestOptions, ingest, make_reader
    from rskg.retrieval.prototypes import build_prototypes, store_key

    main = services.settings
    home = tmp_path_factory.mktemp("retrieval_home")
    s = load_settings(home=home, data_dir=main.data_dir)
    svc = Services(s)
    with svc.connection() as conn:
        migrate(conn)
    system = load_label_system(s.ontology_dir)
    sync_label_system(svc.driver, system)
    store_weights(svc.driver, s.alpha, s.beta, s.tau)

    datasets = {key: PREFIX + key for key, _, _ in SUBSETS}
    label_sets: dict[str, str] = {}
    opts_list = []
    for key, folder, limit in SUBSETS:
        opts = IngestOptions(url=str(data_dir / folder), dataset=key, dataset_id=datasets[key], limit=limit,
                             progress=False, workers=2)
        opts_list.append(opts)
        for ls in make_reader(opts).label_sets():
            label_sets[ls] = key + ls[len(datasets[key]):]
    _drop(svc, label_sets, datasets)
    _drop_stale(svc)

    rows = []
    for test_ls, onto_ls in label_sets.items():
        for m in system.mappings:
            if m.dataset == onto_ls:
                rows.append({"dataset": test_ls, "name": m.name, "concept": m.concept_id, "rel": "MAPS_TO",
                             "source": f"{m.dataset}:{m.name}"})
                rows += [{"dataset": test_ls, "name": m.name, "concept": c, "rel": "COVERS",
                          "source": f"{m.dataset}:{m.name}"} for c in m.covers]
    svc.driver.execute_query(ADOPT_MAPPINGS, rows=rows)

    extractor = CachedExtractor(default_extractor(s), main.cache_dir, "retrieval_test_features")
    for opts in opts_list:
        ingest(svc, opts, extractor)  # type: ignore[arg-type]
    report = build_prototypes(svc, s)
    try:
        yield Corpus(s, svc, datasets, label_sets, report)
    finally:
        svc.driver.execute_query(DELETE_STORE_PROTOTYPES, store=store_key(s))
        _drop(svc, label_sets, datasets)
        svc.close()
