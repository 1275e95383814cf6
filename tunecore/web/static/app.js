// tunecore dashboard: polls /api/history and draws the trials table, learning curves, a Pareto
// front of two metrics and parallel coordinates (with the parameters' importances from
// /api/importances) with plain SVG and HTML. No third-party code; the token stays in
// sessionStorage and travels only in the Authorization header.
"use strict";

const SVGNS = "http://www.w3.org/2000/svg";
const TOKEN_KEY = "tunecore.token";
const POLL_MS = 1000;
const PALETTE = ["#2b6cde", "#e4572e", "#17a398", "#8e44ad", "#f3a712", "#29335c", "#db2b39",
  "#3c91e6", "#5c946e", "#a23b72", "#c06014", "#6b7a8f"];
const PREFERRED = ["episode_reward_mean", "mean_accuracy", "neg_mean_loss", "mean_loss", "accuracy", "loss"];
const AUTO = new Set(["training_iteration", "time_total_s", "time_this_iter_s", "time_since_restore",
  "timesteps_since_restore", "iterations_since_restore", "timesteps_total", "timesteps_this_iter"]);
const ACTIVE = new Set(["RUNNING", "PENDING", "PAUSED"]);

const state = {
  token: sessionStorage.getItem(TOKEN_KEY), gen: "", cursor: 0, live: false, experiment: "",
  trials: [], order: new Map(), rows: new Map(), events: [], metric: null, mode: null,
  sort: { key: "__metric", dir: -1 }, hover: null, timer: null, stopping: new Set(), version: 0,
  drawn: -1, objective: null, selected: null,
  // the Pareto view's axes (``chosen``: picked by the user, else the defaults follow the run)
  pareto: { x: null, y: null, chosen: false, modes: new Map() },
  // the last /api/importances answer; ``key`` says for which metric and finished trials
  imp: { key: "", data: null, error: null, loading: false },
};
const FINISHED = new Set(["TERMINATED", "ERROR"]);

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVGNS, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function fmt(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") {
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : v.toPrecision(4).replace(/\.?0+$/, "");
  }
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function flatten(obj, prefix = "", out = {}) {
  for (const [k, v] of Object.entries(obj || {})) {
    const key = prefix ? `${prefix}/${k}` : k;
    if (v && typeof v === "object" && !Array.isArray(v)) flatten(v, key, out);
    else out[key] = v;
  }
  return out;
}

function toast(msg) {
  const t = $("toast");
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 5000);
}

// ---- auth & polling ----------------------------------------------------------------------
function showLogin(message) {
  clearTimeout(state.timer);
  $("app").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  $("login-error").hidden = !message;
  $("login-error").textContent = message || "";
  $("token-input").focus();
}

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: `Bearer ${state.token}` }, options.headers || {});
  const resp = await fetch(path, Object.assign({ cache: "no-store", credentials: "omit" }, options, { headers }));
  let body = {};
  try { body = await resp.json(); } catch (e) { body = {}; }
  if (resp.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    showLogin("That token was not accepted.");
    throw new Error("unauthorized");
  }
  if (!resp.ok) throw new Error(body.message || `HTTP ${resp.status}`);
  return body;
}

