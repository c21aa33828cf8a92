// horizon planning workspace: the page's script (no external libraries, nothing fetched from elsewhere).
"use strict";

const $ = (sel) => document.querySelector(sel);
const S = { state: null, land: null, run: null, polling: false, saveTimer: null };

async function api(method, url, body) {
  const opt = { method, headers: {}, credentials: "same-origin" };
  if (body instanceof FormData) opt.body = body;
  else if (body !== undefined) { opt.body = JSON.stringify(body); opt.headers["Content-Type"] = "application/json"; }
  const r = await fetch(url, opt);
  let data = null;
  try { data = await r.json(); } catch (e) { data = { messages: [r.statusText] }; }
  if (!r.ok) { const err = new Error((data && data.headline) || r.statusText); err.status = r.status; err.data = data; throw err; }
  return data;
}

// --- formatting ----------------------------------------------------------------------------
function num(x, digits) {
  if (x === null || x === undefined || x === "") return "–";
  if (typeof x !== "number") return String(x);
  const d = digits === undefined ? (Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 1 ? 2 : 4) : digits;
  return x.toLocaleString("en-US", { minimumFractionDigits: 0, maximumFractionDigits: d });
}
function signed(x, digits) {
  if (x === null || x === undefined) return "–";
  const s = num(x, digits);
  return x > 0 ? "+" + s : s;
}
function esc(s) { return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c])); }
function errorsHtml(headline, messages) {
  return (headline ? `<strong>${esc(headline)}</strong>` : "") + `<ul>${(messages || []).map((m) => `<li>${esc(m)}</li>`).join("")}</ul>`;
}
function showBox(el, headline, messages) {
  if (!messages || !messages.length) { el.hidden = true; el.innerHTML = ""; return; }
  el.innerHTML = errorsHtml(headline, messages); el.hidden = false;
}

// --- tables (click a header to sort) ----------------------------------------------------------
function table(el, columns, rows, opts) {
  opts = opts || {};
  const numeric = columns.map((c, i) => rows.some((r) => typeof r[i] === "number"));
  const head = "<thead><tr>" + columns.map((c, i) => `<th class="${numeric[i] ? "num" : ""}" data-col="${i}">${esc(c)}</th>`).join("") + "</tr></thead>";
  const body = "<tbody>" + rows.map((r) => "<tr>" + r.map((v, i) => {
    const cls = numeric[i] ? "num" : "";
    const dv = typeof v === "number" ? ` data-value="${v}"` : "";
    const shown = opts.format && opts.format[i] ? opts.format[i](v) : (typeof v === "number" ? num(v) : (v === null || v === undefined ? "–" : esc(v)));
    return `<td class="${cls}"${dv}>${shown}</td>`;
  }).join("") + "</tr>").join("") + "</tbody>";
  el.innerHTML = head + body;
  if (el.classList.contains("sortable")) {
    el.querySelectorAll("th").forEach((th) => th.addEventListener("click", () => sortTable(el, +th.dataset.col, th)));
  }
}
function sortTable(el, col, th) {
  const dir = th.dataset.dir === "asc" ? "desc" : "asc";
  el.querySelectorAll("th").forEach((h) => delete h.dataset.dir);
  th.dataset.dir = dir;
  const tbody = el.tBodies[0];
  const rows = Array.from(tbody.rows);
  const key = (tr) => { const td = tr.cells[col]; return td.dataset.value !== undefined ? +td.dataset.value : td.textContent; };
  rows.sort((a, b) => { const x = key(a), y = key(b); const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y)); return dir === "asc" ? c : -c; });
  rows.forEach((r) => tbody.appendChild(r));
}

// --- state and the edit form ----------------------------------------------------------------
async function loadState() {
  const st = await api("GET", "/api/state");
  applyState(st, true);
  return st;
}

