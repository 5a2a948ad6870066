// Images: the list, uploading with a progress bar, editing name and visibility, deleting.
import { api, attempt, bytes, confirmAction, flash, follow, h, pill, projectId, table, timeEl, upload } from "./kumo.js";

const panel = document.getElementById("images");
const form = document.getElementById("upload-form");
const uploadError = document.getElementById("upload-error");

const columns = [
  { title: "Name", cell: (i) => h("strong", {}, i.name || i.id) },
  { title: "Status", cell: (i) => pill(i.status) },
  { title: "Visibility", optional: true, cell: (i) => i.visibility },
  { title: "Format", optional: true, cell: (i) => i.disk_format || "—" },
  { title: "Size", cell: (i) => bytes(i.size) },
  { title: "Created", optional: true, cell: (i) => timeEl(i.created_at) },
  { title: "Actions", cls: "actions", cell: (i) => (i.owner === projectId ? h("div", { class: "btn-row" },
      h("button", { type: "button", class: "btn small", "aria-label": `Edit ${i.name}`, onclick: () => edit(i) }, "Edit"),
      h("button", { type: "button", class: "btn small danger", "aria-label": `Delete ${i.name}`, onclick: () => remove(i) }, "Delete")) : "") },
];

async function render() {
  const found = await attempt(() => api("GET", "/image/v2/images?limit=1000"));
  if (!found) return;
  found.images.sort((a, b) => (a.name || "").localeCompare(b.name || ""));
  panel.replaceChildren(table(columns, found.images, "No images yet. Upload one above."));
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  uploadError.hidden = true;
  const file = form.file.files[0];
  if (!form.name.value.trim() || !file) {
    uploadError.textContent = "Give the image a name and choose a file.";
    uploadError.hidden = false;
    return;
  }
  const status = document.getElementById("upload-status");
  const bar = document.getElementById("upload-progress");
  const text = document.getElementById("upload-text");
  const button = form.querySelector("[type=submit]");
  button.disabled = true;
  const made = await attempt(() => api("POST", "/image/v2/images", { json: {
    name: form.name.value.trim(), disk_format: form.disk_format.value, container_format: "bare",
    visibility: form.visibility.value,
  } }), uploadError);
  if (made) {
    status.hidden = false;
    const sent = await attempt(() => upload("PUT", `/image/v2/images/${made.id}/file`, file, {
      headers: { "Content-Type": "application/octet-stream" },
      onProgress: (f) => { bar.value = f; text.textContent = `${Math.round(f * 100)}% of ${bytes(file.size)}`; },
    }), uploadError);
    if (sent) { text.textContent = `Uploaded ${file.name} (${bytes(file.size)}).`; form.reset(); flash(`Image ${made.name} uploaded.`, "ok"); }
    render();
  }
  button.disabled = false;
});

const dialog = document.getElementById("edit");
const editForm = document.getElementById("edit-form");
let editing = null;
function edit(image) {
  editing = image;
  editForm.name.value = image.name || "";
  editForm.visibility.value = image.visibility;
  document.getElementById("edit-error").hidden = true;
  dialog.showModal();
}
dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
editForm.addEventListener("submit", async (e) => {
  e.preventDefault();
  const patch = [
    { op: "replace", path: "/name", value: editForm.name.value.trim() },
    { op: "replace", path: "/visibility", value: editForm.visibility.value },
  ];
  const done = await attempt(() => api("PATCH", `/image/v2/images/${editing.id}`, {
    json: patch, headers: { "Content-Type": "application/openstack-images-v2.1-json-patch" },
  }), document.getElementById("edit-error"));
  if (done) { dialog.close(); render(); }
});

async function remove(image) {
  if (!(await confirmAction(`Delete image ${image.name}?`))) return;
  await attempt(() => api("DELETE", `/image/v2/images/${image.id}`));
  render();
}

// A snapshot saving, an image activated or deleted elsewhere: the list follows the log.
let pending;
follow({ resource_type: "image" }, () => { clearTimeout(pending); pending = setTimeout(render, 200); });
render();
