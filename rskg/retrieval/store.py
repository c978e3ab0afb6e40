"""Process-wide, thread-safe caches of what retrieval reads on every request.

* the FAISS image index (``settings.index_dir/image.npz``, written by ingestion), reloaded when the file
  changes (its mtime), so ``rskg ingest`` in another process is picked up without a restart;
* the prototype store (:mod:`rskg.retrieval.prototypes`), reloaded the same way;
* the label lexicon and the label graph edges from Neo4j, re-read after ``LEXICON_TTL_S`` seconds: the
  first call loads (and waits); after that an expired entry is refreshed by ONE background thread while
  requests keep using the previous copy (no request waits for a reload, none reloads twice).

Everything hangs off ``services.extras["retrieval"]`` so that the API lifespan and the CLI share one
copy per process; tests and benchmarks may put their own index there with :func:`set_image_index`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embeddings.faiss_index import VectorIndex
from rskg import artifacts
from rskg.errors import NotFoundError
from rskg.services import Services

LEXICON_TTL_S = 30.0


@dataclass
class _Slot:
    key: object = None
    value: Any = None
    at: float = 0.0
    refreshing: bool = False


@dataclass
class RetrievalCache:
    lock: threading.RLock = field(default_factory=threading.RLock)
    slots: dict[str, _Slot] = field(default_factory=dict)
    pinned_index: VectorIndex | None = None

    def get(self, name: str, key: object, load: Any, ttl: float | None = None) -> Any:
        with self.lock:
            slot = self.slots.setdefault(name, _Slot())
            if slot.value is None or slot.key != key:
                slot.value, slot.key, slot.at = load(), key, time.monotonic()
            elif ttl is not None and time.monotonic() - slot.at > ttl and not slot.refreshing:
                slot.refreshing = True
                threading.Thread(target=self._refresh, args=(name, slot, key, load), daemon=True,
                                 name=f"rskg-refresh-{name}").start()
            return slot.value

    def _refresh(self, name: str, slot: _Slot, key: object, load: Any) -> None:
        try:
            value = load()
        except Exception:  # noqa: BLE001 - keep serving the previous copy; the next expiry retries
            value = None
        with self.lock:
            slot.refreshing = False
            if value is not None and self.slots.get(name) is slot and slot.key == key:
                slot.value, slot.at = value, time.monotonic()
            elif value is None:
                slot.at = time.monotonic()

    def invalidate(self, name: str | None = None) -> None:
        with self.lock:
            if name is None:
                self.slots.clear()
            else:
                self.slots.pop(name, None)

    def close(self) -> None:  # Services.close() calls close() on extras
        self.invalidate()


def cache(services: Services) -> RetrievalCache:
    c = services.extras.get("retrieval")
    if c is None:
        c = services.extras.setdefault("retrieval", RetrievalCache())
    return c


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def image_index_path(services: Services) -> Path:
    return artifacts.image_index_path(services.settings)


def image_index(services: Services, required: bool = True) -> VectorIndex | None:
    """The image index (pinned one first), or None / NotFoundError when there is none."""
    c = cache(services)
    if c.pinned_index is not None:
        return c.pinned_index
    path = image_index_path(services)
    m = _mtime(path)
    if m is None:
        if required:
            raise NotFoundError(f"no image index at {path}",
                                "Ingest a dataset first (`rskg ingest ...`); it writes the image index.")
        return None
    return c.get("image_index", m, lambda: VectorIndex.load(path))


def set_image_index(services: Services, index: VectorIndex | None) -> None:
    """Pin an in-memory index (benchmarks); None goes back to the file."""
    cache(services).pinned_index = index


