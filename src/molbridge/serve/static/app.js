// molbridge's web page: plain JavaScript against the /v1 API, no build step and no dependencies.
"use strict";

const $ = (id) => document.getElementById(id);

function headers(extra) {
  const h = Object.assign({}, extra || {});
  const token = $("token").value.trim();
  if (token) h["Authorization"] = "Bearer " + token;
  return h;
}

async function api(path, options) {
  const opts = Object.assign({}, options || {});
  opts.headers = headers(opts.headers);
  const response = await fetch(path, opts);
  let body = null;
  try { body = await response.json(); } catch (e) { body = { error: "HTTPError", detail: response.statusText }; }
  if (!response.ok) {
    const err = new Error(body.detail || response.statusText);
    err.status = response.status;
    throw err;
  }
  return { status: response.status, body: body };
}

function postJSON(path, payload) {
  return api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload) });
}

function text(value) { return document.createTextNode(value === null || value === undefined ? "" : String(value)); }

function fillTable(table, head, rows) {
  table.replaceChildren();
  if (head) {
    const tr = document.createElement("tr");
    head.forEach((h) => { const th = document.createElement("th"); th.appendChild(text(h)); tr.appendChild(th); });
    table.appendChild(tr);
  }
  rows.forEach((row) => {
    const tr = document.createElement("tr");
    row.forEach((cell, i) => {
      const td = document.createElement("td");
      if (i > 0) td.className = "value";
      td.appendChild(text(cell));
      tr.appendChild(td);
    });
    table.appendChild(tr);
  });
}

function fillSelect(select, values) {
  select.replaceChildren();
  values.forEach((v) => { const o = document.createElement("option"); o.value = v; o.textContent = v; select.appendChild(o); });
}

function round(x) {
  if (typeof x !== "number" || Number.isInteger(x)) return x;
  return Math.abs(x) >= 100 ? x.toFixed(1) : x.toFixed(4);
}

let depictionUrl = null;

function showDepiction(svgText) {
  // an <img> shows the SVG as a picture: nothing inside it can run in the page
  if (depictionUrl) URL.revokeObjectURL(depictionUrl);
  depictionUrl = svgText ? URL.createObjectURL(new Blob([svgText], { type: "image/svg+xml" })) : null;
  if (!depictionUrl) { $("depiction").replaceChildren(); return; }
  const img = document.createElement("img");
  img.src = depictionUrl;
  img.alt = "depiction";
  $("depiction").replaceChildren(img);
}

// --- molecule: live as the user types -------------------------------------------------------------------------
let moleculeTimer = null;
let moleculeAsked = 0;

async function showMolecule() {
  const value = $("molecule-input").value.trim();
  const asked = ++moleculeAsked;
  if (!value) { showDepiction(null); fillTable($("identifiers"), null, []); $("molecule-error").textContent = ""; return; }
  try {
    const { body } = await postJSON("/v1/molecule", { text: value, notation: $("molecule-notation").value });
    if (asked !== moleculeAsked) return;  // a newer keystroke already asked
    $("molecule-error").textContent = "";
    showDepiction(body.svg);
    const rows = [["read as", body.notation], ["SMILES", body.smiles], ["SELFIES", body.selfies || "—"],
      ["InChI", body.inchi], ["InChIKey", body.inchikey], ["formula", body.formula]];
    Object.entries(body.descriptors).forEach(([k, v]) => rows.push([k, round(v)]));
    body.notes.forEach((n) => rows.push(["note", n]));
    fillTable($("identifiers"), null, rows);
  } catch (err) {
    if (asked !== moleculeAsked) return;
    showDepiction(null);
    fillTable($("identifiers"), null, []);
    $("molecule-error").textContent = err.message;
  }
}

function scheduleMolecule() { clearTimeout(moleculeTimer); moleculeTimer = setTimeout(showMolecule, 200); }

// --- generation --------------------------------------------------------------------------------------------------
let runs = [];

function showTasks() {
  const run = runs.find((r) => r.name === $("generate-run").value);
  fillSelect($("generate-task"), run ? run.tasks : []);
}

async function generate() {
  $("generate-error").textContent = "";
  const inputs = $("generate-inputs").value.split("\n").map((s) => s.trim()).filter((s) => s);
  if (!inputs.length) { $("generate-error").textContent = "type at least one input"; return; }
  $("generate-button").disabled = true;
  try {
    const { body } = await postJSON("/v1/generate", { run: $("generate-run").value, task: $("generate-task").value, inputs: inputs });
    fillTable($("answers"), ["input", "answer", "valid"], body.answers.map((a) => [a.input, a.answer, a.valid ? "yes" : "no"]));
  } catch (err) {
    $("generate-error").textContent = err.message;
  } finally {
    $("generate-button").disabled = false;
  }
}

// --- neighbours --------------------------------------------------------------------------------------------------
async function similar() {
  $("similar-error").textContent = "";
  try {
    const { body } = await postJSON("/v1/similar", { index: $("similar-index").value, query: $("similar-query").value,
      k: parseInt($("similar-k").value, 10) || 10 });
    fillTable($("neighbours"), ["rank", "id", "score"], body.neighbours.map((n, i) => [i + 1, n.id, round(n.score)]));
  } catch (err) {
    $("similar-error").textContent = err.message;
  }
}

