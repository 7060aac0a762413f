// The runs table: searched, filtered and paged by the server; refreshed by ETag polling.

import { api, poll } from "../api.js";
import { badge, debounce, field, fill, fmt, h, notice } from "../dom.js";
import { go, setParams } from "../router.js";

// the server's status rule lists its statuses in the page (one list, in usecases/status.py)
const STATUSES = document.querySelector('meta[name="lrhub-statuses"]').content.split(",");
const PAGE = 50;

function progressCell(run) {
  const planned = run.live && run.live.planned_steps;
  const done = Math.max(run.progress, 0);
  const share = planned ? Math.min(1, (done + 1) / planned) : 0;
  const bar = h("div", { class: "bar", "aria-hidden": "true" });
  bar.append(h("span", { style: null }));
  bar.firstChild.style.width = `${(share * 100).toFixed(1)}%`;
  const text = planned ? `${fmt.int(done)} / ${fmt.int(planned)}` : fmt.int(done);
  return h("td", { class: "progress-cell" },
    h("div", { class: "progress" }, h("span", { class: "small" }, text), planned ? bar : null));
}

function row(run, selected, onToggle) {
  const live = run.live || {};
  const box = h("input", { type: "checkbox", checked: selected.has(run.id),
    "aria-label": `select ${run.name} to compare`, onchange: (e) => onToggle(run.id, e) });
  return h("tr", { "data-run": run.id },
    h("td", {}, box),
    h("td", { class: "name" }, h("a", { href: `#/runs/${run.id}` }, run.name)),
    h("td", {}, badge(run.status)),
    progressCell(run),
    h("td", { class: "num" }, fmt.lr(live.current_lr)),
    h("td", { class: "num" }, run.revision),
    h("td", { class: "num" }, fmt.int(live.last_report_step)),
    h("td", { class: "num" }, live.live_workers ?? "—"),
    h("td", { title: run.updated_at }, fmt.ago(run.updated_at)));
}

export async function runsPage(main, params) {
  const selected = new Set();
  const q = h("input", { type: "search", name: "q", value: params.get("q") || "",
    placeholder: "part of a name" });
  const status = h("select", { name: "status" }, h("option", { value: "" }, "any status"),
    STATUSES.map((s) => h("option", { value: s, selected: params.get("status") === s }, s)));
  const compare = h("button", { type: "button", disabled: true,
    onclick: () => go(`#/compare?ids=${[...selected].join(",")}`) }, "Compare selected");
  const body = h("tbody");
  const message = h("div", { "aria-live": "polite" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  const table = h("table", {},
    h("caption", { class: "sr-only" }, "Runs, newest first"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, h("span", { class: "sr-only" }, "select")),
      h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Status"),
      h("th", { scope: "col" }, "Progress"), h("th", { scope: "col", class: "num" }, "LR"),
      h("th", { scope: "col", class: "num" }, "Rev"),
      h("th", { scope: "col", class: "num" }, "Last report"),
      h("th", { scope: "col", class: "num" }, "Workers"),
      h("th", { scope: "col" }, "Updated"))),
    body);
  fill(main,
    h("div", { class: "row spread" }, h("h1", {}, "Runs"), compare),
    h("section", { class: "card" },
      h("form", { class: "filters", role: "search", onsubmit: (e) => e.preventDefault() },
        field("Search by name", q), field("Status", status)),
      message, h("div", { class: "scroll-x" }, table), pager));

  const onToggle = (id, event) => {
    if (event.target.checked) selected.add(id); else selected.delete(id);
    compare.disabled = selected.size < 1;
  };
  let etag = null;
  const load = async () => {
    const query = new URLSearchParams({ limit: String(PAGE), detail: "live" });
    for (const key of ["q", "status", "cursor", "limit"]) {
      if (params.get(key)) query.set(key, params.get(key));
    }
    try {
      const answer = await api(`/v1/runs?${query}`, { etag });
      if (answer.status === 304) return;
      etag = answer.etag;
      const { items, next_cursor: next } = answer.data;
      fill(body, items.map((run) => row(run, selected, onToggle)));
      fill(message, items.length ? null : h("p", { class: "muted" }, "No runs match."));
      fill(pager,
        params.get("cursor") ? h("button", { type: "button", onclick: () => turn(null) },
          "First page") : null,
        next ? h("button", { type: "button", onclick: () => turn(next) }, "Next page") : null);
    } catch (error) {
      fill(message, notice(error.message, "bad"));
    }
  };
  const turn = (cursor) => {
    if (cursor) params.set("cursor", cursor); else params.delete("cursor");
    setParams(params);
    etag = null;
    load();
  };
  const refilter = debounce(() => {
    for (const [key, el] of [["q", q], ["status", status]]) {
      if (el.value) params.set(key, el.value); else params.delete(key);
    }
    turn(null);
  }, 250);
  q.addEventListener("input", refilter);
  status.addEventListener("change", refilter);
  return poll(load, 3000);
}
