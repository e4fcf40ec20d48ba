// SPDX-License-Identifier: EUPL-1.2
// territories.js - the pages "Territoires" (level, date and indicators from the URL; sortable,
// filterable table; bar chart; choropleth map of communes or EPCI; CSV of what is shown) and
// "Fiche territoire" (one territory, its rank among its peers, its history across dates).
import { api, fmt, fdate, h, table, toCsv, download, registry, dates, LEVELS, secretLegend, select, say, errorBox } from './lib.js';

const DEFAULT_IND = ['nb_ls', 'tx_vac', 'tx_mob', 'loyer_m2'];
let geoCache = null;

async function communesGeo() {
  if (!geoCache) geoCache = fetch('/geo/communes-53.geojson').then(r => r.json());
  return geoCache;
}

export function query(params, nav) {
  const q = new URLSearchParams(params);
  for (const [k, v] of [...q]) if (v === '' || v === 'undefined') q.delete(k);
  location.hash = nav + '?' + q.toString();
}

// Rows filtered and sorted as the URL says: exactly what the table, the chart and the CSV show.
export function shownRows(data, p) {
  const f = (p.filtre || '').toLowerCase();
  let rows = data.rows.filter(r => !f || r.name.toLowerCase().includes(f) || r.code.includes(f));
  if (p.tri) {
    const key = p.tri, desc = p.ordre === 'desc';
    const val = r => (typeof r[key] === 'number' ? r[key] : r[key] === 'secret' ? -Infinity : r[key]);
    rows = [...rows].sort((a, b) => {
      const x = val(a), y = val(b);
      const c = typeof x === 'string' && typeof y === 'string' ? x.localeCompare(y, 'fr') : (x > y) - (x < y);
      return desc ? -c : c;
    });
  }
  return rows;
}

function barChart(el, cols, rows, ind) {
  const col = cols.find(c => c.id === ind);
  const pts = rows.filter(r => typeof r[ind] === 'number').slice(0, 40);
  el.replaceChildren(h('h2', { id: 'titre-graphique' }, `${col.label} (${pts.length} territoires, valeurs diffusées)`));
  if (!pts.length || !window.uPlot) return;
  const box = h('div', { role: 'img', 'aria-labelledby': 'titre-graphique',
    'aria-describedby': 'tableau-territoires' });
  el.append(box, h('p', {}, 'Les valeurs du graphique sont celles du tableau ci-dessous.'));
  const xs = pts.map((_, i) => i), ys = pts.map(r => r[ind]);
  new window.uPlot({
    width: Math.min(1100, el.clientWidth || 900), height: 280, legend: { show: false },
    scales: { x: { time: false, range: [-0.5, pts.length - 0.5] } },
    axes: [{ values: (u, v) => v.map(i => (pts[i] ? pts[i].name.slice(0, 12) : '')), rotate: -45, size: 80, gap: 2 },
      { values: (u, v) => v.map(x => fmt(x, col.unit)), size: 80 }],
    series: [{}, { label: col.label, fill: '#000091', stroke: '#000091', paths: window.uPlot.paths.bars({ size: [0.7] }), points: { show: false } }],
  }, [xs, ys], box);
}

const PALETTE = ['#eff3ff', '#bdd7e7', '#6baed6', '#3182bd', '#08519c'];

