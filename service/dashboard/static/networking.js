// What the network pages share: Neutron's API through the dashboard, the subnet form's
// fields, and short views of networks, subnets, ports and addresses.
import { api, confirmAction, h, isAdmin, projectId } from "./kumo.js";

export const NEUTRON = "/network/v2.0";

/** One Neutron collection ("networks", "security-groups", ...), with query filters. */
export async function list(collection, query = {}) {
  const q = new URLSearchParams(query).toString();
  const found = await api("GET", `${NEUTRON}/${collection}${q ? `?${q}` : ""}`);
  return found[collection.replaceAll("-", "_")];
}

export const yesNo = (value) => (value ? "Yes" : "No");

export function subnetText(s) {
  return s.name ? `${s.name} ${s.cidr}` : s.cidr;
}

/** A network's subnets as a list of "name CIDR" lines (from subnets by id). */
export function subnetList(network, subnets) {
  const own = network.subnets.map((id) => subnets.get(id)).filter(Boolean);
  if (!own.length) return "—";
  return h("ul", { class: "plain" }, own.map((s) => h("li", {}, s.name ? `${s.name} ` : "", h("code", {}, s.cidr))));
}

/** The name a network is shown by: its own, else its id's start. */
export const networkName = (n) => n.name || n.id.slice(0, 8);

/** The name a security group is shown by. */
export const groupName = (g) => g.name || g.id.slice(0, 8);

/** Whether the page offers to change a resource (the API decides in any case). */
export const mayChange = (resource) => isAdmin || resource.project_id === projectId;

/** The subnet form's checks: a CIDR is needed; the API judges the rest, in its words. */
export function subnetProblems(form) {
  const problems = {};
  if (!form.cidr.value.trim()) problems.cidr = "Give the subnet a CIDR, e.g. 192.168.10.0/24.";
  return problems;
}

/** The subnet form's fields as a Neutron subnet on `networkId`. */
export function subnetBody(form, networkId) {
  const subnet = { network_id: networkId, ip_version: 4, cidr: form.cidr.value.trim(), enable_dhcp: form.enable_dhcp.checked };
  const name = form.subnet_name.value.trim();
  if (name) subnet.name = name;
  if (form.no_gateway.checked) subnet.gateway_ip = null;
  else if (form.gateway_ip.value.trim()) subnet.gateway_ip = form.gateway_ip.value.trim();
  const dns = form.dns_nameservers.value.split(/[\s,]+/).filter(Boolean);
  if (dns.length) subnet.dns_nameservers = dns;
  return subnet;
}

/** Create the form's subnet on `networkId`; rejects with the API's message. */
export async function createSubnet(form, networkId) {
  return (await api("POST", `${NEUTRON}/subnets`, { json: { subnet: subnetBody(form, networkId) } })).subnet;
}

/** The gateway field follows the "no gateway" box. */
export function wireSubnetForm(form) {
  form.no_gateway.addEventListener("change", () => { form.gateway_ip.disabled = form.no_gateway.checked; });
  form.addEventListener("reset", () => { form.gateway_ip.disabled = false; });
}

/** Delete a network once its user confirms; true when deleted (the API's 409 while
 * ports use it rejects, with its message). */
export async function removeNetwork(n) {
  if (!(await confirmAction(`Delete network ${networkName(n)}? Its subnets are deleted with it.`))) return false;
  await api("DELETE", `${NEUTRON}/networks/${n.id}`);
  return true;
}

/** A server's addresses (Nova's `addresses`) as lines: "10.0.0.5", "203.0.113.7 floating". */
export function addressLines(addresses) {
  const lines = Object.entries(addresses || {}).flatMap(([network, list]) => list.map((a) => ({ network, ...a })));
  if (!lines.length) return "—";
  return h("ul", { class: "plain" }, lines.map((a) => h("li", {}, h("code", {}, a.addr),
    a["OS-EXT-IPS:type"] === "floating" ? h("span", { class: "muted" }, " floating") : null)));
}