async function poll() {
  clearTimeout(state.timer);
  try {
    const data = await api(`/api/history?since=${state.cursor}&gen=${encodeURIComponent(state.gen)}`);
    $("login").hidden = true;
    $("app").hidden = false;
    $("logout").hidden = false;
    ingest(data);
    render();
    $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (e) {
    if (e.message === "unauthorized") return;
    const badge = $("live-badge");
    badge.textContent = "disconnected";
    badge.className = "badge badge-idle";
  }
  state.timer = setTimeout(poll, POLL_MS);
}

function ingest(data) {
  if (data.reset) { state.rows = new Map(); state.events = []; }
  state.gen = data.generation;
  state.cursor = data.cursor;
  state.live = data.live;
  state.experiment = data.experiment || "";
  const objective = JSON.stringify(data.objective || null);
  if (objective !== JSON.stringify(state.objective)) { state.objective = data.objective || null; state.version += 1; }
  const before = JSON.stringify(state.trials);
  state.trials = data.trials || [];
  state.trials.forEach((t) => { if (!state.order.has(t.id)) state.order.set(t.id, state.order.size); });
  for (const { t, r } of data.results || []) {
    if (!state.rows.has(t)) state.rows.set(t, new Map());
    state.rows.get(t).set(r.training_iteration, r);
  }
  for (const ev of data.events || []) state.events.push(ev);
  if ((data.results || []).length || (data.events || []).length || data.reset || before !== JSON.stringify(state.trials)) {
    state.version += 1;
  }
}

// ---- derived data ------------------------------------------------------------------------
function metricNames() {
  const names = new Set();
  for (const rows of state.rows.values()) for (const r of rows.values()) Object.keys(r).forEach((k) => names.add(k));
  for (const t of state.trials) Object.keys(t.metrics || {}).forEach((k) => names.add(k));
  const user = [...names].filter((n) => !AUTO.has(n)).sort();
  return user.concat([...names].filter((n) => AUTO.has(n)).sort());
}

// the run's objective (``{metric, mode, constraints}`` from the server, or null)
function objectiveMetrics() {
  const o = state.objective;
  if (!o || o.metric === null || o.metric === undefined) return [];
  return Array.isArray(o.metric) ? o.metric : [o.metric];
}

// the run's mode for ``metric``, or null when the run did not say
function objectiveMode(metric) {
  const o = state.objective;
  if (!o) return null;
  if (Array.isArray(o.metric)) {
    const i = o.metric.indexOf(metric);
    return i >= 0 && Array.isArray(o.mode) && ["min", "max"].includes(o.mode[i]) ? o.mode[i] : null;
  }
  return o.metric === metric && ["min", "max"].includes(o.mode) ? o.mode : null;
}

function constraintsOf() { return (state.objective && state.objective.constraints) || []; }

function pickMetric(names) {
  if (state.metric && names.includes(state.metric)) return state.metric;
  return objectiveMetrics().find((n) => names.includes(n)) || PREFERRED.find((n) => names.includes(n))
    || names.find((n) => !AUTO.has(n)) || names[0] || null;
}

function guessMode(metric) {
  return /loss|error|err$|regret|time/i.test(metric || "") && !/^neg_/.test(metric || "") ? "min" : "max";
}

function modeOf(metric) { return objectiveMode(metric) || guessMode(metric); }

function series(trialId, metric) {
  const rows = state.rows.get(trialId);
  if (!rows) return [];
  return [...rows.values()].filter((r) => typeof r[metric] === "number")
    .map((r) => [r.training_iteration, r[metric]]).sort((a, b) => a[0] - b[0]);
}

function better(a, b) { return state.mode === "min" ? a < b : a > b; }

function trialScore(t) {
  let best = null;
  for (const [, y] of series(t.id, state.metric)) if (best === null || better(y, best)) best = y;
  const last = t.metrics ? t.metrics[state.metric] : undefined;
  if (typeof last === "number" && (best === null || better(last, best))) best = last;
  return best;
}

function colorOf(id) { return PALETTE[(state.order.get(id) || 0) % PALETTE.length]; }

// ---- endings (computed by the server from what the runner recorded; see tunecore/endings.py)
const ENDING_KIND = { stop_criterion: "finished", returned: "finished", unknown: "finished", scheduler: "stopped",
  early: "stopped", user: "stop-request", error: "error", paused: "paused", experiment: "stopped" };

const EXPERIMENT_REASON = { stopper: "a stopper ended the experiment", time_budget_s: "the time budget ran out",
  fail_fast: "fail_fast: another trial failed" };

function earlyStopped(t) { return Boolean(t.ending) && (t.ending.how === "scheduler" || t.ending.how === "early"); }

function short(text, n) { text = String(text || ""); return text.length > n ? `${text.slice(0, n - 1)}…` : text; }

function criterionText(criterion) {
  return Object.entries(criterion || {}).map(([k, v]) => `${k} ≥ ${fmt(v)}`).join(", ");
}

// the chip next to a trial's status
function endingChip(e) {
  const by = e.scheduler ? ` by ${e.scheduler}` : "";
  const text = {
    stop_criterion: "met stop criterion", returned: "returned", scheduler: `stopped early by ${e.scheduler || "the scheduler"}`,
    user: "stopped by user", error: e.error ? `error: ${short(e.error, 48)}` : "error", paused: `paused${by}`,
    early: "stopped early", unknown: "ended",
    experiment: `stopped: ${EXPERIMENT_REASON[e.reason] || "the experiment ended"}`,
  }[e.how] || String(e.how);
  return e.inferred ? `${text} (inferred)` : text;
}

// the line of the "Endings and scheduler decisions" list (``e`` is an ending or an "ended" record)
function endingText(who, e) {
  const at = e.iteration !== null && e.iteration !== undefined ? ` at iteration ${fmt(e.iteration)}` : "";
  const crit = criterionText(e.criterion);
  let text = {
    stop_criterion: `${who} met its stop criterion${crit ? ` (${crit})` : ""}${at}`,
    returned: `${who} finished on its own (the trainable returned)${at}`,
    scheduler: `${who} stopped early by ${e.scheduler || "the scheduler"}${at}`,
    user: `${who} stopped by a user (dashboard or API)${at}`,
    experiment: `${who} stopped${at}: ${EXPERIMENT_REASON[e.reason] || "the experiment ended"}`,
    error: `${who} failed${at}${e.error ? `: ${e.error}` : ""}`,
    paused: `${who} paused${e.scheduler ? ` by ${e.scheduler}` : ""}${at}`,
    early: `${who} ended${at} before meeting its stop criterion: stopped early`,
  }[e.how] || `${who} ended${at}`;
  if (e.inferred) text += " (inferred from its results: the run did not record how it ended)";
  return text;
}

function isExploit(ev) { return /exploit/.test(String(ev.event || ev.type || "")); }

function exploitsOf(id) { return state.events.filter((e) => e.t === id && isExploit(e)); }

// ---- scales ------------------------------------------------------------------------------
function niceTicks(lo, hi, n = 5) {
  if (!(hi > lo)) { const d = Math.abs(lo) || 1; lo -= d / 2; hi += d / 2; }
  const step0 = (hi - lo) / n;
  const mag = Math.pow(10, Math.floor(Math.log10(step0)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= step0) || step0;
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(+v.toPrecision(12));
  return { lo: Math.min(lo, ticks[0]), hi: Math.max(hi, ticks[ticks.length - 1]), ticks };
}

function linear(d0, d1, r0, r1) {
  const span = d1 - d0 || 1;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

function size(svg) {
  const box = svg.parentNode.getBoundingClientRect();
  const w = Math.max(320, Math.round(box.width)), h = Math.max(200, Math.round(box.height));
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  return [w, h];
}

function emptyPlot(svg, w, h, text) {
  svg.append(el("svg:text", { x: w / 2, y: h / 2, "text-anchor": "middle", class: "empty", text }));
}

// ---- learning curves ---------------------------------------------------------------------
function drawCurves(bestId) {
  const svg = $("curves");
  svg.replaceChildren();
  const [w, h] = size(svg);
  const m = { l: 58, r: 16, t: 12, b: 34 };
  const all = state.trials.map((t) => [t, series(t.id, state.metric)]).filter(([, s]) => s.length);
  svg.dataset.lines = String(all.length);
  if (!state.metric || !all.length) { emptyPlot(svg, w, h, "Waiting for results…"); $("curves-legend").replaceChildren(); return; }
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const [, s] of all) for (const [x, y] of s) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  const xs = niceTicks(Math.min(0, x0), x1), ys = niceTicks(y0, y1);
  const X = linear(xs.lo, xs.hi, m.l, w - m.r), Y = linear(ys.lo, ys.hi, h - m.b, m.t);
  const axis = el("svg:g", { class: "axis" });
  for (const v of ys.ticks) {
    axis.append(el("svg:line", { x1: m.l, x2: w - m.r, y1: Y(v), y2: Y(v), class: "gridline" }));
    axis.append(el("svg:text", { x: m.l - 6, y: Y(v) + 4, "text-anchor": "end", text: fmt(v) }));
  }
  for (const v of xs.ticks) axis.append(el("svg:text", { x: X(v), y: h - m.b + 16, "text-anchor": "middle", text: fmt(v) }));
  axis.append(el("svg:line", { x1: m.l, x2: w - m.r, y1: h - m.b, y2: h - m.b }));
  axis.append(el("svg:line", { x1: m.l, x2: m.l, y1: m.t, y2: h - m.b }));
  axis.append(el("svg:text", { x: (m.l + w - m.r) / 2, y: h - 4, "text-anchor": "middle", text: "training_iteration" }));
  axis.append(el("svg:text", { x: m.l + 6, y: m.t + 10, class: "ylabel", text: state.metric }));
  svg.append(axis);
  const lines = el("svg:g", {});
  const ordered = all.sort(([a], [b]) => (a.id === bestId) - (b.id === bestId) || (a.id === focusId()) - (b.id === focusId()));
  for (const [t, s] of ordered) {
    const d = s.map(([x, y], i) => `${i ? "L" : "M"}${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join("");
    let cls = "curve";
    if (t.id === bestId) cls += " best";
    if (focusId()) cls += t.id === focusId() ? " hover" : " dim";
    const path = el("svg:path", { d, class: cls, stroke: colorOf(t.id), "data-trial": t.id,
      onmouseenter: () => setHover(t.id), onmouseleave: () => setHover(null) },
      el("svg:title", { text: `${t.name}\n${state.metric}: ${fmt(s[s.length - 1][1])}` }));
    lines.append(path);
    const at = new Map(s);
    for (const ev of exploitsOf(t.id)) {
      const y = at.get(ev.iteration);
      if (y === undefined) continue;
      const cx = X(ev.iteration), cy = Y(y);
      lines.append(el("svg:path", { d: `M${cx},${cy - 6}L${cx + 6},${cy}L${cx},${cy + 6}L${cx - 6},${cy}Z`, class: "marker-exploit" },
        el("svg:title", { text: `exploit: ${t.name} <- ${ev.source_trial || "?"} at iteration ${ev.iteration}` })));
    }
    const last = s[s.length - 1];
    if (t.status === "PAUSED") lines.append(el("svg:circle", { cx: X(last[0]), cy: Y(last[1]), r: 4.5, class: "marker-pause" }, el("svg:title", { text: `${t.name} is paused` })));
    if (earlyStopped(t)) lines.append(el("svg:rect", { x: X(last[0]) - 4, y: Y(last[1]) - 4, width: 8, height: 8, class: "marker-stop" }, el("svg:title", { text: endingText(t.name, t.ending) })));
  }
  svg.append(lines);
  const legend = $("curves-legend");
  legend.replaceChildren();
  const best = state.trials.find((t) => t.id === bestId);
  if (best) {
    const sw = el("span", { class: "sw" }); sw.style.background = colorOf(best.id); sw.style.height = "4px";
    legend.append(el("span", {}, sw, `best: ${best.name}`));
  }
  legend.append(el("span", {}, "◆ PBT exploit"), el("span", {}, "○ paused"), el("span", {}, "■ stopped early"));
}

// the trial shown highlighted: the one under the pointer, else the one selected by a click
function focusId() { return state.hover || state.selected; }

function setHover(id) {
  if (state.hover === id) return;
  state.hover = id;
  applyHighlight();
}

// a click on a trial (a Pareto point or a table row) selects it until clicked again
function selectTrial(id) {
  state.selected = state.selected === id ? null : id;
  render(true);
}

function applyHighlight() {
  const id = focusId();
  for (const p of document.querySelectorAll("#curves path.curve, #parcoords path.pc-line, #pareto circle.pt")) {
    p.classList.remove("hover", "dim");
    if (id) p.classList.add(p.dataset.trial === id ? "hover" : "dim");
    if (p.matches("circle.pt")) p.classList.toggle("selected", p.dataset.trial === state.selected);
  }
  for (const tr of document.querySelectorAll("#trials tbody tr")) {
    tr.classList.toggle("hovered", tr.dataset.trial === id);
    tr.classList.toggle("selected", tr.dataset.trial === state.selected);
  }
}

// ---- parallel coordinates ----------------------------------------------------------------
function viridis(f) {
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const x = Math.max(0, Math.min(1, f)) * (stops.length - 1), i = Math.min(stops.length - 2, Math.floor(x)), r = x - i;
  const c = stops[i].map((v, k) => Math.round(v + (stops[i + 1][k] - v) * r));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

function drawParcoords(bestId, scores) {
  const svg = $("parcoords");
  svg.replaceChildren();
  const [w, h] = size(svg);
  const configs = new Map(state.trials.map((t) => [t.id, flatten(t.config)]));
  const keys = [...new Set([].concat(...[...configs.values()].map(Object.keys)))].filter((k) => {
    const vals = [...configs.values()].map((c) => c[k]).filter((v) => v !== undefined);
    return vals.length && vals.every((v) => v === null || ["number", "string", "boolean"].includes(typeof v));
  }).sort();
  svg.dataset.axes = String(keys.length + 1);
  if (!state.trials.length || !keys.length) { emptyPlot(svg, w, h, state.trials.length ? "No hyperparameters to compare" : "Waiting for trials…"); return; }
  const dims = keys.map((k) => ({ key: k, get: (t) => configs.get(t.id)[k] })).concat([{ key: state.metric || "metric", get: (t) => scores.get(t.id), metric: true }]);
  const m = { l: 40, r: 60, t: 30, b: 22 };
  const step = dims.length > 1 ? (w - m.l - m.r) / (dims.length - 1) : 0;
  for (const [i, d] of dims.entries()) {
    d.x = m.l + i * step;
    const vals = state.trials.map(d.get).filter((v) => v !== undefined && v !== null);
    if (vals.length && vals.every((v) => typeof v === "number")) {
      const lo = Math.min(...vals), hi = Math.max(...vals), pad = lo === hi ? 1 : (hi - lo) * 0.04;
      const s = linear(lo - pad, hi + pad, h - m.b, m.t);
      d.y = (v) => (typeof v === "number" ? s(v) : null);
      d.labels = [[lo, s(lo)], [hi, s(hi)]];
    } else {
      const cats = [...new Set(vals.map(String))].sort();
      const s = linear(0, Math.max(1, cats.length - 1), h - m.b, m.t);
      d.y = (v) => (v === undefined || v === null ? null : s(cats.length === 1 ? 0.5 : cats.indexOf(String(v))));
      d.labels = cats.slice(0, 12).map((c, j) => [c, s(cats.length === 1 ? 0.5 : j)]);
    }
  }
  const sv = [...scores.values()].filter((v) => typeof v === "number");
  const lo = Math.min(...sv), hi = Math.max(...sv);
  const lines = el("svg:g", {});
  const ordered = [...state.trials].sort((a, b) => (a.id === bestId) - (b.id === bestId));
  for (const t of ordered) {
    const pts = dims.map((d) => [d.x, d.y(d.get(t))]).filter(([, y]) => y !== null);
    if (pts.length < 2) continue;
    const score = scores.get(t.id);
    let f = typeof score === "number" && hi > lo ? (score - lo) / (hi - lo) : 0.5;
    if (state.mode === "min") f = 1 - f;
    let cls = "pc-line" + (t.id === bestId ? " best" : "");
    if (focusId()) cls += t.id === focusId() ? " hover" : " dim";
    lines.append(el("svg:path", { d: pts.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`).join(""),
      class: cls, stroke: typeof score === "number" ? viridis(f) : "#b8c0cc", "data-trial": t.id,
      onmouseenter: () => setHover(t.id), onmouseleave: () => setHover(null) },
      el("svg:title", { text: `${t.name}\n${state.metric}: ${fmt(score)}` })));
  }
  svg.append(lines);
  const axes = el("svg:g", { class: "axis" });
  for (const d of dims) {
    axes.append(el("svg:line", { x1: d.x, x2: d.x, y1: m.t, y2: h - m.b }));
    const anchor = d === dims[0] ? "start" : d === dims[dims.length - 1] ? "end" : "middle";
    axes.append(el("svg:text", { x: d.x, y: m.t - 12, "text-anchor": anchor, class: "pc-axis-label", text: d.key }));
    for (const [label, y] of d.labels) axes.append(el("svg:text", { x: d.x + 5, y: y + 4, text: fmt(label) }));
  }
  svg.append(axes);
}

