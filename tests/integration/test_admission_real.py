"""Calibrated admission happens before the supplementary cut, on real images.

A short concept head trained (through the label system) on 10 UCMerced train-split images per class + the 200
NWPU-RESISC45 images; the image index holds the head embeddings of the UCMerced test split and all RSSCN7
images; the ``forest`` / ``river`` prototypes are the mean embeddings of the UCMerced training images of the
concept. The search restricted to the admissible positions returns ``limit`` samples, all admitted, wherever
that many admissible samples are reachable; admitting after the cut (the old order) returns fewer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings.backbone import fuse
from embeddings.faiss_index import VectorIndex, l2n
from embeddings.head_model import file_digest, save_head
from rskg.artifacts import head_path
from rskg.corpora.features import encoder, raw_features
from rskg.corpora.images import from_folder
from rskg.headtrain.corpus import Corpus, Part
from rskg.headtrain.fit import fit
from rskg.headtrain.train import ConceptTrainConfig
from rskg.retrieval.admission import admissible, admission, admit, probabilities
from rskg.retrieval.scoring import concept_score
from rskg.retrieval.supplementary import Query, hit_score, search
from rskg.services import Services
from rskg.settings import Settings


def _ucm_rows(imgs: object, split: set[str], per_class: int | None) -> list[int]:
    seen: dict[str, int] = {}
    rows = []
    for i, (p, lab) in enumerate(zip(imgs.rel_paths, imgs.scene_labels(), strict=True)):  # type: ignore[attr-defined]
        if p in split and (per_class is None or seen.get(lab, 0) < per_class):
            seen[lab] = seen.get(lab, 0) + 1
            rows.append(i)
    return rows


def test_admission_before_the_cut(settings: Settings, data_dir: object, tmp_path: Path) -> None:
    from embeddings.splits import ucm_split
    from rskg.label_mapping import load_system

    enc = encoder(settings, use_head=False)
    ucm = from_folder(settings, "ucm")
    sp = ucm_split(0)
    train_imgs = ucm.subset(_ucm_rows(ucm, set(sp.train), 10))
    test_imgs = ucm.subset(_ucm_rows(ucm, set(sp.test), None))
    nwpu, rsscn7 = from_folder(settings, "nwpu_resisc45"), from_folder(settings, "rsscn7")
    parts = [Part("ucm", "ucm", "ucm", train_imgs, raw_features(settings, enc, train_imgs),
                  np.ones(len(train_imgs), bool)),
             Part("nwpu", "nwpu_resisc45", "nwpu_resisc45", nwpu, raw_features(settings, enc, nwpu),
                  np.ones(len(nwpu), bool))]
    f = fit(load_system(settings), Corpus(parts), enc, config=ConceptTrainConfig(epochs=8, per_family=300))
    head = f.head
    assert {"forest", "river"} <= set(head.cfg.labels)
    head.cfg.metrics["thresholds"] = {"forest": 0.5, "river": 0.5}
    s = settings.model_copy(update={"home": tmp_path})
    hp = save_head(head, head_path(s.home))

    def emb(imgs: object) -> np.ndarray:
        return head.embed_numpy(fuse(raw_features(settings, enc, imgs), enc.stage_dims, enc.fusion))  # type: ignore[arg-type]

    pool = np.vstack([emb(test_imgs), emb(rsscn7)])
    ids = [f"ucm:{p}" for p in test_imgs.rel_paths] + [f"rsscn7:{p}" for p in rsscn7.rel_paths]
    index = VectorIndex.build(ids, pool, version=f"{enc.feature_version}-head{file_digest(hp)}")
    svc = Services(s)
    tr_emb, tr_labels = emb(train_imgs), train_imgs.scene_labels()
    queries = []
    for root, scene in (("forest", "forest"), ("river", "river")):
        vec = l2n(tr_emb[[i for i, lab in enumerate(tr_labels) if lab == scene]].mean(0, keepdims=True))[0]
        queries.append(Query(root, root, f"proto:{root}", vec, 0.0, (root,)))
    notes: list[str] = []
    adm = admissible(svc, index, ["forest", "river", "unknown_concept"], notes)
    assert set(adm) == {"forest", "river"} and len(notes) == 2
    table = admission(svc, index)
    assert table is not None and table.proba.shape == (len(ids), len(head.cfg.labels))
    k, limit = 60, 40
    for q in queries:
        n_adm = len(adm[q.root])
        new = admit(svc, index, search(index, [q], k, None, {}, -1.0, limit=limit, admitted=adm), [])
        old = admit(svc, index, search(index, [q], k, None, {}, -1.0, limit=limit), [])
        assert len(new) >= min(limit, n_adm), (q.root, len(new), n_adm)      # ties at the cut stay
        assert all(ev.probability is not None and ev.probability >= 0.5 for ev in new.values())
        assert set(old) <= set(new) or len(old) < len(new)
        print(q.root, "admissible", n_adm, "old order kept", len(old), "new order kept", len(new))
    # the fused score (rskg.retrieval.scoring, the LODO eval's "concept head score") ranks the admitted hits
    proba = probabilities(svc, index, ["river", "unknown_concept"])
    assert set(proba) == {"river"} and np.array_equal(proba["river"], table.proba[:, table.columns["river"]])
    fused = search(index, [queries[1]], k, None, {}, -1.0, limit=limit, admitted=adm, probability=proba)
    pos = index.positions
    for (sid, _), ev in fused.items():
        assert ev.probability == pytest.approx(float(proba["river"][pos[sid]]), abs=1e-4)
    hits = sorted(fused.values(), key=hit_score, reverse=True)
    assert [round(hit_score(e), 6) for e in hits] == sorted((round(concept_score(e.similarity, e.probability), 6)
                                                             for e in hits), reverse=True)
    # the old order loses admissible samples for at least one of the two concepts on this data
    olds = [len(admit(svc, index, search(index, [q], k, None, {}, -1.0, limit=limit), [])) for q in queries]
    assert min(olds) < limit
