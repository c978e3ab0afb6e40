"""Repair the derived stores of a dataset from PostgreSQL, the record of which samples are in.

Write order during ingest is pixels (Zarr) -> catalog rows (one PG transaction per batch) -> Neo4j ->
features (Zarr) -> FAISS. A run killed anywhere leaves at worst: pixel arrays without a row
(overwritten by the rerun), rows without Sample nodes or features, features not yet in FAISS. This
step, run at the start and the end of every ingest, fixes each of those from PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import zarr

from kg import samples as cy
from rskg.catalog import samples as catalog
from rskg.catalog.zarr_store import FeatureStore, PixelStore, safe_name
from rskg.ingest.features import FeatureExtractor, image_index_path, index_lock
from rskg.services import Services

if TYPE_CHECKING:
    from embeddings.faiss_index import IndexParams, VectorIndex

NEO4J_BATCH = 1000


@dataclass
class ReconcileReport:
    neo4j_added: int = 0
    neo4j_removed: int = 0
    edges_fixed: int = 0
    features_added: int = 0
    features_dropped: int = 0
    index_added: int = 0
    index_rebuilt: bool = False
    seconds: dict[str, float] = field(default_factory=dict)

    def changed(self) -> bool:
        return any((self.neo4j_added, self.neo4j_removed, self.edges_fixed, self.features_added,
                    self.features_dropped, self.index_added, self.index_rebuilt))


def label_rows(dataset_id: str, edges: list[tuple[str, str, str]], ids: set[str] | None = None) -> list[dict]:
    """MERGE_SAMPLES rows from (sample_id, label_set, label) edges."""
    by_sample: dict[str, list[dict[str, str]]] = defaultdict(list)
    for sid, ls, lab in edges:
        if ids is None or sid in ids:
            by_sample[sid].append({"id": f"{ls}:{lab}", "dataset": ls, "name": lab})
    keys = ids if ids is not None else set(by_sample)
    return [{"id": sid, "dataset": dataset_id, "labels": by_sample.get(sid, [])} for sid in sorted(keys)]


def merge_samples(services: Services, rows: list[dict]) -> None:
    for i in range(0, len(rows), NEO4J_BATCH):
        services.driver.execute_query(cy.MERGE_SAMPLES, rows=rows[i : i + NEO4J_BATCH])


GRAPH_PAGE = 20_000        # Sample nodes read per Neo4j transaction by reconcile_graph


def reconcile_graph(services: Services, dataset_id: str, rep: ReconcileReport) -> None:
    with services.connection() as conn:
        pg_ids = {sid for sid, _, _ in catalog.samples(conn, dataset_id)}
        edges = catalog.label_edges(conn, dataset_id)
    neo_ids: set[str] = set()
    neo_edges: set[tuple[str, str]] = set()
    after = ""
    while True:
        recs = services.driver.execute_query(cy.SAMPLE_EDGES_PAGE, dataset=dataset_id, after=after,
                                             page=GRAPH_PAGE).records
        neo_ids.update(r["id"] for r in recs)
        neo_edges.update((r["id"], lab) for r in recs for lab in r["labels"])
        if len(recs) < GRAPH_PAGE:
            break
        after = recs[-1]["id"]
    pg_edges = {(sid, f"{ls}:{lab}") for sid, ls, lab in edges}
    extra = sorted(neo_ids - pg_ids)
    for i in range(0, len(extra), NEO4J_BATCH):   # batched like the merges: one transaction per batch
        services.driver.execute_query(cy.DELETE_SAMPLES, ids=extra[i : i + NEO4J_BATCH])
    wrong = {s for s, _ in neo_edges ^ pg_edges} & pg_ids
    keep: dict[str, list[str]] = {}
    for sid, lab in sorted(pg_edges):
        keep.setdefault(sid, []).append(lab)
    stale = [{"id": s, "keep": keep.get(s, [])} for s in sorted(wrong & neo_ids)]
    for i in range(0, len(stale), NEO4J_BATCH):   # 1.4M stale rows in one transaction exhausted a 1 GB heap
        services.driver.execute_query(cy.DELETE_STALE_LABELED, rows=stale[i : i + NEO4J_BATCH])
    todo = (pg_ids - neo_ids) | wrong
    merge_samples(services, label_rows(dataset_id, edges, todo))
    rep.neo4j_removed, rep.neo4j_added, rep.edges_fixed = len(extra), len(pg_ids - neo_ids), len(wrong & neo_ids)
    services.driver.execute_query(cy.SET_DATASET_COUNT, id=dataset_id, n=len(pg_ids))


def reconcile_features(services: Services, dataset_id: str, pixels: PixelStore, extractor: FeatureExtractor,
                       rep: ReconcileReport, batch: int = 64) -> FeatureStore:
    store = FeatureStore(pixels.root, dataset_id, extractor.version, extractor.dim)
    with services.connection() as conn:
        rows = catalog.samples(conn, dataset_id)
        gsd = dict(conn.execute("SELECT id, gsd_m FROM samples WHERE dataset_id = %s", (dataset_id,)).fetchall())
    pg = {sid: (vid, storage) for sid, vid, storage in rows}
    ids, vids, vecs, dead = store.load()
    keep = [i for i, sid in enumerate(ids) if sid in pg and pg[sid][0] == vids[i]]
    if dead or len(keep) != len(ids):
        rep.features_dropped = dead + len(ids) - len(keep)
        store.rewrite([ids[i] for i in keep], vids[keep], vecs[keep])
    have = {ids[i] for i in keep}
    missing = [sid for sid in pg if sid not in have]
    for i in range(0, len(missing), batch):
        part = missing[i : i + batch]
        imgs = [pixels.read_rgb(pg[sid][1]) for sid in part]
        store.append(part, [pg[sid][0] for sid in part], extractor.encode(imgs, [gsd.get(s) for s in part]))
    rep.features_added = len(missing)
    return store


def feature_stores(root: zarr.Group, version: str) -> list[FeatureStore]:
    """Every dataset's feature store for one encoder version (for an index rebuild)."""
    if "features" not in root:
        return []
    out = []
    group = root["features"]
    assert isinstance(group, zarr.Group)
    for ds, node in group.groups():
        if safe_name(version) in node:
            dim = int(str(node[safe_name(version)].attrs["dim"]))
            out.append(FeatureStore(root, ds, version, dim))
    return out