// ---- Pareto front ------------------------------------------------------------------------
// a trial is feasible when each of the run's constraints is a number <= 0 in its last result
function feasibleTrial(t) {
  return constraintsOf().every((k) => typeof (t.metrics || {})[k] === "number" && t.metrics[k] <= 0);
}

// which of ``points`` ({v: [x, y], feasible}) are non-dominated among the feasible ones, for
// ``modes`` ("min"/"max" per axis); the same rule as tunecore.pareto.front_indices
function paretoFront(points, modes) {
  const signed = points.map((p) => p.v.map((v, k) => (modes[k] === "max" ? -v : v)));
  return points.map((p, i) => p.feasible && !points.some((q, j) => j !== i && q.feasible
    && signed[j].every((v, k) => v <= signed[i][k]) && signed[j].some((v, k) => v < signed[i][k])));
}

// the run's first two objectives when it has several, else the first two metrics
function paretoDefaults(names) {
  const o = state.objective;
  const first = o && Array.isArray(o.metric) ? o.metric.filter((m) => names.includes(m)) : [];
  return [...new Set(first.concat(names))];
}

function paretoAxes(names) {
  const p = state.pareto;
  const defaults = paretoDefaults(names);
  if (!p.chosen || !names.includes(p.x)) p.x = defaults[0] || null;
  if (!p.chosen || !names.includes(p.y) || p.y === p.x) p.y = defaults.find((n) => n !== p.x) || null;
  return [p.x, p.y];
}