async function drawMap(el, p, data, cols, ind) {
  const col = cols.find(c => c.id === ind);
  const byCode = new Map(data.rows.map(r => [r.code, r]));
  const nums = data.rows.map(r => r[ind]).filter(v => typeof v === 'number').sort((a, b) => a - b);
  const breaks = [1, 2, 3, 4].map(k => nums[Math.floor(k * nums.length / 5)] ?? Infinity);
  const colour = v => PALETTE[breaks.filter(b => v >= b).length];
  const geo = await communesGeo();
  const key = p.niveau === 'epci' ? 'epci' : 'code';
  el.replaceChildren(h('h2', {}, `Carte : ${col.label} par ${p.niveau === 'epci' ? 'EPCI' : 'commune'}`),
    h('div', { id: 'map', role: 'region', 'aria-label': 'Carte choroplèthe (les valeurs sont dans le tableau)' }));
  const legend = h('ul', { class: 'maplegend', 'aria-label': 'Légende de la carte' },
    nums.length === 0 ? h('li', {}, 'aucune valeur diffusée pour cet indicateur') : PALETTE.map((c, i) => h('li', {}, h('span', { class: 'swatch', style: null, 'data-c': c }),
      i === 0 ? `moins de ${fmt(breaks[0], col.unit)}` : i === 4 ? `${fmt(breaks[3], col.unit)} et plus`
        : `${fmt(breaks[i - 1], col.unit)} à ${fmt(breaks[i], col.unit)}`)),
    h('li', {}, h('span', { class: 'swatch', 'data-c': '#9e9e9e' }), '« s » secret statistique'),
    h('li', {}, h('span', { class: 'swatch', 'data-c': '#ffffff' }), 'hors de vos données (pas de logement ou hors convention)'));
  legend.querySelectorAll('.swatch').forEach(s => { s.style.background = s.dataset.c; });
  el.append(legend, h('p', { class: 'attribution' }, 'Contours : IGN Admin Express, Licence Ouverte.'));
  if (!window.L) return;
  const map = window.L.map('map', { attributionControl: true, zoomSnap: 0.25, preferCanvas: true });
  map.attributionControl.setPrefix(false);
  let drawn = 0, blank = 0, secret = 0;
  const layer = window.L.geoJSON(geo, {
    attribution: 'Contours : IGN Admin Express, Licence Ouverte',
    style: f => {
      const r = byCode.get(f.properties[key]);
      const v = r ? r[ind] : undefined;
      const fill = v === 'secret' ? '#9e9e9e' : typeof v === 'number' ? colour(v) : '#ffffff';
      blank += fill === '#ffffff'; secret += v === 'secret';
      return { color: '#555', weight: 0.4, fillColor: fill, fillOpacity: 0.9 };
    },
    onEachFeature: (f, l) => {
      drawn++;
      const r = byCode.get(f.properties[key]);
      l.bindTooltip(`${f.properties.nom}${r ? ' — ' + fmt(r[ind], col.unit) : ''}`);
    },
  }).addTo(map);
  map.fitBounds(layer.getBounds());
  Object.assign(el.dataset, { features: drawn, blank, secret });
}

export async function pageTerritories(main, p) {
  const reg = await registry();
  const vint = await dates();
  p.niveau = p.niveau || 'departement';
  if (p.niveau === 'commune' || p.niveau === 'epci') communesGeo(); // fetched while the figures come
  p.date = p.date || vint[vint.length - 1] || '';
  const inds = (p.ind ? p.ind.split(',') : DEFAULT_IND).filter(id => reg.some(r => r.id === id));
  const form = h('form', { class: 'controls', onsubmit: ev => {
    ev.preventDefault();
    const sel = [...form.querySelector('#ind').selectedOptions].map(o => o.value);
    query({ ...p, niveau: form.querySelector('#niveau').value, date: form.querySelector('#date').value,
      ind: sel.join(','), filtre: form.querySelector('#filtre').value }, '#/territoires');
  } },
  select('niveau', 'Niveau', LEVELS, p.niveau),
  select('date', 'Date', vint.map(d => [d, fdate(d)]), p.date),
  h('div', {}, h('label', { for: 'ind' }, 'Indicateurs'),
    h('select', { id: 'ind', multiple: true }, reg.map(r => h('option', { value: r.id, selected: inds.includes(r.id) }, r.label)))),
  h('div', {}, h('label', { for: 'filtre' }, 'Filtrer (nom ou code)'), h('input', { id: 'filtre', type: 'search', value: p.filtre || '' })),
  h('button', { type: 'submit' }, 'Afficher'));
  main.replaceChildren(h('h1', {}, 'Territoires'), form);
  const url = `/api/v1/indicators?level=${encodeURIComponent(p.niveau)}&indicator=${inds.join(',')}` +
    (p.date ? `&date=${p.date}` : '');
  let data;
  try { data = await api('GET', url); } catch (e) { main.append(errorBox(e)); return; }
  const cols = [{ id: 'name', label: 'Territoire' }, { id: 'code', label: 'Code' },
    ...data.columns.map(c => ({ id: c.id, label: `${c.label} (${c.unit})`, unit: c.unit }))];
  const rows = shownRows(data, p);
  const onSort = id => query({ ...p, tri: id, ordre: p.tri === id && p.ordre !== 'desc' ? 'desc' : 'asc' }, '#/territoires');
  const chartInd = inds.includes(p.carte) ? p.carte : inds[0];
  const chart = h('section', { id: 'graphique' }), mapEl = h('section', { id: 'carte' });
  const mapChoice = select('indicateur-carte', 'Indicateur du graphique et de la carte',
    data.columns.map(c => [c.id, c.label]), chartInd, { onchange: ev => query({ ...p, carte: ev.target.value }, '#/territoires') });
  main.append(
    h('p', {}, `${rows.length} territoires au ${fdate(data.date)}`, data.hidden ? ` ; ${data.hidden} cases secrètes.` : '.'),
    secretLegend(),
    h('p', {}, h('button', { type: 'button', id: 'export-csv', onclick: () =>
      download(`territoires-${p.niveau}-${data.date}.csv`, toCsv(cols, rows)) }, 'Exporter en CSV (ce qui est affiché)'),
    ' ', h('a', { class: 'button', href: url + '&format=csv-excel', download: `indicateurs-${p.niveau}.csv` }, 'Télécharger pour un tableur (API)')),
    h('div', { id: 'tableau-territoires' }, table(`Indicateurs par ${p.niveau} au ${fdate(data.date)}`, cols, rows,
      { onSort, sort: p.tri, desc: p.ordre === 'desc', rowHeader: true })),
    mapChoice, chart, mapEl);
  barChart(chart, data.columns, rows, chartInd);
  if (p.niveau === 'commune' || p.niveau === 'epci') await drawMap(mapEl, p, data, data.columns, chartInd);
  for (const tr of main.querySelectorAll('#tableau-territoires tbody tr')) {
    const code = tr.children[1].textContent, name = tr.children[0];
    name.replaceChildren(h('a', { href: `#/fiche?niveau=${p.niveau}&code=${code}` }, name.textContent));
  }
  say(`${rows.length} territoires affichés`);
}

