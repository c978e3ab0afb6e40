"""VectorIndex: string ids -> FAISS, exact while small, IVF-PQ once there are enough vectors.

The ONE vector search of rskg: retrieval, search and evaluation use only the public methods here
(positions, reconstruction, query transform, search), never ``index.index`` or private attributes.

* below ``settings.faiss_ivfpq_min_vectors`` vectors: ``IndexIDMap2(IndexFlatIP)`` (exact cosine
  on L2-normalised rows);
* at or above it, :meth:`VectorIndex.build` trains
  ``PCAR{pq_dim},IVF{nlist},PQ{m}`` (L2 metric; scores reported as ``1 - d^2 / 2``, i.e. cosine for
  unit vectors), with ``nlist = faiss_nlist or ~2*sqrt(n)`` (at most n/39); polysemous training is off (it
  made training ~10x slower here), the PCA's training-only full matrix is dropped before saving.
  With ``refine_factor > 1`` (``settings.faiss_refine_factor``) the IVF-PQ sits under faiss's ``IndexRefineFlat``
  (factory suffix ``,RFlat``): a search takes ``k * refine_factor`` IVF-PQ candidates and re-ranks them by exact
  distances to the stored full vectors (row = position; a replaced id's old row stays as a tombstone, the IVF
  no longer returns it), so scores are exact cosines and :meth:`reconstruct` is exact; memory: 4 bytes x dim
  per position on top of the PQ codes. ``refine_factor <= 1``: PQ only, scores PQ-decoded.
  :meth:`add` onto an exact index that crosses the threshold rebuilds it (the flat index still holds the exact vectors).
* :meth:`search` / :meth:`search_positions` (queries are L2-normalised, scores are cosine similarities):

  - no candidate filter: a small flat index (<= ``EXACT_LIMIT`` positions) is one matrix product with the
    cached normalised matrix; otherwise the index's own search (IVF-PQ with ``nprobe`` lists) with an
    ``IDSelectorNot(excluded)`` so excluded ids never take the top-k places (refined: the selector and nprobe
    go to the IVF-PQ under the exact re-ranking);
  - a candidate filter with at most ``EXACT_LIMIT`` samples: the candidates' vectors are reconstructed
    (exact for flat and refined IVF-PQ, PQ-decoded without refine) and scored by one matrix product, so
    nothing is lost to probing;
  - a larger candidate set: search with an ``IDSelectorBatch(candidates - excluded)`` and
    ``RESTRICTED_NPROBE_FACTOR x nprobe`` lists. Candidates in lists that are not probed are far from the
    query (IVF assigns each vector to its nearest centroid); the same approximation as the unfiltered search.
* :meth:`save` writes ONE ``.npz`` file (serialised index + id list + metadata) to a temp file in the
  same folder and ``os.replace``-s it: a reader sees the old or the new index, never half of one.

String ids map to int64 positions kept in ``self.ids``; re-adding an existing id replaces its vector (the old
position becomes a tombstone ``""``). :attr:`generation` changes on every mutation (a cache key for callers).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import faiss
import numpy as np

from rskg import atomic
from rskg.errors import NotFoundError, ValidationError
from rskg.settings import Settings

FORMAT = "rskg-vector-index-1"
EXACT_LIMIT = 20_000             # up to this many candidates / positions: exact matrix products
RESTRICTED_NPROBE_FACTOR = 4     # IVF lists probed for a large candidate filter: this x nprobe


@dataclass(frozen=True)
class IndexParams:
    ivfpq_min_vectors: int = 4000
    nlist: int = 0
    pq_m: int = 64
    pq_dim: int = 256
    nprobe: int = 32
    refine_factor: int = 4   # IVF-PQ: exact re-ranking of k * this candidates (<= 1: none, no full vectors kept)

    @classmethod
    def from_settings(cls, s: Settings) -> IndexParams:
        return cls(s.faiss_ivfpq_min_vectors, s.faiss_nlist, s.faiss_pq_m, s.faiss_pq_dim, s.faiss_nprobe,
                   s.faiss_refine_factor)


@dataclass(frozen=True)
class Hit:
    id: str
    score: float


def _as_matrix(vectors: np.ndarray, dim: int | None = None) -> np.ndarray:
    v = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    if v.ndim != 2 or (dim is not None and v.shape[1] != dim):
        raise ValidationError(f"vectors of shape {v.shape} do not fit an index of dim {dim}",
                              hint="Encode with the same ImageEncoder version as the index.")
    return v


def l2n(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (float32; an all-zero row stays zero)."""
    x = np.asarray(x, dtype=np.float32)
    return cast(np.ndarray, x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12))


