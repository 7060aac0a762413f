// The URL's fragment: which view, and its state (shareable).

export function current() {
  const raw = location.hash.slice(1) || "/runs";
  const at = raw.indexOf("?");
  const path = at < 0 ? raw : raw.slice(0, at);
  return { path, params: new URLSearchParams(at < 0 ? "" : raw.slice(at + 1)) };
}

/** Record a view's state in the URL (no reload, no history entry). */
export function setParams(params) {
  const { path } = current();
  const query = params.toString();
  history.replaceState(null, "", `#${path}${query ? `?${query}` : ""}`);
}

export function go(hash) {
  location.hash = hash;
}
