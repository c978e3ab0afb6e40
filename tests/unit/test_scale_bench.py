"""benchmarks.scale: the headline keys of issue 20 and the pool's pixel transforms (no servers, no timing)."""

from __future__ import annotations

import numpy as np

from benchmarks._scale_pool import CROPS, apply, transform_name
from benchmarks.scale import KEYS, headline


def test_headline_has_exactly_the_keys_and_a_reason_for_each_null() -> None:
    empty = headline({})
    assert [k for k in empty if not k.endswith("_reason")] == list(KEYS)
    assert all(empty[k] is None and empty[f"{k}_reason"] for k in KEYS)
    sections = {
        "ingest": {"end_to_end": {"images_per_s": 80.0}, "limit_images_per_s": 100.0, "efficiency": 0.8},
        "catalog": {"steps": [  # the supplementary step (what paper Fig. 8 times) at 10k and at 1M+ vectors
            {"catalog_rows": 10_000, "index": {"vectors": 10_000}, "none": {"p99_supplementary_ms": 10.0}},
            {"catalog_rows": 1_000_000, "index": {"vectors": 999_000}, "none": {"p99_supplementary_ms": 99.0}},
            {"catalog_rows": 1_400_000, "index": {"vectors": 1_000_100}, "none": {"p99_supplementary_ms": 12.0}}]},
        "concurrency": {"levels": [{"concurrency": 140, "p99_s": 0.5, "errors": 0},
                                   {"concurrency": 200, "p99_s": 0.9, "errors": 3}]},
    }
    full = headline(sections)
    assert list(full) == list(KEYS)
    assert (full["ingest_efficiency"], full["retrieval_p99_ms_1m"], full["ratio_1m_to_10k"],
            full["concurrency_140_p99_s"], full["errors_200"]) == (0.8, 12.0, 1.2, 0.5, 3)


def test_pool_transforms_are_real_pixels_of_the_source() -> None:
    img = np.random.default_rng(0).integers(0, 255, (64, 80, 3), dtype=np.uint8)
    names = [transform_name(p) for p in range(8 * len(CROPS))]
    assert len(set(names)) == len(names) and names[0] == "id"
    assert np.array_equal(apply(img, 0), img)
    for p in range(1, 8):                     # flips / rotations: the same pixels, rearranged
        out = apply(img, p)
        assert sorted(out.shape[:2]) == sorted(img.shape[:2])
        assert np.array_equal(np.sort(out.reshape(-1, 3), axis=0), np.sort(img.reshape(-1, 3), axis=0))
    tl = apply(img, 8)                        # id + top-left 75 % crop
    assert tl.shape == (48, 60, 3) and np.array_equal(tl, img[:48, :60])
    c = apply(img, 8 * 5)                     # id + centre crop
    assert np.array_equal(c, img[8:56, 10:70])
