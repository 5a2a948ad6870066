// Audit: the audit log with filters and paging; a resource's history and time travel.
import { api, attempt, h, stamp, table } from "./kumo.js";

const form = document.getElementById("filter-form");
const panel = document.getElementById("records");
const more = document.getElementById("more");
const auditError = document.getElementById("audit-error");
const FILTERS = ["action", "outcome", "target_type", "target_id", "initiator_user_id", "initiator_project_id", "request_id"];
let rows = [];
let marker = null;

const first = (...values) => values.find((v) => v !== undefined && v !== null && v !== "");
const iso = (local) => (local ? new Date(local).toISOString() : "");

const columns = [
  { title: "Time", cell: (r) => stamp(r.eventTime) },
  { title: "Action", cell: (r) => first(r.action, "—") },
  { title: "Outcome", cell: (r) => outcome(r) },
  { title: "Call", optional: true, cls: "wrap", cell: (r) => h("code", {}, `${first(r.method, "")} ${first(r.requestPath, "")}`) },
  { title: "Initiator", cell: (r) => first(r.initiator.name, r.initiator.id, "—") },
  { title: "Target", cls: "wrap", cell: (r) => target(r) },
  { title: "Request", optional: true, cell: (r) => h("code", { title: r.request_id || null }, r.request_id ? `${r.request_id.slice(0, 12)}…` : "—") },
];

function outcome(r) {
  const value = first(r.outcome, "—");
  const kind = { success: "ok", pending: "warn", failure: "bad" }[value] || "";
  const code = r.reason && r.reason.reasonCode ? ` · ${r.reason.reasonCode}` : "";
  return h("span", { class: `pill ${kind}` }, value + code);
}

function target(r) {
  const t = r.target || {};
  const type = first(t.typeURI, "—");
  const id = first(t.id, "");
  const short = String(type).split("/").pop();
  if (!id) return type;
  return h("span", {}, `${short} `, h("button", { type: "button", class: "btn small ghost", onclick: () => showResource(short, id) }, id.length > 12 ? id.slice(0, 8) + "…" : id));
}

async function search(append) {
  auditError.hidden = true;
  const query = new URLSearchParams({ limit: "50", sort_dir: "desc" });
  for (const name of FILTERS) if (form[name].value.trim()) query.set(name, form[name].value.trim());
  for (const name of ["since", "until"]) if (form[name].value) query.set(name, iso(form[name].value));
  const exported = new URLSearchParams(query);
  exported.delete("limit");
  exported.set("format", "jsonl");
  document.getElementById("export").href = `/dashboard/api/events/v1/audit?${exported}`;
  if (append && marker) query.set("marker", marker);
  let found;
  try { found = await api("GET", `/events/v1/audit?${query}`); } catch (e) {
    auditError.textContent = e.message;
    auditError.hidden = false;
    panel.replaceChildren(h("div", { class: "empty" }, "No audit records to show."));
    return;
  }
  // A call made through the dashboard is recorded twice: as the browser's call to
  // /dashboard/api/... and as the API call it became. Show the API's.
  const page = found.records.filter((r) => !String(r.requestPath).startsWith("/dashboard/api/"));
  rows = append ? rows.concat(page) : page;
  const last = page[page.length - 1];
  marker = last ? last.id : null;
  more.hidden = !(found.links && found.links.next);
  panel.replaceChildren(table(columns, rows, "No audit records match."));
}

form.addEventListener("submit", (e) => { e.preventDefault(); search(false); });
form.addEventListener("reset", () => setTimeout(() => search(false)));
more.addEventListener("click", () => search(true));

// A resource's history, and the resource as it was.
const rform = document.getElementById("resource-form");
const rerror = document.getElementById("resource-error");
const doc = document.getElementById("resource-doc");

async function asItWas(type, id, at) {
  const then = await attempt(() => api("GET", `/events/v1/resources/${type}/${encodeURIComponent(id)}?at=${encodeURIComponent(at)}`), rerror);
  if (!then) return;
  doc.textContent = `As it was at ${at}:\n\n${JSON.stringify(then, null, 2)}`;
  doc.hidden = false;
}

async function showResource(type, id, at) {
  rerror.hidden = true;
  doc.hidden = true;
  rform.type.value = type;
  rform.id.value = id;
  const found = await attempt(() => api("GET", `/events/v1/resources/${type}/${encodeURIComponent(id)}/history`), rerror);
  const list = document.getElementById("resource-history");
  if (!found) { list.replaceChildren(); return; }
  list.replaceChildren(...found.events.map((e) => h("li", {},
    h("div", { class: "what" }, e.type, e.data && e.data.action ? h("span", { class: "muted" }, ` · ${e.data.action}`) : null),
    h("div", { class: "when" }, stamp(e.time), ` · position ${e.position} · `,
      h("button", { type: "button", class: "link", onclick: () => asItWas(type, id, String(e.position)) }, "as it was")))));
  if (at) await asItWas(type, id, at);
  rform.scrollIntoView({ behavior: "smooth" });
}

rform.addEventListener("submit", (e) => {
  e.preventDefault();
  if (!rform.id.value.trim()) { rerror.textContent = "Give the resource's id."; rerror.hidden = false; return; }
  showResource(rform.type.value, rform.id.value.trim(), rform.at.value ? iso(rform.at.value) : "");
});

// Linked from a resource's page: its history, and the audit records that name it.
const params = new URLSearchParams(location.search);
if (params.get("type") && params.get("id")) {
  form.target_id.value = params.get("id");
  showResource(params.get("type"), params.get("id"));
}
search(false);
