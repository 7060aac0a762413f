"""The dashboard in a real Chromium against a real server with history: every view, the
revise flow end to end, archive and delete, markup in user text shown as text."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from conftest import Dashboard
from dashboard_seed import XSS
from playwright.sync_api import expect

WAIT = 15_000


def chart(page: Any, label: str) -> dict[str, Any]:
    """The drawn traces' names and the layout's marks of the chart with this aria-label."""
    return page.evaluate(
        """(label) => { const el = document.querySelector(`[aria-label="${label}"]`);
        return { names: (el.data || []).map((t) => t.name),
                 shapes: ((el.layout || {}).shapes || []).map((s) => s.x0),
                 texts: ((el.layout || {}).annotations || []).map((a) => a.text),
                 ytype: ((el.layout || {}).yaxis || {}).type }; }""",
        label,
    )


def wait_chart(page: Any, label: str, name: str) -> dict[str, Any]:
    page.wait_for_function(
        """([label, name]) => { const el = document.querySelector(`[aria-label="${label}"]`);
        return el && el.data && el.data.some((t) => t.name === name); }""",
        arg=[label, name],
        timeout=WAIT,
    )
    return chart(page, label)


def test_page_and_assets_need_no_token_and_carry_a_strict_policy(dashboard: Dashboard) -> None:
    page = httpx.get(dashboard.url + "/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-eval" not in policy
    assert "connect-src 'self'" in policy and "default-src 'none'" in policy
    scripts = re.findall(r"<script([^>]*)>", page.text)
    assert scripts and all("src=" in attrs for attrs in scripts)  # no inline script
    plotly = re.search(r'src="(ui/vendor/plotly-[^"]+)"', page.text)
    assert plotly is not None
    library = httpx.get(f"{dashboard.url}/{plotly.group(1)}")
    assert library.status_code == 200 and "immutable" in library.headers["cache-control"]
    assert httpx.get(dashboard.url + "/ui/js/main.js").status_code == 200


def test_runs_list_shows_each_run_and_filters_on_the_server(
    page: Any, dashboard: Dashboard, screenshots: Path
) -> None:
    page.goto(dashboard.url + "/")
    row = page.locator(f'tr[data-run="{dashboard.ids["onecycle"]}"]')
    expect(row).to_contain_text("running", timeout=WAIT)
    expect(row).to_contain_text("8,000 / 20,000")
    expect(page.locator(f'tr[data-run="{dashboard.ids["done"]}"]')).to_contain_text("finished")
    expect(page.locator(f'tr[data-run="{dashboard.ids["finder"]}"]')).to_contain_text("stopped")
    expect(page.locator(f'tr[data-run="{dashboard.ids["archived"]}"]')).to_have_count(0)
    page.screenshot(path=str(screenshots / "runs-list.png"))
    page.get_by_label("Search by name").fill("BERT")
    expect(page.locator("tbody tr")).to_have_count(1, timeout=WAIT)
    expect(page.locator("tbody tr")).to_contain_text("bert-cosine")
    assert "q=BERT" in page.url
    page.get_by_label("Search by name").fill("")
    page.get_by_label("Status").select_option("archived")
    expect(page.locator("tbody tr")).to_have_count(1, timeout=WAIT)
    expect(page.locator("tbody tr")).to_contain_text("old-baseline")
    page.goto(page.url)  # the URL reproduces the filtered view
    expect(page.locator("tbody tr")).to_contain_text("old-baseline", timeout=WAIT)


def test_runs_list_pages_on_the_server(page: Any, dashboard: Dashboard) -> None:
    page.goto(dashboard.url + "/#/runs?limit=2")
    expect(page.locator("tbody tr")).to_have_count(2, timeout=WAIT)
    first = page.locator("td.name").all_inner_texts()
    page.get_by_role("button", name="Next page").click()
    page.wait_for_function("() => location.hash.includes('cursor=')", timeout=WAIT)
    expect(page.locator("td.name").first).not_to_have_text(first[0], timeout=WAIT)
    assert not set(page.locator("td.name").all_inner_texts()) & set(first)
    page.get_by_role("button", name="First page").click()
    expect(page.locator("td.name").first).to_have_text(first[0], timeout=WAIT)


def test_markup_in_names_and_hosts_is_shown_as_text(page: Any, dashboard: Dashboard) -> None:
    page.goto(dashboard.url + "/#/runs")
    cell = page.locator("td.name", has_text=XSS)
    expect(cell).to_have_count(1, timeout=WAIT)
    assert cell.inner_text() == XSS
    assert page.locator("td.name script").count() == 0
    cell.get_by_role("link").click()  # its own page: the name is the heading's text
    expect(page.locator("h1")).to_have_text(XSS, timeout=WAIT)
    page.goto(f"{dashboard.url}/#/runs/{dashboard.ids['revised']}")
    expect(page.locator("td.name", has_text=XSS)).to_have_count(1, timeout=WAIT)
    assert page.locator("main script").count() == 0


def test_run_page_draws_used_and_planned_curves_with_marks_and_history(
    page: Any, dashboard: Dashboard, screenshots: Path
) -> None:
    page.goto(f"{dashboard.url}/#/runs/{dashboard.ids['onecycle']}")
    lr = wait_chart(page, "learning rate", "lr planned")
    assert "lr used" in lr["names"] and 8000 in lr["shapes"]
    assert any("progress 8,000" in text for text in lr["texts"])
    assert "momentum used" in wait_chart(page, "momentum", "momentum used")["names"]
    wait_chart(page, "metrics", "loss")
    expect(page.locator("main")).to_contain_text("gpu-b")
    expect(page.locator("main")).to_contain_text("attached")
    expect(page.locator("pre").first).to_contain_text('"OneCycleLR"')
    page.wait_for_timeout(300)  # let the charts settle before the picture
    page.screenshot(path=str(screenshots / "run-page.png"), full_page=True)
    page.get_by_label("log scale").check()
    page.wait_for_function(
        "() => document.querySelector('[aria-label=\"metrics\"]').layout.yaxis.type === 'log'",
        timeout=WAIT,
    )
    assert "log=1" in page.url
    page.goto(f"{dashboard.url}/#/runs/{dashboard.ids['revised']}")
    lr = wait_chart(page, "learning rate", "lr used")
    assert 5000 in lr["shapes"] and any("r2" in text for text in lr["texts"])
    history = page.locator("section", has_text="Revision history")
    expect(history).to_contain_text("LinearLR", timeout=WAIT)
    expect(history).to_contain_text("CosineAnnealingLR")


def test_run_page_follows_training_without_reloading(page: Any, dashboard: Dashboard) -> None:
    run_id = dashboard.ids["onecycle"]
    page.goto(f"{dashboard.url}/#/runs/{run_id}")
    wait_chart(page, "learning rate", "lr used")
    page.evaluate("() => { window.stillHere = true; }")
    body = {"step": 9_000, "worker": {"rank": 0, "host": "gpu-a", "pid": 4000}}
    assert httpx.post(f"{dashboard.url}/v1/runs/{run_id}/progress", json=body).is_success
    expect(page.locator("dl.facts")).to_contain_text("9,000 / 20,000", timeout=WAIT)
    page.wait_for_function(
        "() => document.querySelector('[aria-label=\"learning rate\"]').layout.shapes"
        ".some((s) => s.x0 === 9000)",
        timeout=WAIT,
    )
    assert page.evaluate("() => window.stillHere") is True


def revisions(dashboard: Dashboard, run_id: int) -> list[dict[str, Any]]:
    answer = httpx.get(f"{dashboard.url}/v1/runs/{run_id}/revisions")
    return answer.json()["items"]  # type: ignore[no-any-return]


def test_revise_flow_dry_run_overlay_then_submit(
    page: Any, dashboard: Dashboard, screenshots: Path
) -> None:
    run_id = dashboard.ids["revised"]
    before = len(revisions(dashboard, run_id))
    page.goto(f"{dashboard.url}/#/runs/{run_id}?revise=1")
    spec = page.get_by_label("Schedule (JSON)")
    expect(spec).to_have_value(re.compile("LinearLR"), timeout=WAIT)
    spec.fill(json.dumps({"type": "ConstantLR", "factor": -1}))
    page.get_by_role("button", name="Preview (dry run)").click()
    expect(page.locator("#revise-spec-error")).to_contain_text("factor", timeout=WAIT)
    spec.fill(json.dumps({"type": "CosineAnnealingLR", "T_max": 3000, "eta_min": 1e-5}))
    page.get_by_label("From step").fill("6000")
    page.get_by_label("Clock").select_option("restart")
    page.get_by_role("button", name="Preview (dry run)").click()
    expect(page.locator("#revise")).to_contain_text("from step 6,000", timeout=WAIT)
    names = wait_chart(page, "learning rate", f"preview r{before + 1}")["names"]
    assert "lr planned" in names
    assert len(revisions(dashboard, run_id)) == before  # a dry run stores nothing
    page.locator("section", has_text="Learning rate").first.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    page.screenshot(path=str(screenshots / "revise-preview.png"))
    page.get_by_role("button", name=re.compile("^Submit r")).click()
    expect(page.locator("#revise")).to_contain_text(f"Stored r{before + 1}", timeout=WAIT)
    stored = revisions(dashboard, run_id)
    assert len(stored) == before + 1 and stored[-1]["effective_step"] == 6000
    assert stored[-1]["clock"] == "restart" and stored[-1]["continue"] is True
    history = page.locator("section", has_text="Revision history")
    expect(history).to_contain_text(f"r{before + 1}", timeout=WAIT)


def test_revise_shows_the_way_forward_on_409_and_412(page: Any, dashboard: Dashboard) -> None:
    run_id = dashboard.ids["onecycle"]
    page.goto(f"{dashboard.url}/#/runs/{run_id}?revise=1")
    spec = page.get_by_label("Schedule (JSON)")
    expect(spec).to_have_value(re.compile("OneCycleLR"), timeout=WAIT)
    spec.fill(json.dumps({"type": "ConstantLR", "factor": 0.5, "total_iters": 10, "base_lr": 0.1}))
    page.get_by_label("From step").fill("12000")
    page.get_by_role("button", name="Preview (dry run)").click()
    submit = page.get_by_role("button", name=re.compile("^Submit r"))
    expect(submit).to_be_enabled(timeout=WAIT)
    worker = {"step": 12_500, "worker": {"rank": 0, "host": "gpu-a", "pid": 4000}}
    assert httpx.post(f"{dashboard.url}/v1/runs/{run_id}/progress", json=worker).is_success
    submit.click()  # step 12,000 was promised meanwhile: 409
    expect(page.locator("#revise")).to_contain_text("promised", timeout=WAIT)
    page.get_by_role("button", name="Preview again from the next free step").click()
    expect(submit).to_be_enabled(timeout=WAIT)
    other = {"schedule": {"type": "ConstantLR", "factor": 0.9, "base_lr": 0.1}}
    assert httpx.post(f"{dashboard.url}/v1/runs/{run_id}/revisions", json=other).is_success
    submit.click()  # someone else revised it meanwhile: 412
    expect(page.locator("#revise")).to_contain_text("412", timeout=WAIT)
    expect(page.get_by_role("button", name="Load the current spec")).to_be_visible()


def test_archive_unarchive_and_delete(page: Any, dashboard: Dashboard) -> None:
    run_id = dashboard.ids["done"]
    page.goto(f"{dashboard.url}/#/runs/{run_id}")
    page.get_by_role("button", name="Archive").click()
    expect(page.locator("dl.facts")).to_contain_text("archived", timeout=WAIT)
    page.get_by_role("button", name="Unarchive").click()
    expect(page.locator("dl.facts")).to_contain_text("finished", timeout=WAIT)
    delete = page.get_by_role("button", name="Delete")
    delete.click()
    expect(delete).to_have_text(re.compile("Really delete"))
    delete.click()
    page.wait_for_url(re.compile(r"#/runs$"), timeout=WAIT)
    assert httpx.get(f"{dashboard.url}/v1/runs/{run_id}").status_code == 404


def test_compare_overlays_runs_and_a_metric(page: Any, dashboard: Dashboard) -> None:
    ids = f"{dashboard.ids['onecycle']},{dashboard.ids['revised']}"
    page.goto(f"{dashboard.url}/#/compare?ids={ids}&metric=loss")
    names = wait_chart(page, "learning rates", "bert-cosine")["names"]
    assert "resnet50-onecycle" in names
    metric = wait_chart(page, "metric", "bert-cosine loss")["names"]
    assert "resnet50-onecycle loss" in metric
    page.get_by_label("log scale").check()
    page.wait_for_function(
        "() => document.querySelector('[aria-label=\"metric\"]').layout.yaxis.type === 'log'",
        timeout=WAIT,
    )
    assert "log=1" in page.url


def test_playground_previews_a_spec_held_in_the_url(page: Any, dashboard: Dashboard) -> None:
    spec = {"type": "OneCycleLR", "max_lr": 0.3, "total_steps": 5_000_000}
    page.goto(f"{dashboard.url}/#/playground?spec={quote(json.dumps(spec))}&steps=5000000")
    wait_chart(page, "previewed curve", "lr")
    wait_chart(page, "momentum", "momentum")
    page.get_by_label("Schedule (JSON)").fill('{"type": "StepLR", "step_size": 0}')
    expect(page.locator("#play-spec-error")).to_contain_text("step_size", timeout=WAIT)
    page.get_by_label("Schedule (JSON)").fill('{"type": "StepLR", "step_size": 700}')
    page.wait_for_function("() => location.hash.includes('700')", timeout=WAIT)
    assert "StepLR" in page.url


def test_finder_marks_suggestions_and_creates_a_run(page: Any, dashboard: Dashboard) -> None:
    finder_id = dashboard.ids["finder"]
    steepest = httpx.get(f"{dashboard.url}/v1/runs/{finder_id}/lr-finder").json()
    page.goto(f"{dashboard.url}/#/finder/{finder_id}")
    drawn = wait_chart(page, "loss against lr", "smoothed")
    assert any(text.startswith("steepest") for text in drawn["texts"])
    page.get_by_label("Name (confirm)").fill("from-the-finder")
    page.get_by_role("button", name="Create run").click()
    page.wait_for_url(re.compile(r"#/runs/\d+$"), timeout=WAIT)
    made = httpx.get(f"{dashboard.url}/v1/runs/by-name/from-the-finder").json()
    assert made["schedule"]["type"] == "OneCycleLR"
    assert made["schedule"]["max_lr"] == pytest.approx(steepest["suggested_lr"])


def test_runs_table_refreshes_itself(page: Any, dashboard: Dashboard) -> None:
    page.goto(dashboard.url + "/#/runs")
    expect(page.locator("tbody tr").first).to_be_visible(timeout=WAIT)
    page.evaluate("() => { window.stillHere = true; }")
    spec = {"type": "CosineAnnealingLR", "T_max": 100, "base_lr": 0.1}
    made = httpx.post(f"{dashboard.url}/v1/runs", json={"name": "arrived-later", "schedule": spec})
    assert made.status_code == 201
    expect(page.locator("td.name", has_text="arrived-later")).to_have_count(1, timeout=WAIT)
    assert page.evaluate("() => window.stillHere") is True


def test_keyboard_reaches_a_run_and_opens_the_revise_form(page: Any, dashboard: Dashboard) -> None:
    page.goto(dashboard.url + "/#/runs")
    expect(page.locator("td.name", has_text="bert-cosine")).to_have_count(1, timeout=WAIT)
    for _ in range(60):  # Tab through the page until the run's link has the focus
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.textContent") == "bert-cosine":
            break
    else:
        pytest.fail("Tab never reached the run's link")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"#/runs/{dashboard.ids['revised']}$"), timeout=WAIT)
    summary = page.locator("#revise summary")
    expect(summary).to_be_visible(timeout=WAIT)
    summary.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#revise")).to_have_attribute("open", "")
    page.wait_for_function("() => location.hash.includes('revise=1')", timeout=WAIT)
