"""What the captions teach (UCM-Captions train split; archive images are never searched by their captions).

* :class:`LinearMap` ``text2visual``: ridge regression from MiniLM sentence embeddings (384-d) to the image
  feature space (the caption's image feature, L2-normalised). A query's predicted vector is compared with
  archive image features by cosine: a small text->visual bridge in place of a CLIP-like model.
* :class:`LinearMap` ``text2concept``: ridge regression from the same embeddings to multi-hot concept targets
  (the image's scene concept and its multi-label concepts in the label system): which concepts a sentence
  implies even when it does not name them ("boats moored in rows" -> harbor).

Both are closed-form (scikit-learn Ridge), fitted in seconds on 8,400 sentences, stored as one npz each.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rskg import atomic
from rskg.errors import NotFoundError


@dataclass
class LinearMap:
    """y = x @ W + b (x: L2-normalised sentence embeddings)."""

    W: np.ndarray
    b: np.ndarray
    outputs: list[str] = field(default_factory=list)      # output names (concept ids) or [] for a vector space
    meta: dict[str, object] = field(default_factory=dict)

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, alpha: float, outputs: list[str] | None = None,
            meta: dict[str, object] | None = None) -> LinearMap:
        from sklearn.linear_model import Ridge

        model = Ridge(alpha=alpha, fit_intercept=True).fit(np.asarray(x, np.float64), np.asarray(y, np.float64))
        W = np.asarray(model.coef_, np.float32).T.reshape(x.shape[1], -1)
        b = np.asarray(model.intercept_, np.float32).reshape(-1)
        return cls(W, b, list(outputs or []), {**(meta or {}), "alpha": alpha, "n_train": int(len(x))})

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.atleast_2d(np.asarray(x, np.float32)) @ self.W + self.b

    def save(self, path: Path) -> Path:
        return atomic.savez(path, W=self.W, b=self.b, outputs=np.asarray(self.outputs, dtype=str),
                            meta=np.asarray(json.dumps(self.meta, sort_keys=True)))

    @classmethod
    def load(cls, path: Path) -> LinearMap:
        if not path.is_file():
            raise NotFoundError(f"no learned text model at {path}", "Train it with `rskg search-train`.")
        with np.load(path, allow_pickle=False) as z:
            return cls(z["W"], z["b"], [str(o) for o in z["outputs"].tolist()], json.loads(str(z["meta"])))


def model_key(*parts: object) -> str:
    return hashlib.sha256("\x00".join(str(p) for p in parts).encode()).hexdigest()[:16]


def multi_hot(concept_sets: list[set[str]], vocab: list[str]) -> np.ndarray:
    col = {c: j for j, c in enumerate(vocab)}
    y = np.zeros((len(concept_sets), len(vocab)), np.float32)
    for i, cs in enumerate(concept_sets):
        for c in cs:
            if c in col:
                y[i, col[c]] = 1.0
    return y
