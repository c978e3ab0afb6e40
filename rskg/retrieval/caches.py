"""Process-wide, thread-safe caches of what retrieval reads on every request.

* the FAISS image index (``settings.index_dir/image.npz``, written by ingestion), reloaded when the file
  changes (its mtime), so ``rskg ingest`` in another process is picked up without a restart;
* the prototype store (:mod:`rskg.retrieval.prototypes`), reloaded the same way;
* the label lexicon and the label graph edges from Neo4j, re-read after ``LEXICON_TTL_S`` seconds: the
  first call loads (and waits); after that an expired entry is refreshed by ONE background thread while
  requests keep using the previous copy (no request waits for a reload, none reloads twice).

Each is a typed cache (:class:`rskg.services.KeyedCache` subclass: :class:`ImageIndexCache` here, the
prototype, neighbour, HIR and label caches beside their code) reached with ``services.cache(...)``, so that the
API lifespan and the CLI share one copy per process; tests and benchmarks may pin their own index with
:func:`set_image_index`.
"""

from __future__ import annotations

from pathlib import Path

from embeddings.faiss_index import VectorIndex
from rskg import artifacts
from rskg.errors import NotFoundError
from rskg.services import KeyedCache, Services

LEXICON_TTL_S = 30.0


class ImageIndexCache(KeyedCache[VectorIndex]):
    """The image index, keyed by its file's mtime; ``pinned`` (benchmarks, tests) wins over the file."""

    def __init__(self) -> None:
        super().__init__()
        self.pinned: VectorIndex | None = None


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def image_index_path(services: Services) -> Path:
    return artifacts.image_index_path(services.settings)


def image_index(services: Services, required: bool = True) -> VectorIndex | None:
    """The image index (pinned one first), or None / NotFoundError when there is none."""
    c = services.cache(ImageIndexCache)
    if c.pinned is not None:
        return c.pinned
    path = image_index_path(services)
    m = _mtime(path)
    if m is None:
        if required:
            raise NotFoundError(f"no image index at {path}",
                                "Ingest a dataset first (`rskg ingest ...`); it writes the image index.")
        return None
    return c.get(m, lambda: VectorIndex.load(path))


def set_image_index(services: Services, index: VectorIndex | None) -> None:
    """Pin an in-memory index (benchmarks); None goes back to the file."""
    services.cache(ImageIndexCache).pinned = index