function applyState(st, rebuildForm) {
  S.state = st;
  $("#instance-name").textContent = `${st.instance.name} — ${st.instance.missions} missions, ${st.instance.hubs.length} hubs, ${st.instance.types.length} types, ${st.instance.scenarios.length} scenarios`;
  const b = $("#bundled");
  if (!b.options.length) {
    const current = st.instance.source.split(/[\\/]/).pop();
    b.innerHTML = st.bundled.map((n) => `<option ${n === current ? "selected" : ""}>${esc(n)}</option>`).join("");
  }
  if (rebuildForm) buildForm(st);
  showFieldErrors(st.errors || {});
  $("#changes").innerHTML = st.changes.length ? "<ul>" + st.changes.map((c) => `<li>${esc(c)}</li>`).join("") + "</ul>" : "<em>no edits: the instance as loaded</em>";
  renderRuns(st.runs);
  renderAnalyses(st.analyses);
  renderJob(st.job);
  document.body.dataset.ready = "1";
}

function buildForm(st) {
  const set = st.settings, inst = st.instance;
  for (const k of ["budget", "min_hubs", "max_hubs", "crises_per_year", "deadline_factor", "penalty"]) {
    $(`#f-${k}`).value = set[k] === null || set[k] === undefined ? "" : set[k];
  }
  $("#f-policy").innerHTML = inst.policies.map((p) => `<option ${p === set.policy ? "selected" : ""}>${esc(p)}</option>`).join("");
  $("#f-soft").checked = !!set.soft;
  $("#hubs-form tbody").innerHTML = inst.hubs.map((h) => {
    const r = set.hubs[h.id];
    const opts = ["candidate", "existing", "excluded"].map((s) => `<option ${s === r.status ? "selected" : ""}>${s}</option>`).join("");
    return `<tr data-hub="${esc(h.id)}"><td title="${esc(h.name)}">${esc(h.id)}</td>
      <td><select data-hub-field="status" data-testid="hub-${esc(h.id)}-status">${opts}</select><div class="ferr" data-for="hub:${esc(h.id)}:status"></div></td>
      <td><input data-hub-field="fixed_cost" value="${r.fixed_cost ?? ""}" data-testid="hub-${esc(h.id)}-fixed_cost"><div class="ferr" data-for="hub:${esc(h.id)}:fixed_cost"></div></td>
      <td><input data-hub-field="capacity" value="${r.capacity ?? ""}" placeholder="unlimited" data-testid="hub-${esc(h.id)}-capacity"><div class="ferr" data-for="hub:${esc(h.id)}:capacity"></div></td></tr>`;
  }).join("");
  $("#types-form tbody").innerHTML = inst.types.map((t) => {
    const r = set.types[t.id];
    return `<tr data-type="${esc(t.id)}"><td>${esc(t.id)} <small>${esc(t.category)}</small></td>
      <td><input data-type-field="fleet_limit" value="${r.fleet_limit ?? ""}" placeholder="unlimited" data-testid="type-${esc(t.id)}-fleet_limit"><div class="ferr" data-for="type:${esc(t.id)}:fleet_limit"></div></td>
      <td><input data-type-field="holding_cost" value="${r.holding_cost ?? ""}" data-testid="type-${esc(t.id)}-holding_cost"><div class="ferr" data-for="type:${esc(t.id)}:holding_cost"></div></td></tr>`;
  }).join("");
  $("#scenarios").innerHTML = inst.scenarios.map((s) =>
    `<label><input type="checkbox" data-scenario="${esc(s.id)}" ${set.scenarios[s.id] ? "checked" : ""}> ${esc(s.id)} <small>${num(s.probability, 3)}</small></label>`).join("");
  const sp = $("#sweep-param");
  sp.innerHTML = ["budget", "deadline-scale", "hubs"].concat(inst.types.map((t) => "fleet:" + t.id)).map((p) => `<option>${esc(p)}</option>`).join("");
}

function gather() {
  const out = { hubs: {}, types: {}, scenarios: {} };
  for (const k of ["budget", "min_hubs", "max_hubs", "crises_per_year", "deadline_factor", "penalty"]) out[k] = $(`#f-${k}`).value;
  out.policy = $("#f-policy").value;
  out.soft = $("#f-soft").checked;
  document.querySelectorAll("#hubs-form tr[data-hub]").forEach((tr) => {
    const r = {}; tr.querySelectorAll("[data-hub-field]").forEach((e) => { r[e.dataset.hubField] = e.value; }); out.hubs[tr.dataset.hub] = r;
  });
  document.querySelectorAll("#types-form tr[data-type]").forEach((tr) => {
    const r = {}; tr.querySelectorAll("[data-type-field]").forEach((e) => { r[e.dataset.typeField] = e.value; }); out.types[tr.dataset.type] = r;
  });
  document.querySelectorAll("#scenarios input[data-scenario]").forEach((e) => { out.scenarios[e.dataset.scenario] = e.checked; });
  return out;
}

