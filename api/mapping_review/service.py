"""The mapping review domain seen from the API: one MappingContext per ontology version, reused."""

from __future__ import annotations

import threading
from typing import Any

from ontology.store import version_of
from rskg.label_mapping import MappingContext
from rskg.services import KeyedCache, Services

_LOCK = threading.Lock()


class ReviewContextCache(KeyedCache[MappingContext]):
    """The review's MappingContext of the current ontology version (no text encoder)."""


def mapping_context(services: Services) -> MappingContext:
    """Cached MappingContext (label system + OSM vocabulary, no text encoder: review needs none);
    rebuilt when the ontology files change (their content hash)."""
    version = version_of(services.settings.ontology_dir)
    with _LOCK:
        return services.cache(ReviewContextCache).get(version, lambda: MappingContext.open(services,
                                                                                            with_encoder=False))


def pending(services: Services, dataset: str | None, include_all: bool) -> list[dict[str, Any]]:
    from rskg.label_mapping import pending as _pending

    return _pending(mapping_context(services), dataset, include_all)


def review(services: Services, decision_id: int, action: str, author: str, concept: str | None,
           new_id: str | None = None, new_label: str | None = None, new_parent: str | None = None) -> Any:
    from rskg.label_mapping import review as _review

    return _review(mapping_context(services), decision_id, action, author, concept,
                   new_id=new_id, new_label=new_label, new_parent=new_parent)
