"""The vocabulary pass (mappings.vocab_context) on real published lists through Algorithm 1 as the ingest runs it
(real MiniLM, real label system, margin rule): a compound class gets its conjuncts' parent and waits for review,
an object list's altLabel match of another sense waits, a concept another label names lexically waits."""

from __future__ import annotations

from pathlib import Path

import pytest

from embeddings.text import TextEncoder
from mappings import vocab_context as V
from mappings.accept_train import read_gold
from mappings.merge import build_model, merge_new_labels
from mappings.osm import load_osm_vocab
from ontology.store import load_label_system
from rskg.settings import Settings

pytestmark = [pytest.mark.model]
DATA = Path(__file__).resolve().parents[2] / "benchmarks" / "data"


def _labels(path: Path) -> list[str]:
    return [lb for lb, _, _ in read_gold(path)]


def test_vocabulary_pass_on_real_lists(settings: Settings) -> None:
    system = load_label_system(settings.ontology_dir)
    enc = TextEncoder(settings)
    try:
        osm = load_osm_vocab(settings)
        model = build_model(settings, system, enc, osm)

        def run(stem: str, folder: str) -> dict[str, tuple[str | None, str, str]]:
            ds = merge_new_labels(stem, _labels(DATA / folder / f"{stem}.csv"), system, enc, settings, osm,
                                  model=model, accept_model=None)
            return {d.label: (d.concept_id, d.status, str(d.candidates[0].get("hold", "")) if d.candidates else "")
                    for d in ds}

        geonrw = run("geonrw", "fresh_vocab2")
        assert geonrw["residential,commercial,industrial"] == ("artificial_surface", "pending", V.HOLD_COMPOUND)
        assert geonrw["airport,shipyard"][:2] == ("transportation_land", "pending")
        fair1m = run("fair1m", "fresh_vocab2")
        assert fair1m["Trailer"] == ("mobile_home", "pending", V.HOLD_TYPE)          # altLabel "trailer": held
        assert fair1m["other-airplane"][0] == "airplane"                              # not airport
        modis = run("modis_igbp", "fresh_vocab")
        assert modis["Savannas"][1:] == ("pending", V.HOLD_TAKEN)                    # beside "Grasslands"
        assert modis["Grasslands"] == ("grassland", "auto", "")
    finally:
        enc.close()
