"""HIR stage 2 from pixel fractions (paper 002's own second stage; issue 18): the class distribution of a
sample is its land-cover composition by the segmentation head, read from the catalog
(``sample_composition``, written at ingest or by ``rskg composition backfill``); an uploaded query image is
composed by the installed head on the fly (``rskg.composition.backfill.load_segmenter``).

Two views of one composition (``KINDS``):

* ``fine``: the shares of the 15 fine GID classes (their concepts, ``FINE_CONCEPTS``), summing to 1;
* ``rollup``: those plus every ancestor concept's share (the sum of its fine parts, as stored), so that a
  difference between two kinds of built-up land costs less than one between built-up land and water.

``rskg eval cbir --hir-source composition`` (``rskg.evaluation.hir_composition``) measures both.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rskg.composition.backfill import FINE_CONCEPTS
from rskg.retrieval.hir import class_weights
from rskg.services import Services

KINDS = ("fine", "rollup")
SELECT_MANY = "SELECT sample_id, concept_id, fraction FROM sample_composition WHERE sample_id = ANY(%s)"


def classes_of(kind: str, ancestors: dict[str, list[str]]) -> list[str]:
    """The columns of a ``kind`` vector: the fine concepts, then (rollup) the ancestors, sorted."""
    if kind not in KINDS:
        raise ValueError(f"unknown composition kind {kind!r}")
    extra = sorted({a for f in FINE_CONCEPTS for a in ancestors.get(f, [])} - set(FINE_CONCEPTS))
    return list(FINE_CONCEPTS) + (extra if kind == "rollup" else [])


def vector(rolled: dict[str, float], classes: Sequence[str], ancestors: dict[str, list[str]]) -> np.ndarray:
    """A stored (rolled-up) composition as a vector over ``classes``. A fine concept that is also an ancestor
    of another fine one (``residential_land`` above ``urban_fabric``) is stored with its descendants' share
    included; its fine column takes that share back out."""
    out = np.asarray([rolled.get(c, 0.0) for c in classes], np.float32)
    col = {c: i for i, c in enumerate(classes)}
    for f in FINE_CONCEPTS:
        for a in ancestors.get(f, []):
            if a in FINE_CONCEPTS and a in col:
                out[col[a]] -= rolled.get(f, 0.0)
    np.maximum(out, 0.0, out=out)
    return out


def from_fine(fine: np.ndarray, classes: Sequence[str], ancestors: dict[str, list[str]]) -> np.ndarray:
    """(N, 15) fine-class shares -> (N, len(classes)): the fine columns, plus each ancestor's summed share."""
    fine = np.atleast_2d(fine).astype(np.float32)
    col = {c: i for i, c in enumerate(classes)}
    out = np.zeros((len(fine), len(classes)), np.float32)
    for j, f in enumerate(FINE_CONCEPTS):
        out[:, col[f]] += fine[:, j]
        for a in ancestors.get(f, []):
            if a in col and a not in FINE_CONCEPTS:
                out[:, col[a]] += fine[:, j]
    return out


class CompositionDistributions:
    """Composition vectors of catalog samples and of uploaded images (see the module docstring)."""

    def __init__(self, services: Services, kind: str = "rollup") -> None:
        from rskg.composition import store

        self.services, self.kind = services, kind
        self.ancestors = store.ancestors(services, FINE_CONCEPTS)
        self.classes = classes_of(kind, self.ancestors)
        self.source = f"composition ({kind}, {len(self.classes)} concepts)"
        self._seg: list[object] = []

    def samples(self, sample_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors of the samples with a stored composition (others are left out)."""
        ids = list(dict.fromkeys(sample_ids))
        if not ids:
            return {}
        rolled: dict[str, dict[str, float]] = {}
        with self.services.connection() as conn:
            for sid, concept, frac in conn.execute(SELECT_MANY, (ids,)).fetchall():
                rolled.setdefault(str(sid), {})[str(concept)] = float(frac)
        return {s: vector(rolled[s], self.classes, self.ancestors) for s in ids if s in rolled}

    def image(self, rgb: np.ndarray) -> np.ndarray | None:
        """The composition of an uploaded image by the installed segmentation head (None: no head)."""
        from embeddings.segmentation import fractions
        from rskg.composition.backfill import load_segmenter

        if not self._seg:
            self._seg.append(load_segmenter(self.services.settings, required=False))
        seg = self._seg[0]
        if seg is None:
            return None
        mask = seg.masks([rgb])[0]  # type: ignore[attr-defined]
        return from_fine(fractions(mask), self.classes, self.ancestors)[0]

    def weights(self, root_classes: set[str], overrides: dict[str, float] | None, query_weight: float
                ) -> np.ndarray:
        return class_weights(self.classes, root_classes, overrides, query_weight)
