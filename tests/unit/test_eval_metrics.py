"""Metric code of rskg.evaluation against small cases computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rskg.evaluation import metrics as M


def test_precision_at_k() -> None:
    rel = [1, 0, 1, 1, 0]
    assert M.precision_at_k(rel, 1) == 1.0
    assert M.precision_at_k(rel, 2) == 0.5
    assert M.precision_at_k(rel, 4) == 0.75
    assert M.precision_at_k(rel, 10) == 0.3          # short ranking: missing ranks count as misses
    with pytest.raises(ValueError):
        M.precision_at_k(rel, 0)


def test_ap_at_k() -> None:
    # hits at ranks 1, 3, 4 -> precisions 1/1, 2/3, 3/4 -> mean = (1 + 0.6667 + 0.75) / 3
    assert M.ap_at_k([1, 0, 1, 1, 0], 5) == pytest.approx((1 + 2 / 3 + 3 / 4) / 3)
    # only the top 2 count: one hit at rank 1 -> 1.0
    assert M.ap_at_k([1, 0, 1, 1, 0], 2) == 1.0
    # first hit at rank 2: 1/2
    assert M.ap_at_k([0, 1, 0], 3) == 0.5
    assert M.ap_at_k([0, 0, 0], 3) == 0.0


def test_mean_p_at_1_to_m() -> None:
    # P@1..P@4 of [1,0,1,0] = 1, 1/2, 2/3, 1/2 -> mean 2.6667/4
    assert M.mean_p_at_1_to_m([1, 0, 1, 0], 4) == pytest.approx((1 + 0.5 + 2 / 3 + 0.5) / 4)


def test_average_precision_full_ranking() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    relevant = np.array([True, False, True, False])
    # ranks 1 and 3: (1/1 + 2/3) / 2
    assert M.average_precision(scores, relevant) == pytest.approx((1 + 2 / 3) / 2)
    assert math.isnan(M.average_precision(scores, np.zeros(4, bool)))


def test_precision_at_recall() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    relevant = np.array([1, 0, 1, 0, 1, 0], bool)
    # recall steps: 1/3 at cut 1 (P=1), 2/3 at cut 3 (P=2/3), 1 at cut 5 (P=3/5)
    assert M.precision_at_recall(scores, relevant, 0.65) == pytest.approx(2 / 3)
    assert M.precision_at_recall(scores, relevant, 0.30) == 1.0
    assert M.precision_at_recall(scores, relevant, 0.90) == pytest.approx(0.6)
    # the order follows the scores, not the array order
    assert M.precision_at_recall(scores[::-1], relevant[::-1], 0.65) == pytest.approx(2 / 3)


def test_nmrr_and_anmrr_hand_computed() -> None:
    # NG = 2, GTM = 2 -> K = min(8, 4) = 4. Items at ranks 1 and 3: AVR = 2, MRR = 2 - 0.5 - 1 = 0.5,
    # NMRR = 0.5 / (1.25*4 - 0.5 - 1) = 0.5 / 3.5
    q1 = M.nmrr(["a", "x", "b", "y"], {"a", "b"}, gtm=2)
    assert q1 == pytest.approx(0.5 / 3.5)
    # perfect ranking -> 0; nothing found -> 1
    assert M.nmrr(["a", "b"], {"a", "b"}, gtm=2) == pytest.approx(0.0)
    assert M.nmrr(["x", "y", "z", "w"], {"a", "b"}, gtm=2) == pytest.approx(1.0)
    # one missed item (rank 1.25K = 5), one at rank 2: AVR = 3.5, MRR = 2, NMRR = 2 / 3.5
    assert M.nmrr(["x", "a", "y", "z"], {"a", "b"}, gtm=2) == pytest.approx(2 / 3.5)
    assert M.anmrr([["a", "x", "b", "y"], ["a", "b"]], [{"a", "b"}, {"a", "b"}]) == pytest.approx(0.5 / 3.5 / 2)


def test_weighted_and_macro_mean() -> None:
    # the paper weights by the number of positives: (0.5*30 + 0.8*10) / 40
    assert M.weighted_mean([0.5, 0.8], [30, 10]) == pytest.approx(23 / 40)
    assert M.weighted_mean([0.5, float("nan")], [30, 10]) == 0.5
    assert M.macro_mean([0.5, 0.8, float("nan")]) == pytest.approx(0.65)


def test_binary_counts_accuracy() -> None:
    pred = np.array([1, 1, 0, 0, 1], bool)
    truth = np.array([1, 0, 1, 0, 1], bool)
    c = M.binary_counts(pred, truth)
    assert (c["tp"], c["fp"], c["fn"], c["tn"]) == (2, 1, 1, 1)
    assert c["precision"] == pytest.approx(2 / 3)
    assert c["recall"] == pytest.approx(2 / 3)
    assert c["accuracy"] == pytest.approx(3 / 5)


def test_multilabel_scores() -> None:
    y = np.array([[1, 0], [1, 1], [0, 1]], bool)
    proba = np.array([[0.9, 0.2], [0.6, 0.4], [0.3, 0.8]])
    s = M.multilabel_scores(y, proba)
    # label 0 ranks (0.9 T, 0.6 T, 0.3 F) -> AP 1; label 1 (0.8 T, 0.4 T, 0.2 F) -> AP 1
    assert s["map"] == 1.0
    # predictions at 0.5: [1,0],[1,0],[0,1]: label0 F1 = 1, label1 P=1 R=0.5 F1=2/3
    assert s["macro_f1"] == pytest.approx((1 + 2 / 3) / 2)
    # micro: tp=3, fp=0, fn=1 -> 6/7
    assert s["micro_f1"] == pytest.approx(6 / 7)
    # example-based (paper 004): precisions 1,1,1; recalls 1,0.5,1
    assert s["example_precision"] == 1.0
    assert s["example_recall"] == pytest.approx(2.5 / 3)


def test_ranking_by_cosine() -> None:
    q = np.array([[1.0, 0.0]], np.float32)
    a = np.array([[0.0, 1.0], [1.0, 0.0], [0.7071, 0.7071]], np.float32)
    assert M.ranking(q, a).tolist() == [[1, 2, 0]]
