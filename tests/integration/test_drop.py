"""`rskg drop` / rskg.ingest.admin.drop_ingested on real servers and real images.

Two imagefolder datasets built from real images (symbolic links, class folders under names of their own, so the
ingest maps them itself): one is kept, the other dropped. After the drop nothing of it is left in PostgreSQL
(samples, mapping decisions), Neo4j (Sample, SourceLabel, Dataset nodes), Zarr (pixels, features) or the image
index, the kept dataset's vectors are unchanged, retrieval by its concepts finds nothing of it, and an ingest
under the same id starts from scratch. `rskg datasets` lists what is there; a wrong id fails with the list.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from kg import samples as cy
from kg.label_sync import sync_label_system
from mappings import decision_table as store
from ontology.store import load_label_system
from rskg.catalog import samples as catalog
from rskg.catalog.zarr_store import PixelStore
from rskg.errors import NotFoundError
from rskg.ingest.admin import drop_dataset, drop_ingested, plan_drop
from rskg.ingest.features import image_index_path
from rskg.ingest.pipeline import IngestOptions, IngestReport, ingest
from rskg.retrieval.model import RetrievalRequest
from rskg.retrieval.pipeline import retrieve
from rskg.services import Services
from rskg.settings import Settings

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres, pytest.mark.model]

KEEP = f"test_drop_keep_{os.getpid()}"
GONE = f"test_drop_gone_{os.getpid()}"
PER_CLASS = 3
# UCMerced class folder -> the dataset's own class name (auto-mapped by the ingest, see test_onboard.py)
KEEP_CLASSES = {"beach": "Sandy_Beach", "forest": "woodland"}
GONE_CLASSES = {"airplane": "Aircraft", "golfcourse": "golf_links", "tenniscourt": "Tennis_Courts"}
CONCEPTS = {"Aircraft": "airplane", "golf_links": "golf_course", "Tennis_Courts": "tennis_court"}


@dataclass
class Env:
    settings: Settings
    svc: Services
    encoder: object
    roots: dict[str, Path]

    def ingest(self, ds: str) -> IngestReport:
        opts = IngestOptions(url=str(self.roots[ds]), dataset="imagefolder", dataset_id=ds, progress=False,
                             onboard=True)
        return ingest(self.svc, opts, self.encoder)  # type: ignore[arg-type]

    def index(self):  # type: ignore[no-untyped-def]
        from embeddings.faiss_index import VectorIndex

        return VectorIndex.load(image_index_path(self.settings))

    def leftovers(self, ds: str) -> dict[str, int]:
        drv = self.svc.driver
        with self.svc.connection() as conn:
            pg = catalog.count(conn, ds)
            decisions = len(store.current(conn, ds))
        pixels = PixelStore(self.settings.zarr_path)
        labels = drv.execute_query("MATCH (l:SourceLabel {dataset: $ds}) RETURN count(l) AS n", ds=ds).records
        nodes = drv.execute_query("MATCH (d:Dataset {id: $ds}) RETURN count(d) AS n", ds=ds).records
        return {"pg": pg, "decisions": decisions, "zarr": len(pixels.storages(ds)),
                "features": int(f"features/{ds}" in pixels.root),
                "index": sum(1 for i in self.index().ids if i.startswith(f"{ds}:")),
                "neo4j_samples": drv.execute_query(cy.COUNT_SAMPLES, dataset=ds).records[0]["n"],
                "source_labels": labels[0]["n"], "dataset_node": nodes[0]["n"]}


def _link(root: Path, src_dir: Path, classes: dict[str, str]) -> Path:
    for src, dst in classes.items():
        (root / dst).mkdir(parents=True)
        for f in sorted((src_dir / src).iterdir())[:PER_CLASS]:
            (root / dst / f.name).symlink_to(f)
    return root


@pytest.fixture(scope="module")
def env(services: Services, data_dir: Path, tmp_path_factory: pytest.TempPathFactory,
        scratch_home: Callable[..., Settings]) -> Iterator[Env]:
    from embeddings.image import ImageEncoder

    s = scratch_home("drop_home")                          # shares the ONNX exports and the text-vector cache
    svc = Services(s)
    sync_label_system(svc.driver, load_label_system(s.ontology_dir))
    images = data_dir / "ucmerced" / "images"
    base = tmp_path_factory.mktemp("drop_data")
    roots = {KEEP: _link(base / "keep", images, KEEP_CLASSES), GONE: _link(base / "gone", images, GONE_CLASSES)}
    e = Env(s, svc, ImageEncoder(s, backend="onnx"), roots)
    yield e
    for ds in (KEEP, GONE):
        with svc.connection() as conn:
            store.delete_dataset(conn, ds)
        drop_dataset(svc, ds)
    svc.close()


def test_drop_removes_the_dataset_everywhere_and_keeps_the_rest(env: Env) -> None:
    n_keep, n_gone = PER_CLASS * len(KEEP_CLASSES), PER_CLASS * len(GONE_CLASSES)
    assert env.ingest(KEEP).ingested == n_keep
    rep = env.ingest(GONE)
    assert rep.ingested == n_gone and rep.onboarding is not None and len(rep.onboarding.mapped) == len(GONE_CLASSES)
    before = env.leftovers(GONE)
    assert (before["pg"], before["index"], before["neo4j_samples"], before["decisions"]) == (n_gone, n_gone, n_gone, 3)
    for label, concept in CONCEPTS.items():   # found by concept before the drop
        hits = retrieve(env.svc, env.settings, RetrievalRequest(labels=[concept], datasets=[GONE])).direct
        assert {h.sample_id.split(":", 1)[1].split("/")[0] for h in hits} == {label}
    idx = env.index()
    keep_ids = sorted(i for i in idx.ids if i.startswith(f"{KEEP}:"))
    keep_vecs = idx.reconstruct(idx.positions_of(keep_ids), normalise=False)  # positions_of sorts like keep_ids

    plan = plan_drop(env.svc, GONE)
    assert (plan.samples, plan.label_sets, plan.curated, plan.decisions, plan.done) == (n_gone, [GONE], [], 3, False)
    assert env.leftovers(GONE) == before                  # planning changes nothing

    rep_drop = drop_ingested(env.svc, GONE)
    assert rep_drop.done and rep_drop.vectors == n_gone and "dropped 9 samples" in rep_drop.summary()
    assert env.leftovers(GONE) == {k: 0 for k in before}
    idx = env.index()
    assert sorted(i for i in idx.ids if i) == keep_ids    # the other dataset's vectors, and only those, remain
    np.testing.assert_array_equal(idx.reconstruct(idx.positions_of(keep_ids), normalise=False), keep_vecs)
    assert env.leftovers(KEEP)["pg"] == n_keep
    for concept in CONCEPTS.values():
        assert retrieve(env.svc, env.settings, RetrievalRequest(labels=[concept], datasets=[GONE])).direct == []

    # the same id ingests again from scratch: its labels are mapped anew, every store holds it once more
    again = env.ingest(GONE)
    assert again.ingested == n_gone and again.onboarding is not None
    assert len(again.onboarding.mapped) == len(GONE_CLASSES)
    assert env.leftovers(GONE) == before


def test_unknown_dataset_is_refused_with_the_known_ids(env: Env) -> None:
    with pytest.raises(NotFoundError) as err:
        plan_drop(env.svc, "no_such_dataset")
    assert KEEP in err.value.message


def test_cli_lists_datasets_and_refuses_a_wrong_id(env: Env) -> None:
    if env.leftovers(KEEP)["pg"] == 0:
        env.ingest(KEEP)
    cli_env = {**os.environ, "RSKG_HOME": str(env.settings.home), "RSKG_DATA_DIR": str(env.settings.data_dir)}
    out = subprocess.run([sys.executable, "-m", "rskg.cli.main", "datasets", "--json"], env=cli_env,
                         capture_output=True, text=True, check=True).stdout
    rows = {d["id"]: d for d in json.loads(out)}
    assert rows[KEEP]["samples"] == PER_CLASS * len(KEEP_CLASSES)
    bad = subprocess.run([sys.executable, "-m", "rskg.cli.main", "drop", "no_such_dataset", "--yes"], env=cli_env,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "no ingested dataset 'no_such_dataset'" in bad.stderr and KEEP in bad.stderr
