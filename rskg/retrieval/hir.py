"""Optional second stage (paper 002, Hierarchical Image Retrieval): re-rank the supplementary shortlist by
the weighted Manhattan distance between class distributions,

    WMD(X, Y) = sum_i w_i * |x_i - y_i|.

The paper derives X and Y from a land-cover segmentation network (share of pixels per class). No pixel-level
land-cover labels exist in rskg, so the class distribution of an image feature comes from:

1. the fine-tuned multi-label head of ``embeddings.head_model`` when the image index was built with it
   (its version ends in ``head<digest>`` of the head file on disk): sigmoid label probabilities, normalised
   to sum 1;
2. otherwise the concept prototypes: for every concept with prototypes, the best cosine similarity of the
   image feature to one of its prototypes, turned into a distribution by a softmax with temperature
   ``TEMPERATURE`` (a soft "which concepts does this image look like" histogram).

The reference distribution is the query example's (query by example) or the mean distribution of the query
concept's own prototypes (a label query). Class weights: ``request.hir_weights`` by class (concept id),
default 1, and ``QUERY_WEIGHT`` (4, the paper's emphasised-class weight) for the query concept.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from embeddings.faiss_index import VectorIndex
from rskg.retrieval.knn import reconstruct
from rskg.retrieval.model import SampleHit
from rskg.retrieval.prototypes import PrototypeStore
from rskg.retrieval.store import cache, positions
from rskg.services import Services

if TYPE_CHECKING:
    from embeddings.head_model import ProjectionHead

TEMPERATURE = 0.05
QUERY_WEIGHT = 4.0


class Distributions:
    """Maps image features to class distributions (head probabilities or prototype softmax)."""

    def __init__(self, services: Services, index: VectorIndex, store: PrototypeStore) -> None:
        self.head = _usable_head(services, index)
        if self.head is not None:
            self.classes = list(self.head.cfg.labels)
            self.source = "head"
        else:
            self.classes = sorted(set(store.concepts))
            self.source = "prototypes"
            col = {c: i for i, c in enumerate(self.classes)}
            self._proto_col = np.asarray([col[c] for c in store.concepts], np.int64)
            self._protos = store.vectors

    def __call__(self, feats: np.ndarray) -> np.ndarray:
        feats = np.atleast_2d(feats).astype(np.float32)
        if self.head is not None:
            import torch

            with torch.no_grad():
                z = torch.from_numpy(feats)
                p = torch.sigmoid(self.head.classifier(z * self.head.log_scale.exp())).numpy()
        else:
            sims = feats @ self._protos.T
            best = np.full((len(feats), len(self.classes)), -1.0, np.float32)
            np.maximum.at(best.T, self._proto_col, sims.T)
            e = np.exp((best - best.max(axis=1, keepdims=True)) / TEMPERATURE)
            p = e
        return (p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)).astype(np.float32)

    def weights(self, root_classes: set[str], overrides: dict[str, float] | None) -> np.ndarray:
        w = np.ones(len(self.classes), np.float32)
        for i, c in enumerate(self.classes):
            if c in root_classes:
                w[i] = QUERY_WEIGHT
            if overrides and c in overrides:
                w[i] = float(overrides[c])
        return w


def _usable_head(services: Services, index: VectorIndex) -> ProjectionHead | None:
    from embeddings.head_model import file_digest, head_path, load_head

    hp = head_path(services.settings.home)
    if not hp.exists() or not index.version.endswith(f"head{file_digest(hp)}"):
        return None
    return cache(services).get("hir_head", (str(hp), hp.stat().st_mtime_ns), lambda: load_head(hp))


def wmd(x: np.ndarray, ys: np.ndarray, w: np.ndarray) -> np.ndarray:
    return (np.abs(ys - x[None, :]) * w[None, :]).sum(axis=1)


def rerank(services: Services, index: VectorIndex, store: PrototypeStore, hits: list[SampleHit],
           references: dict[str, np.ndarray], root_classes: dict[str, set[str]],
           overrides: dict[str, float] | None, shortlist: int) -> tuple[list[SampleHit], str]:
    """Per query concept, the first ``shortlist`` hits re-ordered by WMD to that concept's reference feature
    distribution; the rest keep their order after them. Returns the hits and the distribution source."""
    dist = Distributions(services, index, store)
    pos = positions(index)
    out: list[SampleHit] = []
    for root in dict.fromkeys(h.concept_id for h in hits):
        group = [h for h in hits if h.concept_id == root]
        ref = references.get(root)
        head, tail = group[:shortlist], group[shortlist:]
        known = [h for h in head if h.sample_id in pos]
        if ref is None or not known:
            out.extend(group)
            continue
        feats = reconstruct(index, np.asarray([pos[h.sample_id] for h in known], np.int64))
        x = dist(ref).mean(axis=0)
        d = wmd(x, dist(feats), dist.weights(root_classes.get(root, {root}), overrides))
        ranked = sorted(zip(known, d, strict=True), key=lambda t: (float(t[1]), -t[0].score))
        out.extend(replace(h, hir_distance=round(float(di), 6)) for h, di in ranked)
        out.extend(h for h in head if h.sample_id not in pos)
        out.extend(tail)
    return out, dist.source