function axisMode(metric) { return objectiveMode(metric) || state.pareto.modes.get(metric) || guessMode(metric); }

function fillSelect(select, names, value) {
  if (select.dataset.names !== names.join("\n")) {
    select.replaceChildren(...names.map((n) => el("option", { value: n, text: n })));
    select.dataset.names = names.join("\n");
  }
  select.value = value || "";
}

function drawPareto(names) {
  const svg = $("pareto");
  svg.replaceChildren();
  const [w, h] = size(svg);
  const [x, y] = paretoAxes(names);
  for (const [axis, metric] of [["x", x], ["y", y]]) {
    fillSelect($(`pareto-${axis}`), names, metric);
    const mode = $(`pareto-${axis}-mode`), known = objectiveMode(metric);
    mode.value = axisMode(metric);
    mode.disabled = Boolean(known) || !metric;
    mode.title = known ? "the run's mode for this metric" : "the run does not say: choose";
  }
  const modes = [axisMode(x), axisMode(y)];
  const points = [];
  for (const t of state.trials) {
    const vx = (t.metrics || {})[x], vy = (t.metrics || {})[y];
    if (typeof vx === "number" && typeof vy === "number" && Number.isFinite(vx) && Number.isFinite(vy)) {
      points.push({ t, v: [vx, vy], feasible: feasibleTrial(t) });
    }
  }
  const front = paretoFront(points, modes);
  points.forEach((p, i) => { p.front = front[i]; });
  const onFront = points.filter((p) => p.front);
  Object.assign(svg.dataset, { points: String(points.length), front: String(onFront.length), x: x || "", y: y || "" });
  const legend = $("pareto-legend");
  legend.replaceChildren();
  if (!x || !y) { emptyPlot(svg, w, h, names.length ? "Needs two numeric metrics" : "Waiting for results…"); return; }
  if (!points.length) { emptyPlot(svg, w, h, `No trial has reported both ${x} and ${y} yet`); return; }
  const m = { l: 58, r: 18, t: 24, b: 36 };
  // a little room around the points, so none sits on an axis
  const padded = (k) => {
    const lo = Math.min(...points.map((p) => p.v[k])), hi = Math.max(...points.map((p) => p.v[k]));
    const pad = hi > lo ? (hi - lo) * 0.06 : Math.abs(lo) * 0.1 || 1;
    return niceTicks(lo - pad, hi + pad);
  };
  const xs = padded(0), ys = padded(1);
  const X = linear(xs.lo, xs.hi, m.l, w - m.r), Y = linear(ys.lo, ys.hi, h - m.b, m.t);
  const axis = el("svg:g", { class: "axis" });
  for (const v of ys.ticks) {
    axis.append(el("svg:line", { x1: m.l, x2: w - m.r, y1: Y(v), y2: Y(v), class: "gridline" }));
    axis.append(el("svg:text", { x: m.l - 6, y: Y(v) + 4, "text-anchor": "end", text: fmt(v) }));
  }
  for (const v of xs.ticks) axis.append(el("svg:text", { x: X(v), y: h - m.b + 16, "text-anchor": "middle", text: fmt(v) }));
  axis.append(el("svg:line", { x1: m.l, x2: w - m.r, y1: h - m.b, y2: h - m.b }));
  axis.append(el("svg:line", { x1: m.l, x2: m.l, y1: m.t, y2: h - m.b }));
  axis.append(el("svg:text", { x: (m.l + w - m.r) / 2, y: h - 4, "text-anchor": "middle", text: `${x} (${modes[0]})` }));
  axis.append(el("svg:text", { x: m.l - 6, y: m.t - 10, class: "ylabel", text: `${y} (${modes[1]})` }));
  svg.append(axis);
  // the front as a staircase: between two neighbours, through the corner worse in both metrics
  const worse = (k, a, b) => ((modes[k] === "max") === (a < b) ? a : b);
  const steps = onFront.slice().sort((a, b) => a.v[0] - b.v[0] || (modes[1] === "max" ? b.v[1] - a.v[1] : a.v[1] - b.v[1]));
  if (steps.length > 1) {
    let d = `M${X(steps[0].v[0]).toFixed(1)},${Y(steps[0].v[1]).toFixed(1)}`;
    for (let i = 1; i < steps.length; i++) {
      const a = steps[i - 1].v, b = steps[i].v;
      d += `L${X(worse(0, a[0], b[0])).toFixed(1)},${Y(worse(1, a[1], b[1])).toFixed(1)}`;
      d += `L${X(b[0]).toFixed(1)},${Y(b[1]).toFixed(1)}`;
    }
    svg.append(el("svg:path", { d, class: "front-line", "data-points": String(steps.length) }));
  }
  const focus = focusId();
  const order = points.slice().sort((a, b) => a.front - b.front || (a.t.id === focus) - (b.t.id === focus));
  const dots = el("svg:g", {});
  const chosen = points.find((p) => p.t.id === state.selected);
  if (chosen) dots.append(el("svg:circle", { cx: X(chosen.v[0]).toFixed(1), cy: Y(chosen.v[1]).toFixed(1), r: 11, class: "pt-ring" }));
  for (const p of order) {
    const t = p.t;
    let cls = "pt" + (p.front ? " front" : "") + (p.feasible ? "" : " infeasible");
    if (focus) cls += t.id === focus ? " hover" : " dim";
    if (t.id === state.selected) cls += " selected";
    const tip = [t.name, `${x}: ${fmt(p.v[0])}`, `${y}: ${fmt(p.v[1])}`];
    if (p.front) tip.push("on the Pareto front");
    if (!p.feasible) tip.push(`infeasible: ${constraintsOf().join(", ")} must be ≤ 0`);
    dots.append(el("svg:circle", { cx: X(p.v[0]).toFixed(1), cy: Y(p.v[1]).toFixed(1), r: p.front ? 6 : 4.5,
      class: cls, fill: colorOf(t.id), "data-trial": t.id, "data-front": p.front ? "1" : null,
      "data-feasible": p.feasible ? "1" : "0", tabindex: "0", role: "button", "aria-label": tip.join(", "),
      onmouseenter: () => setHover(t.id), onmouseleave: () => setHover(null),
      onclick: () => selectTrial(t.id),
      onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); selectTrial(t.id); } } },
    el("svg:title", { text: tip.join("\n") })));
  }
  svg.append(dots);
  legend.append(el("span", {}, el("span", { class: "dot front" }), `on the Pareto front: ${onFront.length} of ${points.length}`));
  if (points.some((p) => !p.feasible)) legend.append(el("span", {}, el("span", { class: "dot infeasible" }), `infeasible (${constraintsOf().join(", ")} > 0)`));
  const sel = state.trials.find((t) => t.id === state.selected);
  legend.append(el("span", { id: "pareto-selected" }, sel ? `selected: ${sel.name} (click again to clear)` : "click a point to select its trial"));
}

