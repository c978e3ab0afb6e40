"""Issue 16, session 15: the calibrated accept model (features, threshold, fit, persistence, the mapper's decision)
and the word-level fixes (plurals, antonym prefixes, head-noun role reversal)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mappings import heads as H
from mappings.accept_model import FEATURES, AcceptModel, FeatureMaker, load_if_present
from mappings.accept_train import Example, fit, hide_dataset, read_gold, threshold_for
from mappings.merge import accept_model_for, decide
from mappings.similarity import Candidate, _squash
from ontology.model import Concept, LabelSystem, SourceLabelMapping
from rskg.artifacts import accept_model_path
from rskg.errors import ValidationError
from rskg.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _c(cid: str, score: float, lexical: bool = False, struct: float = 0.0) -> Candidate:
    return Candidate(cid, score, score, struct, lexical)


@pytest.fixture()
def system() -> LabelSystem:
    cs = {"forest": Concept("forest", "forest", 1, alt_labels=["woodland"]),
          "coniferous_forest": Concept("coniferous_forest", "coniferous forest", 2, ["forest"],
                                       lccs_codes=["CLC:312"]),
          "broad_leaved_forest": Concept("broad_leaved_forest", "broad-leaved forest", 2, ["forest"]),
          "road": Concept("road", "road", 1)}
    return LabelSystem(cs, {}, [SourceLabelMapping("ds", "conifers", "coniferous_forest")])


def _f(fm: FeatureMaker, label: str, cands: list[Candidate]) -> dict[str, float]:
    return dict(zip(FEATURES, fm.vector(label, cands).tolist(), strict=True))


def test_features_of_a_candidate_list(system: LabelSystem) -> None:
    fm = FeatureMaker(system)
    f = _f(fm, "Needleleaf forest", [_c("coniferous_forest", 0.9, struct=0.4), _c("forest", 0.8),
                                     _c("road", 0.3)])
    assert f["score"] == pytest.approx(0.9) and f["margin"] == pytest.approx(0.1)
    assert f["margin3"] == pytest.approx(0.6) and f["hier_margin"] == pytest.approx(0.1)
    assert f["second_related"] == 1.0 and f["lexical"] == 0.0 and f["struct_sim"] == pytest.approx(0.4)
    assert f["n_mods"] == 1.0 and f["mod_agree"] == 1.0 and f["mod_conflict"] == 0.0   # needleleaf = coniferous
    assert f["label_in_names"] == pytest.approx(0.5)        # "forest" of {needleleaf, forest}
    assert f["depth"] == 1.0 and f["log_children"] == 0.0 and f["legend_linked"] == 1.0
    f = _f(fm, "Broadleaf forest", [_c("coniferous_forest", 0.9), _c("road", 0.2)])
    assert f["mod_conflict"] == 1.0 and f["hier_margin"] == 1.0 and f["second_related"] == 0.0
    g = _f(fm, "forest", [_c("forest", 1.0, lexical=True), _c("broad_leaved_forest", 0.7)])
    assert g["unique_lexical"] == 1.0 and g["n_lexical"] == 1.0 and g["name_in_label"] == 1.0
    assert g["log_children"] == pytest.approx(np.log1p(2)) and g["second_related"] == 1.0
    assert fm.vector("x", []).tolist() == [0.0] * len(FEATURES)


def test_threshold_for_reaches_the_target_precision() -> None:
    probs = np.array([0.99, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5])
    right = np.array([1, 1, 1, 1, 0, 1, 0])
    assert threshold_for(probs, right, 0.99, min_accepted=1) == pytest.approx(0.8)      # 4/4 correct down to 0.8
    assert threshold_for(probs, right, 0.8, min_accepted=1) == pytest.approx(0.6)       # 5/6
    assert threshold_for(probs, right, 0.99, min_accepted=5) == 1.0                    # never reached: never auto
    tied = np.array([0.9, 0.9, 0.8])
    assert threshold_for(tied, np.array([1, 0, 1]), 0.99, min_accepted=1) == 1.0      # a tie is all or nothing


def _examples(n: int = 240, seed: int = 0) -> list[Example]:
    """Synthetic decisions: the first candidate is right when it leads clearly (plus label noise)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        lead = float(rng.uniform(0.0, 0.4))
        right = lead > 0.12 if rng.uniform() > 0.05 else lead <= 0.12
        gold = {"forest"} if right else {"road"}
        out.append(Example("lodo", f"ds{i % 12}", f"label {i}", gold,
                           [_c("forest", 0.6 + lead), _c("broad_leaved_forest", 0.6), _c("road", 0.1)]))
    return out


def test_fit_persist_and_decide(system: LabelSystem, tmp_path: Path) -> None:
    model, report = fit(_examples(), system, target=0.9)
    assert report["examples"] == 240 and report["cv_folds"] == 5
    assert float(str(report["cv_auto_precision"])) >= 0.9 and 0 < model.threshold < 1
    fm = FeatureMaker(system)
    clear = [_c("forest", 0.95), _c("broad_leaved_forest", 0.6), _c("road", 0.1)]
    close = [_c("forest", 0.62), _c("broad_leaved_forest", 0.6), _c("road", 0.1)]
    assert model.probability(fm, "x", clear) > model.probability(fm, "x", close)     # the lead is what counts
    assert model.is_auto(fm, "x", clear) and not model.is_auto(fm, "x", close)
    # the mapper's decision follows the model, not the margin rule, and records the probability
    d = decide("ds", "x", close, system, 0.5, 0.5, min_margin=0.0, accept_model=model)
    assert d.status == "pending" and 0 <= d.candidates[0]["accept_probability"] < model.threshold
    assert decide("ds", "x", close, system, 0.5, 0.5).status == "auto"                # margin rule: auto
    assert decide("ds", "x", clear, system, 0.5, 0.5, accept_model=model).status == "auto"
    assert decide("ds", "x", [_c("forest", 0.3)], system, 0.5, 0.5, accept_model=model).status == "proposed"
    # persisted as a small JSON file; the same decisions after loading
    path = model.save(tmp_path / "models" / "map_accept.json")
    assert path.stat().st_size < 10_000 and load_if_present(tmp_path / "none.json") is None
    again = AcceptModel.load(path)
    assert again.probability(fm, "x", close) == pytest.approx(model.probability(fm, "x", close))
    raw = json.loads(path.read_text())
    raw["features"] = raw["features"][:-1]
    path.write_text(json.dumps(raw))
    with pytest.raises(ValidationError, match="train-accept"):
        AcceptModel.load(path)
    path.write_text("{not json")
    with pytest.raises(ValidationError, match="train-accept"):
        AcceptModel.load(path)


