// A person's record: asks for the reason first (it goes in the daemon's audit log with the
// user's identity), then shows the conditions in force with their zones on the map, the full
// history and the court/CPS document.
'use strict';

let base = null;
let documentHtml = '';

function showError(message) {
  const e = document.getElementById('person-error');
  e.textContent = message;
  e.hidden = !message;
}

function renderConditions(person, reply) {
  const box = document.getElementById('conditions');
  box.innerHTML = '';
  document.getElementById('custody').textContent =
      `${reply.in_custody ? 'In custody. ' : ''}Breaches recorded: ${reply.breach_count ?? 0}.`;
  const instruments = reply.instruments || [];
  if (instruments.length === 0) box.appendChild(BW.el('p', 'muted', 'No instrument in force.'));
  const layers = [];
  for (const inst of instruments) {
    const div = BW.el('div', 'instrument');
    div.appendChild(BW.el('h4', '', `${BW.kind(inst.kind)} ${inst.instrument_id}`));
    div.appendChild(BW.el('p', 'small',
        `valid ${BW.time(inst.valid_from)} to ${inst.valid_until ? BW.time(inst.valid_until) : 'further order'}; ` +
        `officer in the case ${inst.oic || '–'}; case ${inst.case_ref || '–'}` +
        (inst.offence ? `; ${inst.offence}` : '')));
    if (inst.protected_persons && inst.protected_persons.length) {
      div.appendChild(BW.el('p', 'small', `protects ${inst.protected_persons.join(', ')}`));
    }
    const ul = BW.el('ul', 'conditions');
    for (const c of inst.conditions || []) {
      const li = BW.el('li', `condition kind-${c.kind}`, `${c.condition_id}: ${BW.describeCondition(c)}`);
      li.dataset.conditionId = c.condition_id;
      ul.appendChild(li);
      layers.push(...BW.drawCondition(base, c, `${inst.instrument_id} ${c.condition_id}`));
    }
    div.appendChild(ul);
    box.appendChild(div);
  }
  if (layers.length) {
    let bounds = null;
    for (const l of layers) {
      const b = l.getBounds();
      bounds = bounds ? bounds.extend(b) : L.latLngBounds(b.getSouthWest(), b.getNorthEast());
    }
    base.map.fitBounds(bounds.pad(0.2));
  }
  document.getElementById('map').dataset.zonesDrawn = String(layers.length);
}

// history.person rows: {time, what, detail}; the detail is summarised, the full record is in
// the court document.
const HISTORY_FIELDS = ['instrument_id', 'version', 'reason', 'outcome', 'note', 'acked_by',
  'acked_at', 'resolved_by', 'resolved_at', 'arresting_officer', 'custody_suite', 'severity'];

function renderHistory(reply) {
  const tbody = document.querySelector('#history tbody');
  tbody.innerHTML = '';
  for (const h of reply.history || []) {
    const raw = (h.detail && typeof h.detail === 'object') ? h.detail : {};
    // An alert's acknowledgement and outcome are in its `record`.
    const d = Object.assign({}, raw, raw.record || {});
    const tr = document.createElement('tr');
    tr.appendChild(BW.el('td', 'small', BW.time(h.time)));
    tr.appendChild(BW.el('td', 'kind', BW.kind(h.what || h.kind || h.type)));
    const cell = BW.el('td', 'small');
    if (d.summary) cell.appendChild(BW.el('div', '', d.summary));
    const bits = HISTORY_FIELDS.filter((k) => d[k] !== undefined && d[k] !== null && d[k] !== '')
        .map((k) => `${BW.kind(k)}: ${k.endsWith('_at') ? BW.time(d[k]) : d[k]}`);
    if (bits.length) cell.appendChild(BW.el('div', 'muted', bits.join('; ')));
    tr.appendChild(cell);
    tbody.appendChild(tr);
  }
}

async function lookup(ev) {
  if (ev) ev.preventDefault();
  const person = document.getElementById('person-id').value.trim();
  const reason = document.getElementById('reason').value.trim();
  history.replaceState(null, '', `/person?id=${encodeURIComponent(person)}`);
  const r = await BW.post('/api/person', {person_id: person, reason});
  if (r.status !== 200) {
    document.getElementById('record').hidden = true;
    showError(r.body.error || `refused (${r.status})`);
    return;
  }
  showError('');
  document.getElementById('record').hidden = false;
  if (!base) base = await BW.baseMap('map');
  base.map.invalidateSize();
  renderConditions(person, r.body.conditions);
  renderHistory(r.body.history);
  documentHtml = r.body.document_html || '';
}

function downloadDocument() {
  const blob = new Blob([documentHtml], {type: 'text/html'});
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `history-${document.getElementById('person-id').value.replace(/[^A-Za-z0-9-]/g, '_')}.html`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

(async () => {
  if (!await BW.init()) return;
  const id = new URLSearchParams(location.search).get('id');
  if (id) document.getElementById('person-id').value = id;
  document.getElementById('lookup').addEventListener('submit', lookup);
  document.getElementById('document').addEventListener('click', downloadDocument);
  document.getElementById(id ? 'reason' : 'person-id').focus();
})();
