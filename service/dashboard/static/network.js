// One network: its details, its subnets (add, delete) and ports; deleting it.
import { api, attempt, confirmAction, flash, follow, h, pill, showProblems, table, timeEl } from "./kumo.js";
import { listServers } from "./compute.js";
import { NEUTRON, createSubnet, list, mayChange, networkName, removeNetwork, subnetProblems, subnetText, wireSubnetForm, yesNo } from "./networking.js";

const id = document.getElementById("network").dataset.id;
const subnetsPanel = document.getElementById("subnets");
const portsPanel = document.getElementById("ports");
let network = null;
let serverNames = new Map();

const subnetColumns = [
  { title: "Name", cell: (s) => s.name || "—" },
  { title: "CIDR", cell: (s) => h("code", {}, s.cidr) },
  { title: "Gateway", optional: true, cell: (s) => s.gateway_ip || "None" },
  { title: "DHCP", optional: true, cell: (s) => yesNo(s.enable_dhcp) },
  { title: "DNS servers", optional: true, cls: "wrap", cell: (s) => s.dns_nameservers.join(", ") || "—" },
  { title: "Allocation pools", optional: true, cls: "wrap", cell: (s) => s.allocation_pools.map((p) => `${p.start} – ${p.end}`).join(", ") || "—" },
  { title: "Actions", cls: "actions", cell: (s) => (mayChange(network) ? h("button", {
    type: "button", class: "btn small danger", "aria-label": `Delete subnet ${s.cidr}`, onclick: () => removeSubnet(s),
  }, "Delete") : "") },
];

const portColumns = [
  { title: "Port", cell: (p) => p.name || h("code", { title: p.id }, p.id.slice(0, 8)) },
  { title: "Fixed IPs", cls: "wrap", cell: (p) => h("ul", { class: "plain" }, p.fixed_ips.map((ip) => h("li", {}, h("code", {}, ip.ip_address)))) },
  { title: "MAC", optional: true, cell: (p) => h("code", {}, p.mac_address) },
  { title: "Attached to", cell: (p) => device(p) },
  { title: "Status", cell: (p) => pill(p.status) },
];

function device(p) {
  if (!p.device_id) return "—";
  if (p.device_owner.startsWith("compute:")) {
    return h("a", { href: `/dashboard/instances/${p.device_id}` }, serverNames.get(p.device_id) || `instance ${p.device_id.slice(0, 8)}`);
  }
  return `${p.device_owner || "device"} ${p.device_id.slice(0, 8)}`;
}

async function show() {
  let subnets; let ports;
  try {
    [network, subnets, ports] = await Promise.all([
      api("GET", `${NEUTRON}/networks/${id}`).then((r) => r.network),
      list("subnets", { network_id: id }),
      list("ports", { network_id: id }),
    ]);
  } catch (e) {
    flash(e.message);
    for (const panel of [subnetsPanel, portsPanel]) panel.replaceChildren(h("div", { class: "empty" }, "—"));
    return;
  }
  document.getElementById("network-name").textContent = networkName(network);
  document.title = `${networkName(network)} · Kumo`;
  document.getElementById("network-status").replaceChildren(pill(network.status));
  document.getElementById("network-actions").replaceChildren(mayChange(network) ? h("button", {
    type: "button", class: "btn danger", "aria-label": `Delete network ${networkName(network)}`, onclick: remove,
  }, "Delete network") : "");
  document.getElementById("add-panel").hidden = !mayChange(network);
  const rows = [
    ["ID", h("code", {}, network.id)], ["Name", network.name || "—"], ["Admin state", network.admin_state_up ? "Up" : "Down"],
    ["Shared", yesNo(network.shared)], ["External", yesNo(network["router:external"])], ["MTU", String(network.mtu)],
    ["Port security", network.port_security_enabled ? "Enabled" : "Disabled"], ["Project", h("code", {}, network.project_id)],
    ["Created", timeEl(network.created_at)],
  ];
  document.getElementById("facts").replaceChildren(...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  subnets.sort((a, b) => a.cidr.localeCompare(b.cidr));
  subnetsPanel.replaceChildren(table(subnetColumns, subnets, "No subnets: add one for its ports to get addresses."));
  portsPanel.replaceChildren(table(portColumns, ports, "No ports on this network."));
}

async function remove() {
  if (await attempt(() => removeNetwork(network))) location.assign("/dashboard/networks");
}

async function removeSubnet(s) {
  if (!(await confirmAction(`Delete subnet ${subnetText(s)}?`))) return;
  if (await attempt(() => api("DELETE", `${NEUTRON}/subnets/${s.id}`)) !== undefined) flash(`Subnet ${s.cidr} deleted.`, "ok");
  show();
}

const form = document.getElementById("subnet-form");
const subnetError = document.getElementById("subnet-error");
wireSubnetForm(form);
form.addEventListener("submit", async (e) => {
  e.preventDefault();
  subnetError.hidden = true;
  if (!showProblems(form, subnetProblems(form))) return;
  const button = form.querySelector("[type=submit]");
  button.disabled = true;
  const made = await attempt(() => createSubnet(form, id), subnetError);
  button.disabled = false;
  if (!made) return;
  form.reset();
  flash(`Subnet ${made.cidr} added.`, "ok");
  show();
});

let pending;
follow({ resource_type: "network,subnet,port" }, () => { clearTimeout(pending); pending = setTimeout(show, 200); }, document.getElementById("live"));
listServers().then((servers) => { serverNames = new Map(servers.map((s) => [s.id, s.name])); }, () => {}).finally(show);
