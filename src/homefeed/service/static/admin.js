// The operator's dashboard: reads GET /v1/admin/dashboard and draws it with Chart.js (served
// from /static/vendor); the buttons call the versions API. The browser sends the admin key it
// was asked for (HTTP Basic) with every request to this server.
"use strict";

const charts = {};
const percent = (value) => `${(100 * value).toFixed(2)} %`;
const when = (seconds) => (seconds ? new Date(seconds * 1000).toISOString().slice(0, 16).replace("T", " ") : "");

function draw(id, type, labels, datasets, options = {}) {
  const canvas = document.getElementById(id);
  if (charts[id]) charts[id].destroy();
  charts[id] = new Chart(canvas, {
    type,
    data: { labels, datasets },
    options: { animation: false, responsive: true, maintainAspectRatio: false, ...options },
  });
}

function rates(id, rows) {
  draw(id, "bar", rows.map((row) => row.key || "(none)"), [
    { label: "CTR", data: rows.map((row) => row.ctr), backgroundColor: "#3b7dd8" },
    { label: "conversion", data: rows.map((row) => row.cvr), backgroundColor: "#2a9d6a" },
  ], { scales: { y: { beginAtZero: true, ticks: { callback: (v) => percent(v) } } } });
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
}

function gateFigures(gate) {
  if (!gate || !gate.models) return "";
  const name = (gate.metric || "").split("@")[0];
  return Object.entries(gate.models)
    .filter(([, sides]) => sides.candidate)
    .map(([model, sides]) => `${model} ${sides.candidate[name].toFixed(4)}${sides.serving ? ` / ${sides.serving[name].toFixed(4)}` : ""}`)
    .join("; ");
}

function tables(data) {
  const served = data.versions.find((info) => info.status === "serving" || info.status === "pinned");
  document.getElementById("serving").textContent = served ? `${served.version} (${served.status})` : "none yet";
  const versions = document.querySelector("#versions tbody");
  versions.replaceChildren();
  for (const info of data.versions) {
    const row = document.createElement("tr");
    row.dataset.version = info.version;
    cell(row, info.version);
    cell(row, info.status, `status-${info.status}`);
    cell(row, when(info.created_at));
    cell(row, info.events == null ? "" : info.events.toLocaleString());
    cell(row, info.gate ? `${info.gate.status}${info.gate.metric ? ` (${info.gate.metric})` : ""}` : "");
    cell(row, gateFigures(info.gate));
    cell(row, info.reason || (info.gate && info.gate.reason) || "");
    versions.appendChild(row);
  }
  const experiments = document.querySelector("#experiments tbody");
  experiments.replaceChildren();
  for (const found of data.experiments) {
    const row = document.createElement("tr");
    cell(row, found.name);
    cell(row, found.status);
    cell(row, Object.keys(found.arms).join(", "));
    cell(row, when(found.started_at));
    cell(row, when(found.stopped_at));
    experiments.appendChild(row);
  }
}

async function load() {
  const main = document.getElementById("dashboard");
  const days = document.getElementById("days").value;
  const answer = await fetch(`/v1/admin/dashboard?days=${days}`, { headers: { Accept: "application/json" } });
  const error = document.getElementById("error");
  if (!answer.ok) {
    error.textContent = `The dashboard could not be read: ${(await answer.json()).message || answer.status}`;
    error.hidden = false;
    return;
  }
  error.hidden = true;
  const data = await answer.json();
  document.getElementById("total-impressions").textContent = data.total.impressions.toLocaleString();
  document.getElementById("total-ctr").textContent = percent(data.total.ctr);
  document.getElementById("total-cvr").textContent = percent(data.total.cvr);
  document.getElementById("coverage").textContent = percent(data.exposure.coverage);
  document.getElementById("gini").textContent = data.exposure.gini.toFixed(3);
  document.getElementById("top-share").textContent = percent(data.exposure.top_share);
  draw("chart-days", "line", data.by_day.map((row) => row.key), [
    { label: "CTR", data: data.by_day.map((row) => row.ctr), borderColor: "#3b7dd8", backgroundColor: "#3b7dd8" },
    { label: "conversion", data: data.by_day.map((row) => row.cvr), borderColor: "#2a9d6a", backgroundColor: "#2a9d6a" },
  ], { scales: { y: { beginAtZero: true, ticks: { callback: (v) => percent(v) } } } });
  draw("chart-events", "bar", data.events_per_minute.map(([at]) => when(at).slice(11)), [
    { label: "events", data: data.events_per_minute.map(([, n]) => n), backgroundColor: "#8a63d2" },
  ], { scales: { y: { beginAtZero: true } }, plugins: { legend: { display: false } } });
  rates("chart-sections", data.by_section);
  rates("chart-sources", data.by_source);
  rates("chart-arms", data.by_arm);
  document.getElementById("arms-empty").hidden = data.by_arm.length > 0;
  tables(data);
  main.dataset.state = "ready";
}

async function act(method, path) {
  const answer = await fetch(path, { method });
  const body = await answer.json();
  document.getElementById("action-result").textContent = answer.ok
    ? `now serving ${body.model_version}${body.pinned ? " (pinned)" : ""}`
    : body.message;
  await load();
}

document.getElementById("days").addEventListener("change", load);
document.getElementById("rollback").addEventListener("click", () => act("POST", "/v1/admin/versions/rollback"));
document.getElementById("unpin").addEventListener("click", () => act("DELETE", "/v1/admin/versions/pin"));
load();
