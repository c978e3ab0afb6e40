"""The web app in headless Chromium doing what a sample-hunter does, on the shared retrieval corpus (real
UCMerced / EuroSAT / NWPU / RSSCN7 subsets + the 11 real Sentinel-2 patches) against a real uvicorn server:
find "storagetanks" by typing "storage tank", open the concept; compose "river + beach" with a box drawn over
the Sentinel-2 patches and a time range, see the expansion and the preview, build the composite, reject two
items, export and open the downloaded ImageFolder zip (torchvision loads it); the statistics page shows the
counts PostgreSQL has.

Needs the Debian package ``chromium`` and the dev extras ``playwright`` and ``torchvision``."""

from __future__ import annotations

import csv
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.integration.api.conftest import serve_in_thread

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres, pytest.mark.model, pytest.mark.slow,
              pytest.mark.skipif(not Path("/usr/bin/chromium").exists(),
                                 reason="/usr/bin/chromium is absent: install the Debian package `chromium` "
                                        "(scripts/system-deps.sh) to run the browser tests")]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _pg(corpus: Any, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with corpus.services.connection() as conn:
        return list(conn.execute(sql, params).fetchall())


def _pick(page: Any, box: str, text: str, concept: str) -> None:
    page.fill(box, "")
    page.type(box, text, delay=20)
    page.wait_for_selector(f"#{box[1:]}-list[data-for='{text}'] .suggestion[data-concept='{concept}']")
    # keyboard: move to the concept's row and press Enter
    rows = page.locator(f"#{box[1:]}-list .suggestion")
    idx = [rows.nth(i).get_attribute("data-concept") for i in range(rows.count())].index(concept)
    for _ in range(idx):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")


def test_sample_hunter_journey(corpus: Any, tmp_path: Path) -> None:
    from rskg.sync import run_sync

    run_sync(corpus.services, derived=True)      # SIMILAR_TO / ADJACENT_TO: the concept page's neighbour graph
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[dev]' (playwright)")
    tv = pytest.importorskip("torchvision.datasets", reason="pip install -e '.[dev]' (torchvision)")
    s2 = corpus.datasets["bigearthnet_43"]
    (minx, miny, maxx, maxy), = _pg(corpus, "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                    "(SELECT ST_Extent(footprint) AS e FROM samples WHERE dataset_id = %s) x", (s2,))
    s2_ids = {r[0] for r in _pg(corpus, "SELECT id FROM samples WHERE dataset_id = %s", (s2,))}
    with serve_in_thread(corpus.settings, corpus.services) as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        # Playwright's wait_for_function evaluates with eval(), which the pages' strict CSP refuses; the CSP itself
        # is tested in tests/integration/api/test_web_app_pages_browser.py
        ctx = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True, bypass_csp=True)
        page = ctx.new_page()
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))

        # Explore: "storage tank" finds UCMerced's "storagetanks" spelling; Enter opens the concept
        page.goto(f"{base}/explore")
        page.type("#search", "storage tank", delay=20)
        row = page.locator("#search-list[data-for='storage tank'] .suggestion[data-concept='storage_tank']")
        row.wait_for()
        assert re.search(r"storagetanks \([^)]*\bucm\b", row.inner_text()), row.inner_text()
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/explore/storage_tank")
        assert page.inner_text("#concept-name").startswith("storage tank")
        assert "storagetanks" in page.inner_text("#source-labels")
        assert page.locator(".graph .node").count() > 0
        assert "cmd=edit" in (page.get_attribute("#browser-link", "href") or "")
        # the tree expands by keyboard-reachable buttons
        page.locator("#tree > li .twisty").first.click()
        page.wait_for_selector("#tree > li ul li")

        # Compose: river + beach, the Sentinel-2 datasets' box drawn on the map, a time range, options
        page.click("nav a[href='/compose']")
        page.wait_for_function("document.querySelectorAll('#map svg path').length > 100")
        _pick(page, "#label-search", "river", "river")
        _pick(page, "#label-search", "beach", "beach")
        chips = page.locator("#labels .chip")
        assert [chips.nth(i).get_attribute("data-label") for i in range(chips.count())] == ["river", "beach"]
        page.select_option("#datasets", sorted(corpus.datasets.values()))
        page.click("#draw")
        mb = page.locator("#map").bounding_box()
        page.mouse.move(mb["x"] + 10, mb["y"] + 10)
        page.mouse.down()
        page.mouse.move(mb["x"] + mb["width"] / 2, mb["y"] + mb["height"] / 2, steps=5)
        page.mouse.move(mb["x"] + mb["width"] - 10, mb["y"] + mb["height"] - 10, steps=5)
        page.mouse.up()
        drawn = [float(page.input_value(f"#{k}")) for k in ("minLon", "minLat", "maxLon", "maxLat")]
        assert drawn[0] <= minx and drawn[1] <= miny and drawn[2] >= maxx and drawn[3] >= maxy, (drawn, minx, maxy)
        page.fill("#timeFrom", "2017-01-01")
        page.fill("#timeTo", "2018-12-31")
        page.fill("#maxDistance", "3")
        page.click("#preview")
        page.wait_for_selector("#expansion tbody tr")
        related = page.locator("#expansion tbody tr")
        assert related.count() > 0
        assert {"sand", "sea"} <= {related.nth(i).get_attribute("data-concept") for i in range(related.count())}
        page.wait_for_selector("#supplementary .card")
        sup = page.locator("#supplementary .card")
        sup_n = sup.count()
        shown = {sup.nth(i).get_attribute("data-sample") for i in range(sup_n)}
        assert shown and shown <= s2_ids          # only the Sentinel-2 patches are in the box and the period
        assert "similarity" in sup.first.inner_text()
        page.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")

        # Build (the API token is needed) and land on the review page
        page.click("#build")
        page.wait_for_selector("#status.error")
        assert "token" in page.inner_text("#status").lower()
        page.fill("#token", corpus.settings.api_token)
        page.fill("#author", "web hunter")
        page.fill("#name", "test_retr_web_river_beach")
        page.click("#build")
        page.wait_for_url(f"{base}/review/composite/*")
        cid = page.url.rsplit("/", 1)[1]
        page.wait_for_selector(".card")
        cards = page.locator(".card")
        n = cards.count()
        # the composite retrieves each label on its own (one card per sample and concept): the same S2 patches
        assert n >= sup_n >= 3
        assert {cards.nth(i).get_attribute("data-sample") for i in range(n)} == shown
        rejected = [(cards.nth(i).get_attribute("data-sample"), cards.nth(i).get_attribute("data-concept"))
                    for i in (0, 1)]
        for i in (0, 1):
            cards.nth(i).locator("input.pick").check()
        page.click("#reject-selected")
        page.wait_for_function("document.querySelectorAll('.card.rejected').length === 2")
        from rskg.composites.feedback import latest

        decisions = latest(corpus.services, cid)
        assert sorted(k for k, d in decisions.items() if d.decision == "reject") == sorted(rejected)
        assert {d.author for d in decisions.values()} == {"web hunter"}

        # filters run in PostgreSQL: one concept, one dataset, the rejected ones; then accept all shown of a concept
        card_concepts = [cards.nth(i).get_attribute("data-concept") for i in range(n)]
        one = sorted(set(card_concepts))[0]
        page.select_option("#concept-filter", one)
        page.wait_for_function(f"document.querySelectorAll('.card').length > 0 && Array.from(document.querySelectorAll"
                               f"('.card')).every(c => c.dataset.concept === '{one}')")
        n_one = cards.count()
        assert n_one == card_concepts.count(one)
        page.select_option("#dataset-filter", s2)
        page.wait_for_selector("#status.ok")
        assert cards.count() == n_one                    # all of them are Sentinel-2 patches
        page.select_option("#concept-filter", "")
        page.select_option("#decision", "reject")
        page.wait_for_function("document.querySelectorAll('.card').length === 2 && Array.from(document."
                               "querySelectorAll('.card')).every(c => c.dataset.decision === 'reject')")
        page.select_option("#decision", "pending")
        page.wait_for_function(f"document.querySelectorAll('.card').length === {n - 2}")
        page.check("#select-all")
        page.click("#accept-selected")
        page.wait_for_function(f"document.querySelectorAll('.card.accepted').length === {n - 2}")
        decisions = latest(corpus.services, cid)
        assert sum(d.decision == "accept" for d in decisions.values()) == n - 2

        # Export ImageFolder: a zip downloaded from the page, loadable by torchvision
        with page.expect_download() as dl:
            page.click("button.export[data-format='imagefolder']")
        zpath = tmp_path / dl.value.suggested_filename
        dl.value.save_as(zpath)
        with zipfile.ZipFile(zpath) as zf:
            zf.extractall(tmp_path / "x")
            names = zf.namelist()
        root = next((tmp_path / "x").iterdir())
        assert any(x.endswith("ATTRIBUTION.md") for x in names)
        assert "BigEarthNet" in (root / "ATTRIBUTION.md").read_text()
        with (root / "items.csv").open() as fh:
            exported = {(r["sample_id"], r["concept_id"]) for r in csv.DictReader(fh)}
        assert len(exported) == n - 2 and not exported & set(rejected)
        ds = tv.ImageFolder(str(root), is_valid_file=lambda f: f.endswith((".png", ".jpg", ".tif")))
        assert len(ds) == n - 2 and set(ds.classes) <= {"river", "beach"}
        img, label = ds[0]
        assert img.size[0] > 0 and ds.classes[label] in {"river", "beach"}

        # Statistics: the per-dataset counts are PostgreSQL's
        page.click("nav a[href='/stats']")
        page.wait_for_selector("#datasets tbody tr")
        for ds_id, count in _pg(corpus, "SELECT dataset_id, count(*) FROM samples WHERE dataset_id = ANY(%s) "
                                        "GROUP BY 1", (list(corpus.datasets.values()),)):
            assert page.inner_text(f"#datasets tr[data-dataset='{ds_id}'] td.samples") == str(count)
        total = _pg(corpus, "SELECT count(*) FROM samples")[0][0]
        assert page.inner_text("#totals").startswith(f"{total} samples")
        geo = _pg(corpus, "SELECT count(*) FROM samples WHERE footprint IS NOT NULL")[0][0]
        page.wait_for_function(f"document.querySelectorAll('#footprint-map path.footprint-dot').length === {geo}")
        browser.close()
    assert not errors, errors
