// The dashboard's shared helpers: API calls through /dashboard/api, readable faults,
// safe DOM building, uploads with progress, the live event stream, small formatters.

const body = document.body;
export const csrf = body.dataset.csrf;
export const projectId = body.dataset.project;
export const userId = body.dataset.user;
export const isAdmin = body.dataset.admin === "true";
export const swiftAccount = `/object/v1/AUTH_${projectId}`;

/** Build an element: h("a", {href: "/x", class: "btn"}, "text", child). Text is never HTML. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** The human message in an OpenStack fault, whatever the service's shape. */
export function faultMessage(status, text, contentType = "") {
  if (contentType.includes("json")) {
    try {
      const doc = JSON.parse(text);
      for (const value of Object.values(doc)) {
        if (value && typeof value === "object" && typeof value.message === "string") return value.message;
      }
      if (typeof doc.message === "string") return doc.message;
    } catch (e) { /* not JSON after all */ }
  }
  if (contentType.includes("html")) {
    const page = new DOMParser().parseFromString(text, "text/html");
    const p = page.querySelector("p");
    if (p && p.textContent.trim()) return p.textContent.trim();
  }
  const paragraphs = text.split(/\n\s*\n/).map((s) => s.trim()).filter(Boolean);
  if (paragraphs.length > 1 && /^\d{3} /.test(paragraphs[0])) return paragraphs[1];
  return paragraphs[0] || `The request failed (${status}).`;
}

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// Once the page is being left (say, its Log out form was sent), a call that finds the
// session gone must not send the browser elsewhere than where it is already going.
let leaving = false;
addEventListener("beforeunload", () => { leaving = true; });

/** Send the user to the login form with `reason`, unless the page is being left. */
function toLogin(reason) {
  if (leaving) return;
  const next = encodeURIComponent(location.pathname + location.search);
  location.assign(`/dashboard/login?reason=${reason}&next=${next}`);
}

function sessionEnded(response) {
  if (response.status === 401 && response.headers.get("X-Dashboard-Session") === "ended") {
    toLogin("expired");
    return true;
  }
  return false;
}

/** Call a Kumo API: api("GET", "/compute/v2.1/servers/detail"). Resolves to the decoded
 * JSON (or text, or null); rejects with an ApiError carrying the API's own message. */
export async function api(method, path, { json, body: raw, headers = {} } = {}) {
  const sent = { Accept: "application/json", ...headers };
  if (method !== "GET" && method !== "HEAD") sent["X-CSRF-Token"] = csrf;
  let payload = raw;
  if (json !== undefined) { payload = JSON.stringify(json); sent["Content-Type"] ??= "application/json"; }
  const response = await fetch(`/dashboard/api${path}`, { method, headers: sent, body: payload, credentials: "same-origin" });
  if (sessionEnded(response)) throw new ApiError(401, "Your session has ended.");
  const text = method === "HEAD" ? "" : await response.text();
  const type = response.headers.get("Content-Type") || "";
  if (!response.ok) throw new ApiError(response.status, faultMessage(response.status, text, type));
  const result = text && type.includes("json") ? JSON.parse(text) : (text || null);
  return method === "HEAD" ? response.headers : result;
}

/** Send a file with XHR so that the page can show progress; `onProgress(fraction)`. */
export function upload(method, path, file, { headers = {}, onProgress = () => {} } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, `/dashboard/api${path}`);
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) { onProgress(1); resolve(xhr); return; }
      if (xhr.status === 401 && xhr.getResponseHeader("X-Dashboard-Session") === "ended") toLogin("expired");
      reject(new ApiError(xhr.status, faultMessage(xhr.status, xhr.responseText, xhr.getResponseHeader("Content-Type") || "")));
    };
    xhr.onerror = () => reject(new ApiError(0, "The upload was interrupted."));
    xhr.send(file);
  });
}

/** Follow the live event stream (filters as in /events/v1/stream: resource_type, types,
 * project_id) and call onEvent(doc) for each event; reconnects after the last one seen.
 * `indicator` (optional) shows whether the stream is connected. Returns {stop()}. */
export function follow(params, onEvent, indicator) {
  let stopped = false;
  let last = null;
  const controller = new AbortController();
  const mark = (on) => {
    if (!indicator) return;
    indicator.classList.toggle("on", on);
    indicator.textContent = on ? "Live" : "Reconnecting…";
  };
  const dispatch = (block) => {
    const fields = {};
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const at = line.indexOf(":");
      fields[line.slice(0, at)] = (fields[line.slice(0, at)] || "") + line.slice(at + 1).trimStart();
    }
    if (fields.id) last = fields.id;
    if (fields.data && fields.event !== "error") onEvent(JSON.parse(fields.data));
  };
  (async () => {
    while (!stopped) {
      try {
        const query = new URLSearchParams(params);
        if (last) query.set("after", last);
        const response = await fetch(`/dashboard/api/events/v1/stream?${query}`, { signal: controller.signal });
        if (sessionEnded(response)) return;
        if (response.ok) {
          mark(true);
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = "";
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += value;
            let end;
            while ((end = buffer.indexOf("\n\n")) >= 0) { dispatch(buffer.slice(0, end)); buffer = buffer.slice(end + 2); }
          }
        }
      } catch (e) { if (stopped) return; }
      mark(false);
      await new Promise((r) => setTimeout(r, 1500));
    }
  })();
  return { stop() { stopped = true; controller.abort(); } };
}

