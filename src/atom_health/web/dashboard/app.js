// atom-health dashboard: the list of integrations, live updates, and a detail view per
// integration. No dependencies; data is set with textContent, never as HTML. URLs are
// relative, so the page works wherever it is mounted (e.g. under a Flask url_prefix).
"use strict";

const ICONS = { healthy: "✔", degraded: "▲", unhealthy: "✖", unknown: "?" };
const SEVERITY = { unhealthy: 0, degraded: 1, healthy: 2, unknown: 3 };
const state = { rows: new Map(), window: "24h", detail: null, refreshTimer: null };
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, text) {
  const node = document.createElementNS(
    ["svg", "rect", "polyline", "line", "text", "title", "circle"].includes(tag)
      ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml", tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function setPill(node, status) {
  node.dataset.status = status;
  node.textContent = `${ICONS[status] || "?"} ${status}`;
}

function ago(iso) {
  if (!iso) return "never";
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 60) return `${Math.round(seconds)} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

function duration(seconds) {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function fixHint(row) {
  if (row.missing_env_vars && row.missing_env_vars.length) return `Set ${row.missing_env_vars.join(", ")}`;
  if (row.vendor_incident) return `Vendor incident: ${row.vendor_incident}`;
  return "";
}

async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (response.status === 401) showSignIn("Your session ended; sign in again.");
  if (response.status === 403) throw new Error("this needs an admin key");
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return response.json();
}

// ---- sign-in (only when the server has API keys) --------------------------------------------

function showSignIn(message = "") {
  $("sign-in").hidden = false;
  $("controls").hidden = true;
  $("sign-in-error").textContent = message;
  $("sign-in-key").focus();
}

async function signedIn() {
  const session = await getJSON("api/session");
  if (!session.auth_required || session.signed_in) return true;
  showSignIn();
  return false;
}

async function signIn(event) {
  event.preventDefault();
  const response = await fetch("api/session", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ key: $("sign-in-key").value }),
  });
  $("sign-in-key").value = "";
  if (!response.ok) {
    $("sign-in-error").textContent = response.status === 401 ? "That key is not valid." : `Sign-in failed (${response.status}).`;
    return;
  }
  location.reload();
}

// ---- header ------------------------------------------------------------------------------

function renderSummary(summary, when) {
  setPill($("overall-status"), summary.overall_status);
  $("count-healthy").textContent = summary.healthy_services;
  $("count-degraded").textContent = summary.degraded_services;
  $("count-unhealthy").textContent = summary.unhealthy_services;
  $("health-score").textContent = summary.health_score == null ? "–" : `${summary.health_score}`;
  const time = $("updated");
  time.dateTime = when;
  time.textContent = new Date(when).toLocaleTimeString();
}

function setConnection(status, text) {
  const node = $("connection");
  node.dataset.state = status;
  node.textContent = text;
}

// ---- list --------------------------------------------------------------------------------

// Bars and sparklines are drawn inside a role="img" element that carries their name; the
// SVG itself is hidden from assistive technology (its <title>s are hover hints).
function uptimeBar(segments) {
  const svg = el("svg", { viewBox: `0 0 ${segments.length * 10} 26`, preserveAspectRatio: "none", "aria-hidden": "true" });
  segments.forEach((segment, index) => {
    const uptime = segment.uptime_percentage;
    const kind = uptime == null ? "none" : uptime >= 99.5 ? "ok" : uptime >= 90 ? "warn" : "bad";
    const rect = el("rect", { x: index * 10 + 1, y: 0, width: 8, height: 26, class: kind });
    const start = new Date(segment.start).toLocaleString();
    rect.appendChild(el("title", {}, uptime == null
      ? `${start}: no data` : `${start}: ${uptime.toFixed(2)} % up over ${segment.checks} checks`));
    svg.appendChild(rect);
  });
  return svg;
}

function sparkline(values) {
  const svg = el("svg", { viewBox: "0 0 100 26", preserveAspectRatio: "none", "aria-hidden": "true" });
  if (values.length > 1) {
    const max = Math.max(...values) || 1;
    const points = values.map((v, i) => `${(i / (values.length - 1)) * 100},${24 - (v / max) * 22}`);
    svg.appendChild(el("polyline", { points: points.join(" ") }));
    svg.appendChild(el("title", {}, `latest ${Math.round(values[values.length - 1])} ms, max ${Math.round(max)} ms`));
  }
  return svg;
}

function renderRow(data) {
  let node = document.querySelector(`.row[data-service="${CSS.escape(data.service)}"]`);
  if (!node) {
    node = $("row-template").content.firstElementChild.cloneNode(true);
    node.dataset.service = data.service;
    node.querySelector(".check-now").addEventListener("click", () => checkNow(data.service, node.querySelector(".check-now")));
  }
  node.dataset.status = data.status;
  node.dataset.critical = data.criticality === "critical" ? "1" : "0";
  const link = node.querySelector(".row-link");
  link.href = `#/integration/${encodeURIComponent(data.service)}`;
  setPill(node.querySelector(".pill"), data.status);
  node.querySelector(".name strong").textContent = data.name;
  node.querySelector(".critical").hidden = data.criticality !== "critical";
  node.querySelector(".message").textContent = data.message;
  node.querySelector(".fix").textContent = fixHint(data);
  node.querySelector(".last").textContent = `checked ${ago(data.checked_at)}`;
  node.querySelector(".last").title = data.checked_at;
  node.querySelector(".latency").textContent = data.latency_ms == null ? "no response time" : `${Math.round(data.latency_ms)} ms`;
  node.querySelector(".check-now").setAttribute("aria-label", `Check ${data.name} now`);
  if (data.bars) {
    const bar = node.querySelector(".bar");
    const uptime = data.uptime[state.window];
    const label = `${data.name} uptime ${state.window}: ${uptime == null ? "no data" : uptime.toFixed(2) + " %"}`;
    bar.replaceChildren(uptimeBar(data.bars[state.window]));
    bar.title = label;
    bar.setAttribute("aria-label", label);
    const spark = node.querySelector(".spark");
    const values = data.latencies;
    spark.replaceChildren(sparkline(values));
    spark.setAttribute("aria-label", values.length
      ? `${data.name} recent latency: latest ${Math.round(values[values.length - 1])} ms`
      : `${data.name}: no latency yet`);
  }
  return node;
}