function showFieldErrors(errors) {
  document.querySelectorAll(".ferr").forEach((el) => { el.textContent = ""; });
  document.querySelectorAll(".invalid").forEach((el) => el.classList.remove("invalid"));
  const general = [];
  for (const [key, msgs] of Object.entries(errors)) {
    const el = document.querySelector(`.ferr[data-for="${CSS.escape(key)}"]`);
    if (el) {
      el.textContent = msgs.join("; ");
      const input = el.previousElementSibling;
      if (input && (input.tagName === "INPUT" || input.tagName === "SELECT")) input.classList.add("invalid");
    } else general.push(...msgs.map((m) => `${key}: ${m}`));
  }
  showBox($("#general-errors"), "These edits cannot be applied:", general);
  $("#solve").dataset.invalid = Object.keys(errors).length ? "1" : "";
}

async function saveSettings() {
  const st = await api("POST", "/api/settings", { settings: gather() });
  applyState(st, false);
}
function scheduleSave() { clearTimeout(S.saveTimer); S.saveTimer = setTimeout(() => saveSettings().catch(showJobError), 250); }

// --- jobs: solve, stop, progress --------------------------------------------------------------
function renderJob(job) {
  const p = $("#progress");
  const running = job && job.state === "running";
  $("#stop").disabled = !running || job.stop_asked;
  $("#solve").disabled = running; $("#compare").disabled = running; $("#sweep").disabled = running;
  p.classList.toggle("running", !!running);
  S.jobRunning = !!running;
  if (!job) {
    const ready = S.state && S.state.solver_ready;
    p.textContent = ready ? "idle" : "starting the solver process (the first solve waits for it)…";
    p.dataset.state = "idle";
    p.dataset.solver = ready ? "ready" : "starting";
    return;
  }
  p.dataset.solver = "ready";
  const g = job.progress || {};
  const parts = [`${job.kind}: ${running ? (job.stop_asked ? "stopping" : "running") : job.state}`, `${num(g.elapsed ?? job.seconds, 1)} s`];
  if (g.step) parts.push(g.step);
  parts.push(`incumbent ${num(g.incumbent)}`, `bound ${num(g.bound)}`, `gap ${g.gap === null || g.gap === undefined ? "–" : (100 * g.gap).toFixed(2) + " %"}`);
  p.textContent = parts.join(" · ");
  p.dataset.state = job.state;
  p.dataset.incumbent = g.incumbent ?? "";
  if (job.state === "error" && job.error) showBox($("#job-errors"), job.error.headline, job.error.messages);
}

function showJobError(e) {
  const d = e.data || {};
  if (d.fields) showFieldErrors(d.fields);
  showBox($("#job-errors"), d.headline || e.message, d.messages || [e.message]);
}

async function startJob(url, body) {
  showBox($("#job-errors"), null, []);
  clearTimeout(S.saveTimer);
  try {
    const r = await api("POST", url, body);
    renderJob(r.job);
    poll();
  } catch (e) { showJobError(e); }
}

async function poll() {
  if (S.polling) return;
  S.polling = true;
  try {
    for (;;) {
      const r = await api("GET", "/api/job");
      renderJob(r.job);
      if (!r.job || r.job.state !== "running") break;
      await new Promise((res) => setTimeout(res, 400));
    }
    const before = S.state ? S.state.runs.length : 0;
    const st = await api("GET", "/api/state");
    applyState(st, false);
    if (st.runs.length > before) await showRun(st.runs[st.runs.length - 1].id);
  } finally { S.polling = false; }
}

