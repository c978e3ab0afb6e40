"""HIR stage 2 from pixel fractions (no servers): composition vectors and the order of a shortlist by the
weighted Manhattan distance (paper 002 Eq. 1), checked against distances computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from rskg.composition.backfill import FINE_CONCEPTS, roll_up
from rskg.evaluation.hir_composition import Config, configs, weights_for
from rskg.retrieval.hir import _fuse
from rskg.retrieval.hir_composition import classes_of, from_fine, vector
from rskg.retrieval.model import SampleHit

ANC = {"urban_fabric": ["residential_land", "artificial_surface"], "residential_land": ["artificial_surface"],
       "industrial_land": ["artificial_surface"], "river": ["watercourse", "water_area"],
       "lake": ["water_body", "water_area"], "forest": ["tree_cover"]}


def _fine(**shares: float) -> np.ndarray:
    v = np.zeros(len(FINE_CONCEPTS), np.float32)
    for c, s in shares.items():
        v[FINE_CONCEPTS.index(c)] = s
    return v


def test_stored_rollup_reads_back_as_fine_and_rollup_vectors() -> None:
    fine = _fine(urban_fabric=0.3, residential_land=0.2, river=0.5)
    rolled = roll_up(fine, ANC)                         # what the catalog stores
    assert rolled["residential_land"] == pytest.approx(0.5) and rolled["artificial_surface"] == pytest.approx(0.5)
    cf = classes_of("fine", ANC)
    assert cf == list(FINE_CONCEPTS)
    assert np.allclose(vector(rolled, cf, ANC), fine, atol=1e-6)          # rural residential back out: 0.2
    cr = classes_of("rollup", ANC)
    assert cr[len(FINE_CONCEPTS):] == ["artificial_surface", "tree_cover", "water_area", "water_body", "watercourse"]
    v = vector(rolled, cr, ANC)
    assert np.allclose(v, from_fine(fine, cr, ANC)[0], atol=1e-6)
    assert v[cr.index("artificial_surface")] == pytest.approx(0.5) and v[cr.index("water_area")] == pytest.approx(0.5)


def _hit(sid: str, score: float = 0.8) -> SampleHit:
    return SampleHit(sid, "d", "river", "supplementary", score)


def test_fractions_order_a_shortlist_by_hand_computed_wmd() -> None:
    cls = classes_of("fine", ANC)
    x = _fine(river=0.5, forest=0.5)                    # the query's composition
    d = {"a": _fine(river=0.5, forest=0.5),             # WMD 0
         "b": _fine(river=0.5, urban_fabric=0.5),       # |0.5 forest| + |0.5 urban| = 1.0 (water weighted: 1.0)
         "c": _fine(river=0.2, forest=0.8),             # 0.3 + 0.3 = 0.6 (water weighted x4: 1.2 + 0.3 = 1.5)
         "e": _fine(lake=1.0)}                          # 0.5 + 0.5 + 1.0 = 2.0 (x4: 2.0 + 0.5 + 1.0 = 3.5)
    head = [_hit(s) for s in ("e", "b", "c", "a", "unknown")]   # stage-1 order; 'unknown' has no composition
    w1 = np.ones(len(cls), np.float32)
    out = _fuse(head, x, d, w1, 1000.0)                 # lambda 1000: paper 002's order (WMD alone)
    assert [h.sample_id for h in out] == ["a", "c", "b", "e", "unknown"]
    assert [h.hir_distance for h in out] == pytest.approx([0.0, 0.6, 1.0, 2.0, None])
    w4 = w1.copy()
    w4[cls.index("river")] = 4.0                        # the query concept emphasised (QUERY_WEIGHT)
    out4 = _fuse(head, x, d, w4, 1000.0)
    assert [h.sample_id for h in out4] == ["a", "b", "c", "e", "unknown"]
    assert [h.hir_distance for h in out4] == pytest.approx([0.0, 1.0, 1.5, 3.5, None])
    # fused: score - lambda * WMD, a better stage-1 score can beat a smaller distance
    scored = [_hit("c", 0.9), _hit("a", 0.5)]
    assert [h.sample_id for h in _fuse(scored, x, d, w1, 0.2)] == ["c", "a"]     # 0.9 - 0.12 > 0.5 - 0
    assert [h.sample_id for h in _fuse(scored, x, d, w1, 1.0)] == ["a", "c"]     # 0.5 - 0 > 0.9 - 0.6


def test_eval_configurations_and_building_weights() -> None:
    cls = classes_of("rollup", ANC)
    w = weights_for(cls, 17, True)
    assert len(w) == len(cls) + 17
    assert {cls[i] for i in np.flatnonzero(w == 4.0)} == {"industrial_land", "urban_fabric", "residential_land"}
    assert (weights_for(cls, 0, False) == 1.0).all()
    names = {c.name for c in configs()}
    assert len(names) == len(configs()) == 2 * 4 * 2 * 2 * 2 * 2
    cfg = Config("soft", (224, 128, 64), "rollup", True, "fused", True)
    assert cfg.name == "soft 224+128+64px rollup +patch fused w=4"


def test_both_weights_fuse_two_lambdas_into_one_wmd() -> None:
    """hir_source "both" with hir_patch_lambda: score - lf * WMD(fractions) - lp * WMD(patch) == score - λ * WMD
    over the concatenated vector with both_weights, and the shortlist order by hand."""
    from rskg.retrieval.hir import both_weights, wmd

    wp, wc = np.ones(2, np.float32), np.asarray([1.0, 4.0], np.float32)
    w, lam = both_weights(wp, wc, 0.01, 0.1)
    assert lam == pytest.approx(0.01) and np.allclose(w, [10.0, 10.0, 1.0, 4.0])
    x = np.asarray([0.5, 0.5, 1.0, 0.0], np.float32)                  # [patch | fractions] of the query
    ys = np.asarray([[0.5, 0.5, 0.0, 1.0],                           # fractions far: 0.01 * (1 + 4) = 0.05
                     [0.0, 1.0, 1.0, 0.0],                           # patch far: 0.1 * (0.5 + 0.5) = 0.1
                     [0.25, 0.75, 0.75, 0.25]], np.float32)          # 0.1 * 0.5 + 0.01 * (0.25 + 1) = 0.0625
    pen = lam * wmd(x, ys, w)
    assert np.allclose(pen, [0.05, 0.1, 0.0625])
    hits = [SampleHit(f"s{i}", "ds", "c", "supplementary", score) for i, score in enumerate((0.9, 0.92, 0.9))]
    order = [h.sample_id for h in _fuse(hits, x, {h.sample_id: ys[i] for i, h in enumerate(hits)}, w, lam)]
    assert order == ["s0", "s2", "s1"]            # 0.85, 0.8375, 0.82
    w0, lam0 = both_weights(wp, wc, 0.0, 0.2)     # no fraction λ: patch only
    assert lam0 == pytest.approx(0.2) and np.allclose(w0, [1.0, 1.0, 0.0, 0.0])
