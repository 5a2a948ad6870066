// Instances: the table (live through the event stream), launching, actions.
import { api, attempt, follow, h, pill, projectId, rowFor, showProblems, table, timeEl } from "./kumo.js";
import { NOVA, actionMenu, flavorText, flavorsById, getServer, listServers } from "./compute.js";
import { addressLines, groupName, list, networkName } from "./networking.js";

const panel = document.getElementById("servers");
const images = new Map();
let flavors = new Map();

const columns = [
  { title: "Name", cell: (s) => h("a", { href: `/dashboard/instances/${s.id}` }, s.name) },
  { title: "Status", cell: (s) => pill(s.status, s["OS-EXT-STS:task_state"]) },
  { title: "Image", optional: true, cell: (s) => (s.image && images.get(s.image.id)) || (s.image ? s.image.id.slice(0, 8) : "—") },
  { title: "Flavor", optional: true, cell: (s) => flavorText(flavors, s) },
  { title: "Addresses", optional: true, cls: "wrap", cell: (s) => addressLines(s.addresses) },
  { title: "Created", optional: true, cell: (s) => timeEl(s.created) },
  { title: "Actions", cls: "actions", cell: (s) => actionMenu(s, () => refresh(s.id)) },
];

async function render() {
  const servers = await attempt(listServers);
  if (!servers) return;
  servers.sort((a, b) => a.name.localeCompare(b.name));
  panel.replaceChildren(table(columns, servers, "No instances yet. Launch one to get started."));
  panel.querySelector(".table-wrap")?.classList.add("menus");  // its row menus may overhang
}

/** Re-read one server and replace (or drop) its row: the read model is the truth. */
async function refresh(id) {
  let server = null;
  try { server = await getServer(id); } catch (e) { if (e.status !== 404) return; }
  const row = panel.querySelector(`tr[data-id="${CSS.escape(id)}"]`);
  if (!server) { if (row) row.remove(); if (!panel.querySelector("tbody tr")) render(); return; }
  if (row) row.replaceWith(rowFor(columns, server));
  else render();
}

const pending = new Map();
function changed(doc) {
  clearTimeout(pending.get(doc.resource_id));
  pending.set(doc.resource_id, setTimeout(() => refresh(doc.resource_id), 100));
}

// Launching.
const dialog = document.getElementById("launch");
const form = document.getElementById("launch-form");
const launchError = document.getElementById("launch-error");

async function fillChoices() {
  const [imgs, flavors, keys, networks, subnets, groups] = await Promise.all([
    api("GET", "/image/v2/images?status=active"),
    api("GET", "/compute/v2.1/flavors/detail"),
    api("GET", "/compute/v2.1/os-keypairs"),
    list("networks"), list("subnets"), list("security-groups"),
  ]);
  const option = (value, text) => h("option", { value }, text);
  choices(form.image, [option("", "Choose an image…"), ...imgs.images.map((i) => option(i.id, i.name || i.id))]);
  choices(form.flavor, [option("", "Choose a flavor…"),
    ...flavors.flavors.sort((a, b) => a.ram - b.ram).map((f) => option(f.id, `${f.name} (${f.vcpus} vCPU, ${f.ram} MiB, ${f.disk} GB)`))]);
  choices(form.key_name, [option("", "None"), ...keys.keypairs.map((k) => option(k.keypair.name, k.keypair.name))]);
  networkChoices(networks, subnets);
  const own = groups.filter((g) => g.project_id === projectId).sort((a, b) => groupName(a).localeCompare(groupName(b)));
  checks("group-choices", "security_groups", own.map((g) => ({ value: g.name || g.id, text: groupName(g) })), ["default"]);
}

/** The networks an instance may be on (not external ones unless shared), the project's
 * default network first; until that exists, "auto" stands for it (Nova makes it). */
function networkChoices(networks, subnets) {
  const cidrs = new Map(subnets.map((s) => [s.id, s.cidr]));
  const usable = networks.filter((n) => !n["router:external"] || n.shared);
  const own = usable.find((n) => n.is_default && n.project_id === projectId);
  const text = (n) => `${networkName(n)} (${n.subnets.map((id) => cidrs.get(id)).filter(Boolean).join(", ") || "no subnet"})`;
  usable.sort((a, b) => Number(b === own) - Number(a === own) || networkName(a).localeCompare(networkName(b)));
  const entries = usable.map((n) => ({ value: n.id, text: n === own ? `${text(n)} · default` : text(n) }));
  if (!own) entries.unshift({ value: "auto", text: "Default network (made on first use)" });
  checks("network-choices", "networks", entries, [own ? own.id : "auto"]);
}

/** Replace a list of checkboxes, keeping what the user already ticked if it is still
 * there, else ticking `defaults`. */
function checks(id, name, entries, defaults) {
  const where = document.getElementById(id);
  const kept = [...where.querySelectorAll("input:checked")].map((i) => i.value).filter((v) => entries.some((e) => e.value === v));
  const on = new Set(kept.length ? kept : defaults);
  where.replaceChildren(...entries.map((e) => h("label", { class: "check" },
    h("input", { type: "checkbox", name, value: e.value, checked: on.has(e.value) }), e.text)));
}

const ticked = (name) => [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);

/** Replace a select's options, keeping what the user already chose if it is still there. */
function choices(select, options) {
  const kept = select.value;
  select.replaceChildren(...options);
  if (options.some((o) => o.value === kept)) select.value = kept;
}

function validate() {
  const problems = {};
  if (!form.name.value.trim()) problems.name = "Give the instance a name.";
  if (!form.image.value) problems.image = "Choose an image.";
  if (!form.flavor.value) problems.flavor = "Choose a flavor.";
  const count = Number(form.count.value);
  if (!Number.isInteger(count) || count < 1) problems.count = "The count is a whole number of at least 1.";
  const networks = ticked("networks");
  if (!networks.length) problems.networks = "Choose at least one network.";
  else if (networks.includes("auto") && networks.length > 1) {
    problems.networks = "The default network is made on first use: launch on it alone, or on networks of your choice.";
  }
  if (!ticked("security_groups").length) problems.security_groups = "Choose at least one security group.";
  return showProblems(form, problems);
}

document.getElementById("launch-open").addEventListener("click", async () => {
  launchError.hidden = true;
  dialog.showModal();
  await attempt(fillChoices, launchError);
});
dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  launchError.hidden = true;
  if (!validate()) return;
  const count = Number(form.count.value);
  const server = {
    name: form.name.value.trim(), imageRef: form.image.value, flavorRef: form.flavor.value,
    min_count: count, max_count: count,
  };
  if (form.key_name.value) server.key_name = form.key_name.value;
  const networks = ticked("networks");
  if (!networks.includes("auto")) server.networks = networks.map((uuid) => ({ uuid }));
  server.security_groups = ticked("security_groups").map((name) => ({ name }));
  if (form.user_data.value) server.user_data = btoa(unescape(encodeURIComponent(form.user_data.value)));
  const button = form.querySelector("[type=submit]");
  button.disabled = true;
  const done = await attempt(() => api("POST", "/compute/v2.1/servers", { json: { server }, headers: NOVA }), launchError);
  button.disabled = false;
  if (done === undefined) return;
  dialog.close();
  form.reset();
  render();
});

follow({ resource_type: "server" }, changed, document.getElementById("live"));
Promise.allSettled([
  api("GET", "/image/v2/images").then((r) => r.images.forEach((i) => images.set(i.id, i.name))),
  flavorsById().then((f) => { flavors = f; }),
]).then(render);