// --- runs ------------------------------------------------------------------------------------
function renderRuns(runs) {
  table($("#runs"), ["run", "changes", "status", "total cost", "coverage %"], runs.map((r) => [
    r.id, r.changes.length ? r.changes.join("; ") : "as loaded", r.status + (r.stopped ? " (stopped)" : ""), r.objective, r.coverage_pct,
  ]));
  $("#runs").querySelectorAll("tbody tr").forEach((tr, i) => { tr.style.cursor = "pointer"; tr.addEventListener("click", () => showRun(runs[i].id)); });
  const opts = runs.map((r) => `<option value="${r.id}">Run ${r.id}</option>`).join("");
  for (const id of ["#diff-a", "#diff-b", "#run-select"]) {
    const sel = $(id), keep = sel.value;
    sel.innerHTML = opts;
    if (keep && runs.some((r) => String(r.id) === keep)) sel.value = keep;
  }
  if (runs.length >= 2 && !$("#diff-b").dataset.touched) { $("#diff-a").value = runs[runs.length - 2].id; $("#diff-b").value = runs[runs.length - 1].id; }
}

async function showRun(id) {
  const r = await api("GET", `/api/runs/${id}`);
  S.run = r;
  $("#run-select").value = String(id);
  const sol = r.solution, m = r.metrics;
  const st = r.stopped ? "stopped" : sol.status;
  $("#summary").innerHTML = `<div>Run ${r.id}: <span class="status ${esc(st)}" data-testid="run-status">${esc(sol.status)}${r.stopped ? " — stopped, best plan kept" : ""}</span></div>
    <div>total cost <span class="objective" data-testid="objective" data-value="${sol.objective}">${num(sol.objective)}</span>
    ${sol.gap ? ` <small>gap ${(100 * sol.gap).toFixed(2)} %</small>` : ""}</div>
    <div>open hubs: <strong data-testid="open-hubs">${esc(sol.open_hubs.join(", ") || "none")}</strong> ·
    coverage ${num(m.coverage_pct, 1)} % · worst response ${num(m.worst_response_hours, 1)} h · solved in ${num(r.seconds, 2)} s</div>
    <div class="changes">${r.changes.length ? "edits: " + esc(r.changes.join("; ")) : "the instance as loaded"}</div>`;
  $("#run-downloads").hidden = false;
  $("#dl-solution").href = `/api/runs/${id}/solution.zip`;
  $("#dl-report").href = `/api/runs/${id}/report.html`;
  $("#dl-run-instance").href = `/api/runs/${id}/instance.yaml`;
  const costs = ["fixed", "holding", "dispatch", "penalty"].map((k) => [k, sol.costs[k] ?? 0]);
  if (sol.costs.worst_scenario !== undefined) costs.push(["worst scenario", sol.costs.worst_scenario]);
  costs.push(["total", sol.objective]);
  table($("#costs"), ["part", "cost"], costs);
  table($("#service"), ["scenario", "tier", "due", "within", "share"], sol.service_levels.map((s) => [s.scenario, s.tier, s.units_due, s.units_within, s.share]));
  table($("#stationing"), ["hub", "type", "units"], sol.stationing.map((s) => [s.hub, s.asset_type, s.units]));
  table($("#coverage"), ["scenario", "probability", "demanded", "unmet", "coverage %", "worst h"], r.coverage.map((c) => [
    c.scenario, c.probability, c.demanded ?? c.demanded_units, c.unmet ?? c.unmet_units, c.coverage_pct, c.worst_response_hours ?? c.max_response_hours,
  ]));
  const scen = $("#scenario-select");
  scen.innerHTML = r.map.scenarios.map((s) => `<option ${s === r.map.default_scenario ? "selected" : ""}>${esc(s)}</option>`).join("");
  drawScenario();
}

function drawScenario() {
  const r = S.run; if (!r) return;
  const scen = $("#scenario-select").value;
  const rows = r.solution.dispatch.filter((d) => d.scenario === scen);
  table($("#dispatch"), ["hub", "mission", "type", "route", "units", "response h", "deadline h", "cost/unit"],
    rows.map((d) => [d.hub, d.mission, d.asset_type, d.route, d.units, d.response_hours, d.deadline_hours, d.cost_per_unit]));
  drawMap(r, rows, r.solution.unmet.filter((u) => u.scenario === scen));
}

