// Floating IPs: the project's addresses on external networks; allocating one from a
// pool, associating it with an instance's address, disassociating and releasing it.
import { api, attempt, confirmAction, flash, follow, h, pill, table } from "./kumo.js";
import { listServers } from "./compute.js";
import { NEUTRON, list, networkName } from "./networking.js";

const panel = document.getElementById("fips");
const allocateForm = document.getElementById("allocate-form");
let fips = [];
let pools = new Map();
let ports = new Map();
let servers = new Map();

function instanceOf(f) {
  const port = f.port_id && ports.get(f.port_id);
  if (!port) return f.port_id ? `port ${f.port_id.slice(0, 8)}` : "—";
  const server = servers.get(port.device_id);
  return server ? h("a", { href: `/dashboard/instances/${server.id}` }, server.name) : `port ${port.id.slice(0, 8)}`;
}

const label = (f) => f.floating_ip_address;

function button(text, f, run, danger = false) {
  return h("button", {
    type: "button", class: `btn small${danger ? " danger" : ""}`, "aria-label": `${text} ${label(f)}`,
    onclick: () => run(f),
  }, text);
}

const columns = [
  { title: "Address", cell: (f) => h("code", {}, f.floating_ip_address) },
  { title: "Fixed address", optional: true, cell: (f) => (f.fixed_ip_address ? h("code", {}, f.fixed_ip_address) : "—") },
  { title: "Instance", cell: instanceOf },
  { title: "Pool", optional: true, cell: (f) => (pools.has(f.floating_network_id) ? networkName(pools.get(f.floating_network_id)) : f.floating_network_id.slice(0, 8)) },
  { title: "Status", optional: true, cell: (f) => pill(f.status) },
  { title: "Actions", cls: "actions", cell: (f) => h("div", { class: "btn-row" },
    f.port_id ? button("Disassociate", f, disassociate) : button("Associate", f, associate),
    button("Release", f, release, true)) },
];

async function render() {
  const found = await attempt(() => Promise.all([
    list("floatingips"), list("networks", { "router:external": "true" }), list("ports"), listServers(),
  ]));
  if (!found) return;
  let external; let allPorts; let allServers;
  [fips, external, allPorts, allServers] = found;
  pools = new Map(external.map((n) => [n.id, n]));
  ports = new Map(allPorts.map((p) => [p.id, p]));
  servers = new Map(allServers.map((s) => [s.id, s]));
  fips.sort((a, b) => a.floating_ip_address.localeCompare(b.floating_ip_address, undefined, { numeric: true }));
  panel.replaceChildren(table(columns, fips, "No floating IPs. Allocate one from a pool above."));
  const kept = allocateForm.network.value;
  allocateForm.network.replaceChildren(...(external.length
    ? external.map((n) => h("option", { value: n.id }, networkName(n)))
    : [h("option", { value: "" }, "No external network")]));
  if (pools.has(kept)) allocateForm.network.value = kept;
  allocateForm.querySelector("[type=submit]").disabled = false;
}

allocateForm.addEventListener("submit", async (e) => {
  e.preventDefault();
  const where = document.getElementById("allocate-error");
  where.hidden = true;
  if (!allocateForm.network.value) {
    where.textContent = "There is no external network to allocate from; an administrator makes one.";
    where.hidden = false;
    return;
  }
  const floatingip = { floating_network_id: allocateForm.network.value };
  if (allocateForm.description.value.trim()) floatingip.description = allocateForm.description.value.trim();
  const made = await attempt(() => api("POST", `${NEUTRON}/floatingips`, { json: { floatingip } }), where);
  if (!made) return;
  allocateForm.description.value = "";
  flash(`Floating IP ${made.floatingip.floating_ip_address} allocated.`, "ok");
  render();
});

// Associating: the project's instances and their fixed addresses that have no floating
// IP yet (addresses on external networks cannot have one).
const dialog = document.getElementById("associate");
const form = document.getElementById("associate-form");
const associateError = document.getElementById("associate-error");
let associating = null;

function targets() {
  const taken = new Set(fips.filter((f) => f.port_id).map((f) => `${f.port_id} ${f.fixed_ip_address}`));
  const options = [];
  const named = [...servers.values()].sort((a, b) => a.name.localeCompare(b.name));
  for (const server of named) {
    for (const port of ports.values()) {
      if (port.device_id !== server.id || pools.has(port.network_id)) continue;
      for (const ip of port.fixed_ips) {
        const value = `${port.id} ${ip.ip_address}`;
        if (!ip.ip_address.includes(":") && !taken.has(value)) options.push(h("option", { value }, `${server.name}: ${ip.ip_address}`));
      }
    }
  }
  return options;
}

async function associate(f) {
  associating = f;
  associateError.hidden = true;
  document.getElementById("associate-address").textContent = `Floating IP ${label(f)}`;
  const options = targets();
  form.target.replaceChildren(...(options.length ? options : [h("option", { value: "" }, "No instance has a free address")]));
  dialog.showModal();
}
dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  associateError.hidden = true;
  if (!form.target.value) {
    associateError.textContent = "Launch an instance first: there is no address to associate with.";
    associateError.hidden = false;
    return;
  }
  const [portId, address] = form.target.value.split(" ");
  const floatingip = { port_id: portId, fixed_ip_address: address };
  const done = await attempt(() => api("PUT", `${NEUTRON}/floatingips/${associating.id}`, { json: { floatingip } }), associateError);
  if (!done) return;
  dialog.close();
  flash(`Floating IP ${label(associating)} associated with ${address}.`, "ok");
  render();
});

async function disassociate(f) {
  if (!(await confirmAction(`Disassociate floating IP ${label(f)} from ${f.fixed_ip_address}?`))) return;
  const done = await attempt(() => api("PUT", `${NEUTRON}/floatingips/${f.id}`, { json: { floatingip: { port_id: null } } }));
  if (done) flash(`Floating IP ${label(f)} disassociated.`, "ok");
  render();
}

async function release(f) {
  if (!(await confirmAction(`Release floating IP ${label(f)}? The address goes back to its pool.`))) return;
  if (await attempt(() => api("DELETE", `${NEUTRON}/floatingips/${f.id}`)) !== undefined) flash(`Floating IP ${label(f)} released.`, "ok");
  render();
}

let pending;
follow({ resource_type: "floatingip" }, () => { clearTimeout(pending); pending = setTimeout(render, 200); }, document.getElementById("live"));
render();
