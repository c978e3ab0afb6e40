"""The vocabulary-level rules of mappings.vocab_context on a generated label system (no model needed)."""

from __future__ import annotations

from collections.abc import Sequence

from mappings import vocab_context as V
from mappings.merge import decide
from mappings.similarity import Candidate
from ontology.model import Concept, LabelSystem

TREE = {  # id: (prefLabel, parent)
    "built": ("built-up", None), "housing": ("residential land", "built"), "shops": ("commercial area", "built"),
    "plants": ("industrial land", "built"), "transport": ("transport land", "built"),
    "vehicle": ("vehicle", "transport"), "car": ("car", "vehicle"), "plane": ("airplane", "vehicle"),
    "airport": ("airport", "transport"), "caravan": ("mobile home", "housing"), "pad": ("helipad", "airport"),
    "veg": ("vegetation", None), "grass": ("grassland", "veg"), "shrub": ("shrubland", "veg"),
    "wet": ("wetland", None),
}


def _system() -> LabelSystem:
    concepts = {k: Concept(k, pref, 1 if p is None else 2, [p] if p else []) for k, (pref, p) in TREE.items()}
    return LabelSystem(concepts, {}, [], "test")


def _c(cid: str, score: float, lexical: bool = False) -> Candidate:
    return Candidate(cid, score, score, 0.0, lexical)


def test_conjuncts_split_lists_but_not_modifier_phrases() -> None:
    assert V.conjuncts("residential,commercial,industrial") == ["residential", "commercial", "industrial"]
    assert V.conjuncts("Cropland and Pasture") == ["Cropland", "Pasture"]
    assert V.conjuncts("Orchards, Groves, and Vineyards") == ["Orchards", "Groves", "Vineyards"]
    assert V.conjuncts("Grassland with sparse tree/shrub cover") == []
    assert V.conjuncts("Open spaces with little or no vegetation") == []
    assert V.conjuncts("forest") == []


def test_common_parent_is_the_deepest_concept_over_a_majority() -> None:
    s = _system()
    assert V.common_parent(s, ["housing", "shops", "plants"]) == "built"
    assert V.common_parent(s, ["airport", "car"]) == "transport"
    assert V.common_parent(s, ["grass", "wet", "shrub"]) == "veg"          # 2 of 3 under vegetation
    assert V.common_parent(s, ["grass", "wet"]) is None                    # nothing covers more than half
    assert V.common_parent(s, ["vehicle", "car"]) == "vehicle"


def _fn(answers: dict[str, list[Candidate]]) -> V.CandidateFn:
    def of(texts: Sequence[str]) -> list[list[Candidate]]:
        return [answers.get(t, []) for t in texts]
    return of


def test_a_compound_label_gets_its_conjuncts_parent_first_and_is_held() -> None:
    s = _system()
    parts = {"residential": [_c("housing", 1.0, True)], "commercial": [_c("shops", 0.9)],
             "industrial": [_c("plants", 1.0, True)], "grassland": [_c("grass", 0.5)]}
    labels = ["residential,commercial,industrial", "grassland,swamp"]
    cands = [[_c("plants", 0.75), _c("shops", 0.7)], [_c("wet", 0.8)]]
    vp = V.vocabulary_pass(s, labels, cands, _fn(parts))
    assert vp.cands[0][0].concept_id == "built" and vp.cands[0][0].score == 0.75
    assert [c.concept_id for c in vp.cands[0][1:]] == ["plants", "shops"]
    assert vp.holds[0] == V.HOLD_COMPOUND
    assert vp.cands[1] == cands[1] and vp.holds[1] == ""                   # one weak conjunct: left alone


def test_a_whole_label_lexical_match_beats_the_split() -> None:
    s = _system()
    parts = {"residential": [_c("housing", 1.0, True)], "commercial": [_c("shops", 1.0, True)]}
    cands = [[_c("built", 1.0, True)]]
    vp = V.vocabulary_pass(s, ["residential and commercial"], cands, _fn(parts))
    assert vp.cands[0] == cands[0] and vp.holds[0] == ""


