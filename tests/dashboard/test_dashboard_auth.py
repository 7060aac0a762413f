"""The dashboard against a server with tokens: the page loads without one, asks for one,
keeps it in sessionStorage and sends it as a bearer token; read tokens see, write act."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Dashboard, Guard, _need_chromium, open_page, start_dashboard
from playwright.sync_api import expect

READ, WRITE = "read-secret-1234", "write-secret-5678"
TOKENS = f"viewer:read:{READ},editor:write:{WRITE}"
WAIT = 15_000


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    _need_chromium()
    server, board = start_dashboard(tmp_path_factory.mktemp("guarded"), TOKENS)
    yield board
    server.stop()


@pytest.fixture
def tab(browser: Any, guarded: Dashboard) -> Iterator[tuple[Any, Guard]]:
    guard = Guard()
    page = open_page(browser, guarded.url, guard)
    yield page, guard
    page.context.close()
    assert guard.foreign == [] and guard.errors == [], (guard.foreign, guard.errors)


def test_the_page_loads_without_a_token_and_holds_no_secret(guarded: Dashboard) -> None:
    page = httpx.get(guarded.url + "/")
    assert page.status_code == 200
    assert READ not in page.text and WRITE not in page.text
    assert httpx.get(guarded.url + "/v1/runs").status_code == 401


def test_token_prompt_then_read_sees_and_write_acts(
    tab: tuple[Any, Guard], guarded: Dashboard, screenshots: Path
) -> None:
    page, _guard = tab
    page.goto(guarded.url + "/#/runs")
    dialog = page.locator("#token-dialog")
    expect(dialog).to_be_visible(timeout=WAIT)
    expect(dialog).to_contain_text("asks for a bearer token")
    page.screenshot(path=str(screenshots / "token-prompt.png"))
    page.get_by_label("Token (kept in this tab only)").fill("not-a-token")
    page.get_by_role("button", name="Use token").click()
    expect(dialog).to_contain_text("refused", timeout=WAIT)
    page.get_by_label("Token (kept in this tab only)").fill(READ)
    page.get_by_role("button", name="Use token").click()
    expect(page.locator("tbody")).to_contain_text("resnet50-onecycle", timeout=WAIT)
    assert page.evaluate("() => sessionStorage.getItem('lrhub.token')") == READ
    run_id = guarded.ids["onecycle"]
    page.goto(f"{guarded.url}/#/runs/{run_id}")
    page.get_by_role("button", name="Archive").click()
    expect(page.locator("main")).to_contain_text("needs 'write'", timeout=WAIT)
    page.get_by_role("button", name="Token").click()
    page.get_by_label("Token (kept in this tab only)").fill(WRITE)
    page.get_by_role("button", name="Use token").click()
    page.get_by_role("button", name="Archive").click()
    expect(page.locator("dl.facts")).to_contain_text("archived", timeout=WAIT)
    sent = page.evaluate("() => sessionStorage.getItem('lrhub.token')")
    assert sent == WRITE and re.search(WRITE, page.content()) is None