// --- the map: Natural Earth land (shipped with the package), equirectangular ------------------
const TYPE_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];
async function landRings() {
  if (!S.land) S.land = (await (await fetch("/basemap.json")).json()).countries.flatMap((c) => c.rings);
  return S.land;
}
async function drawMap(r, dispatch, unmet) {
  const el = $("#map");
  const nodes = r.map.nodes;
  if (!nodes.length) { el.innerHTML = "<p>No coordinates in this instance: no map.</p>"; return; }
  const rings = await landRings();
  let lo0 = Math.min(...nodes.map((n) => n.lon)), lo1 = Math.max(...nodes.map((n) => n.lon));
  let la0 = Math.min(...nodes.map((n) => n.lat)), la1 = Math.max(...nodes.map((n) => n.lat));
  const padX = Math.max(4, (lo1 - lo0) * 0.08), padY = Math.max(4, (la1 - la0) * 0.1);
  lo0 -= padX; lo1 += padX; la0 -= padY; la1 += padY;
  const W = 900, H = Math.max(300, Math.min(620, W * (la1 - la0) / (lo1 - lo0) * 1.1));
  const sx = W / (lo1 - lo0), sy = H / (la1 - la0), s = Math.min(sx, sy);
  const cx = (lo0 + lo1) / 2, cy = (la0 + la1) / 2;
  const X = (lon) => W / 2 + (lon - cx) * s, Y = (lat) => H / 2 - (lat - cy) * s;
  const land = rings.map((ring) => {
    let d = "";
    for (let i = 0; i < ring.length; i += 2) d += (i ? "L" : "M") + X(ring[i]).toFixed(1) + "," + Y(ring[i + 1]).toFixed(1);
    return d + "Z";
  }).join("");
  const at = Object.fromEntries(nodes.map((n) => [n.id, n]));
  const types = r.solution.stationing.map((x) => x.asset_type).concat(dispatch.map((d) => d.asset_type));
  const typeIds = Array.from(new Set(types)).sort();
  const color = (t) => TYPE_COLORS[typeIds.indexOf(t) % TYPE_COLORS.length];
  let arcs = "";
  for (const d of dispatch) {
    const a = at[d.hub], b = at[d.mission];
    if (!a || !b || d.hub === d.mission) continue;
    const x1 = X(a.lon), y1 = Y(a.lat), x2 = X(b.lon), y2 = Y(b.lat);
    const mx = (x1 + x2) / 2 - (y2 - y1) * 0.15, my = (y1 + y2) / 2 + (x2 - x1) * 0.15;
    arcs += `<path class="arc" d="M${x1},${y1} Q${mx},${my} ${x2},${y2}" stroke="${color(d.asset_type)}" stroke-width="${1.5 + Math.min(4, d.units)}" fill="none" opacity=".8" marker-end="url(#arrow)"><title>${esc(d.hub)} → ${esc(d.mission)}: ${num(d.units)} ${esc(d.asset_type)} by ${esc(d.route)}, ${num(d.response_hours, 1)} h</title></path>`;
  }
  const hubState = Object.fromEntries(r.map.hubs.map((h) => [h.id, h]));
  let marks = "";
  for (const n of nodes) {
    const x = X(n.lon), y = Y(n.lat);
    if (n.kind === "mission") {
      const miss = unmet.some((u) => u.mission === n.id);
      marks += `<g class="mission"><path d="M${x},${y - 6}L${x + 6},${y + 5}L${x - 6},${y + 5}Z" fill="${miss ? "#fff" : "#c0392b"}" stroke="#7b241c"/><text x="${x + 7}" y="${y + 4}" font-size="10">${esc(n.id)}</text><title>${esc(n.name)} (mission)${miss ? ": demand unmet" : ""}</title></g>`;
    }
  }
  for (const h of r.map.hubs) {
    const n = at[h.id]; if (!n) continue;
    const x = X(n.lon), y = Y(n.lat);
    const units = Object.entries(h.units);
    const label = units.map(([t, u]) => `${num(u)} ${t}`).join(", ");
    if (h.state === "open") {
      marks += `<g class="hub open" data-hub="${esc(h.id)}"><rect x="${x - 7}" y="${y - 7}" width="14" height="14" fill="#117a65" stroke="#0b3d32" stroke-width="1.5"/>`;
      units.forEach(([t, u], i) => { marks += `<rect x="${x + 9 + i * 7}" y="${y - 6}" width="6" height="${Math.min(24, 4 + 4 * u)}" fill="${color(t)}"/>`; });
      marks += `<text x="${x - 8}" y="${y + 19}" font-size="11" font-weight="700">${esc(h.id)}</text><title>${esc(n.name)}: open; ${esc(label || "no units")}</title></g>`;
    } else {
      const cls = h.state === "excluded" ? "excluded" : "closed";
      marks += `<g class="hub ${cls}" data-hub="${esc(h.id)}"><rect x="${x - 5}" y="${y - 5}" width="10" height="10" fill="#fff" stroke="#7f8c8d" stroke-width="1.5" ${cls === "excluded" ? 'stroke-dasharray="2,2"' : ""}/><text x="${x + 7}" y="${y + 12}" font-size="9" fill="#566">${esc(h.id)}</text><title>${esc(n.name)}: ${cls}</title></g>`;
    }
  }
  const legend = `<div class="legend"><span>■ open hub</span><span>□ closed hub</span><span style="color:#c0392b">▲ mission</span><span>△ unmet demand</span>` +
    typeIds.map((t) => `<span><span style="color:${color(t)}">━</span> ${esc(t)}</span>`).join("") + `<span>basemap: Natural Earth</span></div>`;
  el.innerHTML = `<svg viewBox="0 0 ${W} ${H}" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="map of the plan">
    <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="5" markerHeight="5" orient="auto"><path d="M0,0L10,5L0,10Z" fill="#333"/></marker></defs>
    <rect width="${W}" height="${H}" fill="#dbe9f4"/><path d="${land}" fill="#efece3" stroke="#a39e8f" stroke-width=".7"/>${arcs}${marks}</svg>${legend}`;
  el.dataset.scenario = $("#scenario-select").value;
  el.dataset.arcs = String(dispatch.filter((d) => d.hub !== d.mission).length);
}

