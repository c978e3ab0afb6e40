"""Protection of the GraphQL endpoint: token on mutations, depth/alias/token limits, masked internal errors,
injection strings in every string argument, and batched loading (no N+1 round trips)."""

from __future__ import annotations

from typing import Any

import pytest

from rskg.services import Services

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres]

REJECT = 'mutation { rejectMapping(decisionId: 987654321, author: "t") { __typename ... on Error { message code } } }'


def test_mutation_without_or_with_wrong_token_is_refused(gql: Any) -> None:
    for token in (None, "wrong-token", ""):
        out = gql(REJECT, token=token)
        assert out["data"] is None
        assert out["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert "Authorization: Bearer" in out["errors"][0]["message"]
    out = gql(REJECT, auth=True)     # the right token reaches the resolver: a clear Error union member
    res = out["data"]["rejectMapping"]
    assert res["__typename"] == "Error" and res["code"] == "NotFoundError"
    assert "987654321" in res["message"]


def test_every_mutation_requires_the_token() -> None:
    from api.auth import TokenRequired
    from api.schema import build_schema

    schema = build_schema()
    mutation = schema.schema_converter.type_map["Mutation"].definition  # type: ignore[attr-defined]
    assert len(mutation.fields) >= 9
    for f in mutation.fields:
        assert any(isinstance(p, TokenRequired) or p is TokenRequired for p in f.permission_classes), f.name


def test_queries_are_open(gql: Any) -> None:
    out = gql('{ concept(id: "river") { id } }')
    assert out["data"]["concept"]["id"] == "river"


def test_over_deep_query_is_refused(gql: Any) -> None:
    nested = "id"
    for _ in range(12):
        nested = f"id parents {{ {nested} }}"
    out = gql(f'{{ concept(id: "river") {{ {nested} }} }}')
    assert "data" not in out or out["data"] is None
    assert "exceeds maximum operation depth" in out["errors"][0]["message"]


def test_too_many_aliases_are_refused(gql: Any) -> None:
    body = " ".join(f'a{i}: concept(id: "river") {{ id }}' for i in range(25))
    out = gql(f"{{ {body} }}")
    assert "aliases found" in out["errors"][0]["message"].lower()


def test_too_many_tokens_are_refused(gql: Any) -> None:
    out = gql("{ " + "__typename " * 4000 + "}")
    assert "more than 3000 tokens" in out["errors"][0]["message"]


def test_internal_errors_are_masked_rskg_errors_are_not(gql: Any) -> None:
    # a NUL byte (PostgreSQL would raise inside the resolver) is refused up front, naming the variable
    out = gql('query($id: ID!) { sample(id: $id) { id } }', {"id": "abc\u0000def"})
    err = out["errors"][0]
    assert err["message"].startswith("$id contains a NUL character") and err["extensions"]["code"] == "ValidationError"
    assert "psycopg" not in str(out).lower() and "Traceback" not in str(out)
    # any other exception is masked
    from graphql import GraphQLError

    from api.errors import should_mask_error

    assert should_mask_error(GraphQLError("boom", original_error=RuntimeError("driver said x")))
    out = gql('{ samples(first: 2, after: "not-a-cursor") { totalCount } }')
    assert out["errors"][0]["message"].startswith("invalid cursor")
    assert out["errors"][0]["extensions"]["code"] == "ValidationError"


INJECTIONS = [
    "' OR 1=1 --",
    "river' }) MATCH (n) DETACH DELETE n //",
    "river\"}) DETACH DELETE c RETURN 1 //",
    "x'; DROP TABLE samples; --",
    "*:* OR name:*",
    "river) OR (1=1",
    "} . ?s ?p ?o } DELETE WHERE { ?s ?p ?o",
    "\\\\' UNION SELECT * FROM pg_user --",
    "$ids",
]


def _counts(services: Services, dataset: str) -> tuple[int, ...]:
    """What the injection strings aim at, limited to what no other process changes meanwhile: the label
    system in Neo4j, this test's dataset in both stores, and the catalog tables themselves."""
    q = services.driver.execute_query
    concepts = q("MATCH (c:Concept) RETURN count(c) AS n").records[0]["n"]
    subclass = q("MATCH (:Concept)-[r:SUBCLASS_OF]->(:Concept) RETURN count(r) AS n").records[0]["n"]
    labels = q("MATCH (l:SourceLabel) WHERE l.dataset STARTS WITH $d RETURN count(l) AS n", d=dataset).records[0]["n"]
    nodes = q("MATCH (s:Sample {dataset: $d}) RETURN count(s) AS n", d=dataset).records[0]["n"]
    with services.connection() as conn:
        samples = conn.execute("SELECT count(*) FROM samples WHERE dataset_id = %s", (dataset,)).fetchone()[0]
        decisions = conn.execute("SELECT count(*) FROM mapping_decisions WHERE dataset_id = %s",
                                 (dataset,)).fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE tablename IN "
                              "('samples', 'sample_labels', 'mapping_decisions', 'datasets')").fetchone()[0]
    return int(concepts), int(subclass), int(labels), int(nodes), int(samples), int(decisions), int(tables)


