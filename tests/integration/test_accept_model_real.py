"""The calibrated accept model on real data (issue 16, session 15): fitted on the real mapper's candidates for the
published gold vocabularies fresh + fresh2 (real MiniLM, real label system), persisted where the mapper looks, and
then deciding Algorithm 1's auto-accepts; the word-level fixes on real labels of those sets."""

from __future__ import annotations

from pathlib import Path

import pytest

from embeddings.text import TextEncoder
from mappings.accept_model import FeatureMaker
from mappings.accept_train import fit, gold_examples, lodo_examples
from mappings.merge import accept_model_for, build_model, merge_new_labels
from mappings.osm import load_osm_vocab
from ontology.store import load_label_system
from rskg.artifacts import accept_model_path
from rskg.settings import Settings

pytestmark = [pytest.mark.model]
DATA = Path(__file__).resolve().parents[2] / "benchmarks" / "data"


def test_accept_model_on_real_candidates(settings: Settings, tmp_path: Path) -> None:
    system = load_label_system(settings.ontology_dir)
    enc = TextEncoder(settings)
    try:
        osm = load_osm_vocab(settings)
        model = build_model(settings, system, enc, osm)
        examples = (gold_examples(model, DATA / "fresh_vocab", "fresh", settings.map_k)
                    + gold_examples(model, DATA / "fresh_vocab2", "fresh2", settings.map_k))
        assert len(examples) == 222
        by_label = {(e.source, e.label): e for e in examples}
        # word-level fixes on real labels: role reversal (a dump truck is no dump site), antonym prefix
        assert by_label[("fair1m", "Dump Truck")].cands[0].concept_id == "vehicle"
        assert by_label[("flair2", "pervious surface")].cands[0].concept_id != "impervious_surface"
        accept, report = fit(examples, system, target=0.95, folds=4)
        assert report["examples"] == 222 and 0.0 < accept.threshold <= 1.0
        assert float(str(report["cv_auto_precision"])) >= 0.95 or float(str(report["cv_decided_share"])) == 0.0
        fm = FeatureMaker(system)
        right = [e for e in examples if e.correct]
        wrong = [e for e in examples if not e.correct]
        mean_p = [sum(accept.probability(fm, e.label, e.cands) for e in xs) / len(xs) for xs in (right, wrong)]
        assert mean_p[0] > mean_p[1] + 0.2, mean_p            # it separates right from wrong first candidates
        # persisted where the mapper looks; merge_new_labels then decides with it and records the probability
        s = settings.model_copy(update={"home": tmp_path})
        assert accept_model_for(s) is None
        accept.save(accept_model_path(s))
        labels = ["Evergreen Needleleaf Forests", "Water", "ARJ21"]
        ds = merge_new_labels("accept_test", labels, system, enc, s, osm, model=model)
        for d in ds:
            if d.status in ("auto", "pending"):
                assert "accept_probability" in d.candidates[0]
                assert (d.status == "auto") == (d.candidates[0]["accept_probability"] >= accept.threshold)
        margin = merge_new_labels("accept_test", labels, system, enc, s, osm, model=model, accept_model=None)
        assert all("accept_probability" not in d.candidates[0] for d in margin if d.candidates)
    finally:
        enc.close()


def test_lodo_examples_of_a_real_fold(settings: Settings) -> None:
    """The training examples: a curated dataset mapped against the label system without it (plain and with its
    spellings hidden), gold = its curated mapping."""
    system = load_label_system(settings.ontology_dir)
    enc = TextEncoder(settings)
    try:
        osm = load_osm_vocab(settings)
        plain = lodo_examples(settings, system, enc, osm, datasets=["rsscn7"])
        hard = lodo_examples(settings, system, enc, osm, hard=True, datasets=["rsscn7"])
    finally:
        enc.close()
    curated = {m.name: m.concept_id for m in system.mappings if m.dataset == "rsscn7"}
    assert {e.label for e in plain} == set(curated) == {e.label for e in hard}
    assert all(e.gold == {curated[e.label]} and e.group == "lodo" and len(e.cands) >= 3 for e in plain)
    assert all(e.group == "lodo_hard" for e in hard)
    assert sum(e.correct for e in plain) >= len(plain) - 2            # rsscn7 maps well (aGrass is the known miss)
    assert sum(c.cands[0].lexical for c in hard) <= sum(c.cands[0].lexical for c in plain)