function applyFilters() {
  const query = $("search").value.trim().toLowerCase();
  const wanted = $("status-filter").value;
  let shown = 0;
  for (const node of $("rows").children) {
    const data = state.rows.get(node.dataset.service);
    const match = (!query || data.name.toLowerCase().includes(query) || data.service.includes(query))
      && (!wanted || data.status === wanted);
    node.hidden = !match;
    if (match) shown += 1;
  }
  $("empty").hidden = shown > 0;
  const total = $("rows").children.length;
  $("shown-count").textContent = shown === total ? `${total} integrations` : `Showing ${shown} of ${total}`;
}

// Critical first, then worst first, then by name. Rows are moved only when the order
// changed, and focus stays where it was (a keyboard user does not lose their place).
function renderList() {
  const ordered = [...state.rows.values()].sort((a, b) =>
    (b.criticality === "critical") - (a.criticality === "critical")
    || SEVERITY[a.status] - SEVERITY[b.status] || a.name.localeCompare(b.name));
  const nodes = ordered.map(renderRow);
  const list = $("rows");
  const current = [...list.children];
  if (nodes.length !== current.length || nodes.some((node, i) => node !== current[i])) {
    const focused = document.activeElement;
    list.replaceChildren(...nodes);
    if (focused && focused !== document.activeElement && list.contains(focused)) focused.focus();
  }
  applyFilters();
}

