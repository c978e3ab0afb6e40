"""Per-prototype work done once per (prototype store version, image index), not once per request.

* the prototype vectors transformed into the space the IVF-PQ index searches (PCA 1712 -> 256), so a live
  search of many prototypes skips the transform;
* for a small flat index, every prototype's similarity to every indexed vector (a filtered request gathers
  its candidates' columns);
* for unfiltered requests, every prototype's ``DEPTH`` nearest neighbours (positions, cosine similarities),
  computed lazily for the rows a request needs (one batched FAISS search for all missing rows) and then
  served from memory. A request drops its excluded samples (the direct matches of its query concept) from the
  cached list and keeps the first k hits at or above the similarity threshold: the same result as a live
  search with ``IDSelectorNot(excluded)`` (same probed lists). When the exclusions eat so much of the list
  that fewer than k hits remain while the list's last hit still clears the threshold, that row is searched
  live instead (:func:`lookup` reports it), so no hit is ever lost to the cache.

The cache key holds the index object's identity and its id-list length (which grows on every ``add``), the
index version and the store version; a rebuilt or re-ingested index or prototype store gets a new entry.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from embeddings.faiss_index import VectorIndex, l2n
from rskg.retrieval.knn import EXACT_LIMIT, knn_arrays, single_threaded
from rskg.retrieval.prototypes import PrototypeStore
from rskg.services import KeyedCache, Services

DEPTH = 256


@dataclass
class Neighbours:
    transformed: np.ndarray | None = None            # store rows in the index's search space
    pos: dict[int, np.ndarray] = field(default_factory=dict)     # store row -> positions (DEPTH, -1 padded)
    sims: dict[int, np.ndarray] = field(default_factory=dict)
    full: dict[int, np.ndarray] = field(default_factory=dict)    # small flat index: row -> sims to all
    lock: threading.RLock = field(default_factory=threading.RLock)


class NeighboursCache(KeyedCache[Neighbours]):
    """The neighbour lists of the current (prototype store, image index) pair."""


def index_key(index: VectorIndex) -> tuple[object, ...]:
    return (id(index), index.generation, len(index.ids), len(index), index.version)


def neighbours(services: Services, index: VectorIndex, store: PrototypeStore) -> Neighbours:
    key = (store.version, *index_key(index))
    return services.cache(NeighboursCache).get(key, Neighbours)


def transformed(nb: Neighbours, index: VectorIndex, store: PrototypeStore) -> np.ndarray | None:
    """The whole store in the index's search space (None for a flat index: nothing to transform)."""
    if index.kind == "flat" or len(store.vectors) == 0:
        return None
    if nb.transformed is None:
        with nb.lock:
            if nb.transformed is None:
                nb.transformed = index.transform(store.vectors)
    return nb.transformed


def fill(nb: Neighbours, index: VectorIndex, store: PrototypeStore, rows: np.ndarray) -> None:
    """Compute (one batched search) the neighbour lists of the rows not cached yet."""
    if {int(r) for r in rows} <= nb.pos.keys():
        return
    with nb.lock:                           # one thread fills, the others wait for its result
        missing = np.asarray(sorted({int(r) for r in rows} - nb.pos.keys()), np.int64)
        if len(missing):
            _fill(nb, index, store, missing)


def _fill(nb: Neighbours, index: VectorIndex, store: PrototypeStore, missing: np.ndarray) -> None:
    tr = transformed(nb, index, store)
    pos, sims = knn_arrays(index, store.vectors[missing], DEPTH, None, None,
                           transformed=None if tr is None else tr[missing])
    width = pos.shape[1]
    if width < DEPTH:                       # small index: pad so every list has DEPTH slots
        pos = np.hstack([pos, np.full((len(pos), DEPTH - width), -1, np.int64)])
        sims = np.hstack([sims, np.full((len(sims), DEPTH - width), -np.inf, np.float32)])
    for j, r in enumerate(missing.tolist()):
        nb.pos[r], nb.sims[r] = pos[j], sims[j]


def exact_rows(nb: Neighbours, index: VectorIndex, store: PrototypeStore, rows: np.ndarray) -> np.ndarray | None:
    """Small flat index (<= EXACT_LIMIT positions): every store row's cosine similarity to every position,
    computed once per row ([len(rows), n positions]); None for other indexes. A filtered request then only
    gathers its candidates' columns instead of reconstructing and multiplying their vectors."""
    if index.kind != "flat" or len(index.ids) > EXACT_LIMIT:
        return None
    want = {int(r) for r in rows}
    if not want <= nb.full.keys():
        with nb.lock:
            missing = np.asarray(sorted(want - nb.full.keys()), np.int64)
            if len(missing):
                with single_threaded():
                    sims = l2n(store.vectors[missing]) @ index.matrix().T
                for j, r in enumerate(missing.tolist()):
                    nb.full[r] = sims[j]
    return np.stack([nb.full[int(r)] for r in rows])


def _member(sorted_ids: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """pos in sorted_ids, by a boolean mask over positions (one gather; a binary search per element cost ~1 ms
    per request at 300 prototype rows x DEPTH); -1 never matches a position (it reads the mask's last slot,
    which is always False)."""
    if not len(sorted_ids) or not pos.size:
        return np.zeros(pos.shape, bool)
    mask = np.zeros(int(max(sorted_ids[-1], pos.max())) + 2, bool)
    mask[sorted_ids] = True
    return mask[pos]


def lookup(nb: Neighbours, rows: np.ndarray, k: int, excluded: np.ndarray, threshold: float,
           allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positions [n, k], sims [n, k], needs_live [n] bool) for store rows already :func:`fill`-ed; ``allowed``
    (sorted positions) keeps only candidates: exact for a flat index (its lists are exact), so the caller
    uses it only there."""
    n = len(rows)
    pos = np.stack([nb.pos[int(r)] for r in rows]) if n else np.zeros((0, DEPTH), np.int64)
    sims = np.stack([nb.sims[int(r)] for r in rows]) if n else np.zeros((0, DEPTH), np.float32)
    ok = (pos >= 0) & (sims >= threshold)
    if len(excluded):                       # excluded is sorted (np.unique)
        ok &= ~_member(excluded, pos)
    if allowed is not None:
        ok &= _member(allowed, pos) if len(allowed) else False
    # a full list whose last hit still clears the threshold may hide more hits beyond DEPTH
    deep = (pos[:, -1] >= 0) & (sims[:, -1] >= threshold) if n else np.zeros(0, bool)
    live = deep & (ok.sum(axis=1) < k)
    rank = np.cumsum(ok, axis=1)
    ok &= rank <= k
    # compact the kept hits of each row to the front (stable: best first), k columns
    order = np.argsort(~ok, axis=1, kind="stable")[:, :k]
    kp = np.take_along_axis(np.where(ok, pos, -1), order, axis=1)
    ks = np.take_along_axis(sims, order, axis=1)
    return kp, ks, live
