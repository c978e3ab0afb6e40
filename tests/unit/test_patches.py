"""embeddings.patches: the patch grid of the HIR class distributions."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings.patches import grid_patches, image_distributions, normalise


def test_grid_patches_tile_the_image_exactly() -> None:
    img = np.arange(256 * 250 * 3, dtype=np.int64).reshape(256, 250, 3)
    for g in (1, 2, 3, 5):
        ps = grid_patches(img, g)
        assert len(ps) == g * g
        assert sum(p.shape[0] * p.shape[1] for p in ps) == 256 * 250
        rows = [np.concatenate(ps[i * g:(i + 1) * g], axis=1) for i in range(g)]
        assert (np.concatenate(rows, axis=0) == img).all()            # row by row, nothing lost or repeated
        assert max(p.shape[0] for p in ps) - min(p.shape[0] for p in ps) <= 1
    with pytest.raises(ValueError):
        grid_patches(img[:2, :2], 3)
    with pytest.raises(ValueError):
        grid_patches(img, 0)


def test_image_distribution_is_the_mean_of_normalised_patches() -> None:
    # two images of 2x2 patches over 3 classes
    probs = np.array([[1, 0, 0], [1, 0, 0], [0, 2, 0], [0, 0, 0],      # image 1: half class 0, a quarter class 1
                      [1, 1, 0], [1, 1, 0], [1, 1, 0], [1, 1, 0]], np.float32)
    d = image_distributions(probs, grid=2)
    assert d.shape == (2, 3)
    assert np.allclose(d[0], [2 / 3, 1 / 3, 0])                       # the empty patch adds nothing
    assert np.allclose(d[1], [0.5, 0.5, 0])
    assert np.allclose(normalise(np.zeros((1, 3))), 0)
    with pytest.raises(ValueError):
        image_distributions(probs[:7], grid=2)