def index_from_features(root: zarr.Group, version: str, dim: int, params: IndexParams) -> VectorIndex:
    """A new image index over every dataset's stored feature rows of one encoder version (exact vectors,
    not decoded from an index)."""
    from embeddings.faiss_index import VectorIndex

    all_ids: list[str] = []
    all_vecs: list[np.ndarray] = []
    for fs in feature_stores(root, version):
        f_ids, _, f_vecs, _ = fs.load()
        all_ids += f_ids
        all_vecs.append(f_vecs)
    return VectorIndex.build(all_ids, np.vstack(all_vecs) if all_vecs else np.zeros((0, dim)), params, version)


def sync_index(services: Services, dataset_id: str, store: FeatureStore, version: str,
               rep: ReconcileReport | None = None, replace: set[str] | None = None) -> int:
    """Make the image index hold exactly this dataset's feature rows; returns vectors added.

    ``replace``: ids whose vectors changed (a file re-ingested with new content) are re-added.
    """
    from embeddings.faiss_index import IndexParams, VectorIndex

    settings = services.settings
    path = image_index_path(settings)
    params = IndexParams.from_settings(settings)
    with index_lock(settings):
        idx = VectorIndex.load(path) if path.exists() else VectorIndex(store.dim, params, version)
        ids, _, vecs, _ = store.load()
        prefix = f"{dataset_id}:"
        in_idx = {i for i in idx.ids if i and i.startswith(prefix)}
        rebuild = (idx.version != version or idx.dim != store.dim or bool(in_idx - set(ids))
                   or idx.refine_differs(params) or idx.outgrown())
        if rebuild:
            idx = index_from_features(store.root, version, store.dim, params)
            added = len(ids)
        else:
            todo = [i for i, sid in enumerate(ids) if sid not in in_idx or (replace and sid in replace)]
            if todo:
                idx.add([ids[i] for i in todo], vecs[todo])
            added = len(todo)
        if rebuild or added or not path.exists():
            idx.save(path)
    if rep is not None:
        rep.index_added += added
        rep.index_rebuilt = rep.index_rebuilt or rebuild
    return added
