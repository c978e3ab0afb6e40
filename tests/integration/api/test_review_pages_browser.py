"""The review pages in headless Chromium against a real uvicorn server: clicks store real decisions.

Needs the Debian package ``chromium`` (/usr/bin/chromium; scripts/system-deps.sh installs it) and the
``playwright`` Python package (dev extra); never downloads a browser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rskg.services import Services
from tests.integration.api.conftest import current_decision, maps_to

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.neo4j, pytest.mark.postgres, pytest.mark.model,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent: install the Debian package "
                                                     "`chromium` (scripts/system-deps.sh) to run the browser tests"),
]


@pytest.fixture(scope="module")
def browser(chromium: Any) -> Any:
    return chromium


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context()
    pg = ctx.new_page()
    pg.set_default_timeout(20_000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ctx.close()
    assert not errors, errors


DS = "test_api_vocab_web"


def test_mapping_review_page_accept_reject_remap(page: Any, live_server: str, map_vocab: Any,
                                                 services: Services, settings: Any) -> None:
    decisions = map_vocab(DS)
    pending = sorted(lab for lab, d in decisions.items() if d.status == "pending")
    assert len(pending) >= 3, {lab: d.status for lab, d in decisions.items()}
    page.goto(f"{live_server}/review/mappings?dataset={DS}")
    page.wait_for_selector(".item")
    assert page.locator(".item").count() == sum(d.status in ("pending", "proposed") for d in decisions.values())

    # without a token nothing is stored
    box = page.locator(f"#decision-{decisions[pending[0]].id}")
    box.locator("button.accept").click()
    page.wait_for_selector(".status.error")
    assert "token" in page.locator("#status").inner_text().lower()
    assert current_decision(services, DS, pending[0])[1] == "pending"

    page.fill("#token", settings.api_token)
    page.fill("#author", "web reviewer")
    box.locator("button.accept").click()
    page.wait_for_selector(f"#decision-{decisions[pending[0]].id}.done")
    assert current_decision(services, DS, pending[0])[1:] == ("accepted", decisions[pending[0]].concept_id,
                                                             "web reviewer")

    page.locator(f"#decision-{decisions[pending[1]].id} button.reject").click()
    page.wait_for_selector(f"#decision-{decisions[pending[1]].id}.done")
    assert current_decision(services, DS, pending[1])[1] == "rejected"
    assert maps_to(services, DS, pending[1]) == []

    # remap to the second candidate with its "map here" button
    third = decisions[pending[2]]
    target = third.candidates[1]["concept_id"]
    page.locator(f"#decision-{third.id} button.remap-candidate").nth(1).click()
    page.wait_for_selector(f"#decision-{third.id}.done")
    assert current_decision(services, DS, pending[2])[1:3] == ("accepted", target)
    assert maps_to(services, DS, pending[2]) == [target]

    # the token cookie was kept for the next visit; the decided mappings left the queue
    page.reload()
    page.wait_for_selector(".item")
    assert page.input_value("#token") == settings.api_token
    assert page.locator(".item").count() == sum(d.status in ("pending", "proposed") for d in decisions.values()) - 3
