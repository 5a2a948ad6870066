// What the instance pages share: the server API at microversion 2.26, flavors, actions.
import { api, confirmAction, h, attempt, flash } from "./kumo.js";

export const NOVA = { "OpenStack-API-Version": "compute 2.26" };

/** Flavors by id, for showing a server's size. */
export async function flavorsById() {
  const found = await api("GET", "/compute/v2.1/flavors/detail", { headers: NOVA });
  return new Map(found.flavors.map((f) => [f.id, f]));
}

export function flavorText(flavors, server) {
  const f = server.flavor && flavors.get(server.flavor.id);
  return f ? `${f.name} · ${f.vcpus} vCPU · ${f.ram} MiB` : (server.flavor ? server.flavor.id : "—");
}

export async function getServer(id) {
  return (await api("GET", `/compute/v2.1/servers/${id}`, { headers: NOVA })).server;
}

export async function listServers() {
  return (await api("GET", "/compute/v2.1/servers/detail", { headers: NOVA })).servers;
}

function act(server, body) {
  return api("POST", `/compute/v2.1/servers/${server.id}/action`, { json: body, headers: NOVA });
}

/** The actions a server's state allows: [label, run(server), danger?]. */
export function actionsFor(server) {
  const s = server.status;
  const busy = server["OS-EXT-STS:task_state"];
  const list = [];
  if (!busy) {
    if (s === "SHUTOFF") list.push(["Start", (x) => act(x, { "os-start": null })]);
    if (s === "ACTIVE") list.push(["Stop", (x) => act(x, { "os-stop": null })]);
    if (s === "ACTIVE" || s === "SHUTOFF") list.push(["Reboot", (x) => act(x, { reboot: { type: "SOFT" } })]);
    if (s === "ACTIVE") list.push(["Pause", (x) => act(x, { pause: null })]);
    if (s === "PAUSED") list.push(["Resume", (x) => act(x, { unpause: null })]);
    if (s === "SUSPENDED") list.push(["Resume", (x) => act(x, { resume: null })]);
    if (s === "ACTIVE" || s === "SHUTOFF") list.push(["Snapshot", snapshot]);
  }
  list.push(["Delete", remove, true]);
  return list;
}

async function snapshot(server) {
  const name = `${server.name}-snapshot`;
  await act(server, { createImage: { name } });
  flash(`Snapshot ${name} requested; it appears under Images.`, "ok");
}

async function remove(server) {
  if (!(await confirmAction(`Delete instance ${server.name}? Its disk is destroyed.`))) return;
  await api("DELETE", `/compute/v2.1/servers/${server.id}`, { headers: NOVA });
}

function actionButton(server, [label, run, danger], after) {
  return h("button", {
    type: "button", class: `btn small${danger ? " danger" : ""}`, "data-action": label.toLowerCase(),
    "aria-label": `${label} ${server.name}`,
    onclick: async (e) => { e.target.disabled = true; await attempt(() => run(server)); after(); },
  }, label);
}

/** Every action the server's state allows, as a row of buttons (the instance's page). */
export function actionButtons(server, after) {
  return h("div", { class: "btn-row" }, actionsFor(server).map((a) => actionButton(server, a, after)));
}

/** The first action as a button and the others in a "More" menu (the instances table). */
export function actionMenu(server, after) {
  const [main, ...rest] = actionsFor(server);
  const menu = h("details", { class: "menu" },
    h("summary", { class: "btn small", "aria-label": `More actions for ${server.name}` }, "More ▾"),
    h("div", { class: "menu-list" }, rest.map((a) => actionButton(server, a, after))));
  return h("div", { class: "btn-row" }, actionButton(server, main, after), rest.length ? menu : null);
}
