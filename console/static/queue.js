// The live queue: the open alerts (GET /api/queue), then every new alert from the event
// stream (/events, id = alert seq).  A reconnecting EventSource sends Last-Event-ID and the
// console resumes from there with alerts.since, so nothing is missed.
'use strict';

const OUTCOMES = ['arrested', 'warned', 'attended_no_breach', 'false_alarm', 'in_custody',
  'referred_to_court', 'no_action'];
const open = new Map();  // alert_id -> alert
const seen = [];          // every seq received on the stream, in order (for tests and checks)
window.bwSeen = seen;
let lastSeq = 0;

function recipientsText(a) {
  return (a.recipients || []).map((r) => r.replace(/\/$/, '')).join(', ');
}

// The data cells of a row; rebuilt on every update.
function dataCells(a) {
  const cells = [];
  const sev = BW.el('td', 'sev');
  sev.appendChild(BW.el('span', `badge sev-${a.severity}`, a.severity));
  cells.push(sev);
  const age = BW.el('td', 'age', BW.age(a.raised_at));
  age.dataset.raisedAt = a.raised_at;
  age.title = `raised ${BW.time(a.raised_at)}; event ${BW.time(a.event_time)}`;
  cells.push(age);
  const what = BW.el('td', 'what');
  what.appendChild(BW.el('div', 'kind', BW.kind(a.kind)));
  what.appendChild(BW.el('div', 'summary', a.summary || ''));
  cells.push(what);
  const person = BW.el('td', 'person');
  if (a.person_id) {
    const link = BW.el('a', '', a.person_id);
    link.href = `/person?id=${encodeURIComponent(a.person_id)}`;
    person.appendChild(link);
  }
  cells.push(person);
  cells.push(BW.el('td', 'recipients small', recipientsText(a)));
  cells.push(BW.el('td', 'acked', a.acked ?
      `${a.acked_by || 'yes'} ${a.acked_at ? BW.age(a.acked_at) + ' ago' : ''}` : 'not yet'));
  const level = a.escalation_level || 0;
  cells.push(BW.el('td', 'escalation', level === 0 ? '–' : level === 1 ? '1: supervisor' : '2: control rooms'));
  const flags = BW.el('td', 'flags');
  if (a.late) flags.appendChild(BW.el('span', 'flag late', 'late'));
  if (a.in_custody) flags.appendChild(BW.el('span', 'flag custody', 'in custody'));
  if (a.high_risk) flags.appendChild(BW.el('span', 'flag risk', 'high risk'));
  cells.push(flags);
  return cells;
}

// The actions cell, made once per row so that a half-typed note survives updates.
function actionsCell(a, tr) {
  const actions = BW.el('td', 'actions');
  const ack = BW.el('button', 'ack', 'Acknowledge');
  ack.addEventListener('click', () => acknowledge(a.alert_id));
  actions.appendChild(ack);
  const sel = BW.el('select', 'outcome');
  sel.appendChild(new Option('outcome…', ''));
  for (const o of OUTCOMES) sel.appendChild(new Option(BW.kind(o), o));
  actions.appendChild(sel);
  const note = BW.el('input', 'note');
  note.placeholder = 'note (required for no action)';
  actions.appendChild(note);
  const resolve = BW.el('button', 'resolve', 'Record outcome');
  resolve.addEventListener('click', () => resolveAlert(a.alert_id, sel.value, note.value, tr));
  actions.appendChild(resolve);
  if (a.location && a.location.at) {
    const map = BW.el('a', 'maplink', 'map');
    map.href = `/map?seq=${a.seq}`;
    actions.appendChild(map);
  }
  actions.appendChild(BW.el('div', 'error small action-error'));
  return actions;
}

function renderRow(a) {
  const tbody = document.querySelector('#queue tbody');
  let tr = tbody.querySelector(`tr[data-alert-id="${CSS.escape(a.alert_id)}"]`);
  const fresh = !tr;
  let actions;
  if (fresh) {
    tr = document.createElement('tr');
    tr.dataset.alertId = a.alert_id;
    actions = actionsCell(a, tr);
  } else {
    actions = tr.querySelector('td.actions');
  }
  tr.dataset.seq = a.seq;
  tr.classList.remove('sev-critical', 'sev-high', 'sev-medium', 'sev-info');
  tr.classList.add(`sev-${a.severity}`);
  tr.classList.toggle('acked', !!a.acked);
  tr.replaceChildren(...dataCells(a), actions);
  actions.querySelector('button.ack').hidden = !!a.acked;
  if (fresh) {
    // Most severe first, then newest first.
    const rank = {critical: 0, high: 1, medium: 2, info: 3};
    const before = [...tbody.rows].find((r) => {
      const other = open.get(r.dataset.alertId);
      if (!other) return false;
      const d = rank[a.severity] - rank[other.severity];
      return d < 0 || (d === 0 && a.seq > other.seq);
    });
    tbody.insertBefore(tr, before || null);
    tr.classList.add('new');
  }
  document.getElementById('queue-empty').hidden = open.size > 0;
}