def _empty(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.full((n, 0), -1, np.int64), np.zeros((n, 0), np.float32)


def top_k(sims: np.ndarray, k: int, cols: np.ndarray | None, min_score: float) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` columns per row of a similarity matrix: (positions, sims), best first; ``cols`` maps column ->
    position (None: the column is the position); -1 where the similarity is under ``min_score``."""
    kk = min(k, sims.shape[1])
    if kk == 0:
        return _empty(len(sims))
    top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk] if kk < sims.shape[1] else \
        np.broadcast_to(np.arange(sims.shape[1]), (len(sims), sims.shape[1]))
    ts = np.take_along_axis(sims, top, axis=1)
    order = np.argsort(-ts, axis=1, kind="stable")
    top, ts = np.take_along_axis(top, order, axis=1), np.take_along_axis(ts, order, axis=1)
    pos = top.astype(np.int64) if cols is None else cols[top]
    pos = np.where(ts >= min_score, pos, -1)
    return pos, ts.astype(np.float32)


def default_nlist(n: int) -> int:
    """IVF lists for ``n`` vectors when ``faiss_nlist`` is not set: ~2 sqrt(n), at most n / 39 (>= 39 training
    points per list), at least 8."""
    return max(8, min(int(2 * math.sqrt(n)), n // 39))


class VectorIndex:
    def __init__(self, dim: int, params: IndexParams | None = None, version: str = "") -> None:
        self.dim = dim
        self.params = params or IndexParams()
        self.version = version  # the encoder version of the vectors
        self.ids: list[str] = []
        self._pos: dict[str, int] = {}
        self.index: faiss.Index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._generation = 0
        self._matrix: np.ndarray | None = None   # normalised rows by position (zeros at tombstones)
        self._dead: np.ndarray | None = None     # tombstone positions

    def _changed(self) -> None:
        self._generation += 1
        self._matrix = self._dead = None

    # --- construction ----------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return "flat" if isinstance(self.index, faiss.IndexIDMap2) else "ivfpq"

    @property
    def refined(self) -> bool:
        """IVF-PQ under exact re-ranking (``IndexRefineFlat``): the full vectors are kept by position."""
        return isinstance(self.index, faiss.IndexRefine)

    def refine_differs(self, params: IndexParams) -> bool:
        """An IVF-PQ index built with(out) exact re-ranking while ``params`` ask for the other (e.g. a file from
        before refine existed): only a rebuild from the original vectors changes that."""
        return self.kind == "ivfpq" and self.refined != (params.refine_factor > 1)

    def outgrown(self) -> bool:
        """An IVF-PQ whose inverted-list count is under half of what its size calls for now (it was trained at
        under ~1/4 of its size and only added to since: every list has grown, so nprobe lists scan a larger share
        of the index -- e.g. trained at 4k, 102 lists, then 1M vectors: 32 probes scan a third of it).
        ``sync_index`` then rebuilds it from the stored features (once per ~4x growth). A fixed
        ``faiss_nlist`` is never outgrown."""
        if self.kind == "flat" or self.params.nlist:
            return False
        return 2 * int(faiss.extract_index_ivf(self._base()).nlist) < default_nlist(len(self._pos))

    def _base(self) -> faiss.Index:
        """The index holding the live positions: the IVF-PQ (with its pre-transform) under a refine layer."""
        return faiss.downcast_index(cast(Any, self.index).base_index) if self.refined else self.index

    def _refine_store(self) -> Any:
        """The exact vectors of a refined index by position (an ``IndexFlat``, tombstones included)."""
        return faiss.downcast_index(cast(Any, self.index).refine_index)

    def __len__(self) -> int:
        return int(self._base().ntotal)

    def factory_string(self, n: int) -> str:
        p = self.params
        nlist = p.nlist or default_nlist(n)
        pq_dim = min(p.pq_dim, self.dim)
        pq_dim -= pq_dim % p.pq_m
        pre = "" if pq_dim == self.dim else f"PCAR{pq_dim},"
        return f"{pre}IVF{nlist},PQ{p.pq_m}" + (",RFlat" if p.refine_factor > 1 else "")

    @classmethod
    def build(
        cls, ids: Sequence[str], vectors: np.ndarray, params: IndexParams | None = None,
        version: str = "", seed: int = 0,
    ) -> VectorIndex:
        vec = _as_matrix(vectors)
        self = cls(vec.shape[1], params, version)
        if len(ids) != len(vec) or len(set(ids)) != len(ids):
            raise ValidationError(f"{len(ids)} ids (must be unique) for {len(vec)} vectors")
        if len(vec) >= self.params.ivfpq_min_vectors:
            self._train_ivfpq(vec, seed)
        self._add_new(list(ids), vec)
        return self

    def _train_ivfpq(self, train: np.ndarray, seed: int) -> None:
        index = faiss.index_factory(self.dim, self.factory_string(len(train)), faiss.METRIC_L2)
        ivf: Any = faiss.downcast_index(faiss.extract_index_ivf(index))
        ivf.do_polysemous_training = False
        for cp in (ivf.cp, ivf.pq.cp):
            cp.seed = seed
            cp.min_points_per_centroid = 1  # small collections: train anyway, without the warning
        faiss.omp_set_num_threads(2)
        index.train(train)
        if isinstance(index, faiss.IndexPreTransform):
            chain: Any = index.chain
            for j in range(chain.size()):
                vt = faiss.downcast_VectorTransform(chain.at(j))
                if isinstance(vt, faiss.PCAMatrix):
                    vt.PCAMat.resize(0)  # d_in x d_in, needed only for training
        ivf.nprobe = self.params.nprobe
        self.index = index
        if self.refined:
            cast(Any, index).k_factor = float(self.params.refine_factor)

    # --- mutation --------------------------------------------------------------------------------
    def _add_new(self, ids: list[str], vec: np.ndarray) -> None:
        start = len(self.ids)
        self.ids.extend(ids)
        for j, i in enumerate(ids):
            self._pos[i] = start + j
        pos = np.arange(start, start + len(ids), dtype=np.int64)
        if self.refined:   # the IVF-PQ gets the positions as ids, the exact store one row per position
            store = self._refine_store()
            if store.ntotal != start:
                raise ValidationError(f"the exact vectors of this index hold {store.ntotal} rows for {start} "
                                      "positions", hint="Rebuild the index (`rskg sync`).")
            self._base().add_with_ids(vec, pos)
            store.add(vec)
            self.index.ntotal = store.ntotal   # faiss checks every IVF label < ntotal: positions, not live rows
        else:
            self.index.add_with_ids(vec, pos)
        self._changed()

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        """Add vectors incrementally; an id already present gets its vector replaced."""
        vec = _as_matrix(vectors, self.dim)
        if len(ids) != len(vec) or len(set(ids)) != len(ids):
            raise ValidationError(f"{len(ids)} ids (must be unique) for {len(vec)} vectors")
        old = [self._pos[i] for i in ids if i in self._pos]
        if old:
            # refined: the exact row stays (a tombstone); the IVF-PQ no longer returns it
            self._base().remove_ids(np.asarray(old, dtype=np.int64))  # type: ignore[arg-type]
            keep = {i for i in ids if i in self._pos}
            for i in keep:  # the id list keeps a tombstone; positions are never reused
                self.ids[self._pos.pop(i)] = ""
            self._changed()
        if self.kind == "flat" and len(self) + len(vec) >= self.params.ivfpq_min_vectors:
            live = [p for p in range(len(self.ids)) if self.ids[p]]
            cur = np.vstack([self.index.reconstruct(p) for p in live]) if live else np.zeros((0, self.dim))
            all_ids = [self.ids[p] for p in live] + list(ids)
            rebuilt = VectorIndex.build(all_ids, np.vstack([cur, vec]), self.params, self.version)
            generation = self._generation
            self.__dict__.update(rebuilt.__dict__)
            self._generation = generation + 1
            return
        self._add_new(list(ids), vec)

    # --- positions and vectors -----------------------------------------------------------------------
    @property
    def generation(self) -> int:
        """Changes whenever vectors are added, replaced or the index is rebuilt (for callers' cache keys)."""
        return self._generation

    @property
    def positions(self) -> Mapping[str, int]:
        """id -> FAISS position of every live id (read-only view; do not mutate)."""
        return self._pos

    def positions_of(self, ids: Iterable[str]) -> np.ndarray:
        """Sorted unique positions (int64) of the given ids; unknown ids are skipped."""
        pos = self._pos
        return np.unique(np.asarray([pos[i] for i in ids if i in pos], np.int64))

    def _dead_positions(self) -> np.ndarray:
        if self._dead is None:
            self._dead = np.asarray([p for p, i in enumerate(self.ids) if not i], np.int64)
        return self._dead

    def matrix(self) -> np.ndarray:
        """All vectors by position, L2-normalised (zeros at tombstones); computed once per :attr:`generation`."""
        if self._matrix is None:
            m = np.zeros((len(self.ids), self.dim), np.float32)
            live = np.asarray([p for p, i in enumerate(self.ids) if i], np.int64)
            if len(live):
                m[live] = self._reconstruct_raw(live)
            self._matrix = l2n(m)
        return self._matrix

    def _reconstruct_raw(self, pos: np.ndarray) -> np.ndarray:
        if self.refined:
            return np.asarray(self._refine_store().reconstruct_batch(pos), np.float32)
        if self.kind != "flat":
            ivf = faiss.extract_index_ivf(self.index)
            if ivf.direct_map.type == faiss.DirectMap.NoMap:  # type: ignore[attr-defined]  # stub lacks DirectMap
                ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]  # stub lacks DirectMap
        return np.asarray(self.index.reconstruct_batch(pos), np.float32)

    def reconstruct(self, pos: np.ndarray, normalise: bool = True) -> np.ndarray:
        """Vectors at the given positions (exact for flat and refined IVF-PQ, PQ-decoded for IVF-PQ without
        refine), L2-normalised unless
        ``normalise=False`` (then as stored, e.g. to rebuild an index from them)."""
        pos = np.asarray(pos, np.int64)
        if len(pos) == 0:
            return np.zeros((0, self.dim), np.float32)
        if not normalise:
            return self._reconstruct_raw(pos)
        if self.kind == "flat" and len(self.ids) <= EXACT_LIMIT:
            return cast(np.ndarray, self.matrix()[pos])
        return l2n(self._reconstruct_raw(pos))

    def _split_transform(self) -> tuple[list[faiss.VectorTransform], faiss.Index]:
        base = self._base()
        if isinstance(base, faiss.IndexPreTransform):
            chain: Any = base.chain
            return ([faiss.downcast_VectorTransform(chain.at(j)) for j in range(chain.size())],
                    faiss.downcast_index(base.index))
        return [], base

    def transform(self, queries: np.ndarray) -> np.ndarray:
        """Queries in the space the inner IVF index searches (normalised, PCA etc. applied; identity for flat):
        pass it as ``transformed=`` to :meth:`search_positions` to skip that step for queries asked often."""
        x = np.ascontiguousarray(l2n(np.atleast_2d(queries)))
        for vt in self._split_transform()[0]:
            x = np.ascontiguousarray(vt.apply(x))
        return x

    # --- queries ---------------------------------------------------------------------------------
    def search(self, queries: np.ndarray, k: int, restrict_to: Iterable[str] | None = None,
               exclude: Iterable[str] = (), min_score: float = -2.0) -> list[list[Hit]]:
        """Top-k hits per query row, best first; scores are cosine similarities (PQ-decoded without refine); only ids
        in ``restrict_to`` (when given) and not in ``exclude``; hits under ``min_score`` are dropped."""
        excl = self.positions_of(exclude)
        allow = None if restrict_to is None else self.positions_of(restrict_to)
        pos, sims = self.search_positions(queries, k, allow, excl, min_score)
        ids = self.ids
        return [[Hit(ids[p], float(d)) for p, d in zip(pr[pr >= 0].tolist(), sr[pr >= 0].tolist(), strict=True)]
                for pr, sr in zip(pos, sims, strict=True)]

    def search_positions(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None,
                         excluded: np.ndarray | None = None, min_score: float = -2.0,
                         transformed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised top-k: (positions int64, cosine similarities float32), both [n queries, k'], best first,
        position -1 where there is no hit (fewer candidates, or under ``min_score``). ``allowed`` / ``excluded``
        are sorted unique position arrays (:meth:`positions_of`); ``transformed`` = :meth:`transform` of the
        queries, precomputed (IVF-PQ only)."""
        q = l2n(_as_matrix(np.atleast_2d(queries), self.dim))
        if len(self) == 0 or k <= 0 or len(q) == 0:
            return _empty(len(q))
        excl = excluded if excluded is not None and len(excluded) else np.zeros(0, np.int64)
        if allowed is None and self.kind == "flat" and len(self.ids) <= EXACT_LIMIT:
            sims = q @ self.matrix().T       # small exact index: one matrix product
            drop = np.union1d(excl, self._dead_positions())
            if len(drop):
                sims[:, drop] = -np.inf
            pos, ts = top_k(sims, min(k, len(self)), None, min_score)
            return np.where(np.isfinite(ts), pos, -1), ts
        if allowed is not None:
            allow = np.setdiff1d(allowed, excl, assume_unique=True)
            if len(allow) == 0:
                return _empty(len(q))
            if len(allow) <= EXACT_LIMIT:
                return top_k(q @ self.reconstruct(allow).T, k, allow, min_score)
            keep: list[faiss.IDSelector] = []
            sel: faiss.IDSelector | None = faiss.IDSelectorBatch(allow)
            nprobe_factor = RESTRICTED_NPROBE_FACTOR
            k = min(k, len(allow))
        else:
            keep = [faiss.IDSelectorBatch(excl)] if len(excl) else []   # IDSelectorNot keeps a raw pointer
            sel = faiss.IDSelectorNot(keep[0]) if keep else None
            nprobe_factor = 1
        target, x, kq = self.index, q, min(k, len(self))
        fx: Any = faiss  # the bundled stubs lack the keyword arguments of SearchParameters*
        if self.kind == "flat":
            params = fx.SearchParameters(sel=sel) if sel is not None else None
        else:
            ivf = faiss.extract_index_ivf(self.index)
            params = fx.SearchParametersIVF(nprobe=min(ivf.nlist, self.params.nprobe * nprobe_factor))
            if sel is not None:
                params.sel = sel
            if transformed is not None:
                target, x = self._split_transform()[1], np.ascontiguousarray(transformed, np.float32)
                if self.refined:
                    dist, lab = self._refine(q, *target.search(x, kq * self._k_factor(), params=params), kq)
                    del sel, keep
                    return self._finish(lab, 1.0 - dist / 2.0, min_score)
            elif self.refined:
                params = fx.IndexRefineSearchParameters(k_factor=float(self._k_factor()), base_index_params=params)
        dist, lab = target.search(x, kq, params=params)
        if self.kind != "flat":
            dist = 1.0 - dist / 2.0
        del sel, keep
        return self._finish(lab, dist, min_score)

    @staticmethod
    def _finish(lab: np.ndarray, sims: np.ndarray, min_score: float) -> tuple[np.ndarray, np.ndarray]:
        sims = sims.astype(np.float32)
        lab = np.where((lab >= 0) & (sims >= min_score), lab, -1)
        return lab.astype(np.int64), sims

    def _k_factor(self) -> int:
        return max(1, int(self.params.refine_factor))

    def _refine(self, q: np.ndarray, dist: np.ndarray, lab: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """IndexRefineFlat's re-ranking of a shortlist found with pre-transformed queries: exact squared L2 of
        the (raw, normalised) queries to the stored vectors of ``lab`` (faiss ``compute_distance_subset``; inf
        for -1), the best ``k`` per row."""
        q = np.ascontiguousarray(q, np.float32)
        dist, lab = np.ascontiguousarray(dist, np.float32), np.ascontiguousarray(lab, np.int64)
        self._refine_store().compute_distance_subset(len(q), faiss.swig_ptr(q), lab.shape[1], faiss.swig_ptr(dist),
                                                     faiss.swig_ptr(lab))
        order = np.argsort(dist, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(dist, order, axis=1), np.take_along_axis(lab, order, axis=1)

    # --- persistence -----------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        meta = {"format": FORMAT, "dim": self.dim, "version": self.version, "params": self.params.__dict__}
        return atomic.savez(path, fsync=True, index=faiss.serialize_index(self.index),
                            ids=np.asarray(self.ids, dtype=str),
                            meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))

    @classmethod
    def load(cls, path: str | Path) -> VectorIndex:
        path = Path(path)
        if not path.exists():
            raise NotFoundError(f"no vector index at {path}", hint="Build it first (ingest, then `rskg sync`).")
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(z["meta"].tobytes().decode())
            if meta.get("format") != FORMAT:
                raise ValidationError(f"{path} is not an rskg vector index", hint="Rebuild the index.")
            meta["params"].setdefault("refine_factor", 1)   # written before refine existed: PQ only
            self = cls(int(meta["dim"]), IndexParams(**meta["params"]), meta["version"])
            self.index = faiss.deserialize_index(z["index"])
            self.ids = [str(s) for s in z["ids"]]
        self._pos = {i: p for p, i in enumerate(self.ids) if i}
        self._changed()
        if self.kind != "flat":
            ivf: Any = faiss.extract_index_ivf(self.index)
            ivf.nprobe = self.params.nprobe
        return self
