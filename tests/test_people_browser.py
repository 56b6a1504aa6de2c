"""The people directory in headless Chromium: the top bar opens a person's page, the actions
form and the plan's targets take persons by name (their ids travel behind).

Skipped only when ``/usr/bin/chromium`` is absent outside CI; in CI (``CI`` set) it must run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from test_api_helpers import PASSWORDS, make_kb
from test_e2e_browser import CHROMIUM, CHROMIUM_ARGS, serve_kb

APPERE = "p-f32e7ff2540601"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="headless Chromium not installed (/usr/bin/chromium): apt-get install chromium",
    ),
]


@pytest.fixture(scope="module")
def server(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``territoria serve`` on the web test knowledge base; yields its address."""
    folder = tmp_path_factory.mktemp("people-browser")
    kb = make_kb(mini_db_path, folder)
    with serve_kb(kb, folder) as address:
        yield address


@pytest.fixture(scope="module")
def page(server: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        tab = chromium.new_page(viewport={"width": 1280, "height": 900})
        tab.set_default_timeout(30_000)
        tab.goto(server + "/login")
        tab.fill("#username", "analyst")
        tab.fill("#password", PASSWORDS["analyst"])
        tab.click("#login-submit")
        tab.wait_for_url(server + "/")
        yield tab
        chromium.close()


def test_top_bar_opens_a_persons_page(server: str, page: Any) -> None:
    page.fill("#search", "appere")
    person = page.locator("#search-results li[role=option][data-kind=person]").first
    person.wait_for()
    assert "APPÉRÉ" in person.inner_text() and "Rennes" in person.inner_text()
    # territories and persons are grouped under their headings
    assert page.locator("#search-results li.group").all_text_contents()[-1] == "Personnes"
    person.click()
    page.wait_for_url(f"**/personnes/{APPERE}")
    assert page.inner_text("#person-name").casefold() == "nathalie appéré"
    assert "Conseil municipal de Rennes" in page.inner_text("#current-mandates")


def test_action_logged_with_an_actor_chosen_by_name(server: str, page: Any) -> None:
    page.goto(server + "/actions")
    page.fill("#action-actor-search", "gatel")
    option = page.locator("#action-actor-results li[role=option]").first
    option.wait_for()
    assert "Gatel" in option.inner_text()
    option.click()
    chip = page.locator("#action-actor-chosen li").first
    assert "Gatel" in chip.inner_text()
    chosen = page.get_attribute("#action-actor-chosen li", "data-id")
    assert chosen and chosen.startswith("p-")
    assert page.input_value("#action-actors") == chosen
    page.fill("#action-subject", "Ligne Rennes–Châteaubriant")
    with page.expect_navigation():
        page.click("#action-form button[type=submit]")
    logged = page.request.get(server + "/api/v1/actions").json()
    assert [a["actors"] for a in logged if a["subject"] == "Ligne Rennes–Châteaubriant"] == [
        [chosen]
    ]
    # the person's page lists the action, and starts a new one with her already chosen
    page.goto(server + f"/personnes/{chosen}")
    assert "Ligne Rennes–Châteaubriant" in page.inner_text("#person-actions")
    page.click("text=Consigner une action avec cette personne")
    page.wait_for_selector(f"#action-actor-chosen li[data-id='{chosen}']")


def test_plan_targets_chosen_by_name(server: str, page: Any) -> None:
    page.goto(server + "/influence?code=35238&level=commune")
    page.fill("#plan-target-search", "nathalie appere")
    page.locator("#plan-target-results li[role=option]").first.click()
    target = page.locator(f"#plan-targets li[data-id='{APPERE}']")
    target.wait_for()
    target.locator("input[type=number]").fill("2")
    target.locator("input[type=number]").dispatch_event("change")
    page.fill("#plan-k", "1")
    page.fill("#plan-seed", "1")
    with page.expect_response("**/api/v1/influence/plans") as response:
        page.click("#plan-submit")
    job = response.value.json()
    assert job["params"]["targets"] == [{"id": APPERE, "weight": 2.0}]
