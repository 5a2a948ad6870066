// One container: browse by pseudo-folder, upload with progress, download, delete,
// public read, TempURLs.
import { api, attempt, bytes, confirmAction, flash, h, swiftAccount, table, timeEl, upload } from "./kumo.js";

const name = document.getElementById("container").dataset.name;
const base = `${swiftAccount}/${encodeURIComponent(name)}`;
const objectPath = (key) => `${base}/${key.split("/").map(encodeURIComponent).join("/")}`;
const panel = document.getElementById("objects");
let prefix = new URLSearchParams(location.search).get("prefix") || "";
let isPublic = false;

function go(next) {
  prefix = next;
  history.replaceState(null, "", next ? `?prefix=${encodeURIComponent(next)}` : location.pathname);
  render();
}

function crumbs() {
  const parts = prefix.split("/").filter(Boolean);
  const links = [h("a", { href: "#", onclick: (e) => { e.preventDefault(); go(""); } }, name)];
  parts.forEach((part, i) => {
    const to = parts.slice(0, i + 1).join("/") + "/";
    links.push(" / ", h("a", { href: "#", onclick: (e) => { e.preventDefault(); go(to); } }, part));
  });
  document.getElementById("path").replaceChildren(...links);
}

const columns = [
  { title: "Name", cell: (o) => (o.subdir
    ? h("a", { href: "#", class: "folder", onclick: (e) => { e.preventDefault(); go(o.subdir); } }, o.subdir.slice(prefix.length))
    : h("span", {}, o.name.slice(prefix.length))) },
  { title: "Size", cell: (o) => (o.subdir ? "—" : bytes(o.bytes)) },
  { title: "Type", optional: true, cell: (o) => (o.subdir ? "folder" : o.content_type) },
  { title: "Modified", optional: true, cell: (o) => (o.subdir ? "" : timeEl(o.last_modified)) },
  { title: "Actions", cls: "actions", cell: (o) => (o.subdir ? "" : h("div", { class: "btn-row" },
      h("a", { class: "btn small", href: `/dashboard/api${objectPath(o.name)}`, download: o.name.split("/").pop(), "aria-label": `Download ${o.name}` }, "Download"),
      isPublic ? h("a", { class: "btn small", href: objectPath(o.name), target: "_blank", rel: "noopener" }, "Public link") : null,
      h("button", { type: "button", class: "btn small", "aria-label": `TempURL for ${o.name}`, onclick: () => tempUrl(o) }, "TempURL"),
      h("button", { type: "button", class: "btn small danger", "aria-label": `Delete ${o.name}`, onclick: () => remove(o) }, "Delete"))) },
];

async function render() {
  crumbs();
  const query = new URLSearchParams({ format: "json", delimiter: "/", prefix });
  const found = await attempt(() => api("GET", `${base}?${query}`));
  if (found === undefined) return;
  panel.replaceChildren(table(columns, (found || []).map((o) => ({ ...o, id: o.name || o.subdir })),
    prefix ? "This folder is empty." : "No objects yet. Upload one above."));
}

async function facts() {
  const hd = await attempt(() => api("HEAD", base));
  if (!hd) return;
  const read = hd.get("X-Container-Read") || "";
  const count = Number(hd.get("X-Container-Object-Count") || 0);
  isPublic = read.includes(".r:");
  document.getElementById("container-facts").textContent =
    `${count} ${count === 1 ? "object" : "objects"} · ${bytes(Number(hd.get("X-Container-Bytes-Used") || 0))}${isPublic ? " · public read" : " · private"}`;
  const toggle = document.getElementById("public-toggle");
  toggle.textContent = isPublic ? "Make private" : "Make public";
  toggle.setAttribute("aria-pressed", String(isPublic));
  const note = document.getElementById("public-note");
  note.hidden = !isPublic;
  note.textContent = isPublic ? `Anyone can read this container's objects without a token, at ${location.origin}${base}/<object>.` : "";
}

document.getElementById("public-toggle").addEventListener("click", async () => {
  const headers = isPublic ? { "X-Remove-Container-Read": "x" } : { "X-Container-Read": ".r:*,.rlistings" };
  const done = await attempt(() => api("POST", base, { headers }));
  if (done === undefined) return;
  flash(isPublic ? "The container is private again." : "The container is now public-read.", "ok");
  await facts();
  render();
});

async function remove(o) {
  if (!(await confirmAction(`Delete ${o.name}?`))) return;
  await attempt(() => api("DELETE", objectPath(o.name)));
  facts(); render();
}

const form = document.getElementById("upload-form");
form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const where = document.getElementById("upload-error");
  where.hidden = true;
  const file = form.file.files[0];
  if (!file) { where.textContent = "Choose a file to upload."; where.hidden = false; return; }
  let folder = form.folder.value.trim().replace(/^\/+/, "");
  if (!folder) folder = prefix;
  else if (!folder.endsWith("/")) folder += "/";
  const bar = document.getElementById("upload-progress");
  const text = document.getElementById("upload-text");
  document.getElementById("upload-status").hidden = false;
  const button = form.querySelector("[type=submit]");
  button.disabled = true;
  const sent = await attempt(() => upload("PUT", objectPath(folder + file.name), file, {
    headers: { "Content-Type": file.type || "application/octet-stream" },
    onProgress: (f) => { bar.value = f; text.textContent = `${Math.round(f * 100)}% of ${bytes(file.size)}`; },
  }), where);
  button.disabled = false;
  if (!sent) return;
  text.textContent = `Uploaded ${folder}${file.name} (${bytes(file.size)}).`;
  form.reset();
  facts();
  go(folder);
});

// TempURLs: signed in the browser with the account's Temp-URL-Key (set once if missing).
const dialog = document.getElementById("tempurl");
const tform = document.getElementById("tempurl-form");
let signing = null;
function tempUrl(o) {
  signing = o;
  document.getElementById("tempurl-object").textContent = o.name;
  tform.url.value = "";
  document.getElementById("tempurl-error").hidden = true;
  dialog.showModal();
}
dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());

async function accountKey() {
  const hd = await api("HEAD", swiftAccount);
  const key = hd.get("X-Account-Meta-Temp-Url-Key");
  if (key) return key;
  const fresh = Array.from(crypto.getRandomValues(new Uint8Array(20)), (b) => b.toString(16).padStart(2, "0")).join("");
  await api("POST", swiftAccount, { headers: { "X-Account-Meta-Temp-URL-Key": fresh } });
  return fresh;
}

tform.addEventListener("submit", async (e) => {
  e.preventDefault();
  const where = document.getElementById("tempurl-error");
  where.hidden = true;
  if (!window.crypto || !crypto.subtle) {
    where.textContent = "Signing needs a secure page (HTTPS or localhost)."; where.hidden = false; return;
  }
  const minutes = Number(tform.minutes.value);
  if (!(minutes >= 1)) { where.textContent = "Give a number of minutes of at least 1."; where.hidden = false; return; }
  await attempt(async () => {
    const key = await accountKey();
    const expires = Math.floor(Date.now() / 1000) + Math.round(minutes * 60);
    const path = objectPath(signing.name);
    const enc = new TextEncoder();
    const hmac = await crypto.subtle.importKey("raw", enc.encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    // Swift signs the decoded path.
    const signed = `${swiftAccount}/${name}/${signing.name}`;
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", hmac, enc.encode(`GET\n${expires}\n${signed}`)));
    const sig = Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
    tform.url.value = `${location.origin}${path}?temp_url_sig=${sig}&temp_url_expires=${expires}`;
    tform.url.select();
  }, where);
});

facts().then(render);
