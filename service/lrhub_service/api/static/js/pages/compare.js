// Several runs' lr curves overlaid, plus one reported metric, on one step axis.

import { api } from "../api.js";
import { COLORS, band, draw, release } from "../charts.js";
import { field, fill, h, notice } from "../dom.js";
import { setParams } from "../router.js";

export async function comparePage(main, params) {
  const ids = h("input", { id: "compare-ids", value: params.get("ids") || "",
    placeholder: "e.g. 3,7,12" });
  const metric = h("select", { id: "compare-metric" });
  const log = h("input", { type: "checkbox", id: "compare-log", checked: params.get("log") === "1" });
  const lrChart = h("div", { class: "chart", role: "img", "aria-label": "learning rates" });
  const metricChart = h("div", { class: "chart small", role: "img", "aria-label": "metric" });
  const status = h("div", { "aria-live": "polite" });
  const legend = h("ul", { class: "row small plain", id: "compare-legend" });
  fill(main, h("h1", {}, "Compare runs"),
    h("section", { class: "card" },
      h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); apply(); } },
        field("Run ids (comma separated)", ids), field("Metric", metric),
        h("div", { class: "row" }, log, h("label", { for: "compare-log" }, "log scale")),
        h("button", { type: "submit", class: "primary" }, "Compare")),
      status, legend),
    h("section", { class: "card" }, h("h2", {}, "Learning rate"), lrChart),
    h("section", { class: "card" }, h("h2", {}, "Metric"), metricChart));

  const chosen = () => ids.value.split(/[\s,]+/).filter((s) => /^\d+$/.test(s)).slice(0, 8);
  const apply = async () => {
    const list = chosen();
    params.set("ids", list.join(","));
    if (metric.value) params.set("metric", metric.value);
    if (log.checked) params.set("log", "1"); else params.delete("log");
    setParams(params);
    fill(status);
    if (!list.length) {
      fill(status, notice("Pick runs on the runs page, or type their ids."));
      return;
    }
    try {
      const runs = await Promise.all(list.map(async (id) => {
        const [overview, curve, metrics] = await Promise.all([
          api(`/v1/runs/${id}/overview`), api(`/v1/runs/${id}/curve?points=400`),
          api(`/v1/runs/${id}/reports/curves?points=400`)]);
        return { id, view: overview.data, curve: curve.data, metrics: metrics.data };
      }));
      const names = [...new Set(runs.flatMap((r) => r.metrics.metrics))];
      const wanted = params.get("metric") || metric.value || names[0] || "";
      fill(metric, names.map((m) => h("option", { value: m, selected: m === wanted }, m)));
      fill(legend, runs.map((r) => h("li", {}, h("a", { href: `#/runs/${r.id}` },
        r.view.run.name), ` r${r.view.run.revision}, ${r.view.run.status}`)));
      draw(lrChart, runs.flatMap((r, i) => band(r.curve.steps, r.curve.lr.min[0],
        r.curve.lr.max[0], { name: r.view.run.name, color: COLORS[i % 8] })));
      const num = (list2) => list2.map((v) => (typeof v === "number" ? v : null));
      draw(metricChart, runs.flatMap((r, i) => {
        const s = r.metrics.series[metric.value];
        return s ? band(s.steps, num(s.min), num(s.max),
          { name: `${r.view.run.name} ${metric.value}`, color: COLORS[i % 8] }) : [];
      }), { yaxis: { type: params.get("log") === "1" ? "log" : "linear" } });
    } catch (error) {
      fill(status, notice(error.message, "bad"));
    }
  };
  metric.addEventListener("change", () => { params.set("metric", metric.value); apply(); });
  log.addEventListener("change", apply);
  await apply();
  return () => [lrChart, metricChart].forEach(release);
}
