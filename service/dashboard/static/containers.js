// Object storage: the account's containers; creating and deleting them.
import { api, attempt, bytes, confirmAction, h, swiftAccount, table, timeEl } from "./kumo.js";

const panel = document.getElementById("containers");
const form = document.getElementById("create-form");
const columns = [
  { title: "Name", cell: (c) => h("a", { href: `/dashboard/containers/${encodeURIComponent(c.name)}` }, c.name) },
  { title: "Objects", cell: (c) => String(c.count) },
  { title: "Size", cell: (c) => bytes(c.bytes) },
  { title: "Modified", optional: true, cell: (c) => timeEl(c.last_modified) },
  { title: "Actions", cls: "actions", cell: (c) => h("button", { type: "button", class: "btn small danger", "aria-label": `Delete ${c.name}`, onclick: () => remove(c) }, "Delete") },
];

async function render() {
  const found = await attempt(() => api("GET", `${swiftAccount}?format=json`));
  if (found === undefined) return;
  panel.replaceChildren(table(columns, found || [], "No containers yet. Create one above."));
}

async function remove(c) {
  if (!(await confirmAction(`Delete container ${c.name}? It must be empty.`))) return;
  await attempt(() => api("DELETE", `${swiftAccount}/${encodeURIComponent(c.name)}`));
  render();
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const where = document.getElementById("create-error");
  where.hidden = true;
  const name = form.name.value.trim();
  if (!name) { where.textContent = "Give the container a name."; where.hidden = false; return; }
  const done = await attempt(() => api("PUT", `${swiftAccount}/${encodeURIComponent(name)}`), where);
  if (done === undefined) return;
  form.reset();
  render();
});

render();