export async function pageFiche(main, p) {
  const reg = await registry();
  const vint = await dates();
  const inds = DEFAULT_IND.concat(['part_fg', 'nb_qpv', 'part_qpv']).filter(id => reg.some(r => r.id === id));
  main.replaceChildren(h('h1', {}, 'Fiche territoire'));
  if (!p.code) { main.append(h('p', {}, 'Choisissez un territoire dans la page Territoires.')); return; }
  const lvl = p.niveau || 'commune';
  const date = p.date || vint[vint.length - 1];
  let peers;
  try { peers = await api('GET', `/api/v1/indicators?level=${lvl}&indicator=${inds.join(',')}&date=${date}`); } catch (e) { main.append(errorBox(e)); return; }
  const row = peers.rows.find(r => r.code === p.code);
  main.firstChild.textContent = `Fiche territoire : ${row ? row.name : p.code}`;
  if (!row) { main.append(h('p', {}, 'Aucune donnée diffusable pour ce territoire à cette date.')); return; }
  const rank = c => {
    const v = row[c.id];
    if (typeof v !== 'number') return '';
    const all = peers.rows.map(r => r[c.id]).filter(x => typeof x === 'number').sort((a, b) => b - a);
    return `${all.indexOf(v) + 1}ᵉ sur ${all.length}`;
  };
  const cols = [{ id: 'label', label: 'Indicateur' }, { id: 'value', label: `Valeur au ${fdate(date)}` }, { id: 'rank', label: 'Rang parmi les territoires du même niveau' }];
  const rows = peers.columns.map(c => ({ label: c.label, value: fmt(row[c.id], c.unit), rank: rank(c) }));
  main.append(h('p', {}, `Niveau : ${lvl}, code ${p.code}.`), secretLegend(), table('Indicateurs du territoire', cols, rows, { rowHeader: true }));
  // history across dates (line chart + its table)
  const hist = [];
  for (const d of vint) {
    try {
      const r = await api('GET', `/api/v1/indicators?level=${lvl}&code=${p.code}&indicator=${inds.join(',')}&date=${d}`);
      if (r.rows[0]) hist.push({ date: fdate(d), ...r.rows[0] });
    } catch (e) { /* a date not open to this user */ }
  }
  const hc = [{ id: 'date', label: 'Date' }, ...peers.columns.map(c => ({ id: c.id, label: c.label, unit: c.unit }))];
  main.append(h('h2', { id: 'titre-historique' }, 'Historique'), table('Indicateurs par date', hc, hist, { rowHeader: true }));
  const nb = hist.filter(r => typeof r.nb_ls === 'number');
  if (nb.length > 1 && window.uPlot) {
    const box = h('div', { role: 'img', 'aria-label': 'Évolution du nombre de logements (valeurs dans le tableau Historique)' });
    main.append(box);
    new window.uPlot({ width: 600, height: 240, scales: { x: { time: false } },
      axes: [{ values: (u, v) => v.map(i => (nb[i] ? nb[i].date : '')) }, { values: (u, v) => v.map(x => fmt(x)) }],
      series: [{}, { label: 'Logements', stroke: '#000091', width: 2 }] }, [nb.map((_, i) => i), nb.map(r => r.nb_ls)], box);
  }
  if (lvl === 'commune') main.append(h('p', {}, h('a', { href: `#/territoires?niveau=qpv&date=${date}` }, 'Voir les QPV')));
}
