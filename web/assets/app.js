// SPDX-License-Identifier: EUPL-1.2
// app.js - the dashboard's router (#/page?params: every view is a deep link), its menu by
// role, and the pages Connexion, Mon compte, Accueil, Énergie, Déposer une livraison,
// Administration, Registre et audit, Données publiques (Territoires: territories.js).
import { state, preload, api, setCsrf, fmt, fdate, fdatetime, h, table, toCsv, download, dates, ROLES, secretLegend, select, say, errorBox, ApiError } from './lib.js';
import { pageTerritories, pageFiche } from './territories.js';

// who reads figures: the API refuses them to the administrator and the DPO (403)
const FIGURES = ['public', 'member', 'analyst', 'partner'];
const HOME = { member: '/accueil', admin: '/admin', dpo: '/registre' };
const PAGES = {
  '/connexion': { title: 'Connexion', run: pageLogin },
  '/compte': { title: 'Mon compte', run: pageAccount, roles: 'any' },
  '/accueil': { title: 'Accueil', run: pageHome, roles: ['member'] },
  '/territoires': { title: 'Territoires', run: pageTerritories, roles: FIGURES },
  '/fiche': { title: 'Fiche territoire', run: pageFiche, hidden: true, roles: FIGURES },
  '/energie': { title: 'Énergie', run: pageEnergy, roles: FIGURES },
  '/depot': { title: 'Déposer une livraison', run: pageUpload, roles: ['member'] },
  '/admin': { title: 'Administration', run: pageAdmin, roles: ['admin'] },
  '/registre': { title: 'Registre et audit', run: pageRegister, roles: ['dpo'] },
  '/public': { title: 'Données publiques', run: pagePublic },
};

function allowed(page) {
  if (!page.roles) return true;
  if (!state.me) return page.roles === FIGURES;
  return page.roles === 'any' || page.roles.includes(state.me.role);
}

function menu(current) {
  const items = Object.entries(PAGES).filter(([, pg]) => !pg.hidden && allowed(pg) && !(state.me && pg.run === pageLogin));
  document.getElementById('nav').replaceChildren(...items.map(([path, pg]) =>
    h('li', {}, h('a', { href: '#' + path, 'aria-current': path === current ? 'page' : null }, pg.title))));
  const who = document.getElementById('who');
  who.replaceChildren(state.me
    ? h('span', {}, `${state.me.login} (${ROLES[state.me.role] || state.me.role}) `,
      h('button', { type: 'button', class: 'secondary', id: 'logout', onclick: logout }, 'Se déconnecter'))
    : h('a', { href: '#/connexion' }, 'Se connecter'));
}

async function logout() {
  try { await api('DELETE', '/api/v1/session'); } catch (e) { /* already gone */ }
  setCsrf(''); state.me = null; location.hash = '#/connexion';
}

async function route() {
  const [path, qs] = (location.hash.slice(1) || '/').split('?');
  const params = Object.fromEntries(new URLSearchParams(qs || ''));
  let target = path;
  if (!PAGES[target]) target = state.me ? HOME[state.me.role] || '/territoires' : '/public';
  const page = PAGES[target];
  menu(target);
  const main = document.getElementById('contenu');
  document.title = `${page.title} — datahabitat`;
  if (!allowed(page)) {
    main.replaceChildren(h('h1', {}, page.title), h('p', { class: 'error' },
      state.me ? 'Cette page n\'est pas ouverte à votre rôle.' : 'Connectez-vous pour voir cette page.'),
    state.me ? '' : h('a', { href: '#/connexion' }, 'Connexion'));
    main.dataset.ready = target;
    return;
  }
  main.replaceChildren(h('h1', {}, page.title), h('p', {}, 'Chargement…'));
  try { await page.run(main, params); } catch (e) { main.append(errorBox(e)); }
  main.dataset.ready = target;
  main.focus({ preventScroll: true });
}

async function start() {
  preload();
  try { state.me = await api('GET', '/api/v1/me'); } catch (e) { state.me = null; }
  window.addEventListener('hashchange', route);
  await route();
}

