// The LR range test: loss against lr on a log axis, raw and smoothed, each suggestion
// marked; a run can be created from a suggestion with a schedule template.

import { api } from "../api.js";
import { COLORS, draw, release } from "../charts.js";
import { field, fill, fmt, h, notice } from "../dom.js";
import { go } from "../router.js";

const TEMPLATES = {
  OneCycleLR: (lr, steps) => ({ type: "OneCycleLR", max_lr: lr, total_steps: steps }),
  CosineAnnealingLR: (lr, steps) => ({ type: "CosineAnnealingLR", T_max: steps, base_lr: lr }),
  ConstantLR: (lr, steps) => ({ type: "ConstantLR", factor: 1, total_iters: steps, base_lr: lr }),
};

function pick(main) {
  const id = h("input", { id: "finder-id", type: "number", min: 1 });
  fill(main, h("h1", {}, "LR finder"), h("section", { class: "card" },
    h("p", {}, "Run a range test with ", h("code", {}, "lrhub.find_lr"),
      " (docs/lr-finder.md), then open it here."),
    h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); go(`#/finder/${id.value}`); } },
      field("Range-test run id", id), h("button", { type: "submit", class: "primary" }, "Open"))));
}

export async function finderPage(main, params, id) {
  if (!id) return pick(main);
  const chart = h("div", { class: "chart", role: "img", "aria-label": "loss against lr" });
  const status = h("div", { "aria-live": "polite" });
  const form = h("div");
  fill(main, h("p", { class: "small" }, h("a", { href: `#/runs/${id}` }, "← the run")),
    h("h1", {}, `LR finder: run ${id}`), status,
    h("section", { class: "card" }, chart), h("section", { class: "card" }, form));
  const [run, finder] = await Promise.all([api(`/v1/runs/${id}`), api(`/v1/runs/${id}/lr-finder`)]);
  const data = finder.data;
  fill(main.querySelector("h1"), `LR finder: ${run.data.name}`);
  const num = (v) => (typeof v === "number" ? v : null);
  const suggestions = Object.entries(data.suggestions || {}).filter(([, v]) => v);
  const shapes = suggestions.map(([, v], i) => ({ type: "line", xref: "x", yref: "paper",
    x0: v, x1: v, y0: 0, y1: 1, line: { color: COLORS[(i + 1) % 8], dash: "dash", width: 1.5 } }));
  const annotations = suggestions.map(([name, v], i) => ({ x: Math.log10(v), y: 1 - i * 0.07,
    xref: "x", yref: "paper", text: `${name} ${fmt.lr(v)}`, showarrow: false, xanchor: "left",
    font: { color: COLORS[(i + 1) % 8], size: 11 } }));
  draw(chart, [
    { x: data.lrs, y: data.losses.map(num), name: "loss", type: "scatter", mode: "lines",
      line: { color: "#9aa5b1", width: 1 } },
    { x: data.lrs, y: data.smoothed, name: "smoothed", type: "scatter", mode: "lines",
      line: { color: COLORS[0], width: 2.5 } },
  ], { shapes, annotations, hovermode: "closest",
    xaxis: { type: "log", title: { text: "learning rate" }, exponentformat: "e" },
    yaxis: { title: { text: data.metric } } });
  if (!suggestions.length) {
    fill(status, notice("No suggestion yet: the test needs more losses."));
    return () => release(chart);
  }
  const choice = h("select", { id: "finder-suggestion" }, suggestions.map(([name, v]) =>
    h("option", { value: String(v), selected: v === data.suggested_lr }, `${name}: ${fmt.lr(v)}`)));
  const template = h("select", { id: "finder-template" }, Object.keys(TEMPLATES).map((t) =>
    h("option", { value: t, selected: t === (params.get("template") || "OneCycleLR") }, t)));
  const steps = h("input", { id: "finder-steps", type: "number", min: 1, value: "10000" });
  const name = h("input", { id: "finder-name", value: `${run.data.name}-onecycle`, required: true });
  const preview = h("pre", { id: "finder-spec" });
  const result = h("div", { "aria-live": "polite" });
  const spec = () => TEMPLATES[template.value](Number(choice.value), Number(steps.value));
  const refresh = () => { preview.textContent = JSON.stringify(spec(), null, 2); };
  for (const el of [choice, template, steps]) el.addEventListener("input", refresh);
  template.addEventListener("change", () => {
    name.value = `${run.data.name}-${template.value.replace(/LR$/, "").toLowerCase()}`;
  });
  refresh();
  fill(form, h("h2", {}, "Create a run from a suggestion"),
    h("form", { onsubmit: async (e) => {
      e.preventDefault();
      try {
        const made = await api("/v1/runs", { method: "POST",
          body: { name: name.value, schedule: spec() } });
        go(`#/runs/${made.data.id}`);
      } catch (error) {
        fill(result, notice(error.message, "bad"));
      }
    } },
    h("div", { class: "row" }, field("Suggestion", choice), field("Template", template),
      field("Total steps", steps), field("Name (confirm)", name)),
    preview, h("div", { class: "row" }, h("button", { type: "submit", class: "primary" },
      "Create run")), result));
  return () => release(chart);
}
