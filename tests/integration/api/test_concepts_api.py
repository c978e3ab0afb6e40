"""Concept lookups, search and traversals through the HTTP GraphQL endpoint on the real label system."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres]


def test_concept_by_id_with_traversals(gql: Any, label_system: Any) -> None:
    river = label_system.concepts["river"]
    out = gql("""{ concept(id: "river") { id name level altLabels parents { id } children { id }
                  sourceLabels { dataset name status } } }""")
    assert "errors" not in out, out
    c = out["data"]["concept"]
    assert c["name"] == river.pref_label and c["level"] == river.level
    assert sorted(p["id"] for p in c["parents"]) == sorted(river.parents)
    assert sorted(k["id"] for k in c["children"]) == sorted(k.id for k in label_system.children("river"))
    expected_labels = sorted((m.dataset, m.name) for m in label_system.mappings if m.concept_id == "river")
    got = sorted((s["dataset"], s["name"]) for s in c["sourceLabels"]
                 if s["status"] == "curated" and s["dataset"] in label_system.datasets)
    assert got == expected_labels and got


def test_unknown_concept_is_null(gql: Any) -> None:
    out = gql('{ concept(id: "no_such_concept_xyz") { id } }')
    assert out["data"] == {"concept": None} and "errors" not in out


def test_lookup_by_label_and_synonym(gql: Any, label_system: Any) -> None:
    c = next(c for c in label_system.active().values()
             if c.alt_labels and c.alt_labels[0].lower() != c.pref_label.lower())
    # a synonym could be shared by two concepts; the expected one must be among the hits
    out = gql("query($l: String!) { conceptsByLabel(label: $l) { concept { id } how } }",
              {"l": c.alt_labels[0].upper()})
    hits = out["data"]["conceptsByLabel"]
    assert any(h["concept"]["id"] == c.id and h["how"] == "altLabel" for h in hits), (c.id, hits)
    out = gql('{ conceptsByLabel(label: "River") { concept { id } how } }')
    assert out["data"]["conceptsByLabel"][0] == {"concept": {"id": "river"}, "how": "prefLabel"}


def test_fulltext_search_ranks_the_named_concept_first(gql: Any) -> None:
    out = gql('{ searchConcepts(text: "storage tank", limit: 5) { concept { id name } score how } }')
    hits = out["data"]["searchConcepts"]
    assert hits and hits[0]["concept"]["id"] == "storage_tank", hits
    assert all(h["how"] == "fulltext" for h in hits)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_list_concepts_by_level(gql: Any, label_system: Any) -> None:
    out = gql("{ concepts(level: 1, first: 1000) { id level } }")
    got = sorted(c["id"] for c in out["data"]["concepts"])
    assert got == sorted(c.id for c in label_system.active().values() if c.level == 1)


def test_weighted_path_follows_the_hierarchy_down(gql: Any, label_system: Any) -> None:
    # a top concept reaches a descendant through SUBCLASS_OF at distance 0
    child = "river"
    chain = [child]
    while label_system.concepts[chain[-1]].parents:
        chain.append(label_system.concepts[chain[-1]].parents[0])
    top = chain[-1]
    out = gql("query($a: String!, $b: String!) { conceptPath(source: $a, target: $b) "
              "{ distance concepts { id } relations } }", {"a": top, "b": child})
    p = out["data"]["conceptPath"]
    assert p["distance"] == 0.0
    assert p["concepts"][0]["id"] == top and p["concepts"][-1]["id"] == child
    assert set(p["relations"]) == {"SUBCLASS_OF"} and len(p["relations"]) == len(p["concepts"]) - 1
    # upwards there is no SUBCLASS_OF walk, and the label system alone has no other edges from a leaf
    out = gql("query($a: String!, $b: String!) { conceptPath(source: $a, target: $b) { distance } }",
              {"a": child, "b": top})
    assert "errors" not in out


def test_unknown_path_endpoint_is_a_clear_error(gql: Any) -> None:
    out = gql('{ conceptPath(source: "no_such_thing_qq", target: "river") { distance } }')
    err = out["errors"][0]
    assert "no concept with id, name or synonym" in err["message"]
    assert err["extensions"]["code"] == "NotFoundError" and "searchConcepts" in err["extensions"]["hint"]
