// Key pairs: list, create (the private key downloaded once), import, delete.
import { api, attempt, confirmAction, download, flash, h, table } from "./kumo.js";

const panel = document.getElementById("keypairs");
const columns = [
  { title: "Name", cell: (k) => h("strong", {}, k.name) },
  { title: "Type", optional: true, cell: (k) => k.type || "ssh" },
  { title: "Fingerprint", cell: (k) => h("code", {}, k.fingerprint) },
  { title: "Actions", cls: "actions", cell: (k) => h("button", { type: "button", class: "btn small danger", "aria-label": `Delete ${k.name}`, onclick: () => remove(k) }, "Delete") },
];

async function render() {
  const found = await attempt(() => api("GET", "/compute/v2.1/os-keypairs"));
  if (!found) return;
  const keys = found.keypairs.map((k) => ({ ...k.keypair, id: k.keypair.name }));
  panel.replaceChildren(table(columns, keys, "No key pairs yet."));
}

async function remove(k) {
  if (!(await confirmAction(`Delete key pair ${k.name}? Instances that have it keep it.`))) return;
  await attempt(() => api("DELETE", `/compute/v2.1/os-keypairs/${encodeURIComponent(k.name)}`));
  render();
}

function submitter(formId, errorId, body, after) {
  const form = document.getElementById(formId);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const where = document.getElementById(errorId);
    where.hidden = true;
    if (!form.name.value.trim()) { where.textContent = "Give the key pair a name."; where.hidden = false; return; }
    const made = await attempt(() => api("POST", "/compute/v2.1/os-keypairs", { json: { keypair: body(form) } }), where);
    if (!made) return;
    after(made.keypair);
    form.reset();
    render();
  });
}

submitter("create-form", "create-error", (f) => ({ name: f.name.value.trim() }), (k) => {
  download(`${k.name}.pem`, k.private_key, "application/x-pem-file");
  flash(`Key pair ${k.name} created; its private key was downloaded as ${k.name}.pem.`, "ok");
});
submitter("import-form", "import-error", (f) => ({ name: f.name.value.trim(), public_key: f.public_key.value.trim() }),
  (k) => flash(`Key pair ${k.name} imported.`, "ok"));

render();
