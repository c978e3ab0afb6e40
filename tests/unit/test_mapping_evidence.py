"""Issue 16, second pass: the auto-accept margin rule, vocabulary descriptions, legend text evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from mappings.legends import concept_legends, legend_text
from mappings.merge import decide, hierarchy_margin, is_auto, margin
from mappings.similarity import Candidate
from mappings.vocab_file import read_vocabulary, read_vocabulary_entries
from ontology.model import Concept, LabelSystem
from ontology.store import load_label_system
from rskg.adjacency import stale_pairs
from rskg.errors import ValidationError
from rskg.settings import Settings


def _c(cid: str, score: float, lexical: bool = False) -> Candidate:
    return Candidate(cid, score, score, 0.0, lexical)


def test_margin_rule() -> None:
    close = [_c("a", 0.92), _c("b", 0.90)]
    clear = [_c("a", 0.92), _c("b", 0.70)]
    assert margin(close) == pytest.approx(0.02) and margin([_c("a", 0.9)]) == 1.0 and margin([]) == 0.0
    assert is_auto(close, 0.85) and not is_auto(close, 0.85, 0.05)
    assert is_auto(clear, 0.85, 0.05)
    assert not is_auto(clear, 0.95, 0.0)
    # a unique lexical match needs no margin; two lexical matches are no unique match
    assert is_auto([_c("a", 1.0, True), _c("b", 0.99)], 0.99, 0.5)
    assert not is_auto([_c("a", 0.8, True), _c("b", 0.8, True)], 0.85, 0.0)
    system = LabelSystem({"a": Concept("a", "a", 1), "b": Concept("b", "b", 1)}, {}, [])
    assert decide("ds", "x", close, system, 0.85, 0.5, min_margin=0.05).status == "pending"
    assert decide("ds", "x", clear, system, 0.85, 0.5, min_margin=0.05).status == "auto"


def test_hierarchy_margin() -> None:
    system = LabelSystem({"water": Concept("water", "water", 1), "lake": Concept("lake", "lake", 2, ["water"]),
                          "pond": Concept("pond", "pond", 3, ["lake"]), "road": Concept("road", "road", 1)}, {}, [])
    # a broader concept close behind: the label may be the broader class
    near_parent = [_c("lake", 0.95), _c("road", 0.80), _c("water", 0.90)]
    assert hierarchy_margin(near_parent, system) == pytest.approx(0.05)
    assert is_auto(near_parent, 0.85, 0.1) and not is_auto(near_parent, 0.85, 0.1, 0.1, system)
    near_grandchild = [_c("water", 0.95), _c("pond", 0.93)]
    assert hierarchy_margin(near_grandchild, system) == pytest.approx(0.02)
    assert hierarchy_margin([_c("lake", 0.95), _c("road", 0.94)], system) == 1.0      # unrelated: the margin rule
    assert decide("ds", "x", near_parent, system, 0.85, 0.5, min_margin=0.1, min_hierarchy_margin=0.1).status == \
        "pending"


def test_vocabulary_descriptions(tmp_path: Path) -> None:
    (tmp_path / "v.csv").write_text('label,description\nWoody Savannas,"tree cover 30-60 %, canopy > 2 m"\nWater,\n')
    assert read_vocabulary_entries(tmp_path / "v.csv") == [("Woody Savannas", "tree cover 30-60 %, canopy > 2 m"),
                                                           ("Water", "")]
    assert read_vocabulary(tmp_path / "v.csv") == ["Woody Savannas", "Water"]
    (tmp_path / "v.yaml").write_text("classes:\n  - name: Shrubs\n    definition: woody plants < 5 m\n  - Water\n")
    assert read_vocabulary_entries(tmp_path / "v.yaml") == [("Shrubs", "woody plants < 5 m"), ("Water", "")]
    (tmp_path / "bad.yaml").write_text("- description: no name here\n")
    with pytest.raises(ValidationError, match="no 'name'"):
        read_vocabulary(tmp_path / "bad.yaml")


def test_legend_evidence_on_the_real_legends(settings: Settings) -> None:
    system = load_label_system(settings.ontology_dir)
    legends = concept_legends(system.active(), settings.data_dir / "vocab")
    assert {"coniferous_forest", "broad_leaved_forest", "shrubland"} <= set(legends)
    conifer = legend_text(legends["coniferous_forest"])
    assert "needleleaved" in conifer and "broadleaved" not in conifer
    assert "Woody perennial plants" in legend_text(legends["shrubland"])      # the CGLS definition
    every = {c for cid in legends for c in system.concepts[cid].lccs_codes}
    linked = {f"{lc.legend}:{lc.code}" for v in legends.values() for lc in v}
    assert linked == every      # every code the label system cites resolves to a legend class


def test_stale_adjacency_pairs() -> None:
    """An untouched edge whose lift moved (N grew) is stale; so are a new pair and a dropped one."""
    stored = [{"a": "b", "b": "a", "cooccurrence": 9, "lift": 1.5, "sources": ["x"]},
              {"a": "c", "b": "d", "cooccurrence": 7, "lift": 2.0, "sources": ["x"]},
              {"a": "e", "b": "f", "cooccurrence": 5, "lift": 1.6, "sources": ["x"]}]
    fresh = [{"a": "a", "b": "b", "cooccurrence": 9, "lift": 1.50001, "sources": ["x"]},     # same (4 places)
             {"a": "c", "b": "d", "cooccurrence": 7, "lift": 2.2, "sources": ["x"]},         # lift moved
             {"a": "g", "b": "h", "cooccurrence": 6, "lift": 1.7, "sources": ["x", "y"]}]    # newly above
    assert stale_pairs(fresh, stored) == {("c", "d"), ("e", "f"), ("g", "h")}
    assert stale_pairs(fresh, fresh) == set()
