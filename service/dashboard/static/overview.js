// Overview: quota usage as bars, and the project's latest events (then live).
import { api, bytes, follow, h, projectId, swiftAccount, timeEl } from "./kumo.js";

const usage = document.getElementById("usage");
const list = document.getElementById("events");

function meter(label, used, limit, show = (n) => String(n)) {
  const unlimited = limit === null || limit === undefined || limit < 0;
  const fraction = unlimited ? 0 : Math.min(1, used / Math.max(limit, 1));
  return h("div", { class: `meter${fraction >= 0.85 ? " high" : ""}` },
    h("div", { class: "label" }, h("span", {}, label),
      h("span", { class: "muted" }, unlimited ? `${show(used)} used · no limit` : `${show(used)} of ${show(limit)}`)),
    h("div", { class: "bar", role: "meter", "aria-label": label, "aria-valuemin": "0",
      "aria-valuemax": unlimited ? null : String(limit), "aria-valuenow": String(used) },
      h("span", { style: `width:${(fraction * 100).toFixed(1)}%` })));
}

function fill(id, result, meters) {
  const where = document.getElementById(id);
  if (result.status === "fulfilled") where.replaceChildren(...meters(result.value));
  else where.replaceChildren(h("p", { class: "error" }, result.reason.message));
}

async function loadUsage() {
  const [limits, images, account, network] = await Promise.allSettled([
    api("GET", "/compute/v2.1/limits"),
    api("GET", "/image/v2/images?limit=1000"),
    api("HEAD", swiftAccount),
    api("GET", `/network/v2.0/quotas/${projectId}/details`),
  ]);
  fill("usage-compute", limits, (found) => {
    const a = found.limits.absolute;
    const ram = a.maxTotalRAMSize < 0 ? -1 : a.maxTotalRAMSize * 1048576;
    return [meter("Instances", a.totalInstancesUsed, a.maxTotalInstances),
      meter("vCPUs", a.totalCoresUsed, a.maxTotalCores),
      meter("RAM", a.totalRAMUsed * 1048576, ram, bytes)];
  });
  fill("usage-images", images, (found) => {
    const own = found.images.filter((i) => i.owner === projectId);
    const size = own.reduce((sum, i) => sum + (i.size || 0), 0);
    return [meter("Images", own.length, Number(usage.dataset.imageCount)),
      meter("Stored", size, Number(usage.dataset.imageMib) * 1048576, bytes)];
  });
  fill("usage-network", network, (found) => [["Networks", "network"], ["Ports", "port"],
    ["Security groups", "security_group"], ["Floating IPs", "floatingip"]]
    .map(([label, key]) => meter(label, found.quota[key].used, found.quota[key].limit)));
  fill("usage-storage", account, (hd) => {
    const quotaBytes = hd.get("X-Account-Quota-Bytes") ?? hd.get("X-Account-Meta-Quota-Bytes");
    const quotaCount = hd.get("X-Account-Quota-Count");
    return [meter("Containers", Number(hd.get("X-Account-Container-Count") || 0), quotaCount === null ? -1 : Number(quotaCount)),
      meter("Stored", Number(hd.get("X-Account-Bytes-Used") || 0), quotaBytes === null ? -1 : Number(quotaBytes), bytes)];
  });
}

function item(doc) {
  const link = doc.resource_type === "server" ? h("a", { href: `/dashboard/instances/${doc.resource_id}` }, doc.resource_id.slice(0, 8))
    : h("code", {}, doc.resource_id.slice(0, 8));
  return h("li", {}, h("div", { class: "what" }, doc.type),
    h("div", { class: "when" }, timeEl(doc.time), ` · ${doc.resource_type} `, link));
}

/** An audit record (a CADF event) of a change made through the APIs. */
function addRecord(r) {
  document.getElementById("no-events").hidden = true;
  const what = `${r.action} ${String(r.target.typeURI).split("/").pop()}`;
  list.append(h("li", {}, h("div", { class: "what" }, what, h("span", { class: "muted" }, ` · ${r.outcome}`)),
    h("div", { class: "when" }, timeEl(r.eventTime), ` · by ${r.initiator.name || r.initiator.id} · `, h("code", {}, `${r.method} ${r.requestPath}`))));
}

function add(doc, atTop) {
  document.getElementById("no-events").hidden = true;
  if (atTop) list.prepend(item(doc)); else list.append(item(doc));
  while (list.children.length > 15) list.lastChild.remove();
}

async function loadEvents() {
  try {
    const found = await api("GET", "/events/v1/audit?limit=30&sort_dir=desc");
    // Calls through the dashboard are recorded as the API calls they became too.
    found.records.filter((r) => !String(r.requestPath).startsWith("/dashboard/")).slice(0, 12).forEach(addRecord);
  } catch (e) { /* the audit log is not readable here: live events only */ }
  follow({ project_id: projectId }, (doc) => { add(doc, true); loadUsage(); }, document.getElementById("live"));
}

loadUsage();
loadEvents();
