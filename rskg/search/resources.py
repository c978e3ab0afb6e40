"""Per-process search resources (label system, text encoder, concept matcher, caption models), built once and
kept in ``services.cache(SearchResourcesCache)``; the label system is re-read when its Turtle files change."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from embeddings.text import TextEncoder
from ontology.model import LabelSystem
from rskg.search.concepts import ConceptMatcher
from rskg.search.models import (
    CaptionModels,
    Expander,
    build_matcher,
    load_models,
    models_dir,
    models_key,
)
from rskg.services import KeyedCache, Services
from rskg.settings import Settings


@dataclass
class SearchResources:
    services: Services
    settings: Settings
    system: LabelSystem
    text: TextEncoder
    matcher: ConceptMatcher
    _models: dict[str, CaptionModels | None] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict)

    def index_version(self) -> str | None:
        from rskg.retrieval.caches import image_index

        index = image_index(self.services, required=False)
        return None if index is None else index.version

    def caption_models(self) -> CaptionModels | None:
        version = self.index_version()
        if version is None:
            return None
        if self._models.get(version) is None:     # missing models are looked for again (one stat): a
            key = models_key(self.settings, version, self.system)     # `rskg search-train` while serving counts
            self._models[version] = load_models(models_dir(self.settings, key))
        return self._models[version]

    def caption_examples(self, models: CaptionModels, vec: Any, n: int = 3) -> list[tuple[str, float]]:
        """Train captions whose text2visual prediction is nearest to an image feature (distinct sentences)."""
        import numpy as np

        from embeddings.faiss_index import l2n
        from rskg.search.captions import by_split, captions_path, read_captions

        if "captions" not in self._cache:
            caps = list(dict.fromkeys(c.sentence for c in by_split(read_captions(captions_path(self.settings)),
                                                                   "train")))
            self._cache["captions"] = caps
        caps = self._cache["captions"]
        key = f"pred:{models.feature_version}"
        if key not in self._cache:
            self._cache[key] = l2n(models.text2visual.predict(self.text.encode(caps)))
        sims = self._cache[key] @ np.asarray(vec, np.float32)
        return [(caps[int(i)], round(float(sims[i]), 4)) for i in np.argsort(-sims)[:n]]

    def prototypes(self) -> Any:
        from rskg.retrieval.prototypes import prototype_store

        store = prototype_store(self.services)
        if store is None or store.encoder_version != self.index_version():
            return None
        return store

    def expander(self) -> Expander:
        from rskg.retrieval.labels import label_graph

        return Expander.of(label_graph(self.services)[0], self.settings)

    def close(self) -> None:
        self.text.close()


_LOCK = threading.Lock()


class SearchResourcesCache(KeyedCache[SearchResources]):
    """The search resources of the current label-system version (rebuilt when its Turtle files change)."""


def resources(services: Services, settings: Settings) -> SearchResources:
    from ontology.store import load_label_system, version_of

    version = version_of(settings.ontology_dir)

    def build() -> SearchResources:
        system = load_label_system(settings.ontology_dir)
        text = TextEncoder(settings)
        return SearchResources(services, settings, system, text, build_matcher(settings, system, text))

    with _LOCK:
        return services.cache(SearchResourcesCache).get(version, build)


def train(services: Services | None, settings: Settings) -> tuple[str, CaptionModels]:
    """Fit the caption models for the product's image encoder (features from the raw-feature cache) and store
    them where :meth:`SearchResources.caption_models` finds them. Returns (folder, models)."""
    from ontology.store import load_label_system
    from rskg.corpora.features import encoder
    from rskg.search.corpus import load_corpus
    from rskg.search.models import fit_caption_models, save_models, subclass_edges

    system = load_label_system(settings.ontology_dir)
    text = TextEncoder(settings)
    enc = encoder(settings)
    corpus = load_corpus(settings, system, text, enc, pretrained=False)
    edges = subclass_edges(system)
    if services is not None:
        from rskg.retrieval.labels import label_graph

        edges = label_graph(services)[0]
    models = fit_caption_models(corpus, build_matcher(settings, system, text), Expander.of(edges, settings))
    folder = models_dir(settings, models_key(settings, enc.version, system))
    save_models(models, folder)
    return str(folder), models
