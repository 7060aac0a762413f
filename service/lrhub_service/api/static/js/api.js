// The /v1 client: bearer token from sessionStorage, problem+json errors, ETag polling.

const KEY = "lrhub.token";
export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (value) => sessionStorage.setItem(KEY, value),
  forget: () => sessionStorage.removeItem(KEY),
};

/** A refused request: ``status``, the server's ``detail`` and field ``errors``. */
export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && problem.detail) || `HTTP ${status}`);
    this.status = status;
    this.errors = (problem && problem.errors) || [];
  }
}

let asking = null;

/** Show the token dialog (once, however many requests wait for it). */
export function askToken(reason) {
  if (asking) return asking;
  const dialog = document.getElementById("token-dialog");
  document.getElementById("token-reason").textContent = reason;
  const input = document.getElementById("token-input");
  input.value = "";
  asking = new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      const value = input.value.trim();
      if (value) token.set(value);
      asking = null;
      resolve(Boolean(value));
    }, { once: true });
  });
  dialog.showModal();
  input.focus();
  return asking;
}

/** A /v1 request; answers {status, data, etag}; a 304 has no data. Throws ApiError. */
export async function api(path, { method = "GET", body, headers = {}, etag } = {}) {
  for (let attempt = 0; attempt < 4; attempt += 1) {
    const sent = { Accept: "application/json", ...headers };
    const secret = token.get();
    if (secret) sent.Authorization = `Bearer ${secret}`;
    if (body !== undefined) sent["Content-Type"] = "application/json";
    if (etag) sent["If-None-Match"] = etag;
    const answer = await fetch(path.replace(/^\//, ""), {  // relative: a proxy's prefix stays
      method, headers: sent, cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (answer.status === 304) return { status: 304, data: null, etag };
    const data = (answer.headers.get("content-type") || "").includes("json")
      ? await answer.json() : null;
    if (answer.status === 401) {
      if (secret) token.forget();
      const reason = secret ? "That token was refused; enter another."
        : "This server asks for a bearer token.";
      if (await askToken(reason)) continue;
    }
    if (!answer.ok) throw new ApiError(answer.status, data);
    return { status: answer.status, data, etag: answer.headers.get("ETag") };
  }
  throw new ApiError(401, { detail: "no token given" });
}

/** Call ``fn`` now and every ``ms`` until the returned stop() is called. */
export function poll(fn, ms) {
  let stopped = false;
  let timer = null;
  const tick = async () => {
    if (stopped) return;
    if (!document.hidden || !timer) {  // a hidden tab waits (its first load still runs)
      try { await fn(); } catch (error) { /* shown by fn's own error slot */ }
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  tick();
  return () => { stopped = true; clearTimeout(timer); };
}

/** Show a refused request's field errors at the fields they name (``slots``: loc -> el). */
export function showErrors(error, slots, fallback) {
  for (const el of Object.values(slots)) el.textContent = "";
  let shown = false;
  for (const item of error.errors || []) {
    const loc = String(item.loc || "");
    const key = Object.keys(slots).find((k) => loc === k || loc.startsWith(`${k}.`));
    if (key) {
      const prefix = loc === key ? "" : `${loc.slice(key.length + 1)}: `;
      slots[key].textContent += `${prefix}${item.msg} `;
      shown = true;
    }
  }
  if (fallback) fallback.textContent = shown ? "" : error.message;
}