// ---- parameter importances ---------------------------------------------------------------
function importanceKey() {
  return `${state.gen}|${state.metric}|${state.trials.filter((t) => FINISHED.has(t.status)).length}`;
}

async function refreshImportances() {
  if (!state.metric || state.imp.loading || importanceKey() === state.imp.key) return;
  const key = importanceKey(), metric = state.metric;
  state.imp.loading = true;
  drawImportances();
  try {
    const data = await api(`/api/importances?metric=${encodeURIComponent(metric)}`);
    state.imp = { key, data, error: null, loading: false };
  } catch (e) {
    state.imp.loading = false;
    if (e.message === "unauthorized") return;
    // a refusal carries the server's message; a failed fetch (offline) is tried again next time
    state.imp = { key: e instanceof TypeError ? "" : key, data: null, error: e.message, loading: false };
  }
  drawImportances();
  if (importanceKey() !== state.imp.key && state.imp.key) refreshImportances();
}

function drawImportances() {
  const { data, error, loading } = state.imp;
  const current = data && data.metric === state.metric ? data : null;
  $("importances-metric").textContent = state.metric || "the metric";
  const list = $("importances"), message = $("importances-message"), note = $("importances-note");
  const bars = current && !error ? current.importances || [] : [];
  const top = Math.max(1e-12, ...bars.map((b) => b.importance));
  list.replaceChildren(...bars.map((b) => {
    const fill = el("span", { class: "imp-fill" });
    fill.style.width = `${(100 * b.importance / top).toFixed(1)}%`;
    return el("li", { "data-param": b.param, "data-importance": String(b.importance), title: `${b.param}: ${fmt(b.importance)}` },
      el("span", { class: "imp-name", text: b.param }), el("span", { class: "imp-bar" }, fill),
      el("span", { class: "imp-val", text: `${(100 * b.importance).toFixed(0)}%` }));
  }));
  let text = "";
  if (error) text = error;
  else if (current && !bars.length) text = current.message || "No importances.";
  else if (!current) text = loading ? "Computing…" : "";
  message.textContent = text;
  message.hidden = !text;
  note.textContent = bars.length
    ? `random forest (mean decrease in impurity) over ${current.trials} finished trial${current.trials === 1 ? "" : "s"}` : "";
}

