"""The web app's pages in headless Chromium on the real label system and a real UCMerced subset: keyboard
only (Tab / arrows / Enter), a phone-sized window without sideways scrolling, API errors shown in the page.

Needs the Debian package ``chromium`` and the ``playwright`` Python package (dev extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = [
    pytest.mark.neo4j, pytest.mark.postgres,
    pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="/usr/bin/chromium is absent: install the "
                       "Debian package `chromium` (scripts/system-deps.sh) to run the browser tests"),
]


@pytest.fixture(scope="module", autouse=True)
def derived_edges(services: Any, label_system: Any) -> None:
    """SIMILAR_TO / ADJACENT_TO as `rskg sync` computes them: the concept page draws them as its neighbour graph."""
    from rskg.sync import run_sync

    run_sync(services, derived=True)


@pytest.fixture(scope="module")
def browser(chromium: Any) -> Any:
    return chromium


def _page(browser: Any, width: int, height: int, errors: list[str]) -> Any:
    pg = browser.new_context(viewport={"width": width, "height": height}).new_page()
    pg.set_default_timeout(20_000)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    return pg


def test_explore_by_keyboard(browser: Any, live_server: str, api_dataset: str) -> None:
    errors: list[str] = []
    page = _page(browser, 1280, 800, errors)
    page.goto(f"{live_server}/explore")
    page.wait_for_selector("#tree > li")
    page.wait_for_selector("#composites li, #concept .muted")     # recent composites, or "none yet"
    page.focus("#search")
    page.keyboard.type("storagetanks", delay=20)
    page.wait_for_selector("#search-list[data-for='storagetanks'] .suggestion[aria-selected='true']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/explore/storage_tank")
    page.wait_for_selector("#sample-counts tr")
    cells = page.inner_text("#sample-counts").split()
    assert dict(zip(cells[::2], cells[1::2], strict=True))[api_dataset] == "3"
    # from the concept page to Compose with the label already picked
    page.focus("#compose-link")
    page.keyboard.press("Enter")
    page.wait_for_selector("#labels .chip[data-label='storage tank']")
    page.go_back()
    page.wait_for_selector("#compose-link")
    # the tree opens with the keyboard: focus a twisty, Enter, the children appear
    page.focus("#tree > li:has(a[data-concept='water_area']) > .twisty")
    page.keyboard.press("Enter")
    page.wait_for_selector("#tree a[data-concept='inland_water'], #tree li li a")
    page.keyboard.press("Tab")          # the concept link after the twisty, Enter opens it
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/explore/water_area")
    page.wait_for_selector(".graph .node")
    page.focus(".graph .node")           # a neighbour in the graph opens with Enter too
    target = page.get_attribute(".graph .node", "data-concept")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/explore/{target}")
    assert not errors, errors


def test_phone_width_and_api_errors_in_the_page(browser: Any, live_server: str, api_dataset: str) -> None:
    errors: list[str] = []
    page = _page(browser, 390, 844, errors)
    for path in ("/explore/storage_tank", "/compose", "/stats"):
        page.goto(f"{live_server}{path}")
        page.wait_for_selector("#status.ok")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    # errors of the API are shown in the page, never a blank screen
    page.goto(f"{live_server}/review/composite/not-a-uuid")
    page.wait_for_selector("#status.error")
    assert page.inner_text("#status").strip()
    page.goto(f"{live_server}/explore/no_such_concept")
    page.wait_for_selector("#concept .status.error")
    assert "no_such_concept" in page.inner_text("#concept")
    page.goto(f"{live_server}/compose")
    page.wait_for_selector("#status.ok")
    page.click("#preview")
    assert "label" in page.inner_text("#status.error").lower()
    page.fill("#free-label", "river")
    page.press("#free-label", "Enter")
    page.fill("#k", "0")              # refused by the API: its message appears
    page.click("#preview")
    page.wait_for_selector("#status.error")
    assert page.inner_text("#status").strip() and not page.inner_text("#status").startswith("retrieving")
    assert not errors, errors


CSP = "default-src 'self'; img-src 'self' data: blob:"


def test_pages_run_under_a_strict_content_security_policy(browser: Any, live_server: str, api_dataset: str) -> None:
    """Served with ``default-src 'self'`` (images also data:/blob:), nothing is refused: no inline script or
    style, no other origin (the map's base layer ships with the app)."""
    errors: list[str] = []
    page = _page(browser, 1280, 800, errors)
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)

    def with_csp(route: Any) -> None:
        resp = route.fetch()
        route.fulfill(response=resp, headers={**resp.headers, "content-security-policy": CSP})

    page.route(f"{live_server}/**", with_csp)
    for path in ("/explore/storage_tank", "/compose", "/stats"):
        page.goto(f"{live_server}{path}")
        page.wait_for_selector("#status.ok")
    page.wait_for_function("document.querySelectorAll('#footprint-map svg path').length > 100")
    assert not refused, refused
    assert not errors, errors
