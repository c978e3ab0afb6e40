"""Meaning-changing modifiers decided right by Algorithm 1 on the real label system and the real MiniLM
(labels from MODIS IGBP / ESA-CCI style legends; mappings.modifiers re-ranks the candidates)."""

from __future__ import annotations

import pytest

from embeddings.text import TextEncoder
from mappings.merge import build_model, decide
from mappings.osm import load_osm_vocab
from ontology.store import load_label_system
from rskg.settings import Settings

pytestmark = [pytest.mark.model]

PAIRS = [  # (label, the concept it is, a concept that shares the head noun but not the modifier)
    ("Deciduous Needleleaf Forests", "coniferous_forest", "broad_leaved_forest"),
    ("Evergreen Broadleaf Forests", "broad_leaved_forest", "coniferous_forest"),
    ("irrigated cropland", "permanently_irrigated_land", "non_irrigated_arable_land"),
    ("rainfed cropland", "non_irrigated_arable_land", "permanently_irrigated_land"),
    ("Closed Shrublands", "shrubland", "moors_and_heathland"),
]


def test_modifier_pairs_decided_right(settings: Settings) -> None:
    system = load_label_system(settings.ontology_dir)
    enc = TextEncoder(settings)
    try:
        model = build_model(settings, system, enc, load_osm_vocab(settings))
        labels = [p[0] for p in PAIRS]
        for (label, right, wrong), cands in zip(PAIRS, model.candidates(labels, settings.map_k), strict=True):
            d = decide("test_modifiers", label, cands, system, settings.map_accept_threshold,
                       settings.map_review_threshold)
            assert cands[0].concept_id == right, (label, [c.as_dict() for c in cands])
            assert not (d.status == "auto" and d.concept_id == wrong), d
            ranks = [c.concept_id for c in cands]
            assert wrong not in ranks or ranks.index(wrong) > ranks.index(right)
    finally:
        enc.close()


def test_label_description_is_evidence(settings: Settings) -> None:
    """A legend code says nothing; its description (a vocabulary file's description column) does."""
    system = load_label_system(settings.ontology_dir)
    enc = TextEncoder(settings)
    try:
        model = build_model(settings, system, enc, load_osm_vocab(settings))
        labels = ["class 71"]
        descs = ["Tree cover, needleleaved, evergreen, closed canopy over 40 %"]
        with_desc = model.candidates(labels, settings.map_k, descriptions=descs)
        assert with_desc[0][0].concept_id == "coniferous_forest", with_desc
        bare = model.candidates(labels, settings.map_k)
        assert bare[0][0].concept_id != "coniferous_forest"
        assert with_desc[0][0].score > next((c.score for c in bare[0] if c.concept_id == "coniferous_forest"), 0.0)
    finally:
        enc.close()
