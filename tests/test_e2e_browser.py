"""End to end in headless Chromium: a real server, a real browser, the user's journey.

Starts ``territoria serve`` on a free port against the mini knowledge base (with a synthetic
SIRENE région), then signs in, searches a commune, reads its page, map and sector charts, colours
the France map by an indicator, opens a pole from the map's pole layer, runs a small influence
plan and signs out. A failing step saves a screenshot under the test's temporary folder (its path
is in the failure message).

Skipped only when ``/usr/bin/chromium`` is absent outside CI; in CI (``CI`` set) it must run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from test_api_helpers import PASSWORDS, SECRET, add_synthetic_sirene, make_kb

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="headless Chromium not installed (/usr/bin/chromium): "
        "apt-get install chromium chromium-driver",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_kb(kb: Path, folder: Path) -> Iterator[str]:
    """Run ``territoria serve`` on ``kb`` (127.0.0.1, a free port) until the block ends; yield
    its address once it answers. Its log goes to ``folder/server.log``."""
    port = _free_port()
    env = dict(os.environ, TERRITORIA_SECRET_KEY=SECRET, TERRITORIA_WARM_CACHE="false")
    command = [sys.executable, "-m", "territoria", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--db", str(kb), "--log-level", "warning"]
    log = (folder / "server.log").open("w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    address = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(address + "/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("server did not start:\n" + (folder / "server.log").read_text())
            time.sleep(0.2)
        yield address
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def server(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``territoria serve`` process; yields its address."""
    folder = tmp_path_factory.mktemp("e2e")
    kb = add_synthetic_sirene(make_kb(mini_db_path, folder), folder)
    with serve_kb(kb, folder) as address:
        yield address


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def sign_in(page: object, server: str, path: str, role: str) -> None:
    """Open ``path``, which must send to the login page, sign in as ``role`` (a user of
    test_api_helpers.PASSWORDS) and wait to be back on ``path``."""
    page.goto(server + path)  # type: ignore[attr-defined]
    assert "/login" in page.url  # type: ignore[attr-defined]
    page.fill("#username", role)  # type: ignore[attr-defined]
    page.fill("#password", PASSWORDS[role])  # type: ignore[attr-defined]
    page.click("#login-submit")  # type: ignore[attr-defined]
    page.wait_for_url(server + path)  # type: ignore[attr-defined]


class Journey:
    """Runs named steps on one page; a failing step leaves a screenshot."""

    def __init__(self, page: object, folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.errors: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))  # type: ignore[attr-defined]

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        try:
            yield
        except BaseException as exc:
            shot = self.folder / f"failed-{name}.png"
            with contextlib.suppress(Exception):
                self.page.screenshot(path=str(shot), full_page=True)  # type: ignore[attr-defined]
            raise AssertionError(f"step {name!r} failed ({exc}); screenshot: {shot}") from exc
        assert not self.errors, f"JavaScript errors during {name!r}: {self.errors}"


_PAINTED = """
(selector) => {
  const canvases = document.querySelectorAll(selector);
  let painted = 0;
  for (const c of canvases) {
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < data.length; i += 4 * 7) if (data[i] > 0) painted++;
  }
  return painted;
}
"""


def test_user_journey(server: str, browser: object, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page.set_default_timeout(30_000)
    j = Journey(page, tmp_path)

    with j.step("login"):
        sign_in(page, server, "/carte", "analyst")

    with j.step("search"):
        page.goto(server + "/")
        page.fill("#search", "renn")
        option = page.locator("#search-results li[role=option]").first
        option.wait_for()
        assert "Rennes" in option.inner_text()
        option.click()
        page.wait_for_url("**/territoires/commune/35238")

    with j.step("territory-page"):
        assert page.inner_text("#territory-name") == "Rennes"
        figure = page.inner_text("#fig-population")
        assert "".join(ch for ch in figure if ch.isdigit()) == "216815"
        assert "\u202f" in figure or "\u00a0" in figure  # French thousands separator
        assert "Nathalie APPÉRÉ" in page.inner_text("#officials")
        assert "ville-rennes.fr" in page.inner_text("#contact")
        page.wait_for_selector("#tmap[data-ready='1']")
        assert page.evaluate(_PAINTED, "#tmap canvas") > 500
        page.wait_for_selector("#charts svg")
        assert page.locator("#charts .chart").count() >= 2  # an indicator and the neighbours
        page.wait_for_selector("#economy[data-ready='1']")
        assert page.locator("#economy-charts .chart svg").count() == 2  # LQs, sections
        assert page.is_visible("#economy-synthetic")  # synthetic SIRENE data says so

    with j.step("map"):
        page.goto(server + "/carte?level=commune&parent=35&parent_level=departement")
        page.wait_for_selector("#map[data-ready='1']")
        assert int(page.get_attribute("#map", "data-features") or 0) >= 50
        assert page.evaluate(_PAINTED, "#map canvas") > 2000
        page.select_option("#map-indicator", "density")
        page.wait_for_function(
            "document.querySelector('.legend-title')?.textContent.includes('Densité')"
        )
        page.select_option("#map-method", "jenks")
        page.wait_for_function(
            "document.querySelector('#legend .muted')?.textContent.includes('Jenks')"
        )
        rows = page.locator(".legend-classes li[data-class]")
        assert rows.count() >= 3
        assert "–" in rows.first.inner_text()
        box = page.locator("#map").bounding_box()
        assert box
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function(
            "document.querySelector('#hover-info .name')?.textContent.includes('(35')"
        )

    with j.step("poles"):
        page.goto(server + "/carte?level=commune&parent=35&parent_level=departement&poles=1")
        page.wait_for_selector("#map[data-ready='1']")
        page.wait_for_function("Number(document.querySelector('#map').dataset.poles) > 0")
        assert "données synthétiques" in page.inner_text("#poles-legend")
        assert page.locator("path.pole-hull").count() >= 1
        page.locator("path.pole-hull").last.dispatch_event("click")
        page.wait_for_url("**/poles/**")
        page.wait_for_selector("#pmap[data-ready='1']")
        assert page.locator("#pmap path.pole-hull").count() == 1
        assert page.is_visible("#synthetic-notice")
        link = page.get_attribute("#plan-with-pole", "href") or ""
        assert "candidates=pole:" in link

    with j.step("influence-plan"):
        page.goto(server + "/influence?code=35238&level=commune")
        page.select_option("#plan-theme", "economic-development")
        page.fill("#plan-k", "3")
        page.fill("#plan-seed", "1")
        page.click("#plan-submit")
        page.wait_for_selector("#plan-actions li", timeout=180_000)
        actions = page.locator("#plan-actions li")
        assert 1 <= actions.count() <= 3
        assert actions.first.inner_text().startswith("Rencontrer ")
        assert "Terminé" in page.inner_text("#plan-progress-text")
        page.wait_for_selector("#network[data-ready='1']")
        assert int(page.get_attribute("#network", "data-nodes") or 0) >= 2
        page.screenshot(path=str(tmp_path / "plan.png"), full_page=True)

    with j.step("logout"):
        page.click("#logout")
        page.wait_for_url("**/login")
        page.goto(server + "/carte")
        assert "/login" in page.url
    page.close()
