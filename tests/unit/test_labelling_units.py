"""Small checks of the labelling pipeline parts (paper 001), no servers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rskg.errors import ValidationError
from rskg.labelling import fcm, gnn, matching, segments
from rskg.labelling.artifacts import Prepared
from rskg.labelling.chips import Normaliser, from_arrays
from rskg.labelling.config import LabellingConfig
from rskg.labelling.evaluation import SegDesc, measures
from rskg.labelling.save import LabelRequest, validate
from rskg.labelling.unet import UNet, activations, dice_bce


def test_fcm_finds_two_separated_groups() -> None:
    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(0, 0.1, (200, 3)), rng.normal(5, 0.1, (200, 3))]
    model = fcm.fit(x, 2, seed=1)
    centres = np.sort(model.centres[:, 0])
    assert centres[0] == pytest.approx(0, abs=0.05) and centres[1] == pytest.approx(5, abs=0.05)
    u = model.predict(x)
    assert np.allclose(u.sum(1), 1, atol=1e-5)
    assert (u.max(1) > 0.99).mean() > 0.95            # clear points are (almost) crisp
    mid = model.predict(np.full((1, 3), 2.5))
    assert mid[0] == pytest.approx([0.5, 0.5], abs=0.05)  # the midpoint is shared


def test_dice_bce_prefers_the_right_answer() -> None:
    target = torch.zeros(1, 2, 4, 4)
    target[:, 0] = 1
    good = torch.where(target > 0, 8.0, -8.0)
    assert float(dice_bce(good, target)) < 0.01 < float(dice_bce(-good, target))


def test_unet_keeps_size_for_odd_chips_and_checks_bands() -> None:
    net = UNet(4, 3, (8, 16, 32), 12).eval()
    out = activations(net, np.zeros((4, 61, 70), np.float32))
    assert out.shape == (12, 61, 70)
    with pytest.raises(ValidationError, match="trained on 4 bands"):
        activations(net, np.zeros((3, 64, 64), np.float32))


def test_gcn_layer_is_the_symmetric_normalised_sum() -> None:
    layer = gnn.GCNLayer(1, 1)
    with torch.no_grad():
        layer.lin.weight.fill_(1.0)
        layer.lin.bias.fill_(0.0)
    # path 0-1-2 with self loops: degrees 2, 3, 2
    e = torch.tensor([[0, 1, 1, 2, 0, 1, 2], [1, 0, 2, 1, 0, 1, 2]])
    out = layer(torch.tensor([[1.0], [2.0], [4.0]]), e).detach().numpy().ravel()
    expect = [1 / 2 + 2 / np.sqrt(6), 1 / np.sqrt(6) + 2 / 3 + 4 / np.sqrt(6), 2 / np.sqrt(6) + 4 / 2]
    assert out == pytest.approx(expect, rel=1e-5)


def test_gat_attention_is_a_convex_combination() -> None:
    torch.manual_seed(0)
    layer = gnn.GATv2Layer(2, 1, 1)
    with torch.no_grad():
        layer.wl.weight.copy_(torch.tensor([[1.0, 0.0]]))
        layer.wl.bias.zero_()
    x = torch.tensor([[1.0, 0.0], [3.0, 0.0], [5.0, 0.0]])
    e = torch.tensor([[0, 1, 2, 0, 1, 2], [0, 0, 0, 1, 1, 2]])   # node 0 hears everyone
    out = layer(x, e).detach().numpy().ravel()
    assert 1.0 < out[0] < 5.0 and out[2] == pytest.approx(5.0)   # node 2 hears only itself


def test_hungarian_similarity_ignores_segment_order() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(10, 6))
    assert matching.pair_similarity(a, a[rng.permutation(10)]) == pytest.approx(1.0)
    ortho = np.c_[np.zeros((10, 3)), a[:, :3]]
    sim = matching.similarity_matrix([np.c_[a[:, :3], np.zeros((10, 3))], ortho[::-1], ortho])
    assert sim[1, 2] == pytest.approx(1.0, abs=1e-5) and sim[0, 2] == pytest.approx(0.0, abs=1e-5)
    assert np.allclose(sim, sim.T)
    chips = [rng.normal(size=(int(rng.integers(9, 20)), 6)) for _ in range(12)]
    exact = matching.similarity_matrix(chips)
    assert np.allclose(matching.similarity_matrix(chips, exact_max=0, candidates=11), exact, atol=1e-6)
    approx = matching.similarity_matrix(chips, exact_max=0, candidates=3)
    for i in range(12):      # each chip's 3 nearest by the proxy are matched exactly and rank first
        top = np.argsort(-approx[i])[1:4]
        assert np.allclose(approx[i, top], exact[i, top], atol=1e-6)
    big = rng.normal(size=(300, 6))
    assert len(matching.summarise(big, 64)) == 64


def test_segment_graph_of_a_real_sized_chip() -> None:
    cfg = LabellingConfig()
    assert cfg.n_segments(256, 256) == 500 and cfg.n_segments(64, 64) == 31
    rng = np.random.default_rng(0)
    rgb = (rng.random((64, 64, 3)) * 255).astype(np.uint8)
    assert segments.segment(rgb, cfg).max() + 1 >= 9       # noise: SLIC gives 1 region, the grid fallback 31
    yy, xx = np.mgrid[:64, :64]
    rgb = np.stack([xx * 4, yy * 4, (xx + yy) * 2], -1).astype(np.uint8)
    lab = segments.segment(rgb, cfg)
    g = segments.build(lab, rng.random((5, 64, 64)).astype(np.float32),
                       rng.dirichlet(np.ones(3), 64 * 64).T.reshape(3, 64, 64).astype(np.float32), cfg.k)
    assert g.n == lab.max() + 1 >= 9
    assert g.edges.shape == (2, g.n * 8) and (g.edges[0] != g.edges[1]).all()
    assert np.allclose(g.targets.sum(1), 1, atol=1e-5)
    assert g.sizes.sum() == 64 * 64


def test_chip_too_small_for_the_segment_count() -> None:
    with pytest.raises(ValidationError, match="too small") as err:
        segments.segment(np.zeros((8, 8, 3), np.uint8), LabellingConfig(), "tiny")
    assert "at least" in err.value.hint


def test_band_count_the_model_does_not_know() -> None:
    rgb = np.zeros((16, 16, 3), np.uint8)
    norm = Normaliser.fit([from_arrays("a", rgb, np.ones((12, 16, 16), np.uint16) * 100)])
    with pytest.raises(ValidationError, match="3 bands, but the U-Net was trained on 12"):
        norm(from_arrays("b", rgb))


def _prep() -> Prepared:
    return Prepared("src", ["s:1", "s:2"], np.zeros((2, 2), np.float32), [np.zeros((4, 4), np.int32)] * 2,
                    [np.zeros((9, 3), np.float32)] * 2, np.eye(2))


def test_empty_selection_and_bad_segments_are_refused() -> None:
    with pytest.raises(ValidationError, match="selection is empty"):
        validate(LabelRequest("mine", "src", "flooded field"), _prep())
    with pytest.raises(ValidationError, match="no label"):
        validate(LabelRequest("mine", "src", "  ", chips=["s:1"]), _prep())
    with pytest.raises(ValidationError, match="do not exist"):
        validate(LabelRequest("mine", "src", "x", segments={"s:1": [3, 99]}), _prep())
    ok = validate(LabelRequest("mine", "src", " flooded   field ", chips=["s:1", "s:2"],
                               segments={"s:2": [1]}), _prep())
    assert ok.label == "flooded field" and ok.chips == ["s:1"] and ok.segments == {"s:2": [1]}


def test_identical_segments_score_perfectly() -> None:
    d = SegDesc(np.arange(6.0), np.full(10, 0.1), np.arange(256, dtype=np.float32).reshape(16, 16),
                np.array([0.1, 0.2, 0.3]))
    glcm, lbp, ssim, sam = measures(d, d)
    assert glcm == 0 and lbp == pytest.approx(1) and ssim == pytest.approx(1) and sam == pytest.approx(0, abs=1e-6)
