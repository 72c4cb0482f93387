/*
 * devwatch dashboard. Everything comes from two endpoints of the session:
 *
 *   GET /api/status  {"project": NAME, "version": V, "containers": [
 *                      {"name", "state", "ready", "function", "image",
 *                       "urls": [...], "replicas": [{"replica", "id",
 *                       "state", "ready"}], "last_update": {update fields}}]}
 *   GET /api/events  server-sent events (src/api/events.h lists the kinds:
 *                    state, update, log, progress, notice); ?since=0
 *                    replays the kept history first.
 *
 * and acts through POST /api/trigger/NAME, /api/restart/NAME and
 * /api/invoke/NAME (JSON bodies, as the API's guard requires). Text from
 * the session is only ever set as textContent, never parsed as HTML.
 */
'use strict';

const MAX_LOG_LINES = 4000;
const MAX_UPDATES = 200;
const containers = new Map(); // name -> {info from status, updates, progress}
const updates = [];           // every update event, oldest first
const logs = [];              // {time, container, stream, line}
let selected = null;          // a container name, or null for all
let lastId = 0;
let statusTimer = null;
let filter = { text: '', re: null };

const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function clock(ms) {
  const d = new Date(ms);
  return d.toLocaleTimeString([], { hour12: false });
}

function fmtMs(ms) {
  if (ms === undefined || ms === null) return '';
  if (ms >= 10000) return (ms / 1000).toFixed(1) + ' s';
  if (ms >= 1000) return (ms / 1000).toFixed(2) + ' s';
  if (ms >= 10) return Math.round(ms) + ' ms';
  return (Math.round(ms * 10) / 10) + ' ms';
}

function colourOf(name) {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return 'c' + (h % 8);
}

function toast(text, level) {
  const t = el('div', 'toast ' + (level || ''), text);
  $('toasts').appendChild(t);
  setTimeout(() => t.remove(), level === 'error' ? 9000 : 4500);
}

function entry(name) {
  let c = containers.get(name);
  if (!c) {
    c = { name, state: 'starting', ready: false, urls: [], replicas: [], progress: null };
    containers.set(name, c);
  }
  return c;
}

/* ---- status ---- */

async function loadStatus() {
  try {
    const r = await fetch('/api/status', { headers: { Accept: 'application/json' } });
    if (!r.ok) throw new Error('status ' + r.status);
    const s = await r.json();
    $('project').textContent = s.project || '';
    document.title = (s.project ? s.project + ' · ' : '') + 'devwatch';
    const seen = new Set();
    for (const info of s.containers || []) {
      const c = entry(info.name);
      Object.assign(c, info);
      seen.add(info.name);
    }
    for (const name of [...containers.keys()])
      if (!seen.has(name) && containers.get(name).state === 'removed') containers.delete(name);
    renderSide();
    renderDetail();
  } catch (e) {
    $('project').textContent = 'status unavailable';
  }
}

function refreshStatusSoon() {
  clearTimeout(statusTimer);
  statusTimer = setTimeout(loadStatus, 300);
}

/* ---- sidebar ---- */

function renderSummary() {
  const all = [...containers.values()];
  const ready = all.filter((c) => c.ready).length;
  const failed = all.filter(failing).length;
  const box = $('summary');
  box.replaceChildren();
  box.appendChild(el('span', 'pill ' + (ready === all.length && all.length ? 'ok' : ''),
    ready + ' / ' + all.length + ' ready'));
  if (failed) box.appendChild(el('span', 'pill bad', failed + ' failing'));
}

function renderSide() {
  const list = $('containers');
  list.replaceChildren();
  const names = [...containers.keys()].sort();
  for (const name of names) {
    const c = containers.get(name);
    const li = el('li');
    const b = el('button', 'item' + (selected === name ? ' selected' : ''));
    b.type = 'button';
    b.appendChild(el('span', 'state ' + (updateFailed(c) ? 'update-failed' : c.state || '')));
    const label = el('span', 'name', name);
    label.appendChild(el('span', 'sub', stateText(c) + (c.function ? ' · function' : '')));
    b.appendChild(label);
    const last = lastUpdateOf(name);
    if (last) b.appendChild(el('span', 'age', fmtMs(last.fields.total_ms)));
    b.title = name + ': ' + (c.state || '');
    b.addEventListener('click', () => select(name));
    li.appendChild(b);
    list.appendChild(li);
  }
  $('all').classList.toggle('selected', selected === null);
  renderSummary();
  renderOverview();
}

function lastUpdateOf(name) {
  for (let i = updates.length - 1; i >= 0; i--)
    if (updates[i].container === name) return updates[i];
  return null;
}