// ---- table -------------------------------------------------------------------------------
function columns(configKeys) {
  const cols = [
    { key: "__status", label: "Status", get: (t) => t.status },
    { key: "__name", label: "Trial", get: (t) => t.name },
    { key: "__iter", label: "Iter", num: true, get: (t) => t.metrics.training_iteration },
    { key: "__metric", label: `${state.metric || "metric"} (best)`, num: true, get: (t) => t.__score },
    { key: "__last", label: "last", num: true, get: (t) => t.metrics[state.metric] },
    { key: "__time", label: "Time (s)", num: true, get: (t) => t.metrics.time_total_s },
  ];
  for (const k of configKeys) cols.push({ key: `c:${k}`, label: k, config: true, get: (t) => flatten(t.config)[k] });
  if (state.live) cols.push({ key: "__actions", label: "", nosort: true });
  return cols;
}

function drawTable(bestId, scores) {
  const table = $("trials");
  const configKeys = [...new Set([].concat(...state.trials.map((t) => Object.keys(flatten(t.config)))))].sort();
  const cols = columns(configKeys);
  const col = cols.find((c) => c.key === state.sort.key) || cols[3];
  const trials = state.trials.map((t) => Object.assign({}, t, { __score: scores.get(t.id) }));
  trials.sort((a, b) => {
    const va = col.get ? col.get(a) : null, vb = col.get ? col.get(b) : null;
    if (va === undefined || va === null) return 1;
    if (vb === undefined || vb === null) return -1;
    const c = typeof va === "number" && typeof vb === "number" ? va - vb : String(va).localeCompare(String(vb), undefined, { numeric: true });
    return c * state.sort.dir * (col.key === "__metric" && state.mode === "min" ? -1 : 1);
  });
  const head = el("tr", {});
  for (const c of cols) {
    const th = el("th", { "data-key": c.key, class: c.key === state.sort.key ? "sorted" : null }, c.label);
    if (c.key === state.sort.key) th.append(el("span", { class: "arrow", text: state.sort.dir > 0 ? "▲" : "▼" }));
    if (!c.nosort) th.addEventListener("click", () => {
      state.sort = { key: c.key, dir: state.sort.key === c.key ? -state.sort.dir : (c.num ? -1 : 1) };
      render(true);
    });
    head.append(th);
  }
  table.tHead.replaceChildren(head);
  const body = document.createDocumentFragment();
  for (const t of trials) {
    const rowClass = [t.id === bestId ? "best-row" : "", t.id === focusId() ? "hovered" : "",
      t.id === state.selected ? "selected" : ""].filter(Boolean).join(" ");
    const tr = el("tr", { "data-trial": t.id, "data-status": t.status, class: rowClass || null,
      onmouseenter: () => setHover(t.id), onmouseleave: () => setHover(null),
      onclick: (e) => { if (!e.target.closest("button")) selectTrial(t.id); } });
    for (const c of cols) {
      if (c.key === "__status") {
        const td = el("td", {}, el("span", { class: `badge badge-${t.status}`, text: t.status }));
        const e = t.ending;
        if (e) {
          td.append(el("span", { class: `chip ending ending-${e.how}${e.inferred ? " inferred" : ""}`, "data-ending": e.how,
            title: endingText(t.name, e), text: endingChip(e) }));
        }
        const n = exploitsOf(t.id).length;
        if (n) td.append(el("span", { class: "chip exploit", text: `exploited ×${n}` }));
        if (t.num_failures) td.append(el("span", { class: "chip", text: `${t.num_failures} failures` }));
        tr.append(td);
      } else if (c.key === "__name") {
        const sw = el("span", { class: "swatch" }); sw.style.background = colorOf(t.id);
        tr.append(el("td", { title: t.error || t.id }, sw, t.name));
      } else if (c.key === "__actions") {
        const td = el("td", {});
        if (ACTIVE.has(t.status)) {
          td.append(el("button", { class: "stop", type: "button", "data-stop": t.id, disabled: state.stopping.has(t.id) ? "" : null,
            onclick: () => stopTrial(t), text: state.stopping.has(t.id) ? "Stopping…" : "Stop" }));
        }
        tr.append(td);
      } else {
        tr.append(el("td", { class: c.num || typeof c.get(t) === "number" ? "num" : null, text: fmt(c.get(t)) }));
      }
    }
    body.append(tr);
  }
  table.tBodies[0].replaceChildren(body);
}

