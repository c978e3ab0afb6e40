"""Expensive operations under a flood: a bounded number run, a few wait, the rest are refused at once with
HTTP 503 + Retry-After and a clear GraphQL error, and cheap lookups keep answering meanwhile."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.security.conftest import Served

SEARCH = "query($t: String!) { search(text: $t, limit: 5) { hits { sampleId } } }"
CONCEPT = '{ concept(id: "river") { id name } }'


def test_search_flood_is_admitted_or_refused_fast(serve: Served) -> None:
    r = serve.gql(SEARCH, {"t": "river next to a forest"}, timeout=120)     # warm: models loaded
    assert r.status_code == 200 and "errors" not in r.json(), r.text

    def one(i: int) -> httpx.Response:
        return serve.gql(SEARCH, {"t": f"river number {i}"}, timeout=120)

    with ThreadPoolExecutor(40) as pool:
        futures = [pool.submit(one, i) for i in range(40)]
        concepts = [serve.gql(CONCEPT, timeout=20) for _ in range(5)]    # answered while searches run
        answers = [f.result() for f in futures]
    assert all(c.status_code == 200 and c.json()["data"]["concept"]["id"] == "river" for c in concepts)
    busy = [a for a in answers if a.status_code == 503]
    ok = [a for a in answers if a.status_code == 200]
    assert len(busy) + len(ok) == 40, [a.status_code for a in answers]
    assert busy and ok
    for a in busy:
        assert a.headers["retry-after"] == "2"
        err = a.json()["errors"][0]
        assert err["message"].startswith("the server is busy") and err["extensions"]["code"] == "Busy"
    assert all("errors" not in a.json() for a in ok)