def test_fit_refuses_one_class(system: LabelSystem) -> None:
    ex = [Example("lodo", f"d{i}", "x", {"forest"}, [_c("forest", 0.9)]) for i in range(20)]
    with pytest.raises(ValidationError, match="one class"):
        fit(ex, system)


def test_margin_rule_is_the_fallback_without_a_model_file(tmp_path: Path) -> None:
    s = Settings(home=tmp_path)
    assert accept_model_for(s) is None and accept_model_path(s) == tmp_path / "models" / "map_accept.json"
    model, _ = fit(_examples(), LabelSystem({"forest": Concept("forest", "forest", 1),
                                             "broad_leaved_forest": Concept("broad_leaved_forest", "b", 1),
                                             "road": Concept("road", "road", 1)}, {}, []), target=0.9)
    model.save(accept_model_path(s))
    assert accept_model_for(s) is not None
    assert accept_model_for(Settings(home=tmp_path, map_accept_model=False)) is None


def test_hide_dataset_keeps_other_datasets_spellings(system: LabelSystem) -> None:
    reduced = hide_dataset(system, "ds")
    assert reduced.mappings == [] and reduced.concepts["forest"].alt_labels == ["woodland"]


def test_gold_files_of_the_benchmark_name_real_concepts(settings: Settings) -> None:
    from rskg.label_mapping import load_system

    active = load_system(settings).active()
    for folder in ("fresh_vocab", "fresh_vocab2", "fresh_vocab3"):
        files = sorted((ROOT / "benchmarks" / "data" / folder).glob("*.csv"))
        assert len(files) >= 6
        for path in files:
            for label, gold, _ in read_gold(path):
                assert label and gold <= set(active), (path.name, label, gold - set(active))


# ---- word-level fixes --------------------------------------------------------------------------------------
def test_plurals_are_made_singular() -> None:
    assert H.singular("buses") == "bus" and H.singular("bus") == "bus" and H.singular("gas") == "gas"
    assert H.singular("estuaries") == "estuary" and H.singular("beaches") == "beach"
    assert H.singular("analysis") == "analysis" and H.singular("grass") == "grass"
    assert _squash("Buses") == _squash("bus") and _squash("Water Bodies") == _squash("water body")
    assert _squash("Beaches") == "beach" and _squash("bus") != _squash("bu")


def test_antonym_prefix_contradicts() -> None:
    assert H.antonym("impervious", "pervious") and H.antonym("unused", "used") and not H.antonym("used", "use")
    assert H.contradicts(H.content("pervious surface"), ["impervious surface", "paved area"])
    assert not H.contradicts(H.content("impervious surface"), ["impervious surface"])
    assert not H.contradicts(H.content("pervious surface"), ["pervious or impervious surface"])


def test_head_noun_role_reversal() -> None:
    assert H.heads("Dump Truck") == {"truck"} and H.heads("Artificial land") == {"land", "artificial"}
    assert H.heads("Commercial and Services") == {"commercial", "service"} and H.heads("AnnualCrop") == {"crop"}
    assert H.modifier_only("Dump Truck", ["dump site", "landfill"])           # a site, not a truck
    assert H.modifier_only("City Buses", ["bus station"])                     # a station, not a bus
    assert H.modifier_only("airport runway", ["airport", "aerodrome"])       # the runway of an airport
    assert not H.modifier_only("City Buses", ["vehicle"])                     # no shared word: no evidence
    assert not H.modifier_only("clear", ["clear sky"])                        # one-word labels are left alone
    assert not H.modifier_only("solar farm", ["solar power plant"])           # shared modifier, no role swap
    assert H.heads("Barren Land (Rock/Sand/Clay)") == {"land", "barren"}       # a parenthesis is no head
    assert H.heads("Orchards at the fringe of urban classes") == {"orchard"}  # cut at the preposition
    assert not H.modifier_only("Artificial land", ["artificial surfaces"])    # generic heads: same kind
    assert not H.modifier_only("Impervious Roads", ["road", "roads"])


def test_rerank_demotes_modifier_matches_and_antonyms() -> None:
    names = {"dump_site": ["dump site"], "vehicle": ["vehicle"], "impervious_surface": ["impervious surface"],
             "artificial_surface": ["artificial surfaces"]}
    out = H.rerank("Dump Truck", [_c("dump_site", 0.8), _c("vehicle", 0.75)], names)
    assert [c.concept_id for c in out] == ["vehicle", "dump_site"]
    assert out[1].score == pytest.approx(0.8 * H.HEAD_FACTOR)
    out = H.rerank("pervious surface", [_c("impervious_surface", 0.9), _c("artificial_surface", 0.7)], names)
    assert out[0].concept_id == "artificial_surface"
    lex = H.rerank("dump site", [_c("dump_site", 1.0, lexical=True)], names)
    assert lex[0].score == 1.0                                                # lexical matches are never changed
