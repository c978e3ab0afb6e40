"""Equation 1 weights and the multi-source Dijkstra, on a hand-made graph with hand-computed distances."""

import pytest

from kg.label_graph import build_adjacency, dijkstra

EDGES = [
    {"a": "river", "b": "water", "type": "SUBCLASS_OF", "score": None, "cooccurrence": None},
    {"a": "lake", "b": "water", "type": "SUBCLASS_OF", "score": None, "cooccurrence": None},
    {"a": "river", "b": "canal", "type": "SIMILAR_TO", "score": 0.8, "cooccurrence": None},
    {"a": "river", "b": "bridge", "type": "ADJACENT_TO", "score": None, "cooccurrence": 3},
    {"a": "bridge", "b": "road", "type": "ADJACENT_TO", "score": None, "cooccurrence": 0},
]


def test_weights_follow_equation_1() -> None:
    adj = build_adjacency(EDGES, alpha=1.0, beta=2.0, tau=1.0)
    assert ("river", 0.0, "SUBCLASS_OF") in adj["water"]          # parent -> child only
    assert all(n != "water" for n, _, _ in adj.get("river", []))
    assert ("canal", pytest.approx(1.25), "SIMILAR_TO") in adj["river"]
    assert ("river", pytest.approx(1.25), "SIMILAR_TO") in adj["canal"]
    assert ("bridge", pytest.approx(0.5), "ADJACENT_TO") in adj["river"]   # 2 / (3 + 1)
    assert ("road", pytest.approx(2.0), "ADJACENT_TO") in adj["bridge"]    # 2 / (0 + 1)


def test_dijkstra_distances_paths_and_cutoff() -> None:
    adj = build_adjacency(EDGES, alpha=1.0, beta=2.0, tau=1.0)
    found = dijkstra(adj, ["water"], max_distance=2.0)
    assert found["water"].distance == 0 and found["river"].distance == 0 and found["lake"].distance == 0
    assert found["bridge"].distance == pytest.approx(0.5)
    assert found["bridge"].path == ("water", "river", "bridge")
    assert found["bridge"].relations == ("SUBCLASS_OF", "ADJACENT_TO")
    assert found["canal"].distance == pytest.approx(1.25)
    assert "road" not in found                                  # 0.5 + 2.0 > 2.0
    assert "road" in dijkstra(adj, ["water"], max_distance=2.5)


def test_subclass_not_walked_upwards() -> None:
    adj = build_adjacency(EDGES, alpha=1.0, beta=2.0, tau=1.0)
    found = dijkstra(adj, ["river"], max_distance=10.0)
    assert "water" not in found and "lake" not in found


def test_multi_source_keeps_nearest_source() -> None:
    adj = build_adjacency(EDGES, alpha=1.0, beta=2.0, tau=1.0)
    found = dijkstra(adj, ["canal", "bridge"], max_distance=5.0)
    assert found["river"].source == "bridge" and found["river"].distance == pytest.approx(0.5)
