"""Modifier axes read from labels and the re-ranking rules of mappings.modifiers (no model needed)."""

from __future__ import annotations

from mappings import modifiers as M
from mappings.similarity import Candidate


def test_modifiers_are_read_per_axis() -> None:
    assert M.modifiers("Deciduous Needleleaf Forests") == ({"phenology": "deciduous", "leaf": "needle"}, ["forests"])
    assert M.modifiers("broad-leaved forest")[0] == {"leaf": "broad"}
    assert M.modifiers("non-irrigated arable land")[0] == {"irrigation": "rainfed"}
    assert M.modifiers("Permanently irrigated land")[0] == {"permanence": "permanent", "irrigation": "irrigated"}
    assert M.modifiers("Closed Shrublands") == ({"openness": "closed"}, ["shrublands"])
    assert M.modifiers("Compact high_rise")[0] == {"height": "highrise"}
    assert M.modifiers("harbor") == ({}, ["harbor"])
    assert M.bag(["ice", "snow"]) == M.bag(["snow", "and", "ice"])


PREF = {"broad_leaved_forest": "broad-leaved forest", "coniferous_forest": "coniferous forest", "forest": "forest",
        "shrubland": "shrubland", "moors_and_heathland": "moors and heathland",
        "planted_dense_forest": "planted dense forest"}


def _c(cid: str, score: float, lexical: bool = False) -> Candidate:
    return Candidate(cid, score, score, 0.0, lexical)


def test_contradicting_modifier_loses_to_the_agreeing_one() -> None:
    cands = [_c("broad_leaved_forest", 0.85), _c("forest", 0.79), _c("coniferous_forest", 0.76)]
    out = M.rerank("Deciduous Needleleaf Forests", cands, PREF, {"forest"})
    assert [c.concept_id for c in out][0] == "coniferous_forest"
    assert out[0].score == 0.76 + M.AGREE_BONUS
    assert next(c for c in out if c.concept_id == "broad_leaved_forest").score == 0.85 * M.CONFLICT_FACTOR


def test_the_head_noun_beats_a_neighbour_without_the_modifier() -> None:
    cands = [_c("moors_and_heathland", 0.93), _c("shrubland", 0.76)]
    out = M.rerank("Closed Shrublands", cands, PREF, {"shrubland"})
    assert [c.concept_id for c in out] == ["shrubland", "moors_and_heathland"]
    assert out[1].score < out[0].score == 0.76


def test_lexical_match_and_unmodified_labels_are_kept() -> None:
    cands = [_c("broad_leaved_forest", 1.0, lexical=True), _c("forest", 0.9)]
    assert M.rerank("Deciduous forest", cands, PREF, {"forest"})[0].concept_id == "broad_leaved_forest"
    assert M.rerank("forest", cands, PREF, set()) is cands
    narrower = M.rerank("Dense trees", [_c("planted_dense_forest", 0.89), _c("forest", 0.85)], PREF, set())
    assert narrower[0].concept_id == "forest"           # "planted" is not in the label


def test_a_negated_value_of_a_two_valued_axis_is_the_other_value() -> None:
    assert M.modifiers("Non-permanent industrial crops") == ({"permanence": "seasonal"}, ["industrial", "crops"])
    assert M.modifiers("not irrigated")[0] == {"irrigation": "rainfed"}
    assert M.modifiers("non-irrigated arable land")[0] == {"irrigation": "rainfed"}
    assert M.modifiers("non dense")[0] == {"density": "dense"}          # three values: nothing to flip to
    out = M.rerank("Non-permanent crops", [_c("permanent_crops", 0.95), _c("cropland", 0.8)],
                   {"permanent_crops": "permanent crops", "cropland": "cropland"}, set())
    assert out[0].concept_id == "cropland"


def test_the_words_before_a_preposition_name_the_kind() -> None:
    from mappings import heads as H
    assert H.before_preposition("Shrubland with sparse tree cover") == "shrubland"
    assert H.before_preposition("Grassland without tree/shrub cover") == "grassland"
    assert H.before_preposition("forest") == "" and H.before_preposition("Built-up (with roads)") == ""
    cands = [_c("sparse_shrubland", 0.98), _c("shrubland", 0.9), _c("forest", 0.5)]
    out = H.lead_with(cands, {"shrubland"})
    assert [c.concept_id for c in out] == ["shrubland", "sparse_shrubland", "forest"] and out[0].score == 0.98
    assert H.lead_with(cands, {"shrubland", "forest"}) is cands              # not one concept: unchanged
    lexical = [_c("sparse_shrubland", 1.0, lexical=True), _c("shrubland", 0.9)]
    assert H.lead_with(lexical, {"shrubland"}) is lexical