async function loadAlerts() {
  const data = await getJSON("api/alerts?open=true&limit=50");
  $("alert-count").textContent = `(${data.open_alerts})`;
  const banner = $("maintenance");
  banner.hidden = data.maintenance.length === 0;
  banner.textContent = `Maintenance now: ${data.maintenance.join(", ")} (alerts silenced)`;
  $("alert-list").replaceChildren(...(data.alerts.length ? data.alerts.map((alert) => {
    const item = el("li", { "data-severity": alert.severity }, `${alert.title}: ${alert.message}`);
    const sent = alert.notifications.filter((n) => n.state === "delivered").map((n) => n.notifier);
    item.appendChild(el("span", { class: "note" },
      ` — since ${new Date(alert.opened_at).toLocaleTimeString()}, ${alert.route === "vendor" ? "vendor, " : ""}` +
      (sent.length ? `sent to ${[...new Set(sent)].join(", ")}` : "not sent yet")));
    return item;
  }) : [el("li", { class: "note" }, "None")]));
}

const LIVE_FIELDS = ["status", "message", "configured", "missing_env_vars", "category",
  "vendor_incident", "latency_ms", "checked_at"];
const pick = (object, keys) => Object.fromEntries(keys.map((key) => [key, object[key]]));

let alertsTimer = null;
function refreshAlertsSoon() {
  if (alertsTimer) return;
  alertsTimer = setTimeout(() => { alertsTimer = null; loadAlerts().catch(() => {}); }, 1000);
}

async function loadDashboard() {
  loadAlerts().catch(() => {});
  const data = await getJSON("api/dashboard");
  const previous = new Map(state.rows);
  state.rows.clear();  // a disabled integration leaves the list
  for (const service of data.services) {
    // A live result that arrived while this request was in flight is newer: keep its state.
    const known = previous.get(service.service);
    const newer = known && Date.parse(known.checked_at) > Date.parse(service.checked_at);
    state.rows.set(service.service, newer ? { ...service, ...pick(known, LIVE_FIELDS) } : service);
  }
  const disabled = $("disabled");
  disabled.hidden = data.disabled.length === 0;
  disabled.textContent = `Disabled: ${data.disabled.join(", ")} (not checked)`;
  renderSummary(data.summary, data.timestamp);
  renderList();
}

// A live result re-sorts the list at once; uptime bars and sparklines come from stored
// history, so the server-built rows are reloaded shortly after (once per burst of results).
let barsTimer = null;
let detailTimer = null;
function mergeRow(row) {
  const known = state.rows.get(row.service) || {};
  const merged = { ...known, ...row };
  state.rows.set(row.service, merged);
  renderList();
  if (!barsTimer) {
    barsTimer = setTimeout(() => { barsTimer = null; loadDashboard().catch(() => {}); }, 1500);
  }
  if (state.detail === row.service && !detailTimer) {
    detailTimer = setTimeout(() => { detailTimer = null; loadDetail(row.service, { live: true }).catch(() => {}); }, 1000);
  }
}

async function checkNow(service, button) {
  button.setAttribute("aria-busy", "true");
  button.disabled = true;
  try {
    await getJSON(`api/${encodeURIComponent(service)}/health?refresh=true`);
    await loadDashboard();  // rows are built by the server, in one place
  } catch (error) {
    button.title = `Check failed: ${error.message}`;
  } finally {
    button.removeAttribute("aria-busy");
    button.disabled = false;
  }
}

// ---- live updates --------------------------------------------------------------------------

function connect() {
  const source = new EventSource("api/events");
  source.onopen = () => {
    setConnection("live", "● Live");
    loadDashboard().catch(() => {});  // catch up on anything missed while disconnected
  };
  source.onerror = () => setConnection("lost", "Connection lost — reconnecting…");
  source.addEventListener("result", (event) => {
    const update = JSON.parse(event.data);
    mergeRow(update.row);
    renderSummary(update.summary, update.row.checked_at);
    refreshAlertsSoon();
  });
  // An integration enabled or disabled, a config reload, a maintenance window added or removed.
  source.addEventListener("changed", () => loadDashboard().catch(() => {}));
}