// ---- Connexion ----
async function pageLogin(main) {
  const msg = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'stack', onsubmit: async ev => {
    ev.preventDefault();
    try {
      const r = await api('POST', '/api/v1/session', { login: form.login.value, password: form.password.value });
      setCsrf(r.csrf_token);
      state.me = await api('GET', '/api/v1/me');
      location.hash = '#' + (HOME[state.me.role] || '/territoires');
    } catch (e) { msg.replaceChildren(errorBox(e.status === 401 ? 'Identifiant ou mot de passe incorrect.' : e)); }
  } },
  h('p', {}, h('label', { for: 'login' }, 'Identifiant'), h('input', { id: 'login', name: 'login', autocomplete: 'username', required: true })),
  h('p', {}, h('label', { for: 'password' }, 'Mot de passe'), h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
  h('p', {}, h('button', { type: 'submit' }, 'Se connecter')));
  main.replaceChildren(h('h1', {}, 'Connexion'), form, msg,
    h('p', {}, 'Sans compte, les ', h('a', { href: '#/public' }, 'données publiques'), ' restent consultables.'));
}

// ---- Mon compte ----
async function pageAccount(main) {
  const me = state.me;
  const tokens = await api('GET', '/api/v1/tokens');
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'controls', onsubmit: async ev => {
    ev.preventDefault();
    try {
      const t = await api('POST', '/api/v1/tokens', { scope: form.scope.value, days: Number(form.days.value) });
      out.replaceChildren(h('p', { class: 'ok' }, 'Jeton créé (copiez-le, il ne sera plus affiché) : ', h('code', {}, t.token || JSON.stringify(t))));
    } catch (e) { out.replaceChildren(errorBox(e)); }
  } },
  select('scope', 'Portée', [['read:indicators', 'lecture des indicateurs'], ['write:import', 'dépôt de livraisons']], 'read:indicators'),
  h('div', {}, h('label', { for: 'days' }, 'Validité (jours)'), h('input', { id: 'days', name: 'days', type: 'number', min: 1, max: 365, value: 30, required: true })),
  h('button', { type: 'submit' }, 'Créer un jeton'));
  const cols = [{ id: 'id', label: 'N°' }, { id: 'scope', label: 'Portée' }, { id: 'expires', label: 'Expire le' }, { id: 'x', label: 'Action',
    render: r => h('button', { type: 'button', class: 'secondary', onclick: async () => { await api('DELETE', `/api/v1/tokens/${r.id}`); route(); } }, `Révoquer le jeton ${r.id}`) }];
  main.replaceChildren(h('h1', {}, 'Mon compte'),
    h('p', {}, `Identifiant : ${me.login} ; rôle : ${ROLES[me.role]}`, me.organisation ? ` ; organisme (SIREN) : ${me.organisation}` : '',
      me.territory ? ` ; territoire : ${me.territory.level || ''} ${me.territory.code || JSON.stringify(me.territory)}` : ''),
    h('p', {}, 'Le mot de passe se change auprès de l\'administrateur (l\'API n\'offre pas encore ce changement).'),
    h('h2', {}, 'Jetons personnels'), table('Vos jetons', cols, (tokens || []).map(t => ({ ...t, expires: fdate(t.expires || t.expires_at || '') }))),
    form, out);
}

// ---- Accueil (bailleur) ----
const KEY = ['nb_ls', 'tx_vac', 'tx_vac3', 'tx_mob', 'loyer_m2', 'part_fg', 'interdit_2025', 'interdit_2028', 'interdit_2034'];
async function pageHome(main) {
  const vint = await dates();
  const date = vint[vint.length - 1];
  main.replaceChildren(h('h1', {}, 'Accueil'), h('p', {}, `Organisme ${state.me.organisation}, chiffres au ${fdate(date)}.`), secretLegend());
  const cols = [{ id: 'name', label: 'Territoire' }];
  const rows = [];
  for (const lvl of ['landlord', 'region', 'departement']) { // landlord: the member's own organisation
    try {
      const r = await api('GET', `/api/v1/indicators?level=${lvl}&indicator=${KEY.join(',')}&date=${date}`);
      if (cols.length === 1) cols.push(...r.columns.map(c => ({ id: c.id, label: c.label, unit: c.unit })));
      rows.push(...r.rows);
    } catch (e) { main.append(errorBox(e)); }
  }
  main.append(table('Chiffres clés de votre organisme (première ligne), de la région et des départements', cols, rows, { rowHeader: true }));
  const dl = await api('GET', '/api/v1/deliveries');
  const refused = dl.filter(d => d.status !== 'accepted');
  main.append(h('h2', {}, 'Alertes'), refused.length
    ? h('ul', {}, refused.map(d => h('li', { class: 'error' }, `Livraison ${d.id} du ${fdate(d.reference_date)} : ${d.status}`)))
    : h('p', {}, 'Aucune livraison refusée.'));
  main.append(h('h2', {}, 'Dernières livraisons'), deliveriesTable(dl.slice(0, 10)));
}