def test_an_object_list_prefers_a_close_movable_object_and_holds_altlabel_matches() -> None:
    s = _system()
    labels = ["Small Car", "Cargo Plane", "Bus", "Trailer", "Airport", "Jeep"]
    cands = [[_c("car", 0.95)], [_c("plane", 0.9)],
             [_c("transport", 0.63), _c("vehicle", 0.58)],                   # within TYPE_GAP: vehicle leads
             [_c("caravan", 1.0, True), _c("vehicle", 0.5)],                  # altLabel match: held
             [_c("airport", 1.0, True), _c("plane", 0.6)],                    # prefLabel match: kept
             [_c("grass", 0.9), _c("car", 0.5)]]                              # too far behind: held, not moved
    vp = V.vocabulary_pass(s, labels, cands)
    assert vp.cands[2][0].concept_id == "vehicle" and vp.cands[2][0].score == 0.63 and vp.holds[2] == V.HOLD_TYPE
    assert vp.cands[3][0].concept_id == "caravan" and vp.holds[3] == V.HOLD_TYPE
    assert vp.holds[4] == "" and vp.holds[0] == vp.holds[1] == ""
    assert vp.cands[5][0].concept_id == "grass" and vp.holds[5] == V.HOLD_TYPE


def test_a_land_cover_list_is_not_an_object_list() -> None:
    s = _system()
    labels = ["Grasslands", "Shrubs", "Wetlands", "Bus"]
    cands = [[_c("grass", 1.0, True)], [_c("shrub", 0.9)], [_c("wet", 1.0, True)],
             [_c("transport", 0.63), _c("vehicle", 0.58)]]
    vp = V.vocabulary_pass(s, labels, cands)
    assert vp.cands[3][0].concept_id == "transport" and vp.holds == [""] * 4


def test_a_concept_named_lexically_by_another_label_is_held() -> None:
    s = _system()
    labels = ["Grasslands", "Savannas", "Shrubs"]
    cands = [[_c("grass", 1.0, True)], [_c("grass", 0.88), _c("veg", 0.7)], [_c("shrub", 0.9)]]
    vp = V.vocabulary_pass(s, labels, cands)
    assert vp.holds == ["", V.HOLD_TAKEN, ""]
    assert vp.cands[1][0].concept_id == "grass"                             # ranking unchanged
    d = decide("ds", "Savannas", vp.cands[1], s, 0.85, 0.5, hold=vp.holds[1])
    assert d.status == "pending" and d.candidates[0]["hold"] == V.HOLD_TAKEN
    assert decide("ds", "Savannas", vp.cands[1], s, 0.85, 0.5).status == "auto"


def test_a_union_concept_first_or_a_union_across_branches() -> None:
    tree = dict(TREE, mosaic=("cropland with natural vegetation", "veg"), crops=("cropland", None))
    concepts = {k: Concept(k, pref, 1 if p is None else 2, [p] if p else []) for k, (pref, p) in tree.items()}
    s = LabelSystem(concepts, {}, [], "test")
    assert V.union_concept(s, "mosaic") and not V.union_concept(s, "crops")
    parts = {"Cropland": [_c("crops", 0.95)], "Natural Vegetation Mosaics": [_c("mosaic", 0.85)],  # its own match
             "Wetland": [_c("wet", 1.0, True)], "Grassland": [_c("grass", 1.0, True)]}
    kept = [[_c("mosaic", 0.87), _c("crops", 0.7)]]
    vp = V.vocabulary_pass(s, ["Cropland/Natural Vegetation Mosaics"], kept, _fn(parts))
    assert vp.cands == kept and vp.holds == [""]                          # the label system has the union class
    across = [[_c("wet", 0.8), _c("grass", 0.7)]]
    vp = V.vocabulary_pass(s, ["Wetland and Grassland"], across, _fn(parts))
    assert vp.cands == across and vp.holds == [V.HOLD_COMPOUND]           # no one concept: ranking kept, held


def test_a_union_concept_that_no_conjunct_names_gives_way_to_the_parent() -> None:
    tree = dict(TREE, units=("industrial or commercial units", "plants"))
    concepts = {k: Concept(k, pref, 1 if p is None else 2, [p] if p else []) for k, (pref, p) in tree.items()}
    s = LabelSystem(concepts, {}, [], "test")
    parts = {"residential": [_c("housing", 1.0, True)], "commercial": [_c("shops", 1.0, True)],
             "industrial": [_c("plants", 1.0, True)]}
    vp = V.vocabulary_pass(s, ["residential,commercial,industrial"], [[_c("units", 0.75)]], _fn(parts))
    assert vp.cands[0][0].concept_id == "built" and vp.holds == [V.HOLD_COMPOUND]
