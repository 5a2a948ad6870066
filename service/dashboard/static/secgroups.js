// Security groups: the project's groups (with how many rules each has), creating and
// deleting them; a group's rules are on its own page.
import { api, attempt, confirmAction, flash, h, table } from "./kumo.js";
import { NEUTRON, groupName, list, mayChange } from "./networking.js";

const panel = document.getElementById("groups");
const form = document.getElementById("create-form");

const columns = [
  { title: "Name", cell: (g) => h("a", { href: `/dashboard/security-groups/${g.id}` }, groupName(g)) },
  { title: "Description", optional: true, cls: "wrap", cell: (g) => g.description || "" },
  { title: "Rules", cell: (g) => String(g.security_group_rules.length) },
  { title: "Actions", cls: "actions", cell: (g) => h("div", { class: "btn-row" },
    h("a", { class: "btn small", href: `/dashboard/security-groups/${g.id}`, "aria-label": `Manage rules of ${groupName(g)}` }, "Manage rules"),
    g.name !== "default" && mayChange(g) ? h("button", {
      type: "button", class: "btn small danger", "aria-label": `Delete ${groupName(g)}`, onclick: () => remove(g),
    }, "Delete") : null) },
];

async function render() {
  const groups = await attempt(() => list("security-groups"));
  if (!groups) return;
  groups.sort((a, b) => Number(b.name === "default") - Number(a.name === "default") || groupName(a).localeCompare(groupName(b)));
  panel.replaceChildren(table(columns, groups, "No security groups."));
}

async function remove(g) {
  if (!(await confirmAction(`Delete security group ${groupName(g)}?`))) return;
  if (await attempt(() => api("DELETE", `${NEUTRON}/security-groups/${g.id}`)) !== undefined) flash(`Security group ${groupName(g)} deleted.`, "ok");
  render();
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const where = document.getElementById("create-error");
  where.hidden = true;
  const name = form.name.value.trim();
  if (!name) { where.textContent = "Give the security group a name."; where.hidden = false; form.name.focus(); return; }
  const group = { name, description: form.description.value.trim() };
  const made = await attempt(() => api("POST", `${NEUTRON}/security-groups`, { json: { security_group: group } }), where);
  if (!made) return;
  form.reset();
  flash(`Security group ${name} created.`, "ok");
  render();
});

render();