// --- differences and planner tools ----------------------------------------------------------------
async function showDiff() {
  const a = $("#diff-a").value, b = $("#diff-b").value;
  if (!a || !b) return;
  const d = await api("GET", `/api/diff?a=${a}&b=${b}`);
  const out = $("#diff-out");
  const arrow = (x, digits) => `<span class="${x > 0 ? "up" : x < 0 ? "down" : ""}">${signed(x, digits)}</span>`;
  let html = `<h3>Run ${d.a} → Run ${d.b}</h3>`;
  html += d.settings.length ? `<div class="changes">edits: ${esc(d.settings.join("; "))}</div>` : "";
  html += `<p data-testid="hubs-opened">hubs opened: <strong>${esc(d.hubs_opened.join(", ") || "none")}</strong></p>`;
  html += `<p data-testid="hubs-closed">hubs closed: <strong>${esc(d.hubs_closed.join(", ") || "none")}</strong></p>`;
  html += `<h3>Costs</h3><table class="data" data-testid="diff-costs"><thead><tr><th>part</th><th class="num">A</th><th class="num">B</th><th class="num">change</th></tr></thead><tbody>` +
    d.costs.map((c) => `<tr data-part="${c.part}"><td>${c.part}</td><td class="num" data-value="${c.a}">${num(c.a)}</td><td class="num" data-value="${c.b}">${num(c.b)}</td><td class="num" data-value="${c.change}">${arrow(c.change)}</td></tr>`).join("") + "</tbody></table>";
  html += `<h3>Service</h3><table class="data" data-testid="diff-service"><thead><tr><th>measure</th><th class="num">A</th><th class="num">B</th><th class="num">change</th></tr></thead><tbody>` +
    d.service.map((c) => `<tr data-key="${c.key}"><td>${esc(c.metric)}</td><td class="num" data-value="${c.a ?? ""}">${num(c.a, 2)}</td><td class="num" data-value="${c.b ?? ""}">${num(c.b, 2)}</td><td class="num" data-value="${c.change ?? ""}">${c.change === null ? "–" : signed(c.change, 2)}</td></tr>`).join("") + "</tbody></table>";
  html += `<h3>Units moved</h3>`;
  html += d.units.length ? `<table class="data sortable" id="diff-units" data-testid="diff-units"></table>` : "<p>no change in stationing</p>";
  out.innerHTML = html;
  if (d.units.length) table($("#diff-units"), ["hub", "type", "A", "B", "change"], d.units.map((u) => [u.hub, u.asset_type, u.a, u.b, u.change]));
}

