"""Composite datasets through the API on the shared retrieval corpus: build / accept / reject / export
mutations (token required), the items query, and the review page in headless Chromium."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.integration.api.conftest import serve_in_thread

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres, pytest.mark.model, pytest.mark.slow]

NAME = "test_retr_api_composite"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BUILD = """mutation($n: String!, $l: [String!]!, $o: CompositeOptions) {
  buildComposite(name: $n, labels: $l, author: "tester", options: $o) {
    __typename ... on Error { message hint code }
    ... on CompositeSuccess { composite { id name labels unmatched counts { conceptId direct supplementary } } } } }"""
ITEMS = """query($id: ID!, $kind: String) { composite(id: $id) { items(kind: $kind, first: 500) { totalCount
  edges { node { sampleId conceptId kind score decision thumbnailUrl sample { id dataset }
  evidence { conceptId prototypeId similarity graphDistance path sourceLabels } } } } } }"""
FEEDBACK = """mutation($c: ID!, $s: String!, $k: String) {
  %s(compositeId: $c, sampleId: $s, conceptId: $k, author: "tester") {
    __typename ... on FeedbackSuccess { decision } ... on Error { message code } } }"""


@pytest.fixture(scope="module")
def api(corpus: Any) -> Iterator[TestClient]:
    from api.app import create_app

    with TestClient(create_app(corpus.settings, corpus.services)) as c:
        yield c


def _q(api: TestClient, query: str, variables: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = api.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert r.status_code == 200
    return dict(r.json())


def _latest(corpus: Any, cid: str) -> dict[tuple[str, str], str]:
    from rskg.composites.feedback import latest

    return {k: d.decision for k, d in latest(corpus.services, cid).items()}


@pytest.fixture(scope="module")
def composite(api: TestClient, corpus: Any) -> str:
    opts = {"datasets": sorted(corpus.datasets.values()), "limitSupplementary": 30}
    out = _q(api, BUILD, {"n": NAME, "l": ["river", "beach"], "o": opts})
    assert out["data"] is None and out["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    out = _q(api, BUILD, {"n": NAME, "l": ["river", "beach"], "o": opts}, corpus.settings.api_token)
    res = out["data"]["buildComposite"]
    assert res["__typename"] == "CompositeSuccess", res
    c = res["composite"]
    assert c["labels"] == ["river", "beach"] and c["unmatched"] == []
    counts = {x["conceptId"]: x for x in c["counts"]}
    assert counts["river"]["direct"] > 0 and counts["beach"]["direct"] > 0
    assert sum(x["supplementary"] for x in c["counts"]) > 0
    return str(c["id"])


def test_build_items_feedback_export(api: TestClient, corpus: Any, composite: str, tmp_path: Path) -> None:
    token = corpus.settings.api_token
    out = _q(api, ITEMS, {"id": composite, "kind": "supplementary"})
    sup = [e["node"] for e in out["data"]["composite"]["items"]["edges"]]
    assert sup and all(i["kind"] == "supplementary" and i["decision"] == "pending" for i in sup)
    for i in sup:
        ev = i["evidence"]
        assert ev["prototypeId"] and ev["path"][0] == i["conceptId"] and 0 < ev["similarity"] <= 1 + 1e-5
        assert i["sample"]["id"] == i["sampleId"]
    a, b = sup[0], sup[1]
    r = _q(api, FEEDBACK % "acceptCompositeItem", {"c": composite, "s": a["sampleId"], "k": a["conceptId"]}, token)
    assert r["data"]["acceptCompositeItem"] == {"__typename": "FeedbackSuccess", "decision": "accept"}
    r = _q(api, FEEDBACK % "rejectCompositeItem", {"c": composite, "s": b["sampleId"], "k": b["conceptId"]}, token)
    assert r["data"]["rejectCompositeItem"]["decision"] == "reject"
    assert _latest(corpus, composite) == {(a["sampleId"], a["conceptId"]): "accept",
                                          (b["sampleId"], b["conceptId"]): "reject"}
    r = _q(api, FEEDBACK % "rejectCompositeItem", {"c": composite, "s": "no:such", "k": "river"}, token)
    assert r["data"]["rejectCompositeItem"]["__typename"] == "Error"
    r = _q(api, FEEDBACK % "acceptCompositeItem", {"c": composite, "s": a["sampleId"], "k": None})
    assert r["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    out = _q(api, ITEMS, {"id": composite, "kind": None})
    every = [e["node"] for e in out["data"]["composite"]["items"]["edges"]]
    exp = """mutation($c: ID!, $f: String!) { exportComposite(compositeId: $c, format: $f) {
               __typename ... on ExportSuccess { path items rejectedLeftOut files } ... on Error { message } } }"""
    r = _q(api, exp, {"c": composite, "f": "csv"}, token)["data"]["exportComposite"]
    assert r["__typename"] == "ExportSuccess" and r["rejectedLeftOut"] == 1 and r["items"] == len(every) - 1
    with open(Path(r["path"]) / "items.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(every) - 1
    assert (b["sampleId"], b["conceptId"]) not in {(x["sample_id"], x["concept_id"]) for x in rows}
    assert Path(r["path"]).is_relative_to(corpus.settings.home / "exports")
    r = _q(api, exp, {"c": composite, "f": "../../etc"}, token)["data"]["exportComposite"]
    assert r["__typename"] == "Error" and "unknown" in r["message"]
    out = _q(api, ITEMS, {"id": "not-a-uuid", "kind": None})
    assert out["errors"][0]["extensions"]["code"] == "NotFoundError"


PAGE = """query($id: ID!, $first: Int!, $after: String, $kind: String, $decision: String) { composite(id: $id) {
  items(kind: $kind, decision: $decision, first: $first, after: $after) { totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { sampleId conceptId kind score decision } } } } }"""


def _walk(api: TestClient, composite: str, first: int, **filters: str | None) -> tuple[list[tuple[str, ...]], int]:
    """All items by following endCursor; checks the page flags on the way."""
    out: list[tuple[str, ...]] = []
    after = None
    while True:
        r = _q(api, PAGE, {"id": composite, "first": first, "after": after, **filters})
        assert "errors" not in r, r
        conn = r["data"]["composite"]["items"]
        info = conn["pageInfo"]
        assert len(conn["edges"]) <= first and info["hasPreviousPage"] == (after is not None)
        out += [(e["node"]["sampleId"], e["node"]["conceptId"], e["node"]["kind"], e["node"]["decision"])
                for e in conn["edges"]]
        if not info["hasNextPage"]:
            return out, conn["totalCount"]
        assert info["endCursor"] == conn["edges"][-1]["cursor"]
        after = info["endCursor"]


def test_items_pages_are_keyset_pages_of_one_order(api: TestClient, corpus: Any, composite: str) -> None:
    """Small pages walked by endCursor give exactly the single-page list (direct before supplementary within a
    concept, best score first), with filters applied in SQL; a decision recorded mid-walk moves no item."""
    full, total = _walk(api, composite, 500)
    assert total == len(full) >= 10 and len(set(full)) == len(full)
    walked, total7 = _walk(api, composite, 7)
    assert walked == full and total7 == total
    for concept in {c for _, c, _, _ in full}:
        kinds = [k for _, c, k, _ in full if c == concept]
        assert kinds == sorted(kinds)                     # 'direct' rows first
    sup, n_sup = _walk(api, composite, 4, kind="supplementary")
    assert sup == [x for x in full if x[2] == "supplementary"] and n_sup == len(sup)
    pending, _ = _walk(api, composite, 5, kind="supplementary", decision="pending")
    assert pending == [x for x in sup if x[3] == "pending"]
    # accept an item of a later page while walking: pages stay consecutive (keyset, not offsets)
    first = _q(api, PAGE, {"id": composite, "first": 3})["data"]["composite"]["items"]
    later = full[-1]
    r = _q(api, FEEDBACK % "acceptCompositeItem", {"c": composite, "s": later[0], "k": later[1]},
           corpus.settings.api_token)
    assert r["data"]["acceptCompositeItem"]["decision"] == "accept"
    rest = _q(api, PAGE, {"id": composite, "first": 500, "after": first["pageInfo"]["endCursor"]})
    nodes = [(e["node"]["sampleId"], e["node"]["conceptId"]) for e in rest["data"]["composite"]["items"]["edges"]]
    assert nodes == [(x[0], x[1]) for x in full[3:]]
    from api.pagination import encode_cursor

    for bad in ("nonsense", encode_cursor("[1, 2]"), encode_cursor("not json")):
        err = _q(api, PAGE, {"id": composite, "first": 5, "after": bad})["errors"][0]
        assert "cursor" in err["message"]
    err = _q(api, PAGE, {"id": composite, "first": 5, "kind": "other"})["errors"][0]
    assert "kind 'other' unknown" in err["message"]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent: install the Debian package "
                                                  "`chromium` (scripts/system-deps.sh) to run the browser tests")
def test_composite_review_page_in_chromium(corpus: Any, composite: str, api: TestClient) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[dev]' (playwright)")
    with serve_in_thread(corpus.settings, corpus.services) as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        # Playwright's wait_for_function evaluates its predicate with eval(), which the page's strict CSP refuses;
        # the CSP itself is tested in tests/integration/api/test_web_app_pages_browser.py
        page = browser.new_page(bypass_csp=True)
        page.set_default_timeout(20_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}/review/composite/{composite}")
        page.wait_for_selector(".card")
        cards = page.locator(".card")
        n = cards.count()
        items = [e["node"] for e in _q(api, ITEMS, {"id": composite, "kind": "supplementary"})
                 ["data"]["composite"]["items"]["edges"]]
        assert n == len(items) >= 4
        # every thumbnail loaded as a real image
        page.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        assert "similarity" in cards.nth(0).inner_text()
        page.fill("#token", corpus.settings.api_token)
        page.fill("#author", "page reviewer")
        pending = [i for i in items if i["decision"] == "pending"]
        acc, rej = pending[0], pending[1]
        page.locator(f'.card[data-sample="{acc["sampleId"]}"][data-concept="{acc["conceptId"]}"] button.accept').click()
        page.wait_for_selector(f'.card.accepted[data-sample="{acc["sampleId"]}"]')
        page.locator(f'.card[data-sample="{rej["sampleId"]}"][data-concept="{rej["conceptId"]}"] button.reject').click()
        page.wait_for_selector(f'.card.rejected[data-sample="{rej["sampleId"]}"]')
        # small pages: "Load more" appends the next keyset page until every item is shown, then hides
        page.goto(f"{base}/review/composite/{composite}?pageSize=3")
        page.wait_for_selector(".card")
        assert cards.count() == 3 and page.locator("#more").is_visible()
        while page.locator("#more").is_visible():
            before = cards.count()
            page.click("#more")
            page.wait_for_function(f"document.querySelectorAll('.card').length > {before}")
        shown = [cards.nth(i).get_attribute("data-sample") for i in range(cards.count())]
        assert shown == [i["sampleId"] for i in items]
        assert f"{len(items)} of {len(items)} item(s) shown" in page.inner_text("#status")
        page.select_option("#decision", "reject")
        page.wait_for_function("document.querySelectorAll('.card').length > 0 && Array.from("
                               "document.querySelectorAll('.card')).every(c => c.dataset.decision === 'reject')")
        assert rej["sampleId"] in [cards.nth(i).get_attribute("data-sample") for i in range(cards.count())]
        browser.close()
        assert not errors, errors
    decisions = _latest(corpus, composite)
    assert decisions[(acc["sampleId"], acc["conceptId"])] == "accept"
    assert decisions[(rej["sampleId"], rej["conceptId"])] == "reject"
    from rskg.composites.feedback import latest

    assert latest(corpus.services, composite)[(acc["sampleId"], acc["conceptId"])].author == "page reviewer"