// --- scoring -----------------------------------------------------------------------------------------------------
let dropped = null;

function showReport(report) {
  const names = Object.keys(report.details);
  fillTable($("report"), ["metric", "value", "95% interval", "N"], names.map((name) => {
    const m = report.details[name];
    const interval = m.ci_low === null || m.ci_low === undefined ? "—" : "[" + round(m.ci_low) + ", " + round(m.ci_high) + "]";
    return [name, round(m.value), interval, m.n];
  }).concat([["items", report.n, "", ""]], Object.entries(report.counts).map(([k, v]) => [k, v, "", ""])));
  plotReport(report, names.filter((n) => report.details[n].value >= 0 && report.details[n].value <= 1));
  $("score-status").textContent = report.notes.join("; ");
}

function plotReport(report, names) {
  const ns = "http://www.w3.org/2000/svg";
  const width = 520, row = 22, left = 150;
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", width); svg.setAttribute("height", row * names.length + 10);
  svg.setAttribute("role", "img"); svg.setAttribute("aria-label", "metrics between 0 and 1 with their intervals");
  names.forEach((name, i) => {
    const m = report.details[name], y = 5 + i * row, scale = width - left - 60;
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", 0); label.setAttribute("y", y + 14); label.textContent = name; svg.appendChild(label);
    const bar = document.createElementNS(ns, "rect");
    bar.setAttribute("x", left); bar.setAttribute("y", y + 3); bar.setAttribute("height", row - 8);
    bar.setAttribute("width", Math.max(1, m.value * scale)); bar.setAttribute("class", "bar"); svg.appendChild(bar);
    if (m.ci_low !== null && m.ci_low !== undefined) {
      const ci = document.createElementNS(ns, "line");
      ci.setAttribute("x1", left + m.ci_low * scale); ci.setAttribute("x2", left + m.ci_high * scale);
      ci.setAttribute("y1", y + row / 2); ci.setAttribute("y2", y + row / 2); ci.setAttribute("stroke", "#111");
      svg.appendChild(ci);
    }
    const value = document.createElementNS(ns, "text");
    value.setAttribute("x", left + m.value * scale + 6); value.setAttribute("y", y + 14); value.textContent = round(m.value);
    svg.appendChild(value);
  });
  $("report-plot").replaceChildren(svg);
}

async function pollJob(id) {
  for (let tries = 0; tries < 600; tries++) {
    const { body } = await api("/v1/score/jobs/" + id);
    if (body.status === "done") return body.report;
    if (body.status === "failed") throw new Error(body.detail);
    $("score-status").textContent = "scoring (" + body.status + ") …";
    await new Promise((r) => setTimeout(r, Math.min(1000 + tries * 100, 5000)));
  }
  throw new Error("the scoring job did not finish; try again later");
}

async function score() {
  $("score-error").textContent = "";
  const file = dropped || $("score-file").files[0];
  if (!file) { $("score-error").textContent = "choose or drop a prediction file"; return; }
  const form = new FormData();
  form.append("file", file, file.name);
  form.append("task", $("score-task").value);
  form.append("format", $("score-format").value);
  form.append("convention", $("score-convention").value);
  $("score-button").disabled = true;
  $("score-status").textContent = "scoring " + file.name + " …";
  try {
    const { status, body } = await api("/v1/score", { method: "POST", body: form });
    showReport(status === 202 ? await pollJob(body.id) : body.report);
  } catch (err) {
    $("score-status").textContent = "";
    $("score-error").textContent = err.message;
  } finally {
    $("score-button").disabled = false;
  }
}

// --- start -------------------------------------------------------------------------------------------------------
async function load() {
  try {
    const health = (await api("/v1/health")).body;
    $("health").textContent = "molbridge " + health.version + " · " + health.runs + " run(s) · " + health.indexes + " index(es)";
    const scoring = (await api("/v1/scoring")).body;
    fillSelect($("score-task"), scoring.tasks);
    fillSelect($("score-format"), scoring.formats);
    fillSelect($("score-convention"), scoring.conventions);
    $("score-convention").value = "molt5";
    runs = (await api("/v1/runs")).body;
    fillSelect($("generate-run"), runs.map((r) => r.name));
    showTasks();
    $("generate-section").hidden = runs.length === 0;
    const indexes = (await api("/v1/indexes")).body;
    fillSelect($("similar-index"), indexes.map((i) => i.name));
    $("similar-section").hidden = indexes.length === 0;
  } catch (err) {
    $("health").textContent = err.status === 401 ? "enter the token" : "error: " + err.message;
  }
}

$("molecule-input").addEventListener("input", scheduleMolecule);
$("molecule-notation").addEventListener("change", scheduleMolecule);
$("generate-run").addEventListener("change", showTasks);
$("generate-button").addEventListener("click", generate);
$("similar-button").addEventListener("click", similar);
$("score-button").addEventListener("click", score);
$("score-file").addEventListener("change", () => { dropped = null; $("drop-label").textContent = "Drop a prediction file here, or "; });
$("token").addEventListener("change", load);
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault(); drop.classList.remove("over");
  if (e.dataTransfer.files.length) { dropped = e.dataTransfer.files[0]; $("drop-label").textContent = "Dropped " + dropped.name + " — or "; }
});
load();