async function stopTrial(t) {
  if (state.stopping.has(t.id)) return;
  state.stopping.add(t.id);
  render(true);
  try {
    await api(`/trials/${encodeURIComponent(t.id)}`, { method: "PUT", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ status: "TERMINATED" }) });
    toast(`Stopped ${t.name}`);
  } catch (e) {
    if (e.message !== "unauthorized") toast(`Could not stop ${t.name}: ${e.message}`);
  } finally {
    state.stopping.delete(t.id);
    poll();
  }
}

// ---- events ------------------------------------------------------------------------------
function describe(ev, names) {
  const kind = ev.event || ev.type || "event";
  const who = names.get(ev.t) || ev.t;
  if (isExploit(ev)) {
    const changes = Object.keys(flatten(ev.new_config || {})).filter((k) => JSON.stringify(flatten(ev.old_config || {})[k]) !== JSON.stringify(flatten(ev.new_config || {})[k]))
      .map((k) => `${k}: ${fmt(flatten(ev.old_config || {})[k])} → ${fmt(flatten(ev.new_config)[k])}`).join(", ");
    return ["exploit", `${who} copied ${names.get(ev.source_trial) || ev.source_trial || "?"} at iteration ${fmt(ev.iteration)}${changes ? "; " + changes : ""}`];
  }
  // an ending or a pause that is not the trial's current one (it was resumed or restarted since,
  // or its status has not caught up yet): shown as history
  if (kind === "ended") return [ENDING_KIND[ev.how] || "finished", endingText(who, ev)];
  if (kind === "stopped" && ev.by === "scheduler") return ["stopped", endingText(who, Object.assign({}, ev, { how: "scheduler" }))];
  if (kind === "paused" && ev.by === "scheduler") return ["paused", endingText(who, Object.assign({}, ev, { how: "paused" }))];
  if (kind === "status") {  // status changes seen while watching; endings come from the records
    const at = ev.iteration !== null && ev.iteration !== undefined ? ` at iteration ${ev.iteration}` : "";
    if (ev.to === "RUNNING" && ev.from === "PAUSED") return ["resumed", `${who} resumed${at}`];
    return [null, null];
  }
  return [kind, `${who}: ${Object.entries(ev).filter(([k]) => !["t", "s", "event", "type"].includes(k)).slice(0, 4).map(([k, v]) => `${k}=${fmt(v)}`).join(" ")}`];
}

