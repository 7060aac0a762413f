"""Fixtures of the dashboard's browser tests: one real ``lrhub serve`` with history and one
headless Debian Chromium per module, and a page that records every request leaving the
server and every console error (a test fails on either).

Chromium is Debian's (``/usr/bin/chromium``, or ``LRHUB_CHROMIUM``), driven by playwright
through ``executable_path``; playwright never downloads a browser here. Without it the tests
skip, except under CI (``CI=true``), where they fail. Screenshots go to
``$LRHUB_SCREENSHOTS`` (else a temporary folder); ``python -m tests.dashboard.refresh_screenshots``
copies them to docs/img.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from dashboard_seed import add_script_named_run, seed
from support.server import ServerProcess

CHROMIUM = os.environ.get("LRHUB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}
# Chromium logs every refused fetch as a console error; the refusals the tests provoke on
# purpose (a bad spec, a stale If-Match, a promised step, a missing or read-only token) are
# the page working. Anything else, a 404 or 500 included, counts.
EXPECTED_REFUSAL = re.compile(r"^Failed to load resource: .* status of (401|403|409|412|422) ")

pytestmark = pytest.mark.timeout(240)


def _need_chromium() -> None:
    missing = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "playwright is not installed (pip install -e '.[dev]')"
    if missing is None and not Path(CHROMIUM).exists():
        missing = f"no Chromium at {CHROMIUM} (apt-get install chromium chromium-driver)"
    if missing is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the dashboard's browser tests cannot run under CI: {missing}")
        pytest.skip(missing)


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("LRHUB_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


@dataclass
class Dashboard:
    """A live server with seeded runs (``ids`` by role) and its database file."""

    url: str
    ids: dict[str, int]
    db_path: Path
    headers: dict[str, str] = field(default_factory=dict)


def start_dashboard(folder: Path, tokens: str = "") -> tuple[ServerProcess, Dashboard]:
    """Start a server on a fresh SQLite file, seeded through its API."""
    db_path = folder / "dashboard.db"
    env = {"LRHUB_TOKENS": tokens} if tokens else {}
    server = ServerProcess(f"sqlite:///{db_path}", folder / "server.log", env).start()
    headers = {"Authorization": f"Bearer {tokens.split(',')[-1].split(':')[2]}"} if tokens else {}
    ids = seed(server.url, headers)
    add_script_named_run(str(db_path))
    return server, Dashboard(server.url, ids, db_path, headers)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    _need_chromium()
    server, board = start_dashboard(tmp_path_factory.mktemp("dashboard"))
    yield board
    server.stop()


@dataclass
class Guard:
    """What a page did that it must not: requests off the server, console errors, dialogs."""

    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


def open_page(browser: Any, origin: str, guard: Guard) -> Any:
    """A fresh context and page whose every request off ``origin`` is recorded and aborted."""
    context = browser.new_context(viewport=VIEWPORT)

    def route(route: Any) -> None:
        url = route.request.url
        if url == origin or url.startswith(origin + "/"):
            route.continue_()
        else:
            guard.foreign.append(url)
            route.abort()

    context.route("**/*", route)
    page = context.new_page()
    def console(message: Any) -> None:
        if message.type == "error" and not EXPECTED_REFUSAL.match(message.text):
            guard.errors.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda e: guard.errors.append(str(e)))
    page.on("dialog", lambda d: (guard.dialogs.append(d.message), d.dismiss()))
    return page


@pytest.fixture
def page(browser: Any, dashboard: Dashboard) -> Iterator[Any]:
    guard = Guard()
    tab = open_page(browser, dashboard.url, guard)
    yield tab
    tab.context.close()
    assert guard.foreign == [], f"requests left the server: {guard.foreign}"
    assert guard.errors == [], f"console errors: {guard.errors}"
    assert guard.dialogs == [], f"dialogs opened: {guard.dialogs}"
