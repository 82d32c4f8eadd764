// The "no record of action taken" report (alerts.open with older_than_s) and feed health
// (the daemon's status op).
'use strict';

async function unactioned(ev) {
  if (ev) ev.preventDefault();
  const minutes = Number(document.getElementById('older-than-min').value || 0);
  const r = await BW.get(`/api/unactioned?older_than_s=${Math.round(minutes * 60)}`);
  const tbody = document.querySelector('#unactioned tbody');
  tbody.innerHTML = '';
  if (r.status !== 200) {
    document.getElementById('unactioned-count').textContent = r.body.error || `refused (${r.status})`;
    return;
  }
  for (const a of r.body.alerts) {
    const tr = document.createElement('tr');
    tr.className = `sev-${a.severity}`;
    tr.dataset.seq = a.seq;
    const sev = BW.el('td');
    sev.appendChild(BW.el('span', `badge sev-${a.severity}`, a.severity));
    tr.appendChild(sev);
    tr.appendChild(BW.el('td', 'small', BW.time(a.raised_at)));
    tr.appendChild(BW.el('td', '', BW.age(a.raised_at)));
    const what = BW.el('td');
    what.appendChild(BW.el('div', 'kind', BW.kind(a.kind)));
    what.appendChild(BW.el('div', 'summary', a.summary || ''));
    tr.appendChild(what);
    tr.appendChild(BW.el('td', '', a.person_id || ''));
    tr.appendChild(BW.el('td', '', a.acked ? a.acked_by || 'yes' : 'no'));
    tr.appendChild(BW.el('td', '', a.escalation_level || 0));
    tbody.appendChild(tr);
  }
  document.getElementById('unactioned-count').textContent =
      `${r.body.truncated ? 'At least ' : ''}${r.body.alerts.length} alert(s) above info open for at least ${minutes} minutes with no outcome recorded` +
      (r.body.truncated ? ' (the oldest are listed; the rest are in breachctl open).' : '.');
}

async function health() {
  const r = await BW.get('/api/status');
  const tbody = document.querySelector('#feeds tbody');
  tbody.innerHTML = '';
  const summary = document.getElementById('daemon-summary');
  if (r.status !== 200) {
    summary.textContent = r.body.error || `refused (${r.status})`;
    summary.className = 'error';
    return;
  }
  const s = r.body;
  const store = s.store || {};
  summary.className = store.healthy === false ? 'error' : '';
  summary.textContent = `breachwatchd ${s.version || ''}, up ${Math.round((s.uptime_s || 0) / 60)} min; ` +
      `store ${store.healthy === false ? 'FAILING' : 'healthy'}; ` +
      `${(s.counts || {}).alerts ?? '?'} alerts, last seq ${(s.counts || {}).last_alert_seq ?? '?'}; ` +
      `missing seqs ${JSON.stringify(s.missing_seqs || [])}`;
  for (const f of s.feeds || []) {
    const tr = document.createElement('tr');
    tr.className = f.silent ? 'sev-critical' : '';
    tr.appendChild(BW.el('td', '', f.name));
    tr.appendChild(BW.el('td', '', f.silent ? 'SILENT' : 'ok'));
    const age = f.last_seen_age_s;
    tr.appendChild(BW.el('td', '', age === undefined || age === null || age < 0 ? 'never' : `${Math.round(age)} s ago`));
    for (const k of ['received', 'handled', 'rejected', 'duplicates', 'gaps']) tr.appendChild(BW.el('td', '', f[k] ?? ''));
    tr.appendChild(BW.el('td', 'small', f.endpoint));
    tbody.appendChild(tr);
  }
}

(async () => {
  if (!await BW.init()) return;
  document.getElementById('unactioned-form').addEventListener('submit', unactioned);
  await Promise.all([unactioned(), health()]);
  setInterval(health, 15000);
})();