function eventItem(kind, text, trial, how) {
  const label = { "stop-request": "stopped" }[kind] || kind;
  return el("li", { "data-kind": kind, "data-trial": trial || null, "data-ending": how || null },
    el("span", { class: `kind kind-${kind}`, text: label }), text);
}

function drawEvents() {
  const names = new Map(state.trials.map((t) => [t.id, t.name]));
  const byId = new Map(state.trials.map((t) => [t.id, t]));
  const list = $("events");
  const items = [];
  const shown = new Set();
  let history = 0;
  // newest first; each trial's ending stands where the record it comes from is
  for (const ev of state.events.slice().reverse()) {
    const t = byId.get(ev.t);
    if (t && t.ending && t.ending.s !== null && t.ending.s !== undefined && t.ending.s === ev.s && !shown.has(t.id)) {
      items.push(eventItem(ENDING_KIND[t.ending.how] || "finished", endingText(t.name, t.ending), t.id, t.ending.how));
      shown.add(t.id);
      continue;
    }
    if (history >= 300) continue;
    const [kind, text] = describe(ev, names);
    if (!kind) continue;
    items.push(eventItem(kind, text, ev.t));
    history += 1;
  }
  // endings not told by a record: an ERROR status, a pause after a Ctrl-C, or an old folder (inferred)
  for (const t of state.trials) {
    if (t.ending && !shown.has(t.id)) items.push(eventItem(ENDING_KIND[t.ending.how] || "finished", endingText(t.name, t.ending), t.id, t.ending.how));
  }
  list.replaceChildren(...items);
  $("no-events").hidden = items.length > 0;
}

// ---- page --------------------------------------------------------------------------------
function render(force) {
  const names = metricNames();
  const metric = pickMetric(names);
  if (metric !== state.metric) { state.metric = metric; state.mode = modeOf(metric); force = true; }
  if (!force && state.drawn === state.version) return;
  state.drawn = state.version;
  const select = $("metric");
  if (select.dataset.names !== names.join("\n")) {
    select.replaceChildren(...names.map((n) => el("option", { value: n, text: n })));
    select.dataset.names = names.join("\n");
  }
  select.value = state.metric || "";
  $("mode").value = state.mode || "max";
  $("experiment-name").textContent = state.experiment || "experiment";
  document.title = `${state.experiment || "experiment"} · tunecore`;
  const badge = $("live-badge");
  const active = state.trials.some((t) => ACTIVE.has(t.status));
  badge.textContent = state.live ? (active ? "live" : "finished") : "from disk (read-only)";
  badge.className = `badge ${state.live ? (active ? "badge-live" : "badge-idle") : "badge-disk"}`;
  const counts = {};
  state.trials.forEach((t) => { counts[t.status] = (counts[t.status] || 0) + 1; });
  $("counts").replaceChildren(...Object.entries(counts).map(([s, n]) => el("span", { class: `badge badge-${s}`, text: `${n} ${s.toLowerCase()}` })));
  const scores = new Map(state.trials.map((t) => [t.id, trialScore(t)]));
  let bestId = null;
  for (const [id, s] of scores) if (typeof s === "number" && (bestId === null || better(s, scores.get(bestId)))) bestId = id;
  const best = state.trials.find((t) => t.id === bestId);
  $("best").replaceChildren(...(best ? ["Best: ", el("b", { text: best.name }), ` ${state.metric} = ${fmt(scores.get(bestId))}`] : []));
  const objective = objectiveMetrics();
  $("objective").hidden = !objective.length;
  $("objective").textContent = objective.length ? `Objective: ${objective.map((n) => `${n} (${objectiveMode(n) || "?"})`).join(", ")}`
    + (constraintsOf().length ? ` · feasible when ${constraintsOf().map((c) => `${c} ≤ 0`).join(", ")}` : "") : "";
  drawCurves(bestId);
  drawPareto(names);
  drawParcoords(bestId, scores);
  drawTable(bestId, scores);
  drawEvents();
  drawImportances();
  refreshImportances();
}

function init() {
  $("login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const value = $("token-input").value.trim();
    if (!value) return;
    state.token = value;
    sessionStorage.setItem(TOKEN_KEY, value);
    $("token-input").value = "";
    state.gen = ""; state.cursor = 0;
    poll();
  });
  $("logout").addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); state.token = null; showLogin(); });
  $("metric").addEventListener("change", (e) => { state.metric = e.target.value; state.mode = modeOf(state.metric); render(true); });
  for (const axis of ["x", "y"]) {
    $(`pareto-${axis}`).addEventListener("change", (e) => {
      const p = state.pareto, other = axis === "x" ? "y" : "x";
      if (p[other] === e.target.value) p[other] = p[axis];  // picking the other axis's metric swaps them
      p[axis] = e.target.value;
      p.chosen = true;
      render(true);
    });
    $(`pareto-${axis}-mode`).addEventListener("change", (e) => {
      state.pareto.modes.set(state.pareto[axis], e.target.value);
      render(true);
    });
  }
  $("mode").addEventListener("change", (e) => { state.mode = e.target.value; render(true); });
  let resize;
  window.addEventListener("resize", () => { clearTimeout(resize); resize = setTimeout(() => render(true), 150); });
  if (state.token) poll(); else showLogin();
}

document.addEventListener("DOMContentLoaded", init);
