"""`rskg eval expansion` on the real UCMerced data and the synced label graph (real Neo4j): the Eq. 1 sweep
behaves as the method says it must, whatever the numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rskg.services import Services
from rskg.settings import Settings

pytestmark = [pytest.mark.neo4j, pytest.mark.model, pytest.mark.slow]


def test_expansion_sweep_on_ucmerced(services: Services, settings: Settings, tmp_path: Path) -> None:
    from kg.label_graph import store_weights
    from kg.label_sync import sync_label_system
    from ontology.store import load_label_system
    from rskg.evaluation import expansion
    from rskg.evaluation.runner import run_expansion

    system = load_label_system(settings.ontology_dir)
    sync_label_system(services.driver, system)
    store_weights(services.driver, settings.alpha, settings.beta, settings.tau)
    outcome = run_expansion(settings, services, tmp_path)
    summary = json.loads((tmp_path / "eval_expansion.json").read_text())
    md = (tmp_path / "eval_expansion.md").read_text()
    assert outcome.written == tmp_path / "eval_expansion.md"
    assert "ADJACENT_TO is recomputed from the train part only" in md
    variant = "pretrained"
    names = [s.name for s in expansion.default_settings(settings.alpha, settings.beta, settings.tau,
                                                        settings.max_distance, settings.adjacency_min_lift)]
    rows = {n: summary[f"{variant} / {n}"]["macro"] for n in names}
    none, default = rows["no expansion (C and subclasses)"], rows["product default"]
    # walking the graph only adds concepts and samples: recall never drops, reach grows with the radius
    assert default["reached"] >= none["reached"] and default["retrieved"] >= none["retrieved"]
    assert default["recall"] >= none["recall"] - 1e-9
    radii = [rows[f"max_distance {m:g}"] for m in (0.5, 2.0, 3.0)]
    assert radii[0]["reached"] <= radii[1]["reached"] <= radii[2]["reached"]
    # the paper's beta = 1 with raw counts reaches (nearly) the whole system, the calibrated graph does not
    paper = rows["paper Eq. 1 as first configured (beta 1, max_distance 2, raw counts: no lift floor)"]
    assert paper["reached"] > 200 > default["reached"]
    # a threshold on cos / (1 + d) admits no more than the threshold on cos
    assert rows["product default, threshold on cos/(1+d)"]["retrieved"] <= default["retrieved"]
    for r in rows.values():
        for k in ("precision", "recall", "F1", "AP"):
            assert 0.0 <= r[k] <= 1.0, (k, r)
    # the 17 multi-labels minus those without a prototype-source image or non-direct positive
    assert md.count("| `") >= 12