// ---- detail view ---------------------------------------------------------------------------

function fillList(dl, pairs) {
  dl.replaceChildren(...pairs.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value == null || value === "" ? "–" : String(value))]));
}

function latencyChart(items) {
  const points = items.filter((i) => i.latency_ms != null).reverse();
  const svg = el("svg", { viewBox: "0 0 1000 230" });
  if (points.length < 2) {
    svg.appendChild(el("text", { x: 10, y: 110 }, "Not enough results yet"));
    return svg;
  }
  const first = Date.parse(points[0].checked_at), last = Date.parse(points[points.length - 1].checked_at);
  const max = Math.max(...points.map((p) => p.latency_ms));
  const x = (p) => 60 + ((Date.parse(p.checked_at) - first) / Math.max(1, last - first)) * 920;
  const y = (p) => 200 - (p.latency_ms / max) * 180;
  svg.appendChild(el("line", { x1: 60, y1: 200, x2: 980, y2: 200, class: "axis" }));
  svg.appendChild(el("line", { x1: 60, y1: 20, x2: 60, y2: 200, class: "axis" }));
  svg.appendChild(el("text", { x: 0, y: 24 }, `${Math.round(max)} ms`));
  svg.appendChild(el("text", { x: 0, y: 200 }, "0 ms"));
  svg.appendChild(el("text", { x: 60, y: 222 }, new Date(first).toLocaleString()));
  svg.appendChild(el("text", { x: 980, y: 222, "text-anchor": "end" }, new Date(last).toLocaleString()));
  svg.appendChild(el("polyline", { points: points.map((p) => `${x(p)},${y(p)}`).join(" ") }));
  for (const p of points.filter((p) => p.status === "unhealthy")) {
    const dot = el("circle", { cx: x(p), cy: y(p), r: 3, class: "bad" });
    dot.appendChild(el("title", {}, `${p.checked_at}: ${p.message}`));
    svg.appendChild(dot);
  }
  return svg;
}

function fillTable(table, rows) {
  table.tBodies[0].replaceChildren(...rows.map((cells) => {
    const tr = el("tr");
    for (const cell of cells) {
      const td = el("td");
      if (cell instanceof Node) td.appendChild(cell); else td.textContent = cell == null ? "–" : String(cell);
      tr.appendChild(td);
    }
    return tr;
  }));
}

function pill(status) {
  const span = el("span", { class: "pill" });
  setPill(span, status);
  return span;
}

function renderDetailAnswer(health) {
  $("detail-title").textContent = health.name;
  setPill($("detail-status"), health.status);
  $("detail-message").textContent = health.message;
  const config = health.checks.configuration;
  fillList($("detail-config"), [
    ["Required", config.required_env_vars.join(", ")],
    ["Present", config.present_env_vars.join(", ")],
    ["Missing", config.missing_env_vars.join(", ")],
    ["Configured", `${config.configuration_percentage} %`],
  ]);
  const api = health.checks.api_access;
  fillList($("detail-api"), [
    ["Result", api.status], ["Method", api.method], ["HTTP status", api.http_status],
    ["Latency", api.latency_ms == null ? null : `${Math.round(api.latency_ms)} ms`],
    ["Category", api.category], ["Evidence", api.evidence],
    ["Breaker", api.breaker && api.breaker.state], ["Message", api.message],
  ]);
  const vendor = health.checks.vendor_status;
  fillList($("detail-vendor"), vendor ? [
    ["State", vendor.state], ["Says", vendor.message],
    ["Incidents", vendor.incidents.join("; ")],
    ["Affected", vendor.affected_components.map((c) => `${c.name} (${c.status})`).join(", ")],
    ["Maintenance", vendor.scheduled_maintenance.join("; ")],
  ] : [["State", "no machine-readable status feed"]]);
}