/** Hand the browser `text` as a file to save (made here: nothing goes back to the server). */
export function download(filename, text, type = "text/plain") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

let flashTimer;
/** Show a message at the top of the page (errors stay until the next action). */
export function flash(message, kind = "error") {
  const el = document.getElementById("flash");
  el.textContent = message;
  el.className = kind === "ok" ? "flash ok" : "flash";
  el.hidden = false;
  clearTimeout(flashTimer);
  if (kind === "ok") flashTimer = setTimeout(() => { el.hidden = true; }, 4000);
}
export function clearFlash() { document.getElementById("flash").hidden = true; }

/** Run `action`, showing its error (if any) as a readable message; returns its result. */
export async function attempt(action, where) {
  try { clearFlash(); return await action(); } catch (e) {
    const message = e instanceof ApiError ? e.message : String(e.message || e);
    if (where) { where.textContent = message; where.hidden = false; } else flash(message);
    return undefined;
  }
}

/** Show a form's problems ({field name: message}) in its `.field-error[data-for]` spans,
 * mark the fields named invalid and focus the first; true when there are none. */
export function showProblems(form, problems) {
  for (const el of form.querySelectorAll(".field-error")) el.textContent = problems[el.dataset.for] || "";
  for (const el of form.querySelectorAll("input[name], select[name], textarea[name]")) {
    el.setAttribute("aria-invalid", String(Boolean(problems[el.name])));
  }
  const first = Object.keys(problems)[0];
  if (first) form.querySelector(`[name="${CSS.escape(first)}"]`)?.focus();
  return !first;
}

// A field's message goes once its user changes the field.
document.addEventListener("input", (e) => {
  const field = e.target;
  if (!field.form || !field.name) return;
  const error = field.form.querySelector(`.field-error[data-for="${CSS.escape(field.name)}"]`);
  if (error) error.textContent = "";
  field.removeAttribute("aria-invalid");
});

/** Ask before a destructive action; resolves true when confirmed. */
export function confirmAction(text) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true }));
}

export function bytes(n) {
  if (n === null || n === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0; let v = Number(n);
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${v.toFixed(i && v < 10 ? 1 : 0)} ${units[i]}`;
}

export function when(iso) {
  if (!iso) return "—";
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  const seconds = (Date.now() - t.getTime()) / 1000;
  if (seconds < 45) return "just now";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return t.toLocaleString();
}

export function timeEl(iso) { return h("time", { datetime: iso, title: iso }, when(iso)); }

/** An exact local time, "26 Nov, 01:33:20", for logs where "just now" says too little. */
export function stamp(iso) {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return h("time", {}, iso || "—");
  const text = t.toLocaleString(undefined, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  return h("time", { datetime: iso, title: iso }, text);
}

const STATUS_KIND = {
  ACTIVE: "ok", active: "ok", available: "ok", BUILD: "warn", REBOOT: "warn", HARD_REBOOT: "warn",
  queued: "info", saving: "warn", importing: "warn", uploading: "warn", ERROR: "bad", killed: "bad",
  deleted: "bad", DELETED: "bad", PAUSED: "info", SUSPENDED: "info", SHUTOFF: "", deactivated: "",
};
export function pill(status, task) {
  const kind = task ? "warn" : (STATUS_KIND[status] ?? "");
  return h("span", { class: `pill ${kind}`, "data-status": status }, task ? `${status} · ${task}` : status);
}

/** A table in a panel: columns [{title, cell(row) -> node|string, optional}], rows. */
export function table(columns, rows, emptyText) {
  if (!rows.length) return h("div", { class: "empty" }, emptyText);
  return h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: [c.optional ? "optional" : "", c.cls === "actions" ? "actions" : ""].join(" ").trim() || null }, c.title)))),
    h("tbody", {}, rows.map((row) => rowFor(columns, row)))));
}
export function rowFor(columns, row) {
  return h("tr", { "data-id": row.id ?? row.name ?? null },
    columns.map((c) => h("td", { class: [c.optional ? "optional" : "", c.cls || ""].join(" ").trim() || null }, c.cell(row))));
}

/** The event document as a short sentence: "ServerStopped by alice". */
export function describe(doc) {
  const who = doc.actor && doc.actor.user_id ? `user ${doc.actor.user_id.slice(0, 8)}` : "the system";
  return `${doc.type} — ${doc.resource_type} ${doc.resource_id.slice(0, 8)} by ${who}`;
}

// Phone-width menu.
const toggle = document.querySelector(".menu-toggle");
if (toggle) {
  toggle.addEventListener("click", () => {
    const nav = document.getElementById("nav");
    const open = nav.classList.toggle("open");
    toggle.setAttribute("aria-expanded", String(open));
  });
}

// A row's "More" menu closes when the user clicks elsewhere or presses Escape.
document.addEventListener("click", (e) => {
  for (const menu of document.querySelectorAll("details.menu[open]")) if (!menu.contains(e.target)) menu.open = false;
});
document.addEventListener("keydown", (e) => {
  if (e.key !== "Escape") return;
  for (const menu of document.querySelectorAll("details.menu[open]")) { menu.open = false; menu.querySelector("summary").focus(); }
});
