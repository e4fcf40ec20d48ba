// SPDX-License-Identifier: EUPL-1.2
// lib.js - what every page of the dashboard shares: the API client (session cookie plus the
// CSRF token kept in sessionStorage), French number and date formats, DOM helpers, CSV.

export const state = { me: null, registry: null, dates: null };

export class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

export function csrf() { return sessionStorage.getItem('dh-csrf') || ''; }
export function setCsrf(t) { if (t) sessionStorage.setItem('dh-csrf', t); else sessionStorage.removeItem('dh-csrf'); }

export async function api(method, path, body) {
  const opt = { method, headers: {}, credentials: 'same-origin' };
  if (method !== 'GET') opt.headers['X-CSRF-Token'] = csrf();
  if (body !== undefined) { opt.headers['Content-Type'] = 'application/json'; opt.body = JSON.stringify(body); }
  const r = await fetch(path, opt);
  const type = r.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await r.json() : await r.text();
  if (!r.ok) throw new ApiError(r.status, (data && data.detail) || r.statusText);
  return data;
}

const nf = new Intl.NumberFormat('fr-FR', { maximumFractionDigits: 1 });
const nf2 = new Intl.NumberFormat('fr-FR', { maximumFractionDigits: 2 });
// "12 345", "2,2 %", "6,12 €/m²/mois"; a secret cell is « s ».
export function fmt(v, unit) {
  if (v === 'secret') return 's';
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v !== 'number') return String(v);
  if (unit === '%') return nf.format(v) + ' %';
  if (unit && unit.startsWith('€')) return nf2.format(v) + ' ' + unit;
  return nf.format(v);
}
// "2025-01-01" -> "01/01/2025"
export function fdate(iso) {
  if (!iso) return '';
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
  return m ? `${m[3]}/${m[2]}/${m[1]}` : iso;
}
export function fdatetime(iso) {
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString('fr-FR', { dateStyle: 'short', timeStyle: 'short' });
}

// h('tag', {attr: value, onclick: fn}, children...): children are nodes or text.
export function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined && k !== false) e.append(k instanceof Node ? k : String(k));
  return e;
}

export function say(text) { document.getElementById('status').textContent = text; }

export function errorBox(e) {
  return h('p', { class: 'error', role: 'alert' }, e instanceof ApiError ? `Erreur ${e.status} : ${e.message}` : String(e));
}

// A table: columns [{id, label, unit}], rows of objects; cells of numbers right-aligned.
export function table(caption, columns, rows, opts = {}) {
  const head = h('tr', {}, columns.map(c => h('th', { scope: 'col' },
    opts.onSort ? h('button', { class: 'sort', type: 'button', onclick: () => opts.onSort(c.id),
      'aria-label': `Trier par ${c.label}` }, c.label + (opts.sort === c.id ? (opts.desc ? ' ▼' : ' ▲') : '')) : c.label)));
  const body = rows.map(r => h('tr', {}, columns.map((c, i) => {
    const v = r[c.id];
    const cls = v === 'secret' ? 'secret' : typeof v === 'number' ? 'num' : null;
    const content = c.render ? c.render(r) : c.unit !== undefined ? fmt(v, c.unit) : (v ?? '');
    const title = v === 'secret' ? 'secret statistique' : null;
    return i === 0 && opts.rowHeader ? h('th', { scope: 'row' }, content) : h('td', { class: cls, title }, content);
  })));
  return h('div', { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': caption }, h('table', {}, h('caption', {}, caption), h('thead', {}, head), h('tbody', {}, body)));
}

// CSV for French spreadsheets: ';' separator, decimal comma, secret cells "s".
export function toCsv(columns, rows) {
  const cell = v => {
    if (v === 'secret') return 's';
    if (v === null || v === undefined) return '';
    const s = typeof v === 'number' ? String(v).replace('.', ',') : String(v);
    return /[;"\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  };
  const lines = [columns.map(c => cell(c.label)).join(';')];
  for (const r of rows) lines.push(columns.map(c => cell(r[c.id])).join(';'));
  return '\ufeff' + lines.join('\r\n') + '\r\n';
}

export function download(name, text, type = 'text/csv;charset=utf-8') {
  const a = h('a', { href: URL.createObjectURL(new Blob([text], { type })), download: name });
  document.body.append(a); a.click(); a.remove();
}

// registry and dates asked once, in parallel, at start
export function preload() { registry().catch(() => {}); dates().catch(() => {}); }
export async function registry() {
  if (!state.registry) state.registry = api('GET', '/api/v1/indicators/registry');
  return state.registry;
}
export async function dates() {
  if (!state.dates) state.dates = api('GET', '/api/v1/dates').then(d => d.vintages || []);
  return state.dates;
}

export const LEVELS = [['region', 'Région'], ['departement', 'Département'], ['epci', 'EPCI'],
  ['commune', 'Commune'], ['qpv', 'QPV']];
export const ROLES = { member: 'bailleur', analyst: 'analyste', partner: 'partenaire', admin: 'administrateur',
  dpo: 'délégué à la protection des données', public: 'public' };

export function secretLegend() {
  return h('p', { class: 'legend', id: 'legende-secret' }, h('strong', {}, '« s » : secret statistique. '),
    'La valeur existe mais n\'est pas diffusée : elle concerne trop peu de logements ou de bailleurs, ',
    'un bailleur y est dominant, ou elle permettrait de retrouver une case voisine protégée.');
}

// A <select> of levels/dates.
export function select(id, label, options, value, attrs = {}) {
  return h('div', {}, h('label', { for: id }, label),
    h('select', { id, ...attrs }, options.map(([v, l]) => h('option', { value: v, selected: String(v) === String(value) }, l))));
}
