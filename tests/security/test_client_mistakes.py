"""Client mistakes and malformed requests: a 400 or a ValidationError naming the argument, never internal text;
oversized bodies 413; pages with X-Frame-Options and a CSP."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.security.conftest import Served

INTERNAL = ("Traceback", "RecursionError", "maximum recursion", "Unexpected error", "psycopg", "neo4j.exceptions",
            "BytesIO", "0x7f")


def clean(r: httpx.Response) -> str:
    for bad in INTERNAL:
        assert bad not in r.text, r.text[:2000]
    return r.text


def first_error(r: httpx.Response) -> dict[str, Any]:
    clean(r)
    body = r.json()
    assert body.get("errors"), body
    return dict(body["errors"][0])


@pytest.mark.parametrize("body", [b'"hello"', b"null", b"[1, 2]", b"\xff\xfe{not utf-8", b"{not json", b"42"])
def test_malformed_json_bodies_are_400(serve: Served, body: bytes) -> None:
    r = serve.post("/graphql", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, (r.status_code, r.text)
    clean(r)


def test_body_limit_is_413(serve: Served) -> None:
    big = b'{"query": "{ __typename }", "pad": "' + b"x" * (33 * 2**20) + b'"}'
    r = serve.post("/graphql", content=big, headers={"Content-Type": "application/json"}, timeout=60)
    assert r.status_code == 413, r.status_code
    assert serve.gql("{ __typename }", timeout=10).status_code == 200


def test_huge_documents_and_ids_are_refused_cheaply(serve: Served) -> None:
    doc = "{ " + "__typename " * 2_000_000 + "}"                    # 22 MB document
    r = serve.post("/graphql", json={"query": doc}, timeout=60)
    assert r.status_code == 200 and "characters (at most 100000)" in first_error(r)["message"]
    r = serve.gql("query($id: ID!) { concept(id: $id) { id } }", {"id": "x" * 20_000_000}, timeout=60)
    assert "$id has 20000000 characters (at most 10000)" in first_error(r)["message"]
    r = serve.post("/graphql", content=b'{"query": "{ __typename }", "variables": {"id": "' + b"x" * 50_000_000 +
                   b'"}}', headers={"Content-Type": "application/json"}, timeout=60)
    assert r.status_code == 413


@pytest.mark.parametrize(("query", "variables", "named"), [
    ('query($t: String!) { search(text: $t) { query } }', {"t": "river\u0000lake"}, "$t"),
    ('query($id: ID!) { concept(id: $id) { id } }', {"id": "x" * 200_000}, "$id"),
    ('query($r: RetrievalInput!) { retrieve(request: $r) { direct { sampleId } } }',
     {"r": {"labels": ["river"], "gsdMin": float("nan")}}, "gsdMin"),
    ('query($r: RetrievalInput!) { retrieve(request: $r) { direct { sampleId } } }',
     {"r": {"labels": ["river"], "gsdMax": float("inf")}}, "gsdMax"),
])
def test_bad_variables_name_the_argument(serve: Served, query: str, variables: dict[str, Any], named: str) -> None:
    import json

    body = json.dumps({"query": query, "variables": variables}, allow_nan=True)
    r = serve.post("/graphql", content=body, headers={"Content-Type": "application/json"})
    err = first_error(r)
    assert named in err["message"], err


def test_bad_dates_are_client_errors(serve: Served) -> None:
    q = "query($t: DateTime) { retrieve(request: {labels: [\"river\"], timeFrom: $t}) { direct { sampleId } } }"
    for r in (serve.gql('{ retrieve(request: {labels: ["river"], timeFrom: "2020-13-45"}) { direct { sampleId } } }'),
              serve.gql(q, {"t": "2020-13-45"})):
        err = first_error(r)
        assert "2020-13-45" in err["message"] and "month must be in 1..12" in err["message"], err


@pytest.mark.parametrize(("request_", "named"), [
    ('{labels: ["river"], hirShortlist: -5, rerankHir: true}', "hir"),
    ('{labels: ["river"], limitSupplementary: -1}', "limit"),
    ('{labels: ["river"], polygonWkt: "POLYGON((500 0, 501 0, 501 1, 500 0))"}', "polygon"),
    ('{labels: ["river"], bbox: [10, 10, 10, 10]}', "bbox"),
])
def test_bad_retrieve_arguments_are_validation_errors(serve: Served, request_: str, named: str) -> None:
    r = serve.gql(f"{{ retrieve(request: {request_}) {{ direct {{ sampleId }} }} }}")
    err = first_error(r)
    assert named.lower() in err["message"].lower(), err
    assert err.get("extensions", {}).get("code") == "ValidationError", err


def test_reserved_words_in_search_text(serve: Served) -> None:
    r = serve.gql('{ search(text: "river OR lake AND NOT forest", limit: 3) { query } }', timeout=120)
    body = r.json()
    clean(r)
    if body.get("errors"):
        assert body["errors"][0]["extensions"]["code"] == "ValidationError", body
    else:
        assert body["data"]["search"]["query"]


def test_chained_fragments_give_a_clean_error(serve: Served) -> None:
    frags = "".join(f"fragment F{i} on Query {{ ...F{i + 1} }}\n" for i in range(300))
    q = "query { ...F0 }\n" + frags + "fragment F300 on Query { __typename }"
    r = serve.post("/graphql", json={"query": q})
    err = first_error(r)
    assert err["message"], err


def test_pages_send_security_headers(serve: Served) -> None:
    for path in ("/", "/review/mappings", "/graphql"):
        r = serve.get(path, headers={"Accept": "text/html"})
        assert r.headers.get("x-frame-options") == "DENY", path
        csp = r.headers.get("content-security-policy", "")
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, (path, csp)
        assert r.headers.get("x-content-type-options") == "nosniff"


def test_refusals_log_one_line_without_traceback(serve: Served) -> None:
    mark = len(serve.log_text())
    reject = 'mutation { rejectMapping(decisionId: 987654321, author: "t") { __typename } }'
    for headers in ({}, {"Authorization": "Bearer wrong-token"}):
        r = serve.post("/graphql", json={"query": reject}, headers=headers)
        assert first_error(r)["extensions"]["code"] == "UNAUTHENTICATED"
    first_error(serve.gql('query($id: ID!) { concept(id: $id) { id } }', {"id": "a\u0000b"}))
    time.sleep(0.5)
    new = serve.log_text()[mark:]
    assert "Traceback" not in new, new[-3000:]
