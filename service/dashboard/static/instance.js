// One instance: details, actions, its history timeline and "as it was", the console.
import { api, attempt, follow, h, pill, stamp, table, timeEl, flash } from "./kumo.js";
import { NOVA, actionButtons, flavorText, flavorsById, getServer } from "./compute.js";

const id = document.getElementById("server-id").dataset.id;
const facts = document.getElementById("facts");
const history = document.getElementById("history");
let flavors = null;
const POWER = { 0: "No state", 1: "Running", 3: "Paused", 4: "Shut down", 6: "Crashed", 7: "Suspended" };

async function show() {
  let server;
  try { server = await getServer(id); } catch (e) {
    flash(e.message);
    document.getElementById("server-actions").replaceChildren();
    document.getElementById("addresses").replaceChildren(h("div", { class: "empty" }, "—"));
    return;
  }
  document.getElementById("server-name").textContent = server.name;
  document.title = `${server.name} · Kumo`;
  document.getElementById("server-status").replaceChildren(pill(server.status, server["OS-EXT-STS:task_state"]));
  document.getElementById("server-actions").replaceChildren(actionButtons(server, show));
  flavors ??= await flavorsById().catch(() => new Map());
  const rows = [
    ["ID", h("code", {}, server.id)], ["Status", server.status], ["Power", POWER[server["OS-EXT-STS:power_state"]] || "—"],
    ["Flavor", flavorText(flavors, server)],
    ["Image", server.image ? imageLink(server.image.id) : "—"], ["Key pair", server.key_name || "—"],
    ["Security groups", (server.security_groups || []).map((g) => g.name).join(", ") || "—"],
    ["Created", timeEl(server.created)], ["Updated", timeEl(server.updated)],
  ];
  if (server.fault) rows.push(["Fault", h("span", { class: "fault" }, server.fault.message)]);
  facts.replaceChildren(...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  showAddresses(server);
}

const addressColumns = [
  { title: "Network", cell: (a) => a.network },
  { title: "Address", cell: (a) => h("code", {}, a.addr) },
  { title: "Type", cell: (a) => (a["OS-EXT-IPS:type"] === "floating" ? "Floating" : "Fixed") },
  { title: "MAC", optional: true, cell: (a) => h("code", {}, a["OS-EXT-IPS-MAC:mac_addr"] || "—") },
];

/** The server's fixed and floating addresses by network, as Nova shows them. */
function showAddresses(server) {
  const rows = Object.entries(server.addresses || {}).flatMap(([network, list]) => list.map((a) => ({ ...a, network, id: `${network} ${a.addr}` })));
  document.getElementById("addresses").replaceChildren(table(addressColumns, rows, "No addresses: this instance is on no network."));
}

function imageLink(imageId) {
  const el = h("span", {}, h("code", {}, imageId));
  api("GET", `/image/v2/images/${imageId}`).then((i) => el.replaceChildren(i.name || imageId), () => {});
  return el;
}

function entry(doc) {
  return h("li", {},
    h("div", { class: "what" }, doc.type, doc.data && doc.data.action ? h("span", { class: "muted" }, ` · ${doc.data.action}`) : null),
    h("div", { class: "when" }, stamp(doc.time), ` · position ${doc.position}`,
      doc.actor && doc.actor.user_id ? ` · by ${doc.actor.user_id.slice(0, 8)}` : " · by Kumo", " · ",
      h("button", { type: "button", class: "link", onclick: () => asItWas(doc) }, "as it was")));
}

async function loadHistory() {
  const found = await attempt(() => api("GET", `/events/v1/resources/server/${id}/history`));
  if (found) history.replaceChildren(...found.events.map(entry));
}

async function asItWas(doc) {
  const then = await attempt(() => api("GET", `/events/v1/resources/server/${id}?at=${doc.position}`));
  if (!then) return;
  document.getElementById("at-title").textContent = `As it was after ${doc.type} (${new Date(doc.time).toLocaleString()})`;
  document.getElementById("at-doc").textContent = JSON.stringify(then, null, 2);
  const panel = document.getElementById("at-panel");
  panel.hidden = false;
  panel.scrollIntoView({ behavior: "smooth" });
}

async function console_() {
  const out = document.getElementById("console");
  try {
    const r = await api("POST", `/compute/v2.1/servers/${id}/action`, { json: { "os-getConsoleOutput": { length: 200 } }, headers: NOVA });
    out.textContent = r.output || "(no output yet)";
  } catch (e) { out.textContent = e.message; }
}
document.getElementById("console-refresh").addEventListener("click", console_);

// A floating IP's events change the addresses shown, not the server's history.
let pending;
follow({ resource_type: "server,floatingip" }, (doc) => {
  if (doc.resource_type === "floatingip") { clearTimeout(pending); pending = setTimeout(show, 200); return; }
  if (doc.resource_id !== id) return;
  history.append(entry(doc));
  show();
}, document.getElementById("live"));
show(); loadHistory(); console_();