function renderAnalyses(list) {
  const el = $("#analyses");
  if (el.dataset.count === String(list.length)) return;
  el.dataset.count = String(list.length);
  el.innerHTML = list.slice().reverse().map((a) => `<div class="analysis" data-testid="analysis-${a.kind}"><h3>${esc(a.title)} <small>${num(a.seconds, 1)} s</small></h3>
    <img src="/api/analyses/${a.id}.png" alt="${esc(a.title)}">${(a.notes || []).map((n) => `<p><small>${esc(n)}</small></p>`).join("")}
    <table class="data sortable" id="analysis-${a.id}"></table></div>`).join("");
  for (const a of list) table($(`#analysis-${a.id}`), a.columns, a.rows);
}

// --- opening files ---------------------------------------------------------------------------
async function openBundled() {
  try {
    const st = await api("POST", "/api/open", { bundled: $("#bundled").value });
    showBox($("#open-errors"), null, []);
    applyState(st, true);
  } catch (e) { const d = e.data || {}; showBox($("#open-errors"), d.headline || e.message, d.messages); }
}
async function upload(ev) {
  const f = ev.target.files[0];
  if (!f) return;
  const fd = new FormData(); fd.append("file", f);
  try {
    const st = await api("POST", "/api/upload", fd);
    showBox($("#open-errors"), null, []);
    applyState(st, true);
  } catch (e) {
    const d = e.data || {};
    showBox($("#open-errors"), `${f.name}: not opened${d.headline ? " — " + d.headline : ""}`, d.messages || [e.message]);
  }
  ev.target.value = "";
}

// --- wiring ---------------------------------------------------------------------------------
function wire() {
  $("#edit").addEventListener("input", (e) => { if (e.target.matches("input, select")) scheduleSave(); });
  $("#edit").addEventListener("change", (e) => { if (e.target.matches("input[type=checkbox], select")) scheduleSave(); });
  $("#scen-all").addEventListener("click", (e) => { e.preventDefault(); document.querySelectorAll("#scenarios input").forEach((c) => { c.checked = true; }); scheduleSave(); });
  $("#solve").addEventListener("click", () => startJob("/api/solve", { settings: gather(), time_limit: $("#time-limit").value || null }));
  $("#stop").addEventListener("click", async () => { $("#stop").disabled = true; await api("POST", "/api/stop"); });
  $("#reset").addEventListener("click", async () => { const st = await api("POST", "/api/settings", { settings: {} }); applyState(st, true); });
  $("#compare").addEventListener("click", () => saveSettings().then(() => startJob("/api/compare", {})));
  $("#sweep").addEventListener("click", () => saveSettings().then(() => startJob("/api/sweep", { param: $("#sweep-param").value, values: $("#sweep-values").value })));
  $("#diff").addEventListener("click", () => showDiff().catch(showJobError));
  $("#diff-b").addEventListener("change", () => { $("#diff-b").dataset.touched = "1"; });
  $("#run-select").addEventListener("change", () => showRun($("#run-select").value));
  $("#scenario-select").addEventListener("change", drawScenario);
  $("#open-bundled").addEventListener("click", openBundled);
  $("#upload").addEventListener("change", upload);
  window.addEventListener("pagehide", () => { if (S.jobRunning) navigator.sendBeacon("/api/leave"); });
}

wire();
async function waitForSolver() {
  while (S.state && !S.state.solver_ready) {
    await new Promise((res) => setTimeout(res, 500));
    const st = await api("GET", "/api/state");
    if (!S.jobRunning) { S.state.solver_ready = st.solver_ready; renderJob(S.state.job); }
    else S.state.solver_ready = st.solver_ready;
  }
}

loadState().then((st) => {
  landRings();
  waitForSolver();
  if (st.job && st.job.state === "running") poll();
  else if (st.runs.length) showRun(st.runs[st.runs.length - 1].id);
}).catch((e) => showBox($("#open-errors"), "The workspace did not load", [e.message]));
