// The dashboard's router: the URL's fragment names the view and holds its state, so every
// view, compare selection and playground spec has a URL that reproduces it.

import { askToken, token } from "./api.js";
import { fill, h, notice } from "./dom.js";
import { current } from "./router.js";
import { comparePage } from "./pages/compare.js";
import { finderPage } from "./pages/finder.js";
import { playgroundPage } from "./pages/playground.js";
import { runPage } from "./pages/run.js";
import { runsPage } from "./pages/runs.js";

const ROUTES = [
  [/^\/(runs)?$/, "runs", runsPage],
  [/^\/runs\/(\d+)$/, "runs", runPage],
  [/^\/compare$/, "compare", comparePage],
  [/^\/playground$/, "playground", playgroundPage],
  [/^\/finder(?:\/(\d+))?$/, "finder", finderPage],
];

let stopCurrent = null;

async function render() {
  if (stopCurrent) stopCurrent();
  stopCurrent = null;
  const main = document.getElementById("app");
  const { path, params } = current();
  const found = ROUTES.find(([pattern]) => pattern.test(path));
  for (const link of document.querySelectorAll("[data-nav]")) {
    link.toggleAttribute("aria-current", found && link.dataset.nav === found[1]);
    if (found && link.dataset.nav === found[1]) link.setAttribute("aria-current", "page");
  }
  fill(main);
  if (!found) {
    fill(main, h("h1", {}, "Not found"), h("p", {}, h("a", { href: "#/runs" }, "Back to runs")));
    return;
  }
  const [pattern, , page] = found;
  const match = path.match(pattern);
  try {
    stopCurrent = (await page(main, params, match[1])) || null;
  } catch (error) {
    main.append(notice(error.message, "bad"));
  }
}

document.getElementById("token-button").addEventListener("click", async () => {
  if (await askToken("Enter a read or write token for this server.")) render();
});
document.getElementById("token-forget").addEventListener("click", () => {
  token.forget();
  document.getElementById("token-dialog").close();
});
document.querySelector(".skip").addEventListener("click", (event) => {
  event.preventDefault();  // the fragment holds the route: focus the content instead
  document.getElementById("app").focus();
});
window.addEventListener("hashchange", render);
render();
