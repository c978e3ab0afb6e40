"""Calibrated supplementary admission: the concept head's probability from the stored embedding decides."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embeddings.faiss_index import VectorIndex
from embeddings.head_model import file_digest, save_head
from rskg.artifacts import head_path
from rskg.headtrain.train import ConceptTrainConfig, train_concept_head
from rskg.retrieval.admission import admit
from rskg.retrieval.model import Evidence
from rskg.services import Services
from rskg.settings import Settings


def test_admission_keeps_samples_the_head_calls_the_concept(settings: Settings, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 8)).astype(np.float32)
    y = np.stack([x[:, 0] > 0, x[:, 1] > 0], 1).astype(np.float32)
    cfg = ConceptTrainConfig(epochs=30, per_family=120, batch_size=40, hidden=16, emb_dim=8, input_dropout=0.0)
    head = train_concept_head(x, y, np.ones_like(y, bool), np.asarray(["a"] * 120), ["river", "forest"],
                              backbone_version="t", config=cfg).head
    head.cfg.metrics = {"kind": "concept", "thresholds": {"river": 0.5}}
    s = settings.model_copy(update={"home": tmp_path})
    hp = save_head(head, head_path(s.home))
    ids = [f"d:{i}" for i in range(len(x))]
    index = VectorIndex.build(ids, head.embed_numpy(x), version=f"enc-head{file_digest(hp)}")
    found = {(sid, "river"): Evidence("river", "p1", 0.8, 0.0, ("river",)) for sid in ids}
    found[("d:0", "example")] = Evidence("example", "example:x", 0.9, 0.0, ())
    notes: list[str] = []
    out = admit(Services(s), index, found, notes)
    kept = {int(k[0].split(":")[1]) for k in out if k[1] == "river"}
    assert ("d:0", "example") in out and out[("d:0", "example")].probability is None   # not a head concept
    assert 0 < len(kept) < len(x) and notes
    assert np.mean([x[i, 0] > 0 for i in kept]) > 0.85                                   # mostly true rivers
    assert all(out[(f"d:{i}", "river")].probability >= 0.5 for i in kept)               # type: ignore[operator]
    # an index built by another encoder version: the head does not decide, nothing is dropped
    other = VectorIndex.build(ids, head.embed_numpy(x), version="enc-nohead")
    assert admit(Services(s), other, found, []) == found
