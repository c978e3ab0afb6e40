"""Ingestion on the real datasets against the real PostgreSQL, Neo4j, Zarr and FAISS.

Everything goes to a temporary RSKG home (Zarr store, FAISS index) and to dataset ids prefixed
``test_ingest_``, which are removed from PostgreSQL and Neo4j afterwards.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from pyproj import Transformer
from shapely import wkt

from kg import samples as cy
from rskg.catalog import samples as catalog
from rskg.catalog.zarr_store import FeatureStore, PixelStore
from rskg.ingest.admin import drop_dataset
from rskg.ingest.features import index_ids
from rskg.ingest.pipeline import IngestOptions, IngestReport, ingest
from rskg.services import Services
from rskg.settings import Settings

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres, pytest.mark.model]


@dataclass
class Ctx:
    settings: Settings
    svc: Services
    encoder: object
    created: list[tuple[str, list[str]]] = field(default_factory=list)

    def run(self, url: Path | str, dataset: str, dataset_id: str, **kw: object) -> IngestReport:
        extra = [f"{dataset_id}_multilabel"] if dataset == "ucm" else []
        self.created.append((dataset_id, extra))
        opts = IngestOptions(url=str(url), dataset=dataset, dataset_id=dataset_id, progress=False, **kw)  # type: ignore[arg-type]
        return ingest(self.svc, opts, self.encoder)  # type: ignore[arg-type]

    def counts(self, dataset_id: str) -> dict[str, int]:
        with self.svc.connection() as conn:
            pg = catalog.count(conn, dataset_id)
            pg_labels = len(catalog.label_edges(conn, dataset_id))
            dup = conn.execute("SELECT count(*) - count(DISTINCT sha256 || source_path) FROM samples "
                               "WHERE dataset_id = %s", (dataset_id,)).fetchone()[0]
        pixels = PixelStore(self.settings.zarr_path)
        fs = FeatureStore(pixels.root, dataset_id, self.encoder.version, self.encoder.dim)  # type: ignore[attr-defined]
        ids, _, _, dead = fs.load()
        drv = self.svc.driver
        return {
            "pg": pg, "pg_duplicates": dup,
            "zarr": len(pixels.storages(dataset_id)),
            "features": len(ids), "feature_rows": fs.vector_ids.shape[0],
            "faiss": len(index_ids(self.settings, f"{dataset_id}:")),
            "neo4j": drv.execute_query(cy.COUNT_SAMPLES, dataset=dataset_id).records[0]["n"],
            "pg_labels": pg_labels,
            "neo4j_labeled": drv.execute_query(cy.COUNT_LABELED, dataset=dataset_id).records[0]["n"],
        }

    def assert_consistent(self, dataset_id: str, n: int, n_labels: int | None = None) -> dict[str, int]:
        c = self.counts(dataset_id)
        assert (c["pg"], c["zarr"], c["features"], c["feature_rows"], c["faiss"], c["neo4j"]) == (n,) * 6, c
        assert c["pg_duplicates"] == 0
        assert c["neo4j_labeled"] == c["pg_labels"] == (n if n_labels is None else n_labels), c
        return c


@pytest.fixture(scope="module")
def ctx(services: Services, scratch_home: Callable[..., Settings]) -> Iterator[Ctx]:
    from embeddings.image import ImageEncoder

    s = scratch_home("ingest_home")                        # shares the exported ONNX model
    svc = Services(s)
    c = Ctx(s, svc, ImageEncoder(s, backend="onnx"))
    yield c
    for ds, extra in c.created:
        drop_dataset(svc, ds, extra)
    svc.close()


def multilabels_for(csv_path: Path, images: set[str]) -> set[tuple[str, str]]:
    with csv_path.open() as fh:
        return {(row["image"], lab) for row in csv.DictReader(fh) if row["image"] in images
                for lab in row["labels"].split("|")}


def test_ucm_with_multilabels_then_idempotent_rerun(ctx: Ctx, data_dir: Path) -> None:
    rep = ctx.run(data_dir / "ucmerced", "ucm", "test_ingest_ucm", limit=10)
    assert (rep.seen, rep.ingested, rep.skipped, rep.quarantined) == (210, 210, 0, [])
    with ctx.svc.connection() as conn:
        edges = catalog.label_edges(conn, "test_ingest_ucm")
        paths = {p for (p,) in conn.execute("SELECT source_path FROM samples WHERE dataset_id = %s",
                                             ("test_ingest_ucm",)).fetchall()}
    ml = {(sid.split(":", 1)[1], lab) for sid, ls, lab in edges if ls == "test_ingest_ucm_multilabel"}
    assert ml == multilabels_for(data_dir / "ucmerced" / "multilabels.csv", paths)
    assert len(paths) == 210 and all(p.startswith("images/") for p in paths)
    before = ctx.assert_consistent("test_ingest_ucm", 210, 210 + len(ml))
    rec = ctx.svc.driver.execute_query(
        "MATCH (s:Sample {id: $id})-[:LABELED]->(l:SourceLabel) RETURN collect(l.id) AS ls",
        id="test_ingest_ucm:images/agricultural/agricultural00.jpg").records[0]["ls"]
    assert sorted(rec) == ["test_ingest_ucm:agricultural", "test_ingest_ucm_multilabel:field",
                           "test_ingest_ucm_multilabel:trees"]
    n_ml = ctx.svc.driver.execute_query(
        "MATCH (:Dataset {id: 'test_ingest_ucm_multilabel'})-[:HAS_LABEL]->(l) RETURN count(l) AS n").records[0]["n"]
    assert n_ml == 17
    again = ctx.run(data_dir / "ucmerced", "ucm", "test_ingest_ucm", limit=10)
    assert (again.seen, again.ingested, again.skipped, len(again.quarantined)) == (210, 0, 210, 0)
    assert again.reconcile_end is not None and not again.reconcile_end.changed()
    assert ctx.counts("test_ingest_ucm") == before


def test_reconcile_graph_pages_through_samples(ctx: Ctx, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """reconcile_graph reads Neo4j page by page (a 400k-sample dataset overflowed one transaction): with pages of
    7 samples it still finds a missing node, a missing label edge and a node PostgreSQL does not know."""
    from rskg.ingest import reconcile

    ds = "test_ingest_ucm_pages"
    ctx.run(data_dir / "ucmerced", "ucm", ds, limit=2)
    before = ctx.counts(ds)
    assert before["neo4j"] == before["pg"] == 42 and before["neo4j_labeled"] == before["pg_labels"]
    drv = ctx.svc.driver
    drv.execute_query("MATCH (s:Sample {id: $id}) DETACH DELETE s", id=f"{ds}:images/river/river01.jpg")
    drv.execute_query("MATCH (:Sample {id: $id})-[r:LABELED]->() DELETE r", id=f"{ds}:images/beach/beach00.jpg")
    drv.execute_query("CREATE (:Sample {id: $id, dataset: $ds})", id=f"{ds}:images/zz/not_in_postgres.jpg", ds=ds)
    for extra in ("zz2", "zz3"):
        drv.execute_query("CREATE (:Sample {id: $id, dataset: $ds})", id=f"{ds}:images/{extra}/x.jpg", ds=ds)
    # wrong edges Neo4j has and PostgreSQL does not: each sample of one class labelled with another class too
    drv.execute_query("MATCH (s:Sample {dataset: $ds})-[:LABELED]->(:SourceLabel {name: 'forest'}) "
                      "MATCH (l:SourceLabel {name: 'river'}) WHERE l.id STARTS WITH $ds MERGE (s)-[:LABELED]->(l)",
                      ds=ds)
    monkeypatch.setattr(reconcile, "GRAPH_PAGE", 7)
    monkeypatch.setattr(reconcile, "NEO4J_BATCH", 1)   # deletions and merges in transactions of one row
    rep = reconcile.ReconcileReport()
    reconcile.reconcile_graph(ctx.svc, ds, rep)
    assert (rep.neo4j_added, rep.neo4j_removed, rep.edges_fixed) == (1, 3, 3), rep
    assert ctx.counts(ds) == before
    again = reconcile.ReconcileReport()
    reconcile.reconcile_graph(ctx.svc, ds, again)
    assert not again.changed()


@pytest.mark.parametrize(("folder", "reader", "limit", "n"), [
    ("eurosat_rgb", "eurosat", 10, 100), ("nwpu_resisc45", "nwpu_resisc45", 10, 100),
    ("rsscn7", "rsscn7", 10, 70)])
def test_scene_datasets(ctx: Ctx, data_dir: Path, folder: str, reader: str, limit: int | None, n: int) -> None:
    ds = f"test_ingest_{reader}"
    rep = ctx.run(data_dir / folder, reader, ds, limit=limit)
    assert (rep.ingested, len(rep.quarantined)) == (n, 0)
    ctx.assert_consistent(ds, n)
    with ctx.svc.connection() as conn:
        sizes = conn.execute("SELECT DISTINCT width, height FROM samples WHERE dataset_id = %s", (ds,)).fetchall()
    assert sizes == ([(64, 64)] if reader == "eurosat" else [(256, 256)])


def test_sentinel2_footprints_bands_time(ctx: Ctx, data_dir: Path) -> None:
    ds = "test_ingest_s2"
    rep = ctx.run(data_dir / "sentinel2_ms", "bigearthnet_43", ds)
    with (data_dir / "sentinel2_ms" / "labels.csv").open() as fh:
        truth = {r["patch"]: r for r in csv.DictReader(fh)}
    assert rep.ingested == len(truth) == 11 and not rep.quarantined
    n_labels = sum(len(r["labels"].split("|")) for r in truth.values())
    ctx.assert_consistent(ds, 11, n_labels)
    with ctx.svc.connection() as conn:
        rows = conn.execute(
            "SELECT source_path, ST_AsText(footprint), ST_Area(footprint::geography), acquired_at, bands, "
            "storage, gsd_m, labels FROM samples WHERE dataset_id = %s", (ds,)).fetchall()
    pixels = PixelStore(ctx.settings.zarr_path)
    for path, fp, area, acquired, bands, storage, gsd, labels in rows:
        t = truth[path.rsplit("/", 1)[1]]
        tr = Transformer.from_crs(t["crs"], "EPSG:4326", always_xy=True)
        ulx, uly, lrx, lry = (float(t[k]) for k in ("ulx", "uly", "lrx", "lry"))
        poly = wkt.loads(fp)
        minx, miny, maxx, maxy = poly.bounds
        assert -11 < minx < 30 and 36 < miny < 70                     # Europe (Portugal .. Finland)
        vertices = np.asarray(poly.exterior.coords)
        for x, y in ((ulx, uly), (lrx, uly), (lrx, lry), (ulx, lry)):  # each UTM corner is a vertex
            lon, lat = tr.transform(x, y)
            assert np.abs(vertices - (lon, lat)).sum(1).min() < 1e-7
        assert 1.40e6 < area < 1.48e6                                 # 1.2 km x 1.2 km
        assert acquired.strftime("%Y-%m-%d %H:%M:%S") == t["acquisition_date"]
        assert bands == ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12"]
        assert gsd == 10.0 and labels == t["labels"].split("|")
        arr, names = pixels.read_bands(storage)
        assert arr.shape == (12, 120, 120) and arr.dtype == np.uint16 and names == bands
        rgb = pixels.read_rgb(storage)
        assert rgb.shape == (120, 120, 3) and rgb.dtype == np.uint8 and rgb.std() > 5
    assert "pca" in pixels.dataset_attrs(ds)


@pytest.mark.slow
def test_ray_engine(ctx: Ctx, data_dir: Path) -> None:
    pytest.importorskip("ray.data")
    rep = ctx.run(data_dir / "rsscn7", "rsscn7", "test_ingest_ray", limit=4, engine="ray", batch_size=8, workers=2)
    assert (rep.ingested, len(rep.quarantined)) == (28, 0)
    ctx.assert_consistent("test_ingest_ray", 28)


def test_quarantine_truncated_jpeg_wrong_band_count(ctx: Ctx, data_dir: Path, tmp_path: Path) -> None:
    import rasterio

    scenes = tmp_path / "scenes" / "images"
    for cls in ("beach", "forest"):
        (scenes / cls).mkdir(parents=True)
        for i in range(3):
            shutil.copy(data_dir / f"ucmerced/images/{cls}/{cls}0{i}.jpg", scenes / cls)
    blob = (scenes / "beach/beach01.jpg").read_bytes()
    (scenes / "beach/beach01.jpg").write_bytes(blob[: len(blob) // 3])
    rep = ctx.run(tmp_path / "scenes", "imagefolder", "test_ingest_quarantine")
    assert rep.ingested == 5 and [p for p, _ in rep.quarantined] == ["images/beach/beach01.jpg"]
    ctx.assert_consistent("test_ingest_quarantine", 5)

    s2 = tmp_path / "s2"
    shutil.copytree(data_dir / "sentinel2_ms/bigearthnet_s2", s2 / "bigearthnet_s2")
    shutil.copy(data_dir / "sentinel2_ms/labels.csv", s2)
    bad = sorted((s2 / "bigearthnet_s2").iterdir())[0]
    b03 = bad / f"{bad.name}_B03.tif"
    with rasterio.open(b03) as src:
        prof, arr = src.profile, src.read(1)
    prof.update(count=3)
    with rasterio.open(b03, "w", **prof) as dst:
        dst.write(np.stack([arr] * 3))
    rep = ctx.run(s2, "bigearthnet_43", "test_ingest_quarantine_s2")
    assert rep.ingested == 10 and len(rep.quarantined) == 1
    path, reason = rep.quarantined[0]
    assert path == f"bigearthnet_s2/{bad.name}" and "3 bands" in reason
    with ctx.svc.connection() as conn:
        q = catalog.quarantined(conn, "test_ingest_quarantine_s2")
    assert q == [(path, reason)]
    # fix the file: the rerun ingests it and clears its quarantine entry
    shutil.copy(data_dir / f"sentinel2_ms/bigearthnet_s2/{bad.name}/{b03.name}", b03)
    rep = ctx.run(s2, "bigearthnet_43", "test_ingest_quarantine_s2")
    assert (rep.ingested, rep.skipped, rep.quarantined) == (1, 10, [])
    with ctx.svc.connection() as conn:
        assert catalog.quarantined(conn, "test_ingest_quarantine_s2") == []
    ctx.assert_consistent("test_ingest_quarantine_s2", 11, 29)


def test_kill_9_and_resume(ctx: Ctx, data_dir: Path) -> None:
    ds, n = "test_ingest_kill", 315
    ctx.created.append((ds, [f"{ds}_multilabel"]))
    env = {**os.environ, "RSKG_HOME": str(ctx.settings.home), "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "rskg.cli.main", "ingest", str(data_dir / "ucmerced"), "--dataset", "ucm",
           "--id", ds, "--limit", "15", "--batch-size", "16", "--quiet"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    at_kill, deadline = 0, time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            with ctx.svc.connection() as conn:
                at_kill = catalog.count(conn, ds)
            if at_kill >= 48:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stdout.read().decode() if proc.stdout else ""
    assert 48 <= at_kill < n
    with ctx.svc.connection() as conn:
        status = conn.execute("SELECT status FROM ingest_jobs WHERE dataset_id = %s", (ds,)).fetchall()
    assert status == [("running",)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "resumed after interrupted job" in out.stdout
    with ctx.svc.connection() as conn:
        done = catalog.count(conn, ds)
        statuses = sorted(s for (s,) in conn.execute(
            "SELECT status FROM ingest_jobs WHERE dataset_id = %s", (ds,)).fetchall())
    assert done == n and statuses == ["done", "failed"]
    ml = multilabels_for(data_dir / "ucmerced" / "multilabels.csv",
                         {f"images/{c}/{c}{i:02d}.jpg" for c in os.listdir(data_dir / "ucmerced/images")
                          for i in range(15)})
    ctx.assert_consistent(ds, n, n + len(ml))


def test_changed_file_replaces_row_vector_and_pixels(ctx: Ctx, data_dir: Path, tmp_path: Path) -> None:
    from embeddings.faiss_index import VectorIndex
    from rskg.ingest.features import image_index_path

    folder = tmp_path / "images" / "beach"
    folder.mkdir(parents=True)
    for i in range(3):
        shutil.copy(data_dir / f"ucmerced/images/beach/beach0{i}.jpg", folder)
    ds = "test_ingest_changed"
    assert ctx.run(tmp_path, "imagefolder", ds).ingested == 3
    shutil.copy(data_dir / "ucmerced/images/forest/forest00.jpg", folder / "beach01.jpg")
    rep = ctx.run(tmp_path, "imagefolder", ds)
    assert (rep.ingested, rep.skipped) == (1, 2)
    ctx.assert_consistent(ds, 3)
    sid = f"{ds}:images/beach/beach01.jpg"
    with ctx.svc.connection() as conn:
        storage, sha = conn.execute("SELECT storage, sha256 FROM samples WHERE id = %s", (sid,)).fetchone()
    assert sha == hashlib.sha256((folder / "beach01.jpg").read_bytes()).hexdigest()
    rgb = PixelStore(ctx.settings.zarr_path).read_rgb(storage)
    want = ctx.encoder.encode([rgb], [None])[0]  # type: ignore[attr-defined]
    idx = VectorIndex.load(image_index_path(ctx.settings))
    got = idx.index.reconstruct(idx.ids.index(sid))
    assert np.allclose(got, want, atol=1e-4)


COLLIDING = ["dup.jpg", "dup.png", "a b.jpg", "a_b.jpg", "森林 space.jpg", "河流 space.jpg"]


def _colliding_folder(data_dir: Path, tmp_path: Path) -> Path:
    """Six different real images whose names the earlier lossy keys mapped onto three arrays."""
    from PIL import Image

    folder = tmp_path / "images" / "mixed"
    folder.mkdir(parents=True)
    sources = [data_dir / f"ucmerced/images/{c}/{c}00.jpg"
               for c in ("beach", "forest", "river", "harbor", "runway", "buildings")]
    for name, src in zip(COLLIDING, sources, strict=True):
        if name.endswith(".png"):
            Image.open(src).save(folder / name)
        else:
            shutil.copy(src, folder / name)
    return folder


def _pixels_match_sources(ctx: Ctx, ds: str, folder: Path) -> dict[str, str]:
    from PIL import Image

    with ctx.svc.connection() as conn:
        rows = dict(conn.execute("SELECT source_path, storage FROM samples WHERE dataset_id = %s", (ds,)).fetchall())
    px = PixelStore(ctx.settings.zarr_path)
    for name in COLLIDING:
        want = np.asarray(Image.open(folder / name).convert("RGB"))
        assert np.array_equal(px.read_rgb(rows[f"images/mixed/{name}"]), want), name
    return rows


def test_colliding_file_names_keep_their_own_pixels(ctx: Ctx, data_dir: Path, tmp_path: Path) -> None:
    folder = _colliding_folder(data_dir, tmp_path)
    ds = "test_ingest_collide"
    assert ctx.run(tmp_path, "imagefolder", ds).ingested == len(COLLIDING)
    ctx.assert_consistent(ds, len(COLLIDING))
    rows = _pixels_match_sources(ctx, ds, folder)
    assert len(set(rows.values())) == len(COLLIDING)
    with ctx.svc.connection() as conn:
        assert catalog.collisions(conn, ds) == []


def test_existing_collisions_are_found_and_repaired(ctx: Ctx, data_dir: Path, tmp_path: Path) -> None:
    """A catalog written by the old lossy keys (pairs sharing one array, the last write winning) is found by
    `collisions` (what `rskg db check` prints) and repaired by the next ingest of the dataset."""
    folder = _colliding_folder(data_dir, tmp_path)
    ds = "test_ingest_collide_old"
    assert ctx.run(tmp_path, "imagefolder", ds).ingested == len(COLLIDING)
    px = PixelStore(ctx.settings.zarr_path)
    with ctx.svc.connection() as conn:   # the state the old keys left: 2nd of each pair overwrote the 1st
        for a, b in zip(COLLIDING[::2], COLLIDING[1::2], strict=True):
            conn.execute("UPDATE samples SET storage = (SELECT storage FROM samples WHERE id = %s) WHERE id = %s",
                         (f"{ds}:images/mixed/{b}", f"{ds}:images/mixed/{a}"))
        found = catalog.collisions(conn, ds)
    assert sorted(p for c in found for p in c.source_paths) == sorted(f"images/mixed/{n}" for n in COLLIDING)
    shared = found[0].storage
    assert px.exists(shared)
    rep = ctx.run(tmp_path, "imagefolder", ds)
    assert sorted(rep.repaired) == sorted(f"images/mixed/{n}" for n in COLLIDING)
    assert rep.ingested == len(COLLIDING) and rep.skipped == 0
    ctx.assert_consistent(ds, len(COLLIDING))
    rows = _pixels_match_sources(ctx, ds, folder)
    assert len(set(rows.values())) == len(COLLIDING)
    with ctx.svc.connection() as conn:
        assert catalog.collisions(conn, ds) == []
    assert ctx.run(tmp_path, "imagefolder", ds).repaired == []


def test_image_bomb_is_quarantined_before_decoding(ctx: Ctx, data_dir: Path, tmp_path: Path) -> None:
    from tests.security.bombs import png_bomb

    folder = tmp_path / "images" / "mixed"
    folder.mkdir(parents=True)
    shutil.copy(data_dir / "ucmerced/images/beach/beach00.jpg", folder)
    (folder / "bomb.png").write_bytes(png_bomb(12_000))        # 12000 x 12000 in a few hundred KB
    rep = ctx.run(tmp_path, "imagefolder", "test_ingest_bomb")
    assert rep.ingested == 1
    assert [(p, "megapixel budget" in r) for p, r in rep.quarantined] == [("images/mixed/bomb.png", True)]


def test_ingest_over_http(ctx: Ctx, data_dir: Path) -> None:
    """An http:// dataset URL (fsspec HTTPFileSystem over a real local HTTP server with directory listings):
    discovery, the multi-label CSV and the pixels all come over HTTP, with the same samples and checksums as
    the local folder."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(data_dir))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/ucmerced"
        rep = ctx.run(url, "ucm", "test_ingest_http_ucm", limit=1)
        assert (rep.seen, rep.ingested, rep.quarantined) == (21, 21, [])
    finally:
        server.shutdown()
        server.server_close()
    with ctx.svc.connection() as conn:
        rows = conn.execute("SELECT source_path, sha256 FROM samples WHERE dataset_id = %s",
                            ("test_ingest_http_ucm",)).fetchall()
    assert len(rows) == 21
    for path, sha in rows:
        assert hashlib.sha256((data_dir / "ucmerced" / path).read_bytes()).hexdigest() == sha
    with ctx.svc.connection() as conn:
        ml = {(sid.split(":", 1)[1], lab) for sid, ls, lab in catalog.label_edges(conn, "test_ingest_http_ucm")
              if ls == "test_ingest_http_ucm_multilabel"}
    assert ml == multilabels_for(data_dir / "ucmerced" / "multilabels.csv", {p for p, _ in rows})
    ctx.assert_consistent("test_ingest_http_ucm", 21, 21 + len(ml))