function deliveriesTable(dl) {
  return table('Livraisons', [{ id: 'id', label: 'N°' }, { id: 'reference_date', label: 'Date de référence', render: r => fdate(r.reference_date) },
    { id: 'file_name', label: 'Fichier' }, { id: 'status', label: 'État', render: r => (r.status === 'accepted' ? 'acceptée' : r.status === 'refused' ? 'refusée' : r.status) },
    { id: 'rows_read', label: 'Lignes lues', unit: '' }, { id: 'rows_rejected', label: 'Lignes rejetées', unit: '' },
    { id: 'r', label: 'Rapport', render: r => h('a', { href: `#/depot?rapport=${r.id}` }, `Rapport de la livraison ${r.id}`) }], dl);
}

// ---- Énergie ----
const DPE = ['dpe_e_a', 'dpe_e_b', 'dpe_e_c', 'dpe_e_d', 'dpe_e_e', 'dpe_e_f', 'dpe_e_g', 'dpe_absent', 'part_fg', 'interdit_2025', 'interdit_2028', 'interdit_2034'];
async function pageEnergy(main, p) {
  const vint = await dates();
  const lvl = p.niveau || 'departement', date = p.date || vint[vint.length - 1];
  main.replaceChildren(h('h1', {}, 'Énergie'),
    h('p', {}, 'Étiquettes énergie (DPE) et calendrier d\'interdiction de location de la loi Climat et résilience : G au 1/1/2025, F au 1/1/2028, E au 1/1/2034.'),
    h('form', { class: 'controls', onsubmit: ev => { ev.preventDefault(); location.hash = `#/energie?niveau=${ev.target.niveau.value}&date=${ev.target.date.value}`; } },
      select('niveau', 'Niveau', [...(state.me && state.me.role === 'member' ? [['landlord', 'Votre organisme']] : []),
        ['region', 'Région'], ['departement', 'Département'], ['epci', 'EPCI'], ['commune', 'Commune']], lvl),
      select('date', 'Date', vint.map(d => [d, fdate(d)]), date), h('button', { type: 'submit' }, 'Afficher')), secretLegend());
  try {
    const r = await api('GET', `/api/v1/indicators?level=${lvl}&indicator=${DPE.join(',')}&date=${date}`);
    main.append(table(`DPE et interdictions par ${lvl} au ${fdate(date)}`,
      [{ id: 'name', label: 'Territoire' }, ...r.columns.map(c => ({ id: c.id, label: c.label, unit: c.unit }))], r.rows, { rowHeader: true }));
  } catch (e) { main.append(errorBox(e)); }
  if (state.me && state.me.role === 'member') {
    main.append(h('h2', {}, 'Vos logements concernés (classés E, F ou G)'));
    const text = await (await fetch(`/api/v1/stock?date=${date}`, { credentials: 'same-origin' })).text();
    const lines = text.trim().split('\n').map(l => l.split(';'));
    const hd = lines.shift() || [];
    const ix = n => hd.indexOf(n);
    const rows = lines.filter(l => ['E', 'F', 'G'].includes(l[ix('DPEENERGIE')])).map(l => ({
      id: l[ix('IDENT_INT')], com: l[ix('LIBCOM')], dpe: l[ix('DPEENERGIE')],
      date: { G: '01/01/2025', F: '01/01/2028', E: '01/01/2034' }[l[ix('DPEENERGIE')]] }));
    main.append(table(`${rows.length} logements de votre patrimoine`, [{ id: 'id', label: 'Identifiant interne' }, { id: 'com', label: 'Commune' },
      { id: 'dpe', label: 'Étiquette' }, { id: 'date', label: 'Interdit à la location au' }], rows.slice(0, 500)));
  }
}