// A live result is already the newest answer: on one, only the history parts are read again.
// Reading the integration's answer too would, without a result cache (cache_ttl_seconds: 0),
// check the provider again, whose result would reload the view: a loop.
async function loadDetail(service, { live = false } = {}) {
  const since = new Date(Date.now() - 7 * 86400e3).toISOString();
  const monthAgo = new Date(Date.now() - 30 * 86400e3).toISOString();
  const [health, history, uptime, incidents] = await Promise.all([
    live ? null : getJSON(`api/${encodeURIComponent(service)}/health`),
    getJSON(`api/integrations/${encodeURIComponent(service)}/history?limit=200&since=${encodeURIComponent(since)}`),
    getJSON(`api/integrations/${encodeURIComponent(service)}/uptime`),
    getJSON(`api/incidents?service=${encodeURIComponent(service)}&since=${encodeURIComponent(monthAgo)}`),
  ]);
  if (state.detail !== service) return;
  if (health) renderDetailAnswer(health);
  else {
    const row = state.rows.get(service);
    setPill($("detail-status"), row.status);
    $("detail-message").textContent = row.message;
  }
  const windows = uptime.windows;
  fillList($("detail-uptime"), Object.entries(windows).map(([name, w]) => [name,
    w.uptime_percentage == null ? "no data" : `${w.uptime_percentage.toFixed(2)} % over ${w.checks} checks`])
    .concat([["MTTR (30 d)", windows["30d"].mttr_seconds == null ? null : duration(windows["30d"].mttr_seconds)]]));
  $("detail-chart").replaceChildren(latencyChart(history.items));
  fillTable($("detail-incidents"), incidents.incidents.map((i) => [
    new Date(i.started_at).toLocaleString(), i.open ? `${duration(i.duration_seconds)} (open)` : duration(i.duration_seconds),
    pill(i.worst_status), i.category, i.message]));
  fillTable($("detail-results"), history.items.slice(0, 50).map((r) => [
    new Date(r.checked_at).toLocaleString(), pill(r.status),
    r.latency_ms == null ? null : `${Math.round(r.latency_ms)} ms`, r.http_status, r.message]));
  await loadAlertHistory(service);
}

// ---- alerts of one integration: history, acknowledge, silence --------------------------------

async function sendJSON(method, url, body) {
  const response = await fetch(url, { method, headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body) });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.message || `${url} answered ${response.status}`);
  return answer;
}

function alertState(alert) {
  if (!alert.open) return `resolved ${ago(alert.resolved_at)}`;
  return alert.acknowledged ? `acknowledged by ${alert.acknowledged.by}` : "open";
}

async function loadAlertHistory(service) {
  const [data, silences] = await Promise.all([
    getJSON(`api/alerts?integration=${encodeURIComponent(service)}&limit=50`),
    getJSON("api/alerts/silences"),
  ]);
  if (state.detail !== service) return;
  const mine = silences.silences.filter((s) => s.integrations.includes(service));
  $("detail-silences").replaceChildren(...mine.map((s) => {
    const item = el("li", {}, `Silenced until ${new Date(s.ends_at).toLocaleString()} by ${s.created_by}: ${s.comment} `);
    const end = el("button", { type: "button", class: "end-silence" }, "End silence");
    end.addEventListener("click", () => alertAction(() => sendJSON("DELETE", `api/alerts/silences/${s.id}`), "Silence ended"));
    item.appendChild(end);
    return item;
  }));
  fillTable($("detail-alerts"), data.alerts.map((alert) => {
    const sent = [...new Set(alert.notifications.filter((n) => n.state === "delivered").map((n) => n.notifier))];
    const muted = alert.notifications.some((n) => n.state === "silenced");
    let action = "";
    if (alert.open && !alert.acknowledged) {
      action = el("button", { type: "button", class: "ack" }, "Acknowledge");
      action.addEventListener("click", () => alertAction(() => sendJSON("POST", `api/alerts/${alert.id}/acknowledge`,
        { author: $("alert-author").value.trim(), comment: $("alert-comment").value.trim() }), "Acknowledged"));
    }
    return [new Date(alert.opened_at).toLocaleString(), alertState(alert), alert.severity,
      `${alert.title}: ${alert.message}`, sent.join(", ") || (muted ? "silenced" : "not yet"), action];
  }));
}