def _string_args(gql: Any) -> list[tuple[str, list[str]]]:
    """Every root query field with String/ID arguments, from introspection."""
    out = gql("""{ __schema { queryType { fields { name args { name type { kind name ofType { kind name
                 ofType { kind name } } } } } } } }""")
    fields = []
    for f in out["data"]["__schema"]["queryType"]["fields"]:
        names = []
        for a in f["args"]:
            t = a["type"]
            while t.get("ofType") and t["kind"] in ("NON_NULL",):
                t = t["ofType"]
            if t["kind"] == "SCALAR" and t["name"] in ("String", "ID"):
                names.append(a["name"])
        if names:
            fields.append((f["name"], names))
    return fields


def test_injection_strings_in_every_string_argument_are_harmless(gql: Any, services: Services,
                                                                 api_dataset: str) -> None:
    before = _counts(services, api_dataset)
    assert before[4] == 63 and before[6] == 4
    fields = _string_args(gql)
    assert {f for f, _ in fields} >= {"concept", "conceptsByLabel", "searchConcepts", "conceptPath", "sample",
                                      "dataset", "mappingReview"}
    for name, args in fields:
        for s in INJECTIONS:
            decl = ", ".join(f"${a}: String" if a not in ("id",) else f"${a}: ID!" for a in args)
            call = ", ".join(f"{a}: ${a}" for a in args)
            out = gql(f"query({decl}) {{ x: {name}({call}) {{ __typename }} }}", {a: s for a in args})
            for err in out.get("errors", []):
                # refused or not found with a clear message; never an internal error, never data leaked
                assert err["message"] != "Unexpected error. The server log has the details.", (name, s, out)
            if out.get("data") and out["data"]["x"]:
                assert name in ("searchConcepts", "mappingReview"), (name, s, out)
    # the same strings inside list/filter arguments and retrieval labels
    for s in INJECTIONS:
        out = gql("query($s: String!) { samples(filter: {datasets: [$s], labels: [$s], sensors: [$s]}) "
                  "{ totalCount } }", {"s": s})
        assert out["data"]["samples"]["totalCount"] == 0, out
        out = gql("query($s: String!) { samples(filter: {concepts: [$s]}) { totalCount } }", {"s": s})
        assert out["errors"][0]["extensions"]["code"] == "NotFoundError"
        out = gql("query($s: String!) { rejectMapping: mappingReview(dataset: $s) { decision { id } } }", {"s": s})
        assert out["data"]["rejectMapping"] == []
        out = gql("mutation($s: String!) { acceptMapping(decisionId: 1, author: $s, concept: $s) "
                  "{ __typename } }", {"s": s}, auth=True)
        assert out["data"]["acceptMapping"]["__typename"] == "Error"
    assert _counts(services, api_dataset) == before


def test_nested_fields_are_batched_no_n_plus_one(gql: Any, api_dataset: str) -> None:
    q = """query($n: Int!) { concepts(first: $n) { id parents { id children { id } } children { id }
             similar { concept { id } } adjacent { concept { id } } sourceLabels { name } sampleCount
             samples(first: 2) { id labelSets { label } concepts { id parents { id } } } } }"""
    small, big = gql(q, {"n": 3}), gql(q, {"n": 60})
    assert "errors" not in big, big
    assert len(big["data"]["concepts"]) == 60
    assert sum(len(c["samples"]) for c in big["data"]["concepts"]) > 0
    # the number of round trips does not grow with the number of concepts
    assert big["extensions"]["queries"] == small["extensions"]["queries"], (small["extensions"], big["extensions"])
    assert big["extensions"]["queries"]["neo4j"] <= 12 and big["extensions"]["queries"]["postgres"] <= 4


def test_sample_page_with_nested_concepts_is_batched(gql: Any, api_dataset: str) -> None:
    q = """query($n: Int!, $d: String!) { samples(filter: {datasets: [$d]}, first: $n) {
             edges { node { id labelSets { label } concepts { id parents { id } } } } } }"""
    small, big = gql(q, {"n": 2, "d": api_dataset}), gql(q, {"n": 60, "d": api_dataset})
    assert len(big["data"]["samples"]["edges"]) == 60
    assert big["extensions"]["queries"] == small["extensions"]["queries"]
    assert big["extensions"]["queries"] == {"neo4j": 2, "postgres": 2}
