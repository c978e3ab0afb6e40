"""One call from the cached corpus to a trained concept head (used by the product, the LODO protocol and bench)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embeddings.backbone import fuse
from embeddings.head_model import ProjectionHead
from ontology.model import LabelSystem
from rskg.headtrain.corpus import Corpus
from rskg.headtrain.targets import Targets, concept_targets
from rskg.headtrain.train import ConceptTrainConfig, ConceptTrainResult, train_concept_head


@dataclass
class Fitted:
    head: ProjectionHead
    targets: Targets
    train_rows: np.ndarray          # bool mask over the corpus rows
    result: ConceptTrainResult


def vocab_labels(corpus: Corpus) -> dict[str, list[str]]:
    """Every vocabulary of the corpus -> the labels its samples carry."""
    out: dict[str, set[str]] = {}
    for ls in corpus.label_sets():
        for v, labs in ls.items():
            out.setdefault(v, set()).update(labs)
    return {v: sorted(s) for v, s in out.items()}


def fit(system: LabelSystem, corpus: Corpus, enc: object, *, exclude: tuple[str, ...] = (),
        rows: np.ndarray | None = None, seed: int = 0, config: ConceptTrainConfig | None = None,
        min_positives: int = 10, views: tuple[np.ndarray, np.ndarray] | None = None) -> Fitted:
    """Train on the trainable rows of every family not in ``exclude`` (and inside ``rows`` when given).
    ``views``: (raw stages, corpus row) of cached augmented views (:mod:`rskg.headtrain.views`); those of
    the training rows are used."""
    fam = corpus.family_of()
    train = corpus.trainable() & ~np.isin(fam, list(exclude))
    if rows is not None:
        train &= rows
    x = fuse(corpus.raw(), enc.stage_dims, enc.fusion)  # type: ignore[attr-defined]
    t = concept_targets(system, corpus.label_sets(), vocab_labels(corpus), min_positives, train)
    idx = np.flatnonzero(train)
    v = None
    if views is not None:
        pos = np.full(len(fam), -1, np.int64)
        pos[idx] = np.arange(len(idx))
        use = pos[views[1]] >= 0
        v = (fuse(views[0][use], enc.stage_dims, enc.fusion), pos[views[1][use]])  # type: ignore[attr-defined]
    res = train_concept_head(x[idx], t.y[idx], t.known[idx], fam[idx], t.concepts,
                             backbone_version=enc.feature_version, seed=seed, config=config,  # type: ignore[attr-defined]
                             views=v)
    res.head.cfg.metrics = {"kind": "concept", "families": sorted(set(fam[idx].tolist())), "n_train": int(len(idx)),
                            "n_concepts": len(t.concepts), "seed": seed, "excluded": list(exclude),
                            "views": 0 if v is None else int(len(v[1])),
                            "train_seconds": round(res.seconds, 1)}
    return Fitted(res.head, t, train, res)
