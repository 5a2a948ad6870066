// Identity (admins): projects, users, role assignments and compute quotas.
import { api, attempt, confirmAction, flash, h, table } from "./kumo.js";

const K = "/identity/v3";
let projects = [];
let users = [];
let roles = [];

// Tabs, with arrow keys between them.
const tabs = [...document.querySelectorAll("[role=tab]")];
function select(tab) {
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute("aria-selected", String(on));
    t.tabIndex = on ? 0 : -1;
    document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
  }
  tab.focus();
}
tabs.forEach((t, i) => {
  t.addEventListener("click", () => select(t));
  t.addEventListener("keydown", (e) => {
    if (e.key === "ArrowRight") select(tabs[(i + 1) % tabs.length]);
    if (e.key === "ArrowLeft") select(tabs[(i + tabs.length - 1) % tabs.length]);
  });
});

const byName = (a, b) => a.name.localeCompare(b.name);
const option = (value, text) => h("option", { value }, text);
const nameOf = (list, id) => (list.find((x) => x.id === id) || {}).name || id;

async function load() {
  const [p, u, r] = await Promise.all([api("GET", `${K}/projects`), api("GET", `${K}/users`), api("GET", `${K}/roles`)]);
  projects = p.projects.sort(byName); users = u.users.sort(byName); roles = r.roles.sort(byName);
  document.getElementById("project-list").replaceChildren(table([
    { title: "Name", cell: (x) => h("strong", {}, x.name) },
    { title: "Description", optional: true, cls: "wrap", cell: (x) => x.description || "" },
    { title: "Enabled", cell: (x) => (x.enabled ? "yes" : "no") },
    { title: "Actions", cls: "actions", cell: (x) => h("div", { class: "btn-row" },
        h("button", { type: "button", class: "btn small", onclick: () => toggle("projects", "project", x) }, x.enabled ? "Disable" : "Enable"),
        h("button", { type: "button", class: "btn small danger", "aria-label": `Delete project ${x.name}`, onclick: () => remove("projects", x) }, "Delete")) },
  ], projects, "No projects."));
  document.getElementById("user-list").replaceChildren(table([
    { title: "Name", cell: (x) => h("strong", {}, x.name) },
    { title: "Email", optional: true, cell: (x) => x.email || "" },
    { title: "Enabled", cell: (x) => (x.enabled ? "yes" : "no") },
    { title: "Actions", cls: "actions", cell: (x) => h("div", { class: "btn-row" },
        h("button", { type: "button", class: "btn small", onclick: () => toggle("users", "user", x) }, x.enabled ? "Disable" : "Enable"),
        h("button", { type: "button", class: "btn small danger", "aria-label": `Delete user ${x.name}`, onclick: () => remove("users", x) }, "Delete")) },
  ], users, "No users."));
  const grant = document.getElementById("grant-form");
  grant.user.replaceChildren(...users.map((x) => option(x.id, x.name)));
  grant.project.replaceChildren(...projects.map((x) => option(x.id, x.name)));
  grant.role.replaceChildren(...roles.map((x) => option(x.id, x.name)));
  const quota = document.getElementById("quota-form");
  const chosen = quota.project.value;
  quota.project.replaceChildren(...projects.map((x) => option(x.id, x.name)));
  if (chosen) quota.project.value = chosen;
  await Promise.all([loadGrants(), loadQuota()]);
}

async function loadGrants() {
  const found = await api("GET", `${K}/role_assignments`);
  const rows = found.role_assignments.filter((a) => a.user && a.scope && a.scope.project)
    .map((a) => ({ user: a.user.id, project: a.scope.project.id, role: a.role.id, id: `${a.user.id}-${a.scope.project.id}-${a.role.id}` }));
  document.getElementById("grant-list").replaceChildren(table([
    { title: "User", cell: (a) => nameOf(users, a.user) },
    { title: "Project", cell: (a) => nameOf(projects, a.project) },
    { title: "Role", cell: (a) => nameOf(roles, a.role) },
    { title: "Actions", cls: "actions", cell: (a) => h("button", { type: "button", class: "btn small danger", onclick: () => revoke(a) }, "Revoke") },
  ], rows, "No role assignments on projects."));
}

async function loadQuota() {
  const form = document.getElementById("quota-form");
  if (!form.project.value) return;
  const project = form.project.value;
  form.setAttribute("aria-busy", "true");
  try {
    const found = await api("GET", `/compute/v2.1/os-quota-sets/${project}`);
    if (form.project.value !== project) return;  // another project was chosen meanwhile
    for (const key of ["instances", "cores", "ram", "key_pairs"]) form[key].value = found.quota_set[key];
    form.dataset.shown = project;
  } finally { form.setAttribute("aria-busy", "false"); }
}

async function toggle(collection, kind, x) {
  await attempt(() => api("PATCH", `${K}/${collection}/${x.id}`, { json: { [kind]: { enabled: !x.enabled } } }));
  attempt(load);
}

async function remove(collection, x) {
  if (!(await confirmAction(`Delete ${x.name}? This cannot be undone.`))) return;
  await attempt(() => api("DELETE", `${K}/${collection}/${x.id}`));
  attempt(load);
}

async function revoke(a) {
  if (!(await confirmAction(`Revoke ${nameOf(roles, a.role)} from ${nameOf(users, a.user)} on ${nameOf(projects, a.project)}?`))) return;
  await attempt(() => api("DELETE", `${K}/projects/${a.project}/users/${a.user}/roles/${a.role}`));
  attempt(load);
}

function on(formId, errorId, send, message) {
  const form = document.getElementById(formId);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const where = document.getElementById(errorId);
    where.hidden = true;
    const done = await attempt(() => send(form), where);
    if (done === undefined) return;
    flash(message(form), "ok");
    if (formId !== "quota-form" && formId !== "grant-form") form.reset();
    attempt(load);
  });
}

on("project-form", "project-error", (f) => api("POST", `${K}/projects`, { json: { project: { name: f.name.value.trim(), description: f.description.value } } }),
  (f) => "Project created.");
on("user-form", "user-error", (f) => {
  const user = { name: f.name.value.trim(), password: f.password.value };
  if (f.email.value) user.email = f.email.value;
  return api("POST", `${K}/users`, { json: { user } });
}, () => "User created.");
on("grant-form", "grant-error", (f) => api("PUT", `${K}/projects/${f.project.value}/users/${f.user.value}/roles/${f.role.value}`), () => "Role granted.");
on("quota-form", "quota-error", (f) => api("PUT", `/compute/v2.1/os-quota-sets/${f.project.value}`, { json: { quota_set: {
  instances: Number(f.instances.value), cores: Number(f.cores.value), ram: Number(f.ram.value), key_pairs: Number(f.key_pairs.value),
} } }), () => "Quotas saved.");
document.getElementById("quota-form").project.addEventListener("change", () => attempt(loadQuota, document.getElementById("quota-error")));

attempt(load);
