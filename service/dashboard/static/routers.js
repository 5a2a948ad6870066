// Routers: the project's routers with their gateway and interfaces; creating one (with a
// gateway on an external network or none), setting or clearing its gateway, adding and
// removing interfaces on the project's subnets, deleting it.
import { api, attempt, confirmAction, flash, follow, h, pill, table } from "./kumo.js";
import { NEUTRON, list, networkName, subnetText } from "./networking.js";

const panel = document.getElementById("routers");
const createForm = document.getElementById("create-form");
let routers = [];
let externals = new Map();
let subnets = new Map();
let interfaces = new Map(); // router id -> its interface ports

const label = (r) => r.name || r.id.slice(0, 8);

function button(text, target, run, danger = false) {
  return h("button", {
    type: "button", class: `btn small${danger ? " danger" : ""}`, "aria-label": `${text} ${target}`,
    onclick: run,
  }, text);
}

function gatewayCell(r) {
  const gateway = r.external_gateway_info;
  if (!gateway) return "—";
  const network = externals.get(gateway.network_id);
  const addresses = (gateway.external_fixed_ips || []).map((ip) => h("code", {}, ip.ip_address));
  return h("span", {}, network ? networkName(network) : gateway.network_id.slice(0, 8), " ", ...addresses);
}

function interfacesCell(r) {
  const ports = interfaces.get(r.id) || [];
  if (!ports.length) return "—";
  return h("ul", { class: "plain" }, ports.flatMap((p) => p.fixed_ips.map((ip) => {
    const subnet = subnets.get(ip.subnet_id);
    const name = subnet ? subnetText(subnet) : ip.subnet_id.slice(0, 8);
    return h("li", {}, `${name} `, h("code", {}, ip.ip_address), " ",
      button("Remove", `interface ${name} of ${label(r)}`, () => removeInterface(r, ip.subnet_id, name), true));
  })));
}

const columns = [
  { title: "Name", cell: (r) => h("strong", {}, label(r)) },
  { title: "Gateway", cell: gatewayCell },
  { title: "Interfaces", cell: interfacesCell },
  { title: "Status", optional: true, cell: (r) => pill(r.status) },
  { title: "Actions", cls: "actions", cell: (r) => h("div", { class: "btn-row" },
    button("Add interface", label(r), () => addInterface(r)),
    r.external_gateway_info
      ? button("Clear gateway", label(r), () => setGateway(r, null))
      : button("Set gateway", label(r), () => setGateway(r, createForm.network.value || [...externals.keys()][0])),
    button("Delete", label(r), () => remove(r), true)) },
];

async function render() {
  const found = await attempt(() => Promise.all([
    list("routers"), list("networks", { "router:external": "true" }), list("subnets"),
    list("ports", { device_owner: "network:router_interface" }),
  ]));
  if (!found) return;
  let external; let allSubnets; let ports;
  [routers, external, allSubnets, ports] = found;
  externals = new Map(external.map((n) => [n.id, n]));
  subnets = new Map(allSubnets.map((s) => [s.id, s]));
  interfaces = new Map();
  for (const port of ports) interfaces.set(port.device_id, [...(interfaces.get(port.device_id) || []), port]);
  routers.sort((a, b) => label(a).localeCompare(label(b)));
  panel.replaceChildren(table(columns, routers, "No routers yet."));
  const kept = createForm.network.value;
  createForm.network.replaceChildren(h("option", { value: "" }, "None"),
    ...external.map((n) => h("option", { value: n.id }, networkName(n))));
  if (externals.has(kept)) createForm.network.value = kept;
}

createForm.addEventListener("submit", async (e) => {
  e.preventDefault();
  const where = document.getElementById("create-error");
  where.hidden = true;
  const name = createForm.name.value.trim();
  if (!name) { where.textContent = "Give the router a name."; where.hidden = false; return; }
  const router = { name };
  if (createForm.network.value) router.external_gateway_info = { network_id: createForm.network.value };
  const made = await attempt(() => api("POST", `${NEUTRON}/routers`, { json: { router } }), where);
  if (!made) return;
  createForm.name.value = "";
  flash(`Router ${name} created.`, "ok");
  render();
});

async function setGateway(r, networkId) {
  if (networkId === undefined) { flash("There is no external network; an administrator makes one."); return; }
  if (!networkId && !(await confirmAction(`Clear the gateway of router ${label(r)}? Its subnets lose the outside.`))) return;
  const router = { external_gateway_info: networkId ? { network_id: networkId } : {} };
  const done = await attempt(() => api("PUT", `${NEUTRON}/routers/${r.id}`, { json: { router } }));
  if (done) flash(networkId ? `Router ${label(r)} has a gateway.` : `The gateway of router ${label(r)} is cleared.`, "ok");
  render();
}

async function remove(r) {
  if (!(await confirmAction(`Delete router ${label(r)}?`))) return;
  if (await attempt(() => api("DELETE", `${NEUTRON}/routers/${r.id}`)) !== undefined) flash(`Router ${label(r)} deleted.`, "ok");
  render();
}

async function removeInterface(r, subnetId, name) {
  if (!(await confirmAction(`Remove the interface of router ${label(r)} on ${name}?`))) return;
  const done = await attempt(() => api("PUT", `${NEUTRON}/routers/${r.id}/remove_router_interface`, { json: { subnet_id: subnetId } }));
  if (done) flash(`Router ${label(r)} left ${name}.`, "ok");
  render();
}

// Adding an interface: the project's subnets with a gateway address that the router is
// not on yet (an external network's subnets are for gateways).
const dialog = document.getElementById("interface");
const form = document.getElementById("interface-form");
const interfaceError = document.getElementById("interface-error");
let adding = null;

function addInterface(r) {
  adding = r;
  interfaceError.hidden = true;
  document.getElementById("interface-router").textContent = `Router ${label(r)}`;
  const taken = new Set((interfaces.get(r.id) || []).flatMap((p) => p.fixed_ips.map((ip) => ip.subnet_id)));
  const choices = [...subnets.values()].filter((s) => s.gateway_ip && !taken.has(s.id) && !externals.has(s.network_id));
  form.subnet.replaceChildren(...(choices.length
    ? choices.map((s) => h("option", { value: s.id }, subnetText(s)))
    : [h("option", { value: "" }, "No subnet to add")]));
  dialog.showModal();
}
dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  interfaceError.hidden = true;
  if (!form.subnet.value) {
    interfaceError.textContent = "Create a network with a subnet first.";
    interfaceError.hidden = false;
    return;
  }
  const done = await attempt(() => api("PUT", `${NEUTRON}/routers/${adding.id}/add_router_interface`, { json: { subnet_id: form.subnet.value } }), interfaceError);
  if (!done) return;
  dialog.close();
  flash(`Router ${label(adding)} joined ${subnetText(subnets.get(form.subnet.value))}.`, "ok");
  render();
});

let pending;
follow({ resource_type: "router" }, () => { clearTimeout(pending); pending = setTimeout(render, 200); }, document.getElementById("live"));
render();
