"""Prototypes, pair loss (hand-checked), GSD view planning and the UCMerced split."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from embeddings.pair_loss import label_weights, pair_loss
from embeddings.preprocess import ViewConfig, make_views, zoom_for
from embeddings.prototypes import kmeans_prototypes
from embeddings.splits import UCM_CLASSES, ucm_split
from rskg.errors import DataError, ValidationError


def test_prototypes_count_norm_and_determinism() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(57, 16)).astype(np.float32)
    p = kmeans_prototypes(x, k=10, seed=3)
    assert p.shape == (10, 16)
    assert np.allclose(np.linalg.norm(p, axis=1), 1, atol=1e-5)
    assert np.array_equal(p, kmeans_prototypes(x, k=10, seed=3))
    assert not np.allclose(p, kmeans_prototypes(x, k=10, seed=4))
    small = kmeans_prototypes(x[:4], k=10, seed=0)
    assert small.shape == (4, 16)  # k' = min(k, n)
    np.testing.assert_allclose(small, x[:4] / np.linalg.norm(x[:4], axis=1, keepdims=True), rtol=1e-6)
    # duplicates (the same image twice, or a vector and a multiple of it) do not make extra centres
    dup = np.vstack([x[:3], 2 * x[:3], x[:3]])
    np.testing.assert_allclose(kmeans_prototypes(dup, k=10), small[:3], rtol=1e-6)
    with pytest.raises(ValidationError):
        kmeans_prototypes(x[:0], k=3)


def test_pair_loss_hand_checked() -> None:
    # two samples share label 0; the third has label 1 only
    y = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    w = label_weights(y)
    s = 1 / np.sqrt(2)
    assert torch.allclose(w, torch.tensor([[1, s, 0], [s, 1, s], [0, s, 1]], dtype=torch.float32), atol=1e-6)
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])  # d01 = 2, d02 = 0, d12 = 2
    # pairs (ordered, both directions): (0,1): s*2 + (1-s)*relu(1-2)=2s ; (0,2): 0*0 + 1*relu(1-0)=1 ;
    # (1,2): s*2 + 0 = 2s  -> mean over the 6 ordered pairs = (2s + 1 + 2s) * 2 / 6
    expect = (4 * s + 1) * 2 / 6
    assert float(pair_loss(z, y, margin=1.0)) == pytest.approx(expect, rel=1e-6)
    # a label-similarity matrix saying labels 0 and 1 are the same makes every pair fully similar
    w_same = label_weights(y, torch.ones(2, 2))
    assert torch.allclose(w_same, torch.ones(3, 3))
    assert float(pair_loss(z, y, torch.ones(2, 2))) == pytest.approx((2 + 0 + 2) * 2 / 6)


def test_gsd_view_planning() -> None:
    cfg = ViewConfig(input_px=224, ref_gsd_m=1.0, max_zoom=4.0, max_px=320)
    img = np.zeros((256, 256, 3), np.uint8)
    assert [v.shape for v in make_views(img, None, cfg)] == [(224, 224, 3)]  # unknown GSD: 224 square
    assert zoom_for(0.5, cfg) == 0.5 and zoom_for(10.0, cfg) == 4.0 and zoom_for(0.01, cfg) == 0.25
    assert [v.shape for v in make_views(img, 0.5, cfg)] == [(128, 128, 3)]  # 0.5 m -> 1 m: half size
    # 64 px at 10 m: zoom clamped to 4 -> 256 px, not 640
    assert [v.shape for v in make_views(np.zeros((64, 64, 3), np.uint8), 10.0, cfg)] == [(256, 256, 3)]
    # 600 px at 1 m stays 608 px (multiple of 32) > max_px -> 3x3 crops of 224
    views = make_views(np.zeros((600, 600, 3), np.uint8), 1.0, cfg)
    assert len(views) == 9 and all(v.shape == (224, 224, 3) for v in views)
    # non-square, grey input
    assert make_views(np.zeros((100, 300), np.uint8), 1.0, cfg)[0].shape == (96, 288, 3)
    with pytest.raises(DataError):
        make_views(np.zeros((10, 10, 3), np.float32), None, cfg)


def test_ucm_split_fixed_stratified_disjoint(data_dir: Path) -> None:
    a, b = ucm_split(0), ucm_split(0)
    assert a == b and ucm_split(1).train != a.train
    assert len(a.train) == 1470 and len(a.test) == 630 and not set(a.train) & set(a.test)
    for c in UCM_CLASSES:
        assert sum(t.startswith(f"images/{c}/") for t in a.test) == 30
    with open(data_dir / "ucmerced" / "multilabels.csv") as fh:
        ids = {r["image"] for r in csv.DictReader(fh)}
    assert ids == set(a.train) | set(a.test)
    assert a.part_of("beach07.jpg") in ("train", "test")