async function alertAction(request, done) {
  if (!$("alert-author").value.trim()) {
    $("alert-note").textContent = "Enter your name first.";
    $("alert-author").focus();
    return;
  }
  try {
    await request();
    $("alert-note").textContent = done;
  } catch (error) {
    $("alert-note").textContent = error.message;
  }
  await loadAlertHistory(state.detail).catch(() => {});
  refreshAlertsSoon();
}

function silenceFromForm(event) {
  event.preventDefault();
  const comment = $("alert-comment").value.trim() || "silenced from the dashboard";
  alertAction(() => sendJSON("POST", "api/alerts/silences", { integrations: [state.detail],
    duration: $("silence-duration").value, created_by: $("alert-author").value.trim(), comment }), "Silenced");
}

// ---- routing -------------------------------------------------------------------------------

function route() {
  const match = location.hash.match(/^#\/integration\/(.+)$/);
  state.detail = match ? decodeURIComponent(match[1]) : null;
  $("list-view").hidden = Boolean(state.detail);
  $("detail-view").hidden = !state.detail;
  if (state.detail) {
    loadDetail(state.detail).catch((error) => { $("detail-message").textContent = error.message; });
    $("detail-title").focus?.();
  }
}

// ---- theme ---------------------------------------------------------------------------------

const THEME_KEY = "atom-health-theme";

const darkQuery = window.matchMedia("(prefers-color-scheme: dark)");

function savedTheme() {
  try { return localStorage.getItem(THEME_KEY); } catch { return null; }  // storage may be blocked
}

// The toggle's choice when one was made, else the system's preference (followed live).
function applyTheme() {
  const saved = savedTheme();
  const theme = saved === "dark" || saved === "light" ? saved : darkQuery.matches ? "dark" : "light";
  document.documentElement.dataset.theme = theme;
  $("theme-toggle").setAttribute("aria-pressed", String(theme === "dark"));
}

function setUpTheme() {
  $("theme-toggle").addEventListener("click", () => {
    const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    try { localStorage.setItem(THEME_KEY, next); } catch { /* not remembered */ }
    document.documentElement.dataset.theme = next;
    $("theme-toggle").setAttribute("aria-pressed", String(next === "dark"));
  });
  darkQuery.addEventListener("change", applyTheme);
  applyTheme();
}

async function start() {
  setUpTheme();
  $("controls").addEventListener("submit", (event) => event.preventDefault());
  $("sign-in").addEventListener("submit", signIn);
  if (!(await signedIn().catch(() => true))) return;
  $("search").addEventListener("input", applyFilters);
  $("status-filter").addEventListener("change", applyFilters);
  for (const radio of document.querySelectorAll('input[name="window"]')) {
    radio.addEventListener("change", () => { state.window = radio.value; renderList(); });
  }
  $("detail-check").addEventListener("click", async () => {
    await checkNow(state.detail, $("detail-check"));
    await loadDetail(state.detail);
  });
  $("alert-actions").addEventListener("submit", silenceFromForm);
  window.addEventListener("hashchange", route);
  loadDashboard().catch((error) => setConnection("lost", `Could not load: ${error.message}`));
  connect();
  route();
  state.refreshTimer = setInterval(() => loadDashboard().catch(() => {}), 60000);
  setInterval(() => { for (const row of state.rows.values()) renderRow(row); }, 15000);
}

document.addEventListener("DOMContentLoaded", start);
