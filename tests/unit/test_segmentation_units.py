"""Segmentation head pieces without servers: partial-label loss, roll-up, masks, the GID split."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from embeddings.segmentation import (
    COARSE_GROUPS,
    FINE_CLASSES,
    IGNORE,
    N_FINE,
    SegDecoder,
    coarse_matrix,
    fractions,
    mask_png,
    partial_label_loss,
)
from rskg.composition.backfill import roll_up
from rskg.composition.gid import GidItem, items, split, targets


def test_coarse_groups_partition_the_fine_classes() -> None:
    m = coarse_matrix()
    assert m.shape == (5, 15) and (m.sum(0) == 1).all()
    assert len(FINE_CLASSES) == N_FINE == 15


def test_partial_label_loss_uses_the_union_for_coarse_pixels() -> None:
    torch.manual_seed(0)
    logits = torch.randn(1, N_FINE, 2, 2)
    p = torch.softmax(logits, 1)
    groups = torch.from_numpy(coarse_matrix())
    fine = torch.full((1, 2, 2), IGNORE, dtype=torch.int64)
    coarse = torch.full((1, 2, 2), IGNORE, dtype=torch.int64)
    coarse[0, 0, 0] = 4                                    # water: river + lake + pond
    got = partial_label_loss(logits, fine, coarse, groups)
    want = -torch.log(p[0, [12, 13, 14], 0, 0].sum())
    assert torch.allclose(got, want, atol=1e-5)
    fine[0, 0, 0] = 13                                     # a fine label wins over the coarse one
    got = partial_label_loss(logits, fine, coarse, groups)
    assert torch.allclose(got, -torch.log(p[0, 13, 0, 0]), atol=1e-5)
    # nothing labelled: zero loss, no NaN
    none = torch.full((1, 2, 2), IGNORE, dtype=torch.int64)
    assert float(partial_label_loss(logits, none, none, groups)) == 0.0


def test_decoder_output_grid() -> None:
    dec = SegDecoder()
    taps = [torch.zeros(2, 40, 28, 28), torch.zeros(2, 112, 14, 14), torch.zeros(2, 320, 7, 7)]
    assert dec(taps).shape == (2, N_FINE, 28, 28)


def test_fractions_roll_up_and_mask_png() -> None:
    mask = np.zeros((4, 4), np.uint8)
    mask[:2] = 12                                          # river
    mask[2:, :2] = 13                                      # lake
    mask[2:, 2:] = 0                                       # industrial land
    fr = fractions(mask)
    assert fr.sum() == pytest.approx(1.0) and fr[12] == pytest.approx(0.5)
    anc = {"river": ["watercourse", "inland_water", "water_area"], "lake": ["water_body", "inland_water",
           "water_area"], "industrial_land": ["artificial_surface"]}
    up = roll_up(fr, anc)
    assert up["water_area"] == pytest.approx(0.75) and up["inland_water"] == pytest.approx(0.75)
    assert up["artificial_surface"] == pytest.approx(0.25) and up["pond"] == 0.0
    back = np.asarray(Image.open(io.BytesIO(mask_png(mask))))
    assert (back == mask).all()


def test_gid_targets_remap() -> None:
    raw15 = np.array([[0, 12], [15, 9]], np.uint8)
    fine, coarse = targets(GidItem("gid_mtl15", Path("a"), Path("b"), "x"), raw15)
    assert fine.tolist() == [[0, 12], [IGNORE, 9]] and coarse.tolist() == [[0, 4], [IGNORE, 2]]
    raw5 = np.array([[0, 4], [5, 2]], np.uint8)
    fine, coarse = targets(GidItem("gid_mtl5", Path("a"), Path("b"), "x"), raw5)
    assert (fine == IGNORE).all() and coarse.tolist() == [[0, 4], [IGNORE, 2]]


def test_gid_split_is_seeded_disjoint_and_stratified(data_dir: Path) -> None:
    all5 = items(data_dir / "gid_mtl", "gid_mtl5")
    assert len(all5) == 1391 and all(it.mask.is_file() for it in all5[:20])
    tr, te = split(all5)
    tr2, te2 = split(all5)
    assert tr == tr2 and te == te2 and not set(tr) & set(te) and len(tr) + len(te) == 1391
    for name, _, _ in COARSE_GROUPS:
        scene = name.replace("-", "")
        n_all = sum(it.scene == scene for it in all5)
        assert abs(sum(it.scene == scene for it in te) - 0.2 * n_all) <= 1
