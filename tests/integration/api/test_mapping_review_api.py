"""Mapping review through GraphQL: the open queue with evidence, accept / reject / remap stored in
PostgreSQL (append-only) and reflected in Neo4j."""

from __future__ import annotations

from typing import Any

import pytest

from rskg.services import Services
from tests.integration.api.conftest import current_decision, maps_to

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres, pytest.mark.model]

DS = "test_api_vocab_gql"
QUEUE = """query($d: String) { mappingReview(dataset: $d) { decision { id label status conceptId proposedParent }
             candidates { conceptId name score textSim structSim lexical } } }"""
RESULT = "{ __typename ... on MappingReviewSuccess { decision { id status conceptId author } } " \
         "... on Error { message hint code } }"


def test_queue_accept_reject_remap(gql: Any, map_vocab: Any, services: Services) -> None:
    decisions = map_vocab(DS)
    open_ = {lab for lab, d in decisions.items() if d.status in ("pending", "proposed")}
    assert len(open_) >= 2, {lab: d.status for lab, d in decisions.items()}
    items = gql(QUEUE, {"d": DS})["data"]["mappingReview"]
    assert {i["decision"]["label"] for i in items} == open_
    for i in items:
        assert i["candidates"], i
        assert [c["score"] for c in i["candidates"]] == sorted((c["score"] for c in i["candidates"]), reverse=True)
        assert all(c["name"] for c in i["candidates"])
    by_label = {i["decision"]["label"]: i for i in items}
    pending = sorted(lab for lab in open_ if decisions[lab].status == "pending")
    assert len(pending) >= 2

    first, second = by_label[pending[0]], by_label[pending[1]]
    out = gql(f"mutation($id: Int!) {{ acceptMapping(decisionId: $id, author: \"ana\") {RESULT} }}",
              {"id": first["decision"]["id"]}, auth=True)["data"]["acceptMapping"]
    assert out["__typename"] == "MappingReviewSuccess" and out["decision"]["status"] == "accepted"
    assert current_decision(services, DS, pending[0])[1:] == ("accepted", first["decision"]["conceptId"], "ana")
    assert maps_to(services, DS, pending[0]) == [first["decision"]["conceptId"]]

    out = gql(f"mutation($id: Int!) {{ rejectMapping(decisionId: $id, author: \"ben\") {RESULT} }}",
              {"id": second["decision"]["id"]}, auth=True)["data"]["rejectMapping"]
    assert out["decision"]["status"] == "rejected"
    assert current_decision(services, DS, pending[1])[1] == "rejected"
    assert maps_to(services, DS, pending[1]) == []

    # remap the first one again, to its second candidate
    target = first["candidates"][1]["conceptId"]
    new_id = current_decision(services, DS, pending[0])[0]
    out = gql(f"mutation($id: Int!, $c: String!) {{ remapMapping(decisionId: $id, concept: $c, author: \"ana\") "
              f"{RESULT} }}", {"id": new_id, "c": target}, auth=True)["data"]["remapMapping"]
    assert out["decision"]["conceptId"] == target
    assert current_decision(services, DS, pending[0])[1:3] == ("accepted", target)
    assert maps_to(services, DS, pending[0]) == [target]

    # acting on a superseded decision is an Error union member with a hint, and changes nothing
    out = gql(f"mutation($id: Int!) {{ rejectMapping(decisionId: $id, author: \"ana\") {RESULT} }}",
              {"id": first["decision"]["id"]}, auth=True)["data"]["rejectMapping"]
    assert out["__typename"] == "Error" and "superseded" in out["message"] and out["hint"]
    assert current_decision(services, DS, pending[0])[1:3] == ("accepted", target)
    # an unknown concept: refused
    out = gql(f"mutation($id: Int!) {{ remapMapping(decisionId: $id, concept: \"no_such_concept\", author: \"a\") "
              f"{RESULT} }}", {"id": new_id + 1000000}, auth=True)["data"]["remapMapping"]
    assert out["__typename"] == "Error"
    left = {i["decision"]["label"] for i in gql(QUEUE, {"d": DS})["data"]["mappingReview"]}
    assert left == open_ - {pending[0], pending[1]}
