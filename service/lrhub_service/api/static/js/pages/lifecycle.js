// Archive, unarchive and delete (write token); delete asks for a second press.

import { api } from "../api.js";
import { h, notice } from "../dom.js";
import { go } from "../router.js";

export function lifecycleActions(run, changed) {
  const message = h("span", { "aria-live": "polite" });
  const act = async (path, method = "POST") => {
    message.replaceChildren();
    try {
      await api(path, { method });
      return true;
    } catch (error) {
      message.append(notice(error.message, "bad"));
      return false;
    }
  };
  const archived = run.status === "archived";
  const archive = h("button", { type: "button", onclick: async () => {
    if (await act(`/v1/runs/${run.id}/${archived ? "unarchive" : "archive"}`)) changed();
  } }, archived ? "Unarchive" : "Archive");
  const compare = h("a", { class: "button", href: `#/compare?ids=${run.id}` }, "Compare…");
  const finder = run.schedule.type === "LRRangeTest"
    ? h("a", { class: "button", href: `#/finder/${run.id}` }, "LR finder") : null;
  const remove = h("button", { type: "button", class: "danger" }, "Delete");
  remove.addEventListener("click", async () => {
    if (!remove.classList.contains("armed")) {
      remove.classList.add("armed");
      remove.textContent = `Really delete ${run.name}?`;
      return;
    }
    if (await act(`/v1/runs/${run.id}?force=true`, "DELETE")) go("#/runs");
  });
  remove.addEventListener("blur", () => {
    remove.classList.remove("armed");
    remove.textContent = "Delete";
  });
  return [archive, compare, finder, remove, message];
}
