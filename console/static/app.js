// Shared by every page of the console: the session (identity, role, CSRF token), the
// navigation bar, requests that carry the CSRF token, formatting, and the base map.
'use strict';

const BW = {
  session: null,

  // Loads the session or goes to the login page.
  async init() {
    const r = await fetch('/api/session', {credentials: 'same-origin'});
    if (r.status === 401) {
      location.href = '/login';
      return null;
    }
    BW.session = await r.json();
    BW.renderNav();
    return BW.session;
  },

  renderNav() {
    const s = BW.session;
    const nav = document.getElementById('nav');
    if (!nav) return;
    const here = location.pathname;
    const links = [['/', 'Live queue'], ['/map', 'Map'], ['/person', 'Person']];
    if (s.may_see_reports) links.push(['/reports', 'Reports and feed health']);
    nav.innerHTML = '';
    const brand = BW.el('span', 'brand', 'breachwatch');
    nav.appendChild(brand);
    for (const [href, label] of links) {
      const a = BW.el('a', here === href ? 'here' : '', label);
      a.href = href;
      nav.appendChild(a);
    }
    const who = BW.el('span', 'who', `${s.username} (${s.identity}, ${s.role.replace('_', ' ')})`);
    who.id = 'who';
    nav.appendChild(who);
    const out = BW.el('button', 'logout', 'Log out');
    out.id = 'logout';
    out.addEventListener('click', async () => {
      await BW.post('/logout', {});
      location.href = '/login';
    });
    nav.appendChild(out);
  },

  // POST with the session's CSRF token; resolves to {status, body}.
  async post(url, body) {
    const r = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', 'X-CSRF-Token': BW.session.csrf},
      body: JSON.stringify(body),
    });
    let data = {};
    try { data = await r.json(); } catch (e) { /* not JSON */ }
    return {status: r.status, body: data};
  },

  async get(url) {
    const r = await fetch(url, {credentials: 'same-origin'});
    if (r.status === 401) location.href = '/login';
    let data = {};
    try { data = await r.json(); } catch (e) { /* not JSON */ }
    return {status: r.status, body: data};
  },

  el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  },

  // "4 min 05 s" from an RFC 3339 time to now.
  age(iso) {
    const s = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000));
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
    const h = Math.floor(m / 60);
    if (h < 48) return `${h} h ${String(m % 60).padStart(2, '0')} min`;
    return `${Math.floor(h / 24)} days`;
  },

  time(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    return d.toLocaleString('en-GB', {timeZone: 'Europe/London'});
  },

  kind(k) { return String(k || '').replaceAll('_', ' '); },

  // A Leaflet map with the zone boundaries as the base layer (works offline) and the
  // optional tile layer.  Resolves to {map, zones, byCode}.
  async baseMap(elementId) {
    const map = L.map(elementId, {preferCanvas: false, zoomSnap: 0.25});
    const s = BW.session;
    if (s.tile_url) {
      L.tileLayer(s.tile_url, {attribution: s.tile_attribution || '', maxZoom: 19}).addTo(map);
    }
    const r = await fetch('/api/zones', {credentials: 'same-origin'});
    const geo = await r.json();
    const byCode = {};
    const zones = L.geoJSON(geo, {
      style: {color: '#3b5b7a', weight: 1, fillColor: '#dfe8f0', fillOpacity: s.tile_url ? 0.05 : 0.6},
      onEachFeature: (f, layer) => {
        const code = f.properties[s.code_property];
        byCode[code] = layer;
        layer.bindTooltip(`${f.properties[s.name_property] || ''} (${code})`, {sticky: true});
      },
    }).addTo(map);
    map.fitBounds(zones.getBounds());
    return {map, zones, byCode};
  },

  // Draws one condition on the map; returns the layers drawn (for fitting the view).
  drawCondition(base, condition, label) {
    const layers = [];
    const zoneStyle = {color: '#b00020', weight: 3, fillColor: '#e53935', fillOpacity: 0.35};
    if (condition.kind === 'exclusion_zone') {
      if (typeof condition.zone === 'string') {
        const layer = base.byCode[condition.zone];
        if (layer) {
          layer.setStyle(zoneStyle);
          layer.bringToFront();
          layers.push(layer);
        }
      } else if (condition.zone) {
        const layer = L.geoJSON(condition.zone, {style: zoneStyle}).addTo(base.map);
        layer.bindTooltip(label);
        layers.push(layer);
      }
    }
    if (condition.place && Array.isArray(condition.place.at)) {
      const [lon, lat] = condition.place.at;
      const colour = condition.kind === 'not_to_attend' ? '#b00020' : '#1565c0';
      const circle = L.circle([lat, lon], {
        radius: condition.place.radius_m || 50, color: colour, weight: 3, fillOpacity: 0.3,
      }).addTo(base.map);
      circle.bindTooltip(`${label}: ${condition.place.label || ''} (${condition.place.radius_m || 0} m)`);
      layers.push(circle);
    }
    return layers;
  },

  describeCondition(c) {
    switch (c.kind) {
      case 'exclusion_zone':
        return `exclusion zone ${typeof c.zone === 'string' ? c.zone : '(drawn area)'}`;
      case 'not_to_attend':
        return `not to attend ${c.place ? c.place.label + ' (' + c.place.radius_m + ' m)' : ''}`;
      case 'no_contact':
        return `no contact with ${c.person}`;
      case 'curfew':
        return `curfew at ${c.place ? c.place.label : ''}: ` +
            (c.windows || []).map((w) => `${w.start}–${w.end} ${w.days.join(',')}`).join('; ');
      case 'residence':
        return `reside at ${c.place ? c.place.label : ''}`;
      default:
        return c.text || c.kind;
    }
  },
};
