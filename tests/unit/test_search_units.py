"""rskg.search without servers or models: query parsing, paper 003 metrics (hand-computed), scoring, ridge map."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rskg.errors import ValidationError
from rskg.search.learned import LinearMap, multi_hot
from rskg.search.metrics import acg_at, ap_at, ndcg_at, paper003, wap_at
from rskg.search.query import MAX_QUERY_CHARS, split_phrases, validate
from rskg.search.scoring import Calibration, Expanded, concept_scores, root_scores


def test_phrases_of_real_queries() -> None:
    assert split_phrases(validate("a harbor with many boats next to a beach"))[:3] == ["harbor", "boats", "beach"]
    assert split_phrases(validate("sparse houses among trees"))[:2] == ["sparse houses", "trees"]
    assert split_phrases(validate("River")) == ["river"]
    assert split_phrases(validate("Many cars in the parking lot ."))[:2] == ["cars", "parking lot"]


@pytest.mark.parametrize("bad", ["", "   ", "\n\t", "x" * 10_000, "... !!! ???", None])
def test_empty_or_huge_query_is_a_clear_error(bad: str | None) -> None:
    with pytest.raises(ValidationError) as exc:
        validate(bad)
    assert exc.value.hint


def test_limit_is_exactly_the_documented_one() -> None:
    assert validate("a" * MAX_QUERY_CHARS) == "a" * MAX_QUERY_CHARS
    with pytest.raises(ValidationError):
        validate("a" * (MAX_QUERY_CHARS + 1))


@pytest.mark.parametrize("evil", ["'; DROP TABLE samples; --", "MATCH (n) DETACH DELETE n", "<script>x</script>",
                                  "river\x00\x1b[31m", "{{7*7}} ${jndi:ldap://x}"])
def test_injection_strings_are_just_words(evil: str) -> None:
    phrases = split_phrases(validate(evil))
    assert all(isinstance(p, str) and "\x00" not in p and ";" not in p for p in phrases)


def test_paper003_metrics_by_hand() -> None:
    g = [2, 0, 1]                       # shared labels of the top 3
    assert acg_at(g, 3) == pytest.approx(1.0)
    assert ap_at(g, 3) == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert wap_at(g, 3) == pytest.approx((2.0 + 1.0) / 2)      # ACG@1 = 2, ACG@3 = 1
    dcg = 3 / np.log2(2) + 0 + 1 / np.log2(4)
    ideal = 3 / np.log2(2) + 1 / np.log2(3) + 0
    assert ndcg_at(g, [0, 1, 2, 0], 3) == pytest.approx(dcg / ideal)
    assert ap_at([0, 0], 2) == 0.0 and wap_at([0, 0], 2) == 0.0
    out = paper003(np.asarray([g, [1, 1, 1]], float), np.asarray([[2, 1, 0], [1, 1, 1]], float), ns=(1,))
    assert out["MAP@1"] == pytest.approx(1.0) and out["ACG@1"] == pytest.approx(1.5)


def test_concept_scores_follow_the_formula() -> None:
    feats = np.asarray([[1, 0], [0, 1], [0.6, 0.8]], np.float32)
    protos = np.asarray([[1, 0], [0, 1]], np.float32)
    rel = [Expanded("a", "a", 0.0, ("a",)), Expanded("b", "b", 0.0, ("b",)), Expanded("b", "a", 1.0, ("b", "a"))]
    s, ev = concept_scores({"a": 1.0, "b": 3.0}, rel, ["a", "b"], protos, feats)
    # image 0: s_a = 1, s_b = max(0, 1/2) = 0.5 -> (1 + 1.5) / 4
    assert s[0] == pytest.approx(2.5 / 4)
    assert s[1] == pytest.approx((0 + 3 * 1) / 4)
    assert [e.concept_id for e in ev[0]] == ["a", "a"] and ev[0][1].distance == 1.0
    roots, mat, _ = root_scores({"a": 1.0, "zz": 1.0}, rel, ["a", "b"], protos, feats)
    assert roots == ["a"] and mat[:, 0] == pytest.approx([1.0, 0.0, 0.6])
    cal = Calibration(0.5, 0.25, 0.1, 0.1, 0.5)
    assert cal.fuse(np.asarray([1.0]), np.asarray([0.2]))[0] == pytest.approx(0.5 * 2 + 0.5 * 1)


def test_ridge_map_recovers_a_linear_map_and_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 8)).astype(np.float32)
    W = rng.normal(size=(8, 3)).astype(np.float32)
    m = LinearMap.fit(x, x @ W + 1.0, alpha=1e-6, outputs=["a", "b", "c"])
    assert np.allclose(m.predict(x[:5]), x[:5] @ W + 1.0, atol=1e-3)
    back = LinearMap.load(m.save(tmp_path / "m.npz"))
    assert back.outputs == ["a", "b", "c"] and np.allclose(back.W, m.W) and back.meta["n_train"] == 200
    assert multi_hot([{"b"}, {"a", "x"}], ["a", "b"]).tolist() == [[0, 1], [1, 0]]
