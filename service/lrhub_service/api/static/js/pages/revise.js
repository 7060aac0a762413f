// Revise a running schedule: edit the spec as JSON, dry-run it (the new curve overlaid from
// its effective step), then submit with If-Match; a 409 or 412 says the way forward.

import { api, showErrors } from "../api.js";
import { field, fill, fmt, h, notice } from "../dom.js";
import { setParams } from "../router.js";

export function reviseForm({ id, params, onPreview, onRevised, current }) {
  const spec = h("textarea", { id: "revise-spec", spellcheck: "false", rows: 10 });
  const fromStep = h("input", { id: "revise-from", type: "number", min: 0,
    placeholder: "next free step" });
  const keep = h("input", { id: "revise-continue", type: "checkbox", checked: true });
  const clock = h("select", { id: "revise-clock" }, h("option", { value: "global" }, "global"),
    h("option", { value: "restart" }, "restart (the new spec counts from its first step)"));
  const preview = h("button", { type: "button", class: "primary" }, "Preview (dry run)");
  const submit = h("button", { type: "button", disabled: true }, "Submit revision");
  const result = h("div", { "aria-live": "polite" });
  const specField = field("Schedule (JSON)", spec);
  const fromField = field("From step", fromStep, "empty: the first step not yet promised");
  const slots = { schedule: specField.lastChild, from_step: fromField.lastChild };
  const details = h("details", { class: "card", id: "revise", open: params.get("revise") === "1" },
    h("summary", {}, h("h2", { style: null, class: "inline" }, "Revise the schedule")),
    h("p", { class: "muted small" }, "Values already handed to a worker never change: a ",
      "revision takes effect from a step no worker holds yet."),
    h("form", { onsubmit: (e) => e.preventDefault() }, specField,
      h("div", { class: "row" }, fromField,
        h("div", { class: "row" }, keep, h("label", { for: "revise-continue" },
          "continue from the current value (no jump)")),
        field("Clock", clock)),
      h("div", { class: "row" }, preview, submit)),
    result);
  details.addEventListener("toggle", () => {
    if (details.open) params.set("revise", "1"); else params.delete("revise");
    setParams(params);
  });
  let dirty = false;
  let planned = null;
  spec.addEventListener("input", () => { dirty = true; planned = null; submit.disabled = true; });

  const body = (exact) => {
    let schedule;
    try {
      schedule = JSON.parse(spec.value);
    } catch (error) {
      slots.schedule.textContent = `not valid JSON: ${error.message}`;
      return null;
    }
    const sent = { schedule, continue: keep.checked, clock: clock.value };
    if (exact && planned) {
      sent.from_step = planned.effective_step;
      sent.from_step_exact = true;
    } else if (fromStep.value !== "") sent.from_step = Number(fromStep.value);
    return sent;
  };
  const revision = () => current().run.revision;
  const runPreview = async () => {
    fill(result);
    const sent = body(false);
    if (!sent) return;
    try {
      const against = revision();
      const dry = (await api(`/v1/runs/${id}/revisions/dry-run`, { method: "POST", body: sent,
        headers: { "If-Match": `"${against}"` } })).data;
      showErrors({ errors: [] }, slots);
      planned = { ...dry, against };
      onPreview(dry);
      submit.disabled = false;
      submit.textContent = `Submit r${dry.revision} from step ${fmt.int(dry.effective_step)}`;
      const scaled = dry.scale ? ` (scaled ×${fmt.lr(dry.scale[0])} to continue)` : "";
      fill(result, notice(`Dry run: r${dry.revision} would take effect from step `
        + `${fmt.int(dry.effective_step)}${scaled}. Nothing is stored until you submit.`));
    } catch (error) {
      planned = null;
      submit.disabled = true;
      const general = h("div");
      showErrors(error, slots, general);
      fill(result, general.textContent ? notice(general.textContent, "bad") : null);
    }
  };
  const again = (label, action) => h("button", { type: "button", onclick: action }, label);
  const runSubmit = async () => {
    const sent = body(true);
    if (!sent || !planned) return;
    try {
      const done = (await api(`/v1/runs/${id}/revisions`, { method: "POST", body: sent,
        headers: { "If-Match": `"${planned.against}"` } })).data;
      fill(result, notice(`Stored r${done.revision}, in effect from step `
        + `${fmt.int(done.effective_step)}.`, "ok"));
      dirty = false;
      planned = null;
      submit.disabled = true;
      onPreview(null);
      onRevised(done);
    } catch (error) {
      submit.disabled = true;
      if (error.status === 409) {
        fill(result, notice(error.message, "bad"), again("Preview again from the next free step",
          () => { fromStep.value = ""; runPreview(); }));
      } else if (error.status === 412) {
        fill(result, notice(`412 Precondition failed: ${error.message}`, "bad"),
          again("Load the current spec", () => { dirty = false; update(current()); }));
      } else {
        const general = h("div");
        showErrors(error, slots, general);
        fill(result, notice(general.textContent || error.message, "bad"));
      }
    }
  };
  preview.addEventListener("click", runPreview);
  submit.addEventListener("click", runSubmit);
  const update = (view) => {
    if (!dirty) spec.value = JSON.stringify(view.run.schedule, null, 2);
  };
  return { element: details, update };
}