function upsert(a) {
  const prev = open.get(a.alert_id) || {};
  const merged = Object.assign({}, prev, a);
  open.set(a.alert_id, merged);
  renderRow(merged);
}

function removeRow(alertId) {
  open.delete(alertId);
  const tr = document.querySelector(`#queue tr[data-alert-id="${CSS.escape(alertId)}"]`);
  if (tr) tr.remove();
  document.getElementById('queue-empty').hidden = open.size > 0;
}

function addInfo(a) {
  const tbody = document.querySelector('#info tbody');
  const tr = document.createElement('tr');
  tr.dataset.seq = a.seq;
  tr.appendChild(BW.el('td', 'age', BW.age(a.raised_at)));
  tr.lastChild.dataset.raisedAt = a.raised_at;
  const what = BW.el('td', 'what');
  what.appendChild(BW.el('div', 'kind', BW.kind(a.kind)));
  what.appendChild(BW.el('div', 'summary', a.summary || ''));
  tr.appendChild(what);
  tr.appendChild(BW.el('td', 'person', a.person_id || ''));
  tr.appendChild(BW.el('td', 'recipients small', recipientsText(a)));
  tbody.insertBefore(tr, tbody.firstChild);
  while (tbody.rows.length > 50) tbody.deleteRow(-1);
}

function onAlert(a) {
  seen.push(a.seq);
  lastSeq = Math.max(lastSeq, a.seq);
  document.getElementById('last-seq').textContent = lastSeq;
  if (a.kind === 'unacknowledged' && a.about_alert_id && open.has(a.about_alert_id)) {
    upsert({alert_id: a.about_alert_id, escalation_level: a.level || 1});
  }
  if (a.severity === 'info') {
    addInfo(a);
  } else if (!open.has(a.alert_id)) {
    upsert(Object.assign({acked: false, escalation_level: 0}, a));
  }
}

async function acknowledge(alertId) {
  const r = await BW.post('/api/ack', {alert_id: alertId});
  if (r.status === 200 && r.body.alert) {
    upsert(r.body.alert);
  } else {
    showError(alertId, r.body.error || `refused (${r.status})`);
  }
}

async function resolveAlert(alertId, outcome, note, tr) {
  if (!outcome) {
    showError(alertId, 'choose an outcome');
    return;
  }
  const r = await BW.post('/api/resolve', {alert_id: alertId, outcome, note});
  if (r.status === 200) {
    removeRow(alertId);
  } else {
    showError(alertId, r.body.error || `refused (${r.status})`);
  }
}

function showError(alertId, message) {
  const tr = document.querySelector(`#queue tr[data-alert-id="${CSS.escape(alertId)}"]`);
  if (tr) tr.querySelector('.action-error').textContent = message;
}

function setLink(state, text) {
  const e = document.getElementById('link-state');
  e.className = `link-state ${state}`;
  e.textContent = text;
}

function connect(since) {
  const stream = new EventSource(`/events?since=${since}`);
  stream.addEventListener('open', () => setLink('ok', 'live'));
  stream.addEventListener('alert', (e) => onAlert(JSON.parse(e.data)));
  stream.addEventListener('daemon', (e) => {
    const d = JSON.parse(e.data);
    if (d.ok) setLink('ok', 'live');
    else setLink('down', `breachwatchd not answering: ${d.message}`);
  });
  stream.addEventListener('error', async () => {
    setLink('down', 'reconnecting…');
    if (stream.readyState === EventSource.CLOSED) {
      // Refused (the session ended or the console restarted): log in again, or retry.
      const r = await fetch('/api/session', {credentials: 'same-origin'});
      if (r.status === 401) location.href = '/login';
      else setTimeout(() => connect(lastSeq), 2000);
    }
  });
}

// Acknowledgements and outcomes recorded elsewhere: re-read the open queue now and then.
async function refresh() {
  const r = await BW.get('/api/queue');
  if (r.status !== 200) return;
  const ids = new Set();
  for (const a of r.body.alerts) {
    ids.add(a.alert_id);
    upsert(a);
  }
  for (const [id, a] of open) {
    if (!ids.has(id) && a.seq <= r.body.head_seq) removeRow(id);
  }
}

function tick() {
  for (const td of document.querySelectorAll('td.age')) td.textContent = BW.age(td.dataset.raisedAt);
}

(async () => {
  if (!await BW.init()) return;
  // The open queue and the seq it is current to; the stream starts there.  While the daemon
  // does not answer, say so and try again.
  let r = await BW.get('/api/queue');
  while (r.status !== 200) {
    setLink('down', r.body.error || 'cannot read the queue');
    await new Promise((done) => setTimeout(done, 2000));
    r = await BW.get('/api/queue');
  }
  lastSeq = r.body.head_seq;
  document.getElementById('last-seq').textContent = lastSeq;
  for (const a of r.body.alerts) upsert(a);
  document.getElementById('queue-empty').hidden = open.size > 0;
  connect(r.body.head_seq);
  setInterval(tick, 1000);
  setInterval(refresh, 30000);
})();
