"""VectorIndex: string ids -> FAISS, exact while small, IVF-PQ once there are enough vectors.

* below ``settings.faiss_ivfpq_min_vectors`` vectors: ``IndexIDMap2(IndexFlatIP)`` (exact cosine
  on L2-normalised rows);
* at or above it, :meth:`VectorIndex.build` trains
  ``PCAR{pq_dim},IVF{nlist},PQ{m}`` (L2 metric; scores reported as ``1 - d^2 / 2``, i.e. cosine for
  unit vectors), with ``nlist = faiss_nlist or ~2*sqrt(n)`` (at most n/39); polysemous training is off (it
  made training ~10x slower here), the PCA's training-only full matrix is dropped before saving.
  :meth:`add` onto an exact index that crosses the threshold rebuilds it (the flat index still holds the exact vectors).
* ``search(..., restrict_to=ids)`` passes a ``faiss.IDSelectorBatch`` in the search parameters;
  for IVF the restricted search probes every list (so candidates are never lost to nprobe).
* :meth:`save` writes ONE ``.npz`` file (serialised index + id list + metadata) to a temp file in the
  same folder and ``os.replace``-s it: a reader sees the old or the new index, never half of one.

String ids map to int64 positions kept in ``self.ids``; re-adding an existing id replaces its vector.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from rskg import atomic
from rskg.errors import NotFoundError, ValidationError
from rskg.settings import Settings

FORMAT = "rskg-vector-index-1"


@dataclass(frozen=True)
class IndexParams:
    ivfpq_min_vectors: int = 4000
    nlist: int = 0
    pq_m: int = 32
    pq_dim: int = 256
    nprobe: int = 16

    @classmethod
    def from_settings(cls, s: Settings) -> IndexParams:
        return cls(s.faiss_ivfpq_min_vectors, s.faiss_nlist, s.faiss_pq_m, s.faiss_pq_dim, s.faiss_nprobe)


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


class VectorIndex:
    def __init__(self, dim: int, params: IndexParams | None = None, version: str = "") -> None:
        self.dim = dim
        self.params = params or IndexParams()
        self.version = version  # the encoder version of the vectors
        self.ids: list[str] = []
        self._pos: dict[str, int] = {}
        self.index: faiss.Index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    # --- construction ----------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return "flat" if isinstance(self.index, faiss.IndexIDMap2) else "ivfpq"

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def factory_string(self, n: int) -> str:
        p = self.params
        nlist = p.nlist or max(8, min(int(2 * math.sqrt(n)), n // 39))
        pq_dim = min(p.pq_dim, self.dim)
        pq_dim -= pq_dim % p.pq_m
        pre = "" if pq_dim == self.dim else f"PCAR{pq_dim},"
        return f"{pre}IVF{nlist},PQ{p.pq_m}"

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

    # --- mutation --------------------------------------------------------------------------------
    def _add_new(self, ids: list[str], vec: np.ndarray) -> None:
        start = len(self.ids)
        self.ids.extend(ids)
        for j, i in enumerate(ids):
            self._pos[i] = start + j
        self.index.add_with_ids(vec, np.arange(start, start + len(ids), dtype=np.int64))

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        """Add vectors incrementally; an id already present gets its vector replaced."""
        vec = _as_matrix(vectors, self.dim)
        if len(ids) != len(vec) or len(set(ids)) != len(ids):
            raise ValidationError(f"{len(ids)} ids (must be unique) for {len(vec)} vectors")
        old = [self._pos[i] for i in ids if i in self._pos]
        if old:
            self.index.remove_ids(np.asarray(old, dtype=np.int64))  # type: ignore[arg-type]
            keep = {i for i in ids if i in self._pos}
            for i in keep:  # the id list keeps a tombstone; positions are never reused
                self.ids[self._pos.pop(i)] = ""
        if self.kind == "flat" and len(self) + len(vec) >= self.params.ivfpq_min_vectors:
            live = [p for p in range(len(self.ids)) if self.ids[p]]
            cur = np.vstack([self.index.reconstruct(p) for p in live]) if live else np.zeros((0, self.dim))
            all_ids = [self.ids[p] for p in live] + list(ids)
            rebuilt = VectorIndex.build(all_ids, np.vstack([cur, vec]), self.params, self.version)
            self.__dict__.update(rebuilt.__dict__)
            return
        self._add_new(list(ids), vec)

    # --- queries ---------------------------------------------------------------------------------
    def search(
        self, queries: np.ndarray, k: int, restrict_to: Iterable[str] | None = None
    ) -> list[list[Hit]]:
        """Top-k hits per query row, best first; scores are cosine similarities (approximate for PQ)."""
        q = _as_matrix(queries, self.dim)
        if len(self) == 0 or k <= 0:
            return [[] for _ in range(len(q))]
        params: Any = None
        if restrict_to is not None:
            allowed = np.asarray(sorted(self._pos[i] for i in set(restrict_to) if i in self._pos), np.int64)
            if len(allowed) == 0:
                return [[] for _ in range(len(q))]
            sel = faiss.IDSelectorBatch(allowed)
            fx: Any = faiss  # the bundled stubs lack the keyword arguments of SearchParameters*
            if self.kind == "flat":
                params = fx.SearchParameters(sel=sel)
            else:
                params = fx.SearchParametersIVF(sel=sel, nprobe=faiss.extract_index_ivf(self.index).nlist)
            k = min(k, len(allowed))
        dist, lab = self.index.search(q, min(k, len(self)), params=params)
        if self.kind != "flat":
            dist = 1.0 - dist / 2.0
        return [
            [Hit(self.ids[int(p)], float(d)) for d, p in zip(drow, lrow, strict=True) if p >= 0]
            for drow, lrow in zip(dist, lab, strict=True)
        ]

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
            self = cls(int(meta["dim"]), IndexParams(**meta["params"]), meta["version"])
            self.index = faiss.deserialize_index(z["index"])
            self.ids = [str(s) for s in z["ids"]]
        self._pos = {i: p for p, i in enumerate(self.ids) if i}
        if self.kind != "flat":
            ivf: Any = faiss.extract_index_ivf(self.index)
            ivf.nprobe = self.params.nprobe
        return self
