// A run's records as tables: workers, events, revisions with the differences between them.

import { fill, fmt, h } from "../dom.js";

function flatten(value, prefix = "", out = new Map()) {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) {
      flatten(inner, prefix ? `${prefix}.${key}` : key, out);
    }
  } else if (Array.isArray(value) && value.some((v) => v && typeof v === "object")) {
    value.forEach((inner, i) => flatten(inner, `${prefix}[${i}]`, out));
  } else {
    out.set(prefix, JSON.stringify(value));
  }
  return out;
}

/** The fields that differ between two specs: [path, old or null, new or null]. */
export function specDiff(before, after) {
  const a = flatten(before);
  const b = flatten(after);
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  return keys.filter((k) => a.get(k) !== b.get(k))
    .map((k) => [k, a.has(k) ? a.get(k) : null, b.has(k) ? b.get(k) : null]);
}

function diffList(before, after) {
  const changes = specDiff(before, after);
  if (!changes.length) return h("span", { class: "muted" }, "same spec");
  return h("ul", { class: "diff" }, changes.map(([path, old, now]) => h("li", {}, `${path}: `,
    old !== null ? h("span", { class: "del" }, old) : null, old !== null && now !== null ? " → " : "",
    now !== null ? h("span", { class: "add" }, now) : null)));
}

export function revisionsTable(el, revisions) {
  const rows = revisions.slice().reverse().map((r) => {
    const previous = revisions.find((p) => p.revision === r.revision - 1);
    return h("tr", {},
      h("td", { class: "num" }, `r${r.revision}`),
      h("td", { class: "num" }, fmt.int(r.effective_step)),
      h("td", {}, `${r.clock}${r.continue ? ", continue" : ""}`),
      h("td", {}, previous ? diffList(previous.schedule, r.schedule)
        : h("code", {}, r.schedule.type)),
      h("td", { title: r.created_at }, fmt.ago(r.created_at)));
  });
  fill(el, h("table", {}, h("caption", { class: "sr-only" }, "Revisions, newest first"),
    h("thead", {}, h("tr", {}, ["Rev", "From step", "Clock", "Changes", "When"].map(
      (t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows)));
}

export function workersTable(el, workers) {
  if (!workers.length) {
    fill(el, h("p", { class: "muted" }, "No worker has attached yet."));
    return;
  }
  fill(el, h("table", {}, h("caption", { class: "sr-only" }, "Workers"),
    h("thead", {}, h("tr", {}, ["Rank", "Host", "PID", "Last step", "Last seen", ""].map(
      (t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, workers.map((w) => h("tr", {},
      h("td", { class: "num" }, w.rank ?? "—"), h("td", { class: "name" }, w.host ?? "—"),
      h("td", { class: "num" }, w.pid ?? "—"), h("td", { class: "num" }, fmt.int(w.step)),
      h("td", { title: w.last_seen }, fmt.ago(w.last_seen)),
      h("td", {}, w.live ? h("span", { class: "badge running" }, "live") : ""))))));
}

function eventText(event) {
  const data = event.data || {};
  const parts = Object.entries(data).filter(([k, v]) => k !== "schedule" && v !== null)
    .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`);
  return parts.join(", ");
}

export function eventsTable(el, events) {
  const shown = events.slice(-200).reverse();
  fill(el, h("table", {}, h("caption", { class: "sr-only" }, "Events, newest first"),
    h("thead", {}, h("tr", {}, ["Event", "Step", "Details", "When"].map(
      (t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, shown.map((e) => h("tr", {},
      h("td", {}, h("span", { class: "badge" }, e.kind)),
      h("td", { class: "num" }, fmt.int(e.step)), h("td", { class: "small" }, eventText(e)),
      h("td", { title: e.created_at }, fmt.ago(e.created_at)))))));
}
