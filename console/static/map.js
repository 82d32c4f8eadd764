// The map: borough boundaries from the daemon's zone file as the base layer, then either one
// alert (?seq=N: its point, the areas it names, the excluded zone or the address radius of the
// condition it is about) or every open alert.
'use strict';

function alertPanel(side, a) {
  side.innerHTML = '';
  side.appendChild(BW.el('h2', '', BW.kind(a.kind)));
  side.appendChild(BW.el('p', `badge sev-${a.severity}`, a.severity));
  side.appendChild(BW.el('p', 'summary', a.summary || ''));
  const dl = BW.el('dl', 'facts');
  const facts = [
    ['person', a.person_id], ['instrument', a.instrument_id], ['condition', a.condition_id],
    ['event time', BW.time(a.event_time)], ['raised', `${BW.time(a.raised_at)} (${BW.age(a.raised_at)} ago)`],
    ['officer in the case', a.oic], ['recipients', (a.recipients || []).join(', ')],
    ['late', a.late ? 'yes' : 'no'], ['in custody', a.in_custody ? 'yes' : 'no'],
  ];
  for (const [k, v] of facts) {
    if (v === undefined || v === null || v === '') continue;
    dl.appendChild(BW.el('dt', '', k));
    dl.appendChild(BW.el('dd', '', v));
  }
  side.appendChild(dl);
  if (a.person_id) {
    const link = BW.el('a', '', 'Open the person’s record');
    link.href = `/person?id=${encodeURIComponent(a.person_id)}`;
    side.appendChild(link);
  }
}

async function showAlert(base, side, seq) {
  const r = await BW.get(`/api/alert?seq=${seq}`);
  if (r.status !== 200) {
    side.innerHTML = '';
    side.appendChild(BW.el('p', 'error', r.body.error || `alert ${seq}: ${r.status}`));
    return;
  }
  const a = r.body.alert;
  alertPanel(side, a);
  const layers = [];
  for (const code of (a.location && a.location.areas) || []) {
    const layer = base.byCode[code];
    if (layer) layer.setStyle({weight: 2, color: '#444'});
  }
  if (a.person_id && a.instrument_id && a.condition_id) {
    // The condition the alert is about, as in force at the event time.
    const c = await BW.post('/api/person', {
      person_id: a.person_id, at_time: a.event_time, history: false,
      reason: `alert ${a.seq} (${a.kind}) on the map`,
    });
    if (c.status === 200) {
      for (const inst of c.body.conditions.instruments || []) {
        if (inst.instrument_id !== a.instrument_id) continue;
        for (const cond of inst.conditions || []) {
          if (cond.condition_id === a.condition_id) {
            layers.push(...BW.drawCondition(base, cond, `${inst.instrument_id} ${cond.condition_id}`));
          }
        }
      }
    }
  }
  if (a.location && a.location.at) {
    const [lon, lat] = a.location.at;
    const marker = L.circleMarker([lat, lon], {radius: 8, color: '#000', weight: 2, fillColor: '#ffeb3b', fillOpacity: 1})
        .addTo(base.map).bindTooltip(`${BW.kind(a.kind)}: ${a.person_id || ''}`, {permanent: true, direction: 'right'});
    layers.push(marker);
    let bounds = L.latLngBounds([[lat, lon], [lat, lon]]);
    for (const l of layers) bounds = bounds.extend(l.getBounds ? l.getBounds() : l.getLatLng());
    base.map.fitBounds(bounds.pad(0.3), {maxZoom: 15});
  }
  document.getElementById('map').dataset.ready = 'alert';
}

async function showOpen(base, side) {
  const r = await BW.get('/api/queue');
  side.innerHTML = '';
  side.appendChild(BW.el('h2', '', 'Open alerts'));
  if (r.status !== 200) {
    side.appendChild(BW.el('p', 'error', r.body.error || 'cannot read the queue'));
    return;
  }
  const list = BW.el('ul', 'plain');
  for (const a of r.body.alerts) {
    if (!a.location || !a.location.at) continue;
    const [lon, lat] = a.location.at;
    const colour = {critical: '#b00020', high: '#ef6c00', medium: '#f9a825'}[a.severity] || '#777';
    L.circleMarker([lat, lon], {radius: 7, color: '#000', weight: 1, fillColor: colour, fillOpacity: 0.9})
        .addTo(base.map).bindTooltip(`${BW.kind(a.kind)}: ${a.person_id || ''}`);
    const li = BW.el('li');
    const link = BW.el('a', '', `${a.severity}: ${BW.kind(a.kind)} ${a.person_id || ''}`);
    link.href = `/map?seq=${a.seq}`;
    li.appendChild(link);
    list.appendChild(li);
  }
  side.appendChild(list);
  document.getElementById('map').dataset.ready = 'open';
}

(async () => {
  if (!await BW.init()) return;
  const base = await BW.baseMap('map');
  const side = document.getElementById('side');
  const seq = new URLSearchParams(location.search).get('seq');
  if (seq) await showAlert(base, side, seq);
  else await showOpen(base, side);
})();
