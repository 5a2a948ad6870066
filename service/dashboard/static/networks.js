// Networks: the list (with their subnets' CIDRs), creating a network with its first
// subnet in one form, deleting one.
import { api, attempt, flash, follow, h, pill, projectId, showProblems, table } from "./kumo.js";
import { NEUTRON, createSubnet, list, mayChange, networkName, removeNetwork, subnetList, subnetProblems, wireSubnetForm, yesNo } from "./networking.js";

const panel = document.getElementById("networks");
let subnets = new Map();

const columns = [
  { title: "Name", cell: (n) => h("a", { href: `/dashboard/networks/${n.id}` }, networkName(n)) },
  { title: "Subnets", cell: (n) => subnetList(n, subnets) },
  { title: "Shared", optional: true, cell: (n) => yesNo(n.shared) },
  { title: "External", optional: true, cell: (n) => yesNo(n["router:external"]) },
  { title: "Admin state", optional: true, cell: (n) => (n.admin_state_up ? "Up" : "Down") },
  { title: "Status", optional: true, cell: (n) => pill(n.status) },
  // On a phone, a network is deleted from its own page.
  { title: "Actions", cls: "actions", optional: true, cell: (n) => (mayChange(n) ? h("button", {
    type: "button", class: "btn small danger", "aria-label": `Delete ${networkName(n)}`, onclick: () => remove(n),
  }, "Delete") : "") },
];

async function render() {
  const found = await attempt(() => Promise.all([list("networks"), list("subnets")]));
  if (!found) return;
  const [networks, all] = found;
  subnets = new Map(all.map((s) => [s.id, s]));
  const others = (n) => Number(n.project_id !== projectId);
  networks.sort((a, b) => others(a) - others(b) || networkName(a).localeCompare(networkName(b)));
  panel.replaceChildren(table(columns, networks, "No networks yet. Create one to get started."));
}

async function remove(n) {
  if (await attempt(() => removeNetwork(n))) flash(`Network ${networkName(n)} deleted.`, "ok");
  render();
}

// Creating: the network, then its first subnet; a refused subnet takes the network back
// with it (one form, one network, as Horizon does), and the API's message is shown.
const dialog = document.getElementById("create");
const form = document.getElementById("create-form");
const createError = document.getElementById("create-error");
wireSubnetForm(form);

async function create() {
  const network = { name: form.name.value.trim(), admin_state_up: form.admin_state_up.checked };
  const made = (await api("POST", `${NEUTRON}/networks`, { json: { network } })).network;
  try {
    await createSubnet(form, made.id);
  } catch (error) {
    await api("DELETE", `${NEUTRON}/networks/${made.id}`).catch(() => {});
    throw error;
  }
  return made;
}

document.getElementById("create-open").addEventListener("click", () => {
  createError.hidden = true;
  dialog.showModal();
});
dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  createError.hidden = true;
  if (!showProblems(form, subnetProblems(form))) return;
  const button = form.querySelector("[type=submit]");
  button.disabled = true;
  const made = await attempt(create, createError);
  button.disabled = false;
  if (!made) return;
  dialog.close();
  form.reset();
  flash(`Network ${networkName(made)} created.`, "ok");
  render();
});

let pending;
follow({ resource_type: "network,subnet" }, () => { clearTimeout(pending); pending = setTimeout(render, 200); }, document.getElementById("live"));
render();
