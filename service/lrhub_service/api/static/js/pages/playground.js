// Edit a spec and see its curve; nothing is stored. The spec lives in the URL.

import { api, showErrors } from "../api.js";
import { COLORS, band, draw, release } from "../charts.js";
import { debounce, field, fill, h, notice } from "../dom.js";
import { setParams } from "../router.js";

const EXAMPLE = { type: "Warmup", warmup_steps: 500, base_lr: 0.1,
  schedule: { type: "CosineAnnealingLR", T_max: 9500, eta_min: 1e-5 } };

export async function playgroundPage(main, params) {
  const spec = h("textarea", { id: "play-spec", spellcheck: "false", rows: 12 });
  spec.value = params.get("spec") || JSON.stringify(EXAMPLE, null, 2);
  const steps = h("input", { id: "play-steps", type: "number", min: 1,
    value: params.get("steps") || "10000" });
  const baseLr = h("input", { id: "play-base", type: "number", step: "any", min: 0,
    value: params.get("base_lr") || "0.1" });
  const chart = h("div", { class: "chart", role: "img", "aria-label": "previewed curve" });
  const momChart = h("div", { class: "chart small", role: "img", "aria-label": "momentum" });
  const result = h("div", { "aria-live": "polite" });
  const momPart = h("div", { hidden: true }, h("h2", {}, "Momentum"), momChart);
  const specField = field("Schedule (JSON)", spec);
  const stepsField = field("Steps", steps);
  const baseField = field("Base lr (when the spec has none)", baseLr);
  const slots = { schedule: specField.lastChild, steps: stepsField.lastChild,
    base_lrs: baseField.lastChild };
  fill(main, h("h1", {}, "Preview playground"),
    h("div", { class: "grid2" },
      h("section", { class: "card" },
        h("form", { onsubmit: (e) => { e.preventDefault(); show(); } }, specField,
          h("div", { class: "row" }, stepsField, baseField),
          h("button", { type: "submit", class: "primary" }, "Preview")),
        h("p", { class: "muted small" }, "Nothing is stored; this page's URL holds the spec.")),
      h("section", { class: "card" }, h("h2", {}, "Learning rate"), chart, result, momPart)));

  const show = async () => {
    let schedule;
    try {
      schedule = JSON.parse(spec.value);
      slots.schedule.textContent = "";
    } catch (error) {
      slots.schedule.textContent = `not valid JSON: ${error.message}`;
      return;
    }
    params.set("spec", JSON.stringify(schedule));
    params.set("steps", steps.value);
    params.set("base_lr", baseLr.value);
    setParams(params);
    const sent = { schedule, steps: Number(steps.value) };
    if (Number(baseLr.value) > 0) sent.base_lrs = [Number(baseLr.value)];
    try {
      const curve = (await api("/v1/preview/curve?points=600", { method: "POST", body: sent }))
        .data;
      showErrors({ errors: [] }, slots);
      fill(result);
      draw(chart, band(curve.steps, curve.lr.min[0], curve.lr.max[0],
        { name: "lr", color: COLORS[0] }));
      momPart.hidden = !curve.momentum;
      if (curve.momentum) {
        draw(momChart, band(curve.steps, curve.momentum.min[0], curve.momentum.max[0],
          { name: "momentum", color: COLORS[2] }));
      } else release(momChart);
    } catch (error) {
      const general = h("div");
      showErrors(error, slots, general);
      fill(result, general.textContent ? notice(general.textContent, "bad") : null);
    }
  };
  const later = debounce(show, 500);
  spec.addEventListener("input", later);
  steps.addEventListener("input", later);
  baseLr.addEventListener("input", later);
  await show();
  return () => [chart, momChart].forEach(release);
}
