// One run: lr and momentum curves (used vs planned, progress, revisions), metrics, events,
// workers, spec and revision history; live through ETag polling of the run's overview.

import { api, poll } from "../api.js";
import { COLORS, band, draw, marks, release, usedAndPlanned } from "../charts.js";
import { badge, fill, fmt, h, notice } from "../dom.js";
import { setParams } from "../router.js";
import { eventsTable, revisionsTable, workersTable } from "./history.js";
import { lifecycleActions } from "./lifecycle.js";
import { reviseForm } from "./revise.js";

const POINTS = 600;

function facts(view) {
  const { run } = view;
  const item = (label, value) => h("div", {}, h("dt", {}, label), h("dd", {}, value));
  return h("dl", { class: "facts" },
    item("Status", badge(run.status)), item("Revision", `r${run.revision}`),
    item("Progress", `${fmt.int(run.progress)} / ${fmt.int(view.span)}`),
    item("Promised through", fmt.int(run.horizon)),
    item("Last report", fmt.int(view.last_report_step)),
    item("Reports", fmt.int(view.report_count)),
    item("Live workers", String(view.workers.filter((w) => w.live).length)),
    item("Updated", fmt.ago(run.updated_at)));
}

export async function runPage(main, params, id) {
  const title = h("h1", {}, `Run ${id}`);
  const status = h("div", { "aria-live": "polite" });
  const factsSlot = h("div");
  const lrChart = h("div", { class: "chart", role: "img", "aria-label": "learning rate" });
  const momChart = h("div", { class: "chart small", role: "img", "aria-label": "momentum" });
  const momCard = h("section", { class: "card", hidden: true },
    h("h2", {}, "Momentum"), momChart);
  const metricSelect = h("select", { id: "metric-select" });
  const logBox = h("input", { type: "checkbox", id: "metric-log", checked: params.get("log") === "1" });
  const metricChart = h("div", { class: "chart small", role: "img", "aria-label": "metrics" });
  const metricNote = h("p", { class: "muted small" });
  const [workersEl, eventsEl, specEl, revisionsEl] = [h("div"), h("div", { class: "scroll" }),
    h("pre"), h("div", { class: "scroll" })];
  const actions = h("div", { class: "row actions" });
  const reviseSlot = h("div");
  fill(main, h("p", { class: "small" }, h("a", { href: "#/runs" }, "← Runs")), title, status,
    h("section", { class: "card" }, factsSlot, actions),
    h("section", { class: "card" }, h("h2", {}, "Learning rate"), lrChart), momCard,
    reviseSlot,
    h("section", { class: "card" },
      h("div", { class: "row spread" }, h("h2", {}, "Metrics"),
        h("div", { class: "row" }, h("label", { for: "metric-select" }, "Metric"), metricSelect,
          logBox, h("label", { for: "metric-log" }, "log scale"))),
      metricChart, metricNote),
    h("div", { class: "grid2" },
      h("section", { class: "card" }, h("h2", {}, "Workers"), workersEl),
      h("section", { class: "card" }, h("h2", {}, "Events"), eventsEl)),
    h("div", { class: "grid2" },
      h("section", { class: "card" }, h("h2", {}, "Spec"), specEl),
      h("section", { class: "card" }, h("h2", {}, "Revision history"), revisionsEl)));

  let view = null;
  let curve = null;
  let overlay = null;
  let metrics = null;
  let events = [];
  const drawCurves = () => {
    if (!view || !curve) return;
    const groups = curve.lr.max.length;
    const traces = [];
    for (let g = 0; g < groups; g += 1) {
      const label = groups > 1 ? `lr g${g}` : "lr";
      traces.push(...usedAndPlanned(curve, "lr", g, view.run.progress, COLORS[g % 8], label));
    }
    if (overlay && overlay.curve) {
      const c = overlay.curve;
      traces.push(...band(c.steps, c.lr.min[0], c.lr.max[0],
        { name: `preview r${overlay.revision}`, color: "#e9a23b", dash: "dash" }));
    }
    const xaxis = { range: [0, view.span], title: { text: "step" }, separatethousands: true };
    draw(lrChart, traces, { ...marks(view.run.progress, view.revisions), xaxis });
    momCard.hidden = !curve.momentum;
    if (curve.momentum) {
      draw(momChart, usedAndPlanned(curve, "momentum", 0, view.run.progress, COLORS[2],
        "momentum"), { ...marks(view.run.progress, view.revisions), xaxis });
    }
  };
  const drawMetrics = () => {
    const name = metricSelect.value;
    const series = metrics && metrics.series[name];
    if (!series) {
      metricNote.textContent = "No metric reported yet.";
      release(metricChart);
      return;
    }
    const nums = (list) => list.map((v) => (typeof v === "number" ? v : null));
    metricNote.textContent = series.bucket > 1
      ? `min and max per ${fmt.int(series.bucket)} steps` : "";
    draw(metricChart, band(series.steps, nums(series.min), nums(series.max),
      { name, color: COLORS[1] }), {
      xaxis: { range: [0, view ? view.span : undefined], title: { text: "step" },
        separatethousands: true },
      yaxis: { type: logBox.checked ? "log" : "linear", exponentformat: "e" } });
  };
  const loadCurve = async () => {
    curve = (await api(`/v1/runs/${id}/curve?points=${POINTS}`)).data;
    drawCurves();
  };
  const loadMetrics = async () => {
    metrics = (await api(`/v1/runs/${id}/reports/curves?points=${POINTS}`)).data;
    const wanted = params.get("metric") || metricSelect.value || metrics.metrics[0] || "";
    fill(metricSelect, metrics.metrics.map((m) => h("option", { value: m, selected: m === wanted }, m)));
    drawMetrics();
  };
  const loadEvents = async () => {
    const after = events.length ? `&after=${events[events.length - 1].id}` : "";
    const page = (await api(`/v1/runs/${id}/events?limit=1000${after}`)).data;
    events = events.concat(page.items);
    eventsTable(eventsEl, events);
  };
  metricSelect.addEventListener("change", () => {
    params.set("metric", metricSelect.value);
    setParams(params);
    drawMetrics();
  });
  logBox.addEventListener("change", () => {
    if (logBox.checked) params.set("log", "1"); else params.delete("log");
    setParams(params);
    drawMetrics();
  });
  const revise = reviseForm({
    id, params, onPreview: (dry) => { overlay = dry; drawCurves(); },
    onRevised: () => { overlay = null; etag = null; },
    current: () => view,
  });
  reviseSlot.append(revise.element);

  let etag = null;
  let seenReports = -1;
  const refresh = async () => {
    try {
      const answer = await api(`/v1/runs/${id}/overview`, { etag });
      if (answer.status === 304) return;
      etag = answer.etag;
      view = answer.data;
      document.title = `${view.run.name} · lrhub`;
      fill(title, view.run.name);
      fill(factsSlot, facts(view));
      fill(specEl, JSON.stringify(view.run.schedule, null, 2));
      workersTable(workersEl, view.workers);
      revisionsTable(revisionsEl, view.revisions);
      fill(actions, lifecycleActions(view.run, () => { etag = null; refresh(); }));
      revise.update(view);
      fill(status);
      const jobs = [loadEvents()];
      jobs.push(loadCurve().catch((error) => fill(status, notice(`Curve: ${error.message}`))));
      if (view.report_count !== seenReports) {
        seenReports = view.report_count;
        jobs.push(loadMetrics());
      }
      await Promise.all(jobs);
    } catch (error) {
      fill(status, notice(error.message, "bad"));
    }
  };
  const stop = poll(refresh, 2000);
  return () => { stop(); [lrChart, momChart, metricChart].forEach(release); };
}
