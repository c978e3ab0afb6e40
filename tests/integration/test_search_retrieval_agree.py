"""Search matches concepts from the Turtle files (ontology.store), retrieval reads them from Neo4j: after
`rskg sync` both see the same concepts, names, synonyms, deprecations and subclass edges (docs/architecture.md)."""

from __future__ import annotations

import pytest

from ontology.normalize import label_key
from ontology.store import load_label_system
from rskg.retrieval.labels import _load_graph, load_lexicon
from rskg.search.models import subclass_edges
from rskg.services import Services
from rskg.sync import run_sync

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres]


def test_turtle_and_synced_graph_agree(services: Services) -> None:
    run_sync(services, derived=False)
    system = load_label_system(services.settings.ontology_dir)
    lex = load_lexicon(services)
    active = system.active()
    assert lex.active == set(active)
    assert {c: lex.names[c] for c in active} == {c.id: c.pref_label for c in active.values()}
    alt = {(a, cid) for a, ids in lex.alt.items() for cid in ids}
    assert alt == {(label_key(a), c.id) for c in active.values() for a in c.alt_labels}
    assert lex.replaced_by == {c.id: c.replaced_by for c in system.concepts.values()
                               if c.deprecated and c.replaced_by}
    graph_edges = {(str(e["a"]), str(e["b"])) for e in _load_graph(services)[0] if e["type"] == "SUBCLASS_OF"}
    assert graph_edges == {(str(e["a"]), str(e["b"])) for e in subclass_edges(system)}
