// API access: the catalog's public endpoints, clouds.yaml and openrc for this project,
// and the user's EC2 credentials (create, reveal, delete).
import { api, attempt, confirmAction, download, flash, h, projectId, table, userId } from "./kumo.js";

const files = document.getElementById("files").dataset;
const ec2Panel = document.getElementById("ec2");
const ec2Path = `/identity/v3/users/${userId}/credentials/OS-EC2`;
let catalog = [];

function publicEndpoints() {
  return catalog.flatMap((s) => s.endpoints.filter((e) => e.interface === "public")
    .map((e) => ({ id: e.id, type: s.type, name: s.name, region: e.region_id || "", url: e.url })));
}

function identityEndpoint() {
  const found = publicEndpoints().find((e) => e.type === "identity");
  return found || { url: `${location.origin}/identity`, region: "" };
}

async function renderEndpoints() {
  const found = await attempt(() => api("GET", "/identity/v3/auth/catalog"));
  if (!found) return;
  catalog = found.catalog;
  const columns = [
    { title: "Service", cell: (e) => h("strong", {}, e.type) },
    { title: "Name", optional: true, cell: (e) => e.name },
    { title: "Region", optional: true, cell: (e) => e.region },
    { title: "URL", cell: (e) => h("code", {}, e.url) },
  ];
  document.getElementById("endpoints").replaceChildren(table(columns, publicEndpoints(), "The catalog is empty."));
}

// A name as a YAML string (JSON's double-quoted form is YAML too) and as a shell word.
const yaml = (text) => JSON.stringify(text);
const shell = (text) => `'${text.replaceAll("'", "'\\''")}'`;

function cloudsYaml() {
  const identity = identityEndpoint();
  return [
    "clouds:",
    "  kumo:",
    "    auth:",
    `      auth_url: ${identity.url}`,
    `      username: ${yaml(files.userName)}`,
    `      user_domain_name: ${yaml(files.userDomain)}`,
    `      project_id: ${projectId}`,
    `      project_name: ${yaml(files.projectName)}`,
    `      project_domain_name: ${yaml(files.projectDomain)}`,
    ...(identity.region ? [`    region_name: ${yaml(identity.region)}`] : []),
    "    interface: public",
    "    identity_api_version: 3",
    "",
  ].join("\n");
}

function openrc() {
  const identity = identityEndpoint();
  return [
    "#!/usr/bin/env bash",
    "# Source this file (. openrc) to use the openstack CLI as yourself in this project.",
    `export OS_AUTH_URL=${identity.url}`,
    `export OS_USERNAME=${shell(files.userName)}`,
    `export OS_USER_DOMAIN_NAME=${shell(files.userDomain)}`,
    `export OS_PROJECT_ID=${projectId}`,
    `export OS_PROJECT_NAME=${shell(files.projectName)}`,
    `export OS_PROJECT_DOMAIN_NAME=${shell(files.projectDomain)}`,
    ...(identity.region ? [`export OS_REGION_NAME=${shell(identity.region)}`] : []),
    "export OS_INTERFACE=public",
    "export OS_IDENTITY_API_VERSION=3",
    'echo "Password for $OS_USERNAME in $OS_PROJECT_NAME: "',
    "read -sr OS_PASSWORD",
    "export OS_PASSWORD",
    "",
  ].join("\n");
}

function secretCell(c) {
  const shown = h("code", { hidden: true }, c.secret);
  const button = h("button", { type: "button", class: "btn small", "aria-label": `Show the secret of ${c.access}` }, "Show");
  button.onclick = () => { shown.hidden = !shown.hidden; button.textContent = shown.hidden ? "Show" : "Hide"; };
  return h("span", {}, shown, " ", button);
}

async function renderEc2() {
  const found = await attempt(() => api("GET", ec2Path));
  if (!found) return;
  const columns = [
    { title: "Access key", cell: (c) => h("code", {}, c.access) },
    { title: "Secret", cell: secretCell },
    { title: "Project", optional: true, cell: (c) => (c.tenant_id === projectId ? "this project" : h("code", {}, c.tenant_id)) },
    { title: "Actions", cls: "actions", cell: (c) => h("button", { type: "button", class: "btn small danger", "aria-label": `Delete ${c.access}`, onclick: () => remove(c) }, "Delete") },
  ];
  ec2Panel.replaceChildren(table(columns, found.credentials.map((c) => ({ ...c, id: c.access })), "No EC2 credentials yet."));
}

async function remove(c) {
  if (!(await confirmAction(`Delete the EC2 credentials ${c.access}? Tools using them stop working.`))) return;
  await attempt(() => api("DELETE", `${ec2Path}/${encodeURIComponent(c.access)}`));
  renderEc2();
}

document.getElementById("create-ec2").addEventListener("click", async () => {
  const where = document.getElementById("ec2-error");
  where.hidden = true;
  const made = await attempt(() => api("POST", ec2Path, { json: { tenant_id: projectId } }), where);
  if (!made) return;
  flash(`EC2 credentials ${made.credential.access} created.`, "ok");
  renderEc2();
});
document.getElementById("download-clouds").addEventListener("click", () => download("clouds.yaml", cloudsYaml(), "application/yaml"));
document.getElementById("download-openrc").addEventListener("click", () => download(`${files.projectName || "project"}-openrc.sh`, openrc()));

renderEndpoints();
renderEc2();
