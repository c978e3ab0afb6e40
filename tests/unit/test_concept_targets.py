"""Concept targets through the real label system: ancestors on, unknown masked, covers left unknown."""

from __future__ import annotations

import numpy as np
import pytest

from rskg.headtrain.targets import ancestors, concept_targets, head_columns
from rskg.headtrain.train import ConceptTrainConfig, train_concept_head
from rskg.settings import Settings


@pytest.fixture(scope="module")
def system(settings: Settings):  # type: ignore[no-untyped-def]
    from rskg.label_mapping import load_system

    return load_system(settings)


def test_partial_label_targets(system) -> None:  # type: ignore[no-untyped-def]
    sets = [{"eurosat": ["Forest"]}, {"eurosat": ["SeaLake"]}, {"nwpu_resisc45": ["river"]},
            {"gid_mtl15": ["arbor_woodland"]}, {"ucm": ["river"], "ucm_multilabel": ["trees", "water"]}]
    vocab = {"eurosat": ["Forest", "SeaLake", "River", "Residential"], "nwpu_resisc45": ["river", "forest"],
             "gid_mtl15": ["arbor_woodland", "lake"], "ucm": ["river", "forest"], "ucm_multilabel": ["trees", "water"]}
    t = concept_targets(system, sets, vocab, min_positives=1)
    c = {k: j for j, k in enumerate(t.concepts)}
    assert {"forest", "tree_cover", "river", "watercourse", "water_area"} <= set(c)
    # a label switches on its concept and every ancestor
    assert all(t.y[0, c[a]] == 1 for a in ancestors(system, "forest"))
    # EuroSAT Forest: river is a negative (EuroSAT has 'River'); residential known negative
    assert t.known[0, c["river"]] and t.y[0, c["river"]] == 0
    # NWPU cannot speak about residential land: unknown, not a negative
    if "residential_land" in c:
        assert not t.known[2, c["residential_land"]]
    # SeaLake covers lake (and sea): unknown for its samples, never a negative
    if "lake" in c:
        assert not t.known[1, c["lake"]]
    # GID labels resolve through ontology/curation/reader_labels.yaml
    assert t.y[3, c["forest"]] == 1 and not t.unmatched
    # two label sets of one image: union of positives
    assert t.y[4, c["river"]] == 1 and t.y[4, c["water_area"]] == 1
    assert (t.y <= t.known).all()


def test_head_columns_map_dataset_labels_to_concepts(system) -> None:  # type: ignore[no-untyped-def]
    cols = head_columns(["tree_cover", "trees", "water_area"], ["trees", "water", "dock"], "ucm_multilabel", system)
    assert cols[0] == 1 and cols[1] == 2 and cols[2] is None


def test_masked_training_ignores_unknown_cells() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 16)).astype(np.float32)
    y = (x[:, :2] > 0).astype(np.float32)
    known = np.ones_like(y, bool)
    known[:100, 1] = False
    y_noisy = y.copy()
    y_noisy[:100, 1] = 1 - y[:100, 1]            # wrong labels, but masked: they must not matter
    fam = np.asarray(["a"] * 100 + ["b"] * 100)
    cfg = ConceptTrainConfig(epochs=20, per_family=100, batch_size=50, hidden=32, emb_dim=16, input_dropout=0.0)

    def accuracy(mask: np.ndarray) -> float:
        res = train_concept_head(x, y_noisy, mask, fam, ["c0", "c1"], backbone_version="t", config=cfg)
        assert res.epoch_loss[-1] < res.epoch_loss[0]
        return float(((res.head.predict_proba(x)[:, 1] > 0.5) == (y[:, 1] > 0)).mean())

    masked, unmasked = accuracy(known), accuracy(np.ones_like(known))
    assert masked > 0.75 and masked > unmasked + 0.1


def test_thresholds_reach_the_held_out_precision() -> None:
    from rskg.headtrain.calibrate import FALLBACK, learn_thresholds, threshold_for

    p = np.asarray([0.95, 0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2])
    rel = np.asarray([1, 1, 0, 1, 0, 1, 0, 0], bool)
    t = threshold_for(p, rel, 0.7)
    assert t == 0.7                      # top 4: 3 of 4 relevant (0.75); top 6: 4 of 6 (0.67)
    p2, rel2 = np.concatenate([p, p]), np.concatenate([rel, rel])       # 8 positives (>= MIN_POSITIVES)
    y = np.stack([rel2, [1, 1] + [0] * 14], axis=1).astype(np.float32)  # b: 2 positives -> fallback
    th = learn_thresholds(np.stack([p2, p2], 1), y, np.ones_like(y, bool), ["a", "b"])
    assert th == {"a": 0.7, "b": FALLBACK}