/* The container's last update failed: it runs on with the files it had,
   and the next save retries. */
function updateFailed(c) {
  const last = lastUpdateOf(c.name);
  return !!last && (last.fields || {}).result === 'failed';
}

/* An update failed, or the container itself is down. */
function failing(c) {
  return /fail|exited|crash/.test(c.state || '') || updateFailed(c);
}

function select(name) {
  selected = name;
  renderSide();
  renderDetail();
  renderUpdates();
  renderLogs();
}

/* ---- every container at a glance ---- */

function urlLinks(box, urls) {
  for (const u of urls || []) {
    if (!/^https?:\/\//.test(u)) continue;
    const a = el('a', null, u.replace(/^https?:\/\//, '').replace(/\/$/, ''));
    a.href = u;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.addEventListener('click', (e) => e.stopPropagation());
    box.appendChild(a);
  }
}

function actButton(kind, label, title, name) {
  const b = el('button', 'btn ghost small', label);
  b.type = 'button';
  b.title = title;
  b.addEventListener('click', (e) => { e.stopPropagation(); act(kind, b, name); });
  return b;
}

function renderOverview() {
  const box = $('overview');
  box.hidden = selected !== null;
  if (selected !== null) return;
  box.replaceChildren();
  for (const name of [...containers.keys()].sort()) {
    const c = containers.get(name);
    const last = lastUpdateOf(name);
    const card = el('article', 'card' + (failing(c) ? ' failing' : ''));
    const head = el('div', 'head');
    head.appendChild(el('span', 'state ' + (updateFailed(c) ? 'update-failed' : c.state || '')));
    head.appendChild(el('span', 'title', name));
    if (c.function) head.appendChild(el('span', 'tag', 'function'));
    if (c.job) head.appendChild(el('span', 'tag', 'job'));
    card.appendChild(head);
    const n = (c.replicas || []).length;
    card.appendChild(el('div', 'what', stateText(c) + (n > 1 ? ' · ' + n + ' replicas' : '')));
    const links = el('div', 'links');
    urlLinks(links, c.urls);
    card.appendChild(links);
    if (c.progress) card.appendChild(el('div', 'busy', c.progress));
    const lf = last ? last.fields || {} : null;
    const lastText = lf ? 'last update ' + clock(last.time) + ' · ' + fmtMs(lf.total_ms) +
      (lf.result && lf.result !== 'ok' ? ' · ' + lf.result : '') : 'no update yet';
    const foot = el('div', 'foot');
    card.appendChild(el('div', 'last' + (lf && lf.result === 'failed' ? ' bad' : ''), lastText));
    foot.appendChild(actButton('trigger', 'Trigger', 'send every synced file to ' + name +
      ' again and run its steps', name));
    foot.appendChild(actButton('restart', 'Restart', 'restart ' + name, name));
    card.appendChild(foot);
    card.addEventListener('click', () => select(name));
    box.appendChild(card);
  }
}

/* ---- the selected container ---- */

/* "ready" ("completed" for a job, which is ready once it exited 0), or
   the state and that it is not ready yet; and a failed update. */
function stateText(c) {
  const text = c.ready ? (c.job ? 'completed' : 'ready') : (c.state || '?') + ' · not ready';
  return updateFailed(c) ? text + ' · update failed' : text;
}

function renderDetail() {
  const box = $('detail');
  const c = selected && containers.get(selected);
  if (!c) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  $('d-name').textContent = c.name;
  $('d-meta').textContent = [stateText(c), c.image].filter(Boolean).join(' · ');
  const urls = $('d-urls');
  urls.replaceChildren();
  urlLinks(urls, c.urls);
  const reps = $('d-replicas');
  reps.replaceChildren();
  for (const r of c.replicas || []) {
    const chip = el('span', 'replica');
    chip.appendChild(el('span', 'state ' + (r.state || '')));
    chip.appendChild(document.createTextNode('#' + r.replica + ' ' + (r.id || '').slice(0, 12) +
      ' ' + (r.ready ? (c.job ? 'completed' : 'ready') : (r.state || '') + ', not ready')));
    reps.appendChild(chip);
  }
  const p = $('d-progress');
  p.hidden = !c.progress;
  if (c.progress) p.textContent = c.progress;
  $('d-invoke').hidden = !c.function;
}

async function post(path, body) {
  const r = await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: body === undefined ? '{}' : body,
  });
  const text = await r.text();
  return { ok: r.ok, status: r.status, text };
}

function errorText(res) {
  try {
    const j = JSON.parse(res.text);
    if (j.error && j.error.message) return j.error.message;
    if (j.errorMessage) return (j.errorType ? j.errorType + ': ' : '') + j.errorMessage;
  } catch (e) { /* not JSON */ }
  return res.text || ('HTTP ' + res.status);
}

async function act(kind, button, target) {
  const name = target || selected;
  if (!name) return;
  button.disabled = true;
  try {
    const res = await post('/api/' + kind + '/' + encodeURIComponent(name));
    if (res.ok) toast((kind === 'trigger' ? 'Triggered ' : 'Restarting ') + name);
    else toast(kind + ' ' + name + ': ' + errorText(res), 'error');
  } catch (e) {
    toast(kind + ' ' + name + ': ' + e.message, 'error');
  } finally {
    button.disabled = false;
  }
}

async function invoke(ev) {
  ev.preventDefault();
  const out = $('d-invoke-out');
  const payload = $('d-payload').value.trim() || '{}';
  try {
    JSON.parse(payload);
  } catch (e) {
    out.hidden = false;
    out.className = 'invoke-out bad';
    out.textContent = 'not JSON: ' + e.message;
    return;
  }
  out.hidden = false;
  out.className = 'invoke-out';
  out.textContent = 'invoking…';
  const t0 = performance.now();
  const res = await post('/api/invoke/' + encodeURIComponent(selected), payload);
  const ms = performance.now() - t0;
  out.className = 'invoke-out' + (res.ok ? '' : ' bad');
  let text = res.text;
  try { text = JSON.stringify(JSON.parse(res.text), null, 2); } catch (e) { /* raw */ }
  out.textContent = (res.ok ? '' : 'HTTP ' + res.status + '\n') + text + '\n\n' + fmtMs(ms);
}

/* ---- update history ---- */

const STAGES = ['settle', 'hash', 'transfer', 'steps', 'restart'];

function stageTimes(f) {
  const s = f.stages || {};
  const steps = (s.steps || []).reduce((a, st) => a + (st.ms || 0), 0);
  return { settle: s.settle || 0, hash: s.hash || 0, transfer: s.transfer || 0,
    steps, restart: s.restart || 0 };
}

function updateRow(u, fresh, newest) {
  const f = u.fields || {};
  const result = f.result || 'ok';
  const li = el('li', 'update ' + result + (fresh ? ' fresh' : ''));
  li.dataset.id = u.id;
  li.appendChild(el('span', 'when', clock(u.time)));
  const who = el('span', 'who', u.container);
  if (result !== 'ok') who.appendChild(el('div', 'result', result));
  li.appendChild(who);
  const files = f.files || [];
  /* The first three; a click lists every file the event names (it names
     up to 100 of "count"). */
  const total = Math.max(f.count || 0, files.length);
  const fc = el('span', 'files');
  const shortList = () => {
    fc.textContent = files.slice(0, 3).join('  ');
    if (total > 3) fc.appendChild(el('span', 'more', '  +' + (total - 3) + ' more'));
    if (!files.length) fc.textContent = f.message || '(no files)';
  };
  shortList();
  fc.title = files.join('\n');
  if (total > 3) {
    fc.classList.add('many');
    fc.addEventListener('click', () => {
      if (fc.classList.toggle('open'))
        fc.textContent = files.join('\n') + (total > files.length ? '\n+' + (total - files.length) + ' more' : '');
      else
        shortList();
    });
  }
  if (f.removed) {
    const gone = el('span', 'removed', f.removed === total ? 'removed' : f.removed + ' removed');
    gone.title = 'of these, ' + f.removed + ' removed in the container';
    who.appendChild(gone);
  }
  li.appendChild(fc);

  const cell = el('div', 'stagecell');
  const times = stageTimes(f);
  const sum = STAGES.reduce((a, k) => a + times[k], 0) || 1;
  const bar = el('div', 'bar');
  const parts = [];
  /* A rebuild's time from its start to the new container in place is
     the event's "transfer": the build and the replacement. */
  const label = (k) => (k === 'transfer' && result === 'rebuild' ? 'build and replace' : k);
  for (const k of STAGES) {
    if (!times[k]) continue;
    const seg = el('span', k);
    seg.style.width = (100 * times[k] / sum).toFixed(2) + '%';
    seg.title = label(k) + ' ' + fmtMs(times[k]);
    bar.appendChild(seg);
    if (k !== 'steps') parts.push(label(k) + ' ' + fmtMs(times[k]));
  }
  /* Each run step with its own time, in the order they ran, before the
     restart. */
  const steps = ((f.stages && f.stages.steps) || []).map((st) => "run '" + st.cmd + "' " +
    fmtMs(st.ms) + (st.exit ? ' exited ' + st.exit : ''));
  parts.splice(times.restart ? parts.length - 1 : parts.length, 0, ...steps);
  cell.appendChild(bar);
  cell.appendChild(el('div', 'stages', parts.join(' · ')));
  cell.title = parts.join('\n');
  li.appendChild(cell);
  li.appendChild(el('span', 'total', fmtMs(f.total_ms)));

  if (f.output) {
    const pre = el('pre', 'output', f.output);
    /* A failed step's output shows when it is its container's latest. */
    pre.hidden = result !== 'failed' || !(fresh || newest);
    const t = el('button', 'toggle', 'output');
    t.type = 'button';
    t.addEventListener('click', () => { pre.hidden = !pre.hidden; });
    who.appendChild(t);
    li.appendChild(pre);
  }
  return li;
}

function renderUpdates() {
  pending.updates = [];
  const list = $('updates');
  list.replaceChildren();
  const shown = updates.filter((u) => !selected || u.container === selected);
  const seen = new Set();
  for (let i = shown.length - 1; i >= 0 && list.childElementCount < 60; i--) {
    const u = shown[i];
    list.appendChild(updateRow(u, false, !seen.has(u.container)));
    seen.add(u.container);
  }
  $('u-empty').hidden = shown.length > 0;
}

function addUpdate(u, live) {
  updates.push(u);
  if (updates.length > MAX_UPDATES) updates.shift();
  if (selected && u.container !== selected) return;
  pending.updates.push({ u, live });
  pending.side = true;
  schedule();
}

/* New rows, newest on top; a failed step's output opens on the newest
   row of its container. */
function flushUpdates() {
  const batch = pending.updates.slice(-60);
  pending.updates = [];
  if (!batch.length) return;
  const list = $('updates');
  const frag = document.createDocumentFragment();
  const seen = new Set();
  for (let i = batch.length - 1; i >= 0; i--) {
    const { u, live } = batch[i];
    frag.appendChild(updateRow(u, live, !seen.has(u.container)));
    seen.add(u.container);
  }
  list.insertBefore(frag, list.firstChild);
  while (list.childElementCount > 60) list.lastChild.remove();
  $('u-empty').hidden = true;
}

/* ---- logs ---- */

function setFilter(text) {
  const input = $('filter');
  filter = { text: text, re: null };
  input.classList.remove('bad');
  const m = /^\/(.+)\/([a-z]*)$/.exec(text);
  if (m) {
    try {
      filter.re = new RegExp(m[1], m[2].replace(/g/g, ''));
    } catch (e) {
      input.classList.add('bad');
    }
  }
  renderLogs();
}

function matches(l) {
  if (selected && l.container !== selected) return false;
  if ($('errors-only').checked && l.stream !== 'stderr') return false;
  if (!filter.text) return true;
  if (filter.re) return filter.re.test(l.line) || filter.re.test(l.container);
  const t = filter.text.toLowerCase();
  return l.line.toLowerCase().includes(t) || l.container.toLowerCase().includes(t);
}

function highlight(msg, text) {
  if (!filter.text || filter.re) {
    msg.textContent = text;
    return;
  }
  const at = text.toLowerCase().indexOf(filter.text.toLowerCase());
  if (at < 0) {
    msg.textContent = text;
    return;
  }
  msg.appendChild(document.createTextNode(text.slice(0, at)));
  msg.appendChild(el('mark', null, text.slice(at, at + filter.text.length)));
  msg.appendChild(document.createTextNode(text.slice(at + filter.text.length)));
}

function logLine(l) {
  const d = el('div', 'line ' + l.stream);
  d.appendChild(el('span', 't', clock(l.time)));
  d.appendChild(el('span', 'c ' + colourOf(l.container), l.container || 'devwatch'));
  const msg = el('span', 'msg');
  highlight(msg, l.line);
  d.appendChild(msg);
  return d;
}

function renderLogs() {
  pending.logs = [];
  const box = $('logs');
  box.replaceChildren();
  const frag = document.createDocumentFragment();
  for (const l of logs) if (matches(l)) frag.appendChild(logLine(l));
  box.appendChild(frag);
  if ($('follow').checked) box.scrollTop = box.scrollHeight;
}

function addLog(l) {
  logs.push(l);
  if (logs.length > MAX_LOG_LINES) logs.splice(0, logs.length - MAX_LOG_LINES);
  if (!matches(l)) return;
  pending.logs.push(l);
  schedule();
}

/* Append what arrived since the last frame at once: one layout and one
   scroll per frame, however many lines a replay brings. */
function flushLogs() {
  const batch = pending.logs.slice(-MAX_LOG_LINES);
  pending.logs = [];
  if (!batch.length) return;
  const box = $('logs');
  const frag = document.createDocumentFragment();
  for (const l of batch) frag.appendChild(logLine(l));
  box.appendChild(frag);
  while (box.childElementCount > MAX_LOG_LINES) box.firstChild.remove();
  if ($('follow').checked) box.scrollTop = box.scrollHeight;
}

/* ---- rendering, at most once per frame ---- */

const pending = { updates: [], logs: [], side: false, detail: false };
let frame = 0;

function schedule() {
  if (!frame) frame = requestAnimationFrame(flush);
}

function flush() {
  frame = 0;
  flushUpdates();
  flushLogs();
  if (pending.side) renderSide();
  if (pending.detail) renderDetail();
  pending.side = pending.detail = false;
}

/* ---- the event stream ---- */

/* A builder's line, or a large sync's size, while the work goes on. */
function progressText(f) {
  if (f.message) return (f.what ? f.what + ': ' : '') + f.message;
  if (f.what === 'sync')
    return 'syncing ' + (f.files || 0) + ' files, ' + ((f.bytes || 0) / 1048576).toFixed(1) + ' MB';
  return f.what || '';
}

function onEvent(e) {
  let ev;
  try {
    ev = JSON.parse(e.data);
  } catch (err) {
    return;
  }
  if (ev.id <= lastId) return; // replayed twice across a reconnect
  lastId = ev.id;
  const live = ev.time > Date.now() - 5000;
  const f = ev.fields || {};
  switch (ev.kind) {
  case 'state': {
    const c = entry(ev.container);
    if (f.state) c.state = f.state;
    if (f.ready !== undefined) c.ready = !!f.ready;
    if (f.urls) c.urls = f.urls;
    if (f.state === 'updating' || f.state === 'ready') c.progress = null;
    /* What the terminal says of it ("ready · http://... · 1317 ms",
       "restarted and ready · 980 ms") goes with the logs, as there. */
    if (f.message)
      addLog({ time: ev.time, container: ev.container, stream: 'notice', line: f.message });
    pending.side = true;
    pending.detail = pending.detail || selected === ev.container;
    schedule();
    refreshStatusSoon();
    break;
  }
  case 'update':
    /* The end of a large sync's long work, too. A rebuild replaced the
       container without a state event: its new ID and host ports are in
       the status. */
    entry(ev.container).progress = null;
    pending.detail = pending.detail || selected === ev.container;
    addUpdate(ev, live);
    if (f.result === 'rebuild') refreshStatusSoon();
    if (live && f.result === 'failed')
      toast(ev.container + ': update failed' + (f.output ? ' — see its output' : ''), 'error');
    break;
  case 'log':
    addLog({ time: ev.time, container: ev.container, stream: f.stream || 'stdout', line: f.line || '' });
    break;
  case 'progress': {
    const c = entry(ev.container);
    c.progress = f.done ? null : progressText(f);
    pending.side = true;
    pending.detail = pending.detail || selected === ev.container;
    schedule();
    break;
  }
  case 'notice':
    addLog({ time: ev.time, container: ev.container, stream: 'notice', line: f.message || '' });
    if (live && (f.level === 'warn' || f.level === 'error'))
      toast((ev.container ? ev.container + ': ' : '') + f.message, f.level);
    break;
  default:
    break; // kinds this page does not know yet
  }
}

function connect() {
  const conn = $('conn');
  const es = new EventSource('/api/events?since=0');
  const label = conn.querySelector('.label');
  es.onopen = () => {
    conn.className = 'conn live';
    label.textContent = 'live';
    loadStatus();
  };
  es.onerror = () => {
    conn.className = 'conn down';
    label.textContent = 'reconnecting';
  };
  for (const kind of ['state', 'update', 'log', 'progress', 'notice'])
    es.addEventListener(kind, onEvent);
  es.addEventListener('gap', () => toast('Older events were dropped from the history', 'warn'));
  es.onmessage = onEvent;
}

document.addEventListener('DOMContentLoaded', () => {
  $('all').addEventListener('click', () => select(null));
  $('d-trigger').addEventListener('click', (e) => act('trigger', e.currentTarget));
  $('d-restart').addEventListener('click', (e) => act('restart', e.currentTarget));
  $('d-invoke').addEventListener('submit', invoke);
  $('filter').addEventListener('input', (e) => setFilter(e.target.value));
  $('errors-only').addEventListener('change', renderLogs);
  $('clear').addEventListener('click', () => { logs.length = 0; renderLogs(); });
  loadStatus().then(connect);
});
