// One security group: its rules (the `default` group's too), adding and deleting rules.
import { api, attempt, confirmAction, flash, follow, h, showProblems, table } from "./kumo.js";
import { NEUTRON, groupName, list, mayChange } from "./networking.js";

const id = document.getElementById("group").dataset.id;
const panel = document.getElementById("rules");
const dialog = document.getElementById("rule");
const form = document.getElementById("rule-form");
const ruleError = document.getElementById("rule-error");
let group = null;
let groups = new Map();

const PROTOCOLS = { tcp: "TCP", udp: "UDP", icmp: "ICMP", "ipv6-icmp": "ICMP" };
const PORTED = new Set(["tcp", "udp"]);
const ICMP = new Set(["icmp", "ipv6-icmp"]);

function ports(r) {
  const low = r.port_range_min; const high = r.port_range_max;
  if (ICMP.has(r.protocol)) {
    if (low === null) return "Any type";
    return high === null ? `type ${low}` : `type ${low} code ${high}`;
  }
  if (low === null) return "Any";
  return low === high ? String(low) : `${low}–${high}`;
}

function remote(r) {
  if (r.remote_group_id) {
    const other = groups.get(r.remote_group_id);
    return h("a", { href: `/dashboard/security-groups/${r.remote_group_id}` }, other ? groupName(other) : r.remote_group_id.slice(0, 8));
  }
  return h("code", {}, r.remote_ip_prefix || (r.ethertype === "IPv6" ? "::/0" : "0.0.0.0/0"));
}

function describe(r) {
  return `${r.direction} ${r.ethertype} ${PROTOCOLS[r.protocol] || r.protocol || "any"} ${ports(r)}`;
}

const columns = [
  { title: "Direction", cell: (r) => (r.direction === "ingress" ? "Ingress" : "Egress") },
  { title: "Ether type", optional: true, cell: (r) => r.ethertype },
  { title: "Protocol", cell: (r) => PROTOCOLS[r.protocol] || r.protocol || "Any" },
  { title: "Ports / ICMP", cell: ports },
  { title: "Remote", cell: remote },
  { title: "Actions", cls: "actions", cell: (r) => (mayChange(group) ? h("button", {
    type: "button", class: "btn small danger", "aria-label": `Delete rule ${describe(r)}`, onclick: () => remove(r),
  }, "Delete") : "") },
];

async function show() {
  let all;
  try {
    [group, all] = await Promise.all([
      api("GET", `${NEUTRON}/security-groups/${id}`).then((r) => r.security_group),
      list("security-groups"),
    ]);
  } catch (e) {
    flash(e.message);
    panel.replaceChildren(h("div", { class: "empty" }, "—"));
    return;
  }
  groups = new Map(all.map((g) => [g.id, g]));
  const kept = form.remote_group_id.value;
  form.remote_group_id.replaceChildren(...all.filter((g) => g.project_id === group.project_id)
    .map((g) => h("option", { value: g.id }, groupName(g))));
  if (groups.has(kept)) form.remote_group_id.value = kept;
  document.getElementById("group-name").textContent = groupName(group);
  document.title = `${groupName(group)} · Kumo`;
  document.getElementById("group-description").textContent = group.description || "";
  document.getElementById("rule-open").hidden = !mayChange(group);
  const rules = [...group.security_group_rules];
  rules.sort((a, b) => a.direction.localeCompare(b.direction) || a.ethertype.localeCompare(b.ethertype));
  panel.replaceChildren(table(columns, rules, "No rules: this group lets no traffic through."));
}

async function remove(r) {
  if (!(await confirmAction(`Delete the rule ${describe(r)}?`))) return;
  if (await attempt(() => api("DELETE", `${NEUTRON}/security-group-rules/${r.id}`)) !== undefined) flash("Rule deleted.", "ok");
  show();
}

// The form shows the fields its protocol and remote call for.
function fit() {
  const protocol = form.protocol.value;
  const shown = { ports: PORTED.has(protocol), icmp: protocol === "icmp", cidr: form.remote.value === "cidr", group: form.remote.value === "group" };
  for (const el of form.querySelectorAll("[data-when]")) el.hidden = !shown[el.dataset.when];
}
form.protocol.addEventListener("change", fit);
form.remote.addEventListener("change", fit);
form.ethertype.addEventListener("change", () => {
  const prefix = form.remote_ip_prefix;
  if (prefix.value === "0.0.0.0/0" || prefix.value === "::/0") prefix.value = form.ethertype.value === "IPv6" ? "::/0" : "0.0.0.0/0";
});
form.addEventListener("reset", () => setTimeout(fit));

const number = (el) => (el.value.trim() === "" ? null : Number(el.value));

/** The rule the form asks for, and its problems ({field: message}). */
function rule() {
  const problems = {};
  const asked = { security_group_id: id, direction: form.direction.value, ethertype: form.ethertype.value };
  const protocol = form.protocol.value;
  if (protocol) asked.protocol = protocol;
  const [low, high, lowField, what] = PORTED.has(protocol) ? [number(form.port_min), number(form.port_max), "port_min", "port"]
    : protocol === "icmp" ? [number(form.icmp_type), number(form.icmp_code), "icmp_type", "ICMP type"] : [null, null, null, null];
  if (low === null && high !== null) problems[lowField] = `Give the ${what} as well.`;
  if (low !== null) {
    asked.port_range_min = low;
    asked.port_range_max = high ?? (PORTED.has(protocol) ? low : null);
  }
  if (form.remote.value === "group") {
    if (!form.remote_group_id.value) problems.remote_group_id = "Choose a security group.";
    asked.remote_group_id = form.remote_group_id.value;
  } else if (form.remote_ip_prefix.value.trim()) {
    asked.remote_ip_prefix = form.remote_ip_prefix.value.trim();
  }
  return [asked, problems];
}

document.getElementById("rule-open").addEventListener("click", () => {
  ruleError.hidden = true;
  fit();
  dialog.showModal();
});
dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  ruleError.hidden = true;
  const [asked, problems] = rule();
  if (!showProblems(form, problems)) return;
  const button = form.querySelector("[type=submit]");
  button.disabled = true;
  const made = await attempt(() => api("POST", `${NEUTRON}/security-group-rules`, { json: { security_group_rule: asked } }), ruleError);
  button.disabled = false;
  if (!made) return;
  dialog.close();
  form.reset();
  flash("Rule added.", "ok");
  show();
});

let pending;
follow({ resource_type: "secgroup" }, (doc) => {
  if (doc.resource_id !== id) return;
  clearTimeout(pending);
  pending = setTimeout(show, 200);
});
show();