// ---- Déposer une livraison ----
const PAGE_SIZE = 50;
async function pageUpload(main, p) {
  main.replaceChildren(h('h1', {}, 'Déposer une livraison'));
  const vint = await dates();
  const progress = h('progress', { max: 100, value: 0, id: 'progression', 'aria-label': 'Progression de l\'envoi' });
  const report = h('section', { id: 'rapport', 'aria-live': 'polite' });
  const file = h('input', { type: 'file', id: 'fichier', accept: '.csv,.txt' });
  const form = h('form', { class: 'controls', onsubmit: ev => { ev.preventDefault(); if (file.files[0]) send(file.files[0]); } },
    h('div', { class: 'drop' }, h('label', { for: 'fichier' }, 'Fichier RPLS (CSV) — choisissez-le ou déposez-le ici'), file),
    h('div', {}, h('label', { for: 'date-ref' }, 'Date de référence'), h('input', { id: 'date-ref', type: 'date', required: true, value: vint[vint.length - 1] || '' })),
    h('button', { type: 'submit' }, 'Envoyer'), progress);
  const drop = form.querySelector('.drop');
  drop.addEventListener('dragover', ev => { ev.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', ev => { ev.preventDefault(); drop.classList.remove('over'); if (ev.dataTransfer.files[0]) send(ev.dataTransfer.files[0]); });
  function send(f) {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/v1/deliveries?date=${form.querySelector('#date-ref').value}&name=${encodeURIComponent(f.name)}`);
    xhr.setRequestHeader('X-CSRF-Token', sessionStorage.getItem('dh-csrf') || '');
    xhr.setRequestHeader('Content-Type', 'text/csv');
    xhr.upload.onprogress = e => { if (e.lengthComputable) progress.value = Math.round(100 * e.loaded / e.total); };
    xhr.onload = async () => {
      progress.value = 100;
      let body; try { body = JSON.parse(xhr.responseText); } catch (e) { body = { detail: xhr.responseText }; }
      const id = body.delivery && body.delivery.id;
      if (!id) { report.replaceChildren(errorBox(new ApiError(xhr.status, body.detail))); return; }
      try { showReport(report, await api('GET', `/api/v1/deliveries/${id}/report`), id, { page: 1 }); } catch (e) { report.replaceChildren(errorBox(e)); }
      say('Envoi terminé, rapport affiché');
    };
    xhr.onerror = () => report.replaceChildren(errorBox('Envoi interrompu.'));
    xhr.send(f);
  }
  main.append(form, report);
  if (p.rapport) {
    try { showReport(report, await api('GET', `/api/v1/deliveries/${p.rapport}/report`), p.rapport, p); } catch (e) { report.append(errorBox(e)); }
  }
  main.append(h('h2', {}, 'Historique des livraisons'), deliveriesTable(await api('GET', '/api/v1/deliveries')));
}

function showReport(el, rep, id, p) {
  const errs = rep.errors || [];
  const st = rep.stats || {};
  const rule = p.regle || '';
  const shown = errs.filter(e => !rule || e.code === rule);
  const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
  const page = Math.min(pages, Math.max(1, Number(p.page) || 1));
  const cols = [{ id: 'row', label: 'Ligne' }, { id: 'column', label: 'Colonne' }, { id: 'field', label: 'Champ' },
    { id: 'value', label: 'Valeur' }, { id: 'expected', label: 'Attendu' }, { id: 'code', label: 'Règle' }, { id: 'severity', label: 'Gravité' }];
  const rows = shown.map(e => ({ ...e, expected: (e.message || '').replace(/^.*attendu /, '') }));
  const redraw = q => showReport(el, rep, id, { ...p, ...q });
  el.replaceChildren(h('h2', {}, `Rapport de validation${id ? ' de la livraison ' + id : ''}`),
    h('p', { class: rep.valid ? 'ok' : 'error' }, rep.valid ? 'Fichier conforme.' : 'Fichier non conforme.',
      ` ${fmt(st.rows)} lignes lues, ${fmt(st.rows_valid)} valides, ${fmt(st.errors)} erreurs, ${fmt(st.warnings)} avertissements.`,
      rep.delivery ? ` Livraison ${rep.delivery.status === 'accepted' ? 'acceptée' : 'refusée'}.` : ''),
    table('Problèmes par règle', [{ id: 'rule', label: 'Règle' }, { id: 'n', label: 'Nombre', unit: '' }],
      Object.entries(rep.counts || {}).map(([rule, n]) => ({ rule, n }))),
    h('div', { class: 'controls' }, select('regle', 'Filtrer par règle', [['', 'toutes'], ...Object.keys(rep.counts || {}).map(k => [k, k])], rule,
      { onchange: ev => redraw({ regle: ev.target.value, page: 1 }) }),
    h('button', { type: 'button', id: 'export-rapport', onclick: () => download(`rapport-${id || 'livraison'}.csv`, toCsv(cols, rows)) }, 'Exporter les problèmes en CSV'),
    id ? h('a', { class: 'button', href: `/api/v1/deliveries/${id}/report?format=csv` }, 'Rapport complet (CSV de l\'API)') : ''),
    table(`Problèmes (page ${page} sur ${pages})`, cols, rows.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE)),
    h('nav', { 'aria-label': 'Pages du rapport', class: 'controls' },
      h('button', { type: 'button', disabled: page <= 1, onclick: () => redraw({ page: page - 1 }) }, 'Page précédente'),
      h('span', {}, `Page ${page} / ${pages}`),
      h('button', { type: 'button', disabled: page >= pages, onclick: () => redraw({ page: page + 1 }) }, 'Page suivante')));
}

// ---- Administration ----
function adminForm(title, fields, submit) {
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'controls', onsubmit: async ev => {
    ev.preventDefault();
    const body = {};
    for (const [name] of fields) if (form[name].value) body[name] = form[name].value;
    try { await submit(body); out.replaceChildren(h('p', { class: 'ok' }, 'Enregistré.')); setTimeout(route, 400); } catch (e) { out.replaceChildren(errorBox(e)); }
  } }, fields.map(([name, label, attrs]) => h('div', {}, h('label', { for: `f-${title}-${name}` }, label),
    attrs && attrs.options ? h('select', { id: `f-${title}-${name}`, name }, attrs.options.map(o => h('option', { value: o }, o)))
      : h('input', { id: `f-${title}-${name}`, name, ...(attrs || {}) }))), h('button', { type: 'submit' }, title));
  return [form, out];
}
async function pageAdmin(main) {
  const [orgs, users, agr] = await Promise.all([api('GET', '/api/v1/organisations'), api('GET', '/api/v1/users'), api('GET', '/api/v1/agreements')]);
  const keys = list => [...new Set(list.flatMap(o => Object.keys(o)))].slice(0, 8).map(k => ({ id: k, label: k }));
  const cell = v => (v && typeof v === 'object' ? JSON.stringify(v) : v);
  const flat = list => list.map(o => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, cell(v)])));
  main.replaceChildren(h('h1', {}, 'Administration'),
    h('h2', {}, 'Organismes'), table('Organismes', keys(orgs), flat(orgs)),
    ...adminForm('Ajouter un organisme', [['siren', 'SIREN', { pattern: '[0-9]{9}', required: true }], ['name', 'Nom', { required: true }],
      ['kind', 'Catégorie', { options: ['OPH', 'ESH', 'SEM', 'COOP'] }]], b => api('POST', '/api/v1/organisations', b)),
    h('h2', {}, 'Utilisateurs'), table('Utilisateurs', [...keys(users), { id: 'x', label: 'Action',
      render: u => h('button', { type: 'button', class: 'secondary', onclick: async () => { await api('DELETE', `/api/v1/users/${u.login}`); route(); } }, `Supprimer ${u.login}`) }], flat(users)),
    ...adminForm('Ajouter un utilisateur', [['login', 'Identifiant', { required: true, pattern: '[a-z0-9._-]{2,32}' }],
      ['role', 'Rôle', { options: ['member', 'analyst', 'partner', 'admin', 'dpo'] }], ['organisation', 'SIREN (bailleur)', { pattern: '[0-9]{9}' }],
      ['territory', 'Territoire (partenaire, ex. departement:29)'], ['password', 'Mot de passe initial', { type: 'password', minlength: 8, required: true, autocomplete: 'new-password' }]],
    b => api('POST', '/api/v1/users', b)),
    h('h2', {}, 'Conventions de partage'), table('Conventions', [...keys(agr), { id: 'x', label: 'Action',
      render: a => h('button', { type: 'button', class: 'secondary', onclick: async () => { await api('DELETE', `/api/v1/agreements/${a.id}`); route(); } }, `Mettre fin à la convention ${a.id}`) }], flat(agr)),
    ...adminForm('Créer une convention', [['audience', 'Public visé (public, partner:departement:29…)', { required: true }],
      ['indicators', 'Indicateurs (all ou liste)', { required: true, value: 'all' }], ['purpose', 'Finalité', { required: true }],
      ['legal_basis', 'Base légale', { required: true }], ['start', 'Début', { type: 'date', required: true }], ['end', 'Fin', { type: 'date', required: true }]],
    b => api('POST', '/api/v1/agreements', b)));
}

// ---- Registre et audit (DPD) ----
async function pageRegister(main, p) {
  const [reg, audit] = await Promise.all([api('GET', '/api/v1/gdpr/register'), api('GET', `/api/v1/audit${p.depuis ? '?from=' + p.depuis : ''}`)]);
  const f = (p.action || '').toLowerCase();
  const rows = audit.filter(a => !f || a.action.toLowerCase().includes(f) || String(a.actor).toLowerCase().includes(f));
  main.replaceChildren(h('h1', {}, 'Registre et audit'),
    h('h2', {}, reg.titre || 'Registre des traitements'), h('p', {}, `Établi le ${fdate(reg.date)}.`),
    h('details', {}, h('summary', {}, 'Contenu du registre'), h('pre', {}, JSON.stringify(reg, null, 2))),
    h('h2', {}, 'Journal d\'audit'),
    h('p', {}, 'Chaîne de hachage : la vérification complète (', h('code', {}, 'datahabitat audit verify --checkpoints'), ') se lance sur le serveur ; l\'API n\'en expose pas encore l\'état.'),
    h('form', { class: 'controls', onsubmit: ev => { ev.preventDefault(); location.hash = `#/registre?action=${encodeURIComponent(ev.target.action.value)}&depuis=${ev.target.depuis.value}`; } },
      h('div', {}, h('label', { for: 'action' }, 'Action ou acteur contient'), h('input', { id: 'action', name: 'action', value: p.action || '' })),
      h('div', {}, h('label', { for: 'depuis' }, 'À partir de l\'entrée n°'), h('input', { id: 'depuis', name: 'depuis', type: 'number', min: 1, value: p.depuis || '' })),
      h('button', { type: 'submit' }, 'Filtrer')),
    table(`${rows.length} entrées`, [{ id: 'seq', label: 'N°' }, { id: 'time', label: 'Heure', render: r => fdatetime(r.time) }, { id: 'actor', label: 'Acteur' },
      { id: 'action', label: 'Action' }, { id: 'object', label: 'Objet' }, { id: 'result', label: 'Résultat' }], rows));
}

// ---- Données publiques ----
async function pagePublic(main) {
  main.replaceChildren(h('h1', {}, 'Données publiques'),
    h('p', {}, 'Ces chiffres sont ouverts à tous par les conventions de diffusion publique des bailleurs. Ils proviennent du répertoire des logements locatifs des bailleurs sociaux (RPLS) au 1er janvier de chaque année.'),
    h('h2', {}, 'Méthode'),
    h('p', {}, 'Chaque indicateur est calculé sur les logements livrés par les bailleurs (définitions dans la documentation du registre des indicateurs). Les taux sont arrondis.'),
    h('h2', {}, 'Secret statistique'),
    h('ul', {}, h('li', {}, 'une case qui porte sur trop peu de logements ou de bailleurs n\'est pas diffusée ;'),
      h('li', {}, 'ni une case où un bailleur pèse trop (règle de dominance et règle p %) ;'),
      h('li', {}, 'des cases voisines sont masquées aussi quand elles permettraient de retrouver une case protégée par différence.')),
    secretLegend(), h('p', {}, h('a', { href: '#/territoires?niveau=departement' }, 'Explorer les indicateurs publics par territoire')));
  try {
    const r = await api('GET', '/api/v1/indicators?level=region&indicator=nb_ls,tx_vac,loyer_m2,part_fg');
    main.append(table(`Région au ${fdate(r.date)}`, [{ id: 'name', label: 'Territoire' }, ...r.columns.map(c => ({ id: c.id, label: c.label, unit: c.unit }))], r.rows, { rowHeader: true }));
  } catch (e) { main.append(errorBox(e)); }
}

start();
