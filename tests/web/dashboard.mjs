// SPDX-License-Identifier: EUPL-1.2
// dashboard.mjs - the web dashboard in a real browser (Debian's Chromium driven by
// playwright-core) against the server started by tests/web/run: what each role sees, « s »
// where the API says secret, the map's communes, exports equal to the API, deep links,
// CSRF, an upload with known faults, axe-core on every page, first-load time and the size
// of the JavaScript + CSS shipped. Prints "ok NAME" / "not ok NAME".
import { createRequire } from 'node:module';
import { readFileSync, mkdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import os from 'node:os';

const require = createRequire(path.join(process.env.SRC, 'web', 'package.json'));
const { chromium } = require('playwright-core');
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const B = process.env.BASE, PW = process.env.PASSWORD, WORK = process.env.WORK, SRC = process.env.SRC;
const SHOTS = process.env.SHOTS === '1';
let failed = 0;
const ok = (name, cond, detail) => {
  if (cond) console.log(`ok ${name}`);
  else { failed++; console.log(`not ok ${name}`); if (detail !== undefined) console.log('    ' + String(detail).slice(0, 2000)); }
};

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, args: ['--no-sandbox'] });
const ctxOpts = { viewport: { width: 1280, height: 900 }, locale: 'fr-FR', bypassCSP: false };

async function newPage(login) {
  const ctx = await browser.newContext(ctxOpts);
  const page = await ctx.newPage();
  page.errors = [];
  page.on('pageerror', e => page.errors.push(String(e)));
  page.on('console', m => { if (m.type() === 'error' && !/status of 401/.test(m.text())) page.errors.push(m.text()); });
  if (login) {
    await page.goto(B + '/#/connexion');
    await page.fill('#login', login);
    await page.fill('#password', PW);
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#logout'));
  }
  return page;
}
async function go(page, hash) {
  const same = await page.evaluate(h => { document.getElementById('contenu').dataset.ready = ''; return location.hash === h; }, hash);
  if (same) await page.reload(); else await page.goto(B + '/' + hash);
  await page.waitForFunction(() => document.getElementById('contenu').dataset.ready, null, { timeout: 20000 });
}
async function apiJson(page, url) {
  return page.evaluate(async u => (await fetch(u, { credentials: 'same-origin' })).json(), url);
}
const menuOf = page => page.$$eval('#nav a', as => as.map(a => a.textContent));
async function shot(page, name) {
  if (!SHOTS) return;
  mkdirSync(path.join(SRC, 'docs', 'screenshots'), { recursive: true });
  await page.screenshot({ path: path.join(SRC, 'docs', 'screenshots', name + '.png') });
}

try {
  // ---- size of what is shipped ----
  {
    const html = await (await fetch(B + '/')).text();
    const urls = [...html.matchAll(/(?:src|href)="(\/(?:assets|vendor)\/[^"]+\.(?:js|css))"/g)].map(m => m[1]);
    const mods = ['/assets/lib.js', '/assets/territories.js'];
    let raw = 0, gz = 0;
    const files = [...new Set([...urls, ...mods])];
    for (const u of files) {
      const r = await fetch(B + u, { headers: { 'Accept-Encoding': 'identity' } });
      const b = Buffer.from(await r.arrayBuffer());
      raw += b.length; gz += gzipSync(b, { level: 9 }).length;
    }
    console.log(`# JS+CSS livrés : ${files.length} fichiers, ${(raw / 1024).toFixed(1)} Kio, ${(gz / 1024).toFixed(1)} Kio compressés (gzip -9)`);
    ok('JS+CSS under 300 KB compressed', gz < 300 * 1024, gz);
    const r = await fetch(B + '/');
    const csp = r.headers.get('content-security-policy') || '';
    ok('page CSP: scripts from this origin only, no inline', /script-src 'self'(;|$)/.test(csp) && !csp.includes('unsafe'), csp);
    const bad = await Promise.all(['/assets/..%2f..%2fsrc%2fserver%2fstatic.c', '/assets/.secret', '/vendor/leaflet.js.map',
      '/geo/..%2f..%2fpackage.json', '/assets/app.sh', '/vendor/%2fetc%2fpasswd'].map(async u => (await fetch(B + u)).status));
    ok('static files: traversal and unknown types refused', bad.every(s => s === 404 || s === 400), bad);
    const js = await fetch(B + '/assets/app.js');
    ok('static files: MIME type and caching', js.headers.get('content-type').startsWith('text/javascript') &&
      /max-age/.test(js.headers.get('cache-control')) && js.headers.get('etag'), [...js.headers].join(' '));
    const again = await fetch(B + '/assets/app.js', { headers: { 'If-None-Match': js.headers.get('etag') } });
    ok('static files: 304 on a matching ETag', again.status === 304, again.status);
  }

  // ---- the public: « s » exactly where the API says secret; first load time ----
  {
    const page = await newPage();
    const t0 = Date.now();
    await page.goto(B + '/#/territoires?niveau=commune&ind=nb_ls,tx_vac,loyer_m2&carte=tx_vac');
    await page.waitForFunction(() => document.getElementById('contenu').dataset.ready && document.querySelector('#carte[data-features]'), null, { timeout: 20000 });
    const ms = Date.now() - t0;
    console.log(`# premier chargement de la page Territoires (communes, carte comprise) : ${ms} ms`);
    /* Printed, not asserted: a wall-clock bound in a test fails on a busy CI machine (the
       project measures speed in bench/, not in tests). Target: under 1 s (issue 12). */
    console.log(`# premier chargement (objectif < 1 s) : ${ms} ms, charge ${os.loadavg()[0].toFixed(1)} pour ${os.cpus().length} cœurs`);
    const apiData = await apiJson(page, '/api/v1/indicators?level=commune&indicator=nb_ls,tx_vac,loyer_m2');
    const cells = await page.$$eval('#tableau-territoires tbody tr', trs => trs.map(tr => [...tr.children].map(td => td.textContent)));
    let mism = [], secrets = 0;
    const byCode = new Map(apiData.rows.map(r => [r.code, r]));
    for (const c of cells) {
      const r = byCode.get(c[1]);
      if (!r) { mism.push('unknown ' + c[1]); continue; }
      ['nb_ls', 'tx_vac', 'loyer_m2'].forEach((id, i) => {
        const sec = r[id] === 'secret';
        secrets += sec;
        if (sec !== (c[2 + i] === 's')) mism.push(`${c[1]} ${id}: api ${r[id]} page ${c[2 + i]}`);
      });
    }
    ok(`public sees « s » where the API says secret (${secrets} secret cells, ${cells.length} rows)`,
      mism.length === 0 && cells.length === apiData.rows.length && secrets > 0, mism.slice(0, 5).join('; ') || `${secrets} secrets`);
    ok('secret legend shown', await page.isVisible('#legende-secret'));
    const n = await page.$eval('#carte', e => Number(e.dataset.features || 0));
    const sec = await page.$eval('#carte', e => Number(e.dataset.secret || 0));
    const apiSec = apiData.rows.filter(r => r.tx_vac === 'secret').length;
    ok(`the map draws every commune of the région (${n} features, ${sec} secret as in the API)`, n === 1202 && sec === apiSec && sec > 0, `${n} ${sec} ${apiSec}`);
    ok('map attribution shown', (await page.textContent('#carte')).includes('IGN Admin Express, Licence Ouverte'));
    await shot(page, 'territoires');
    const menu = await menuOf(page);
    ok('public menu: no member, admin or DPO page', !menu.some(m => /Administration|Registre|Déposer|Accueil/.test(m)), menu);
    await go(page, '#/admin');
    ok('public refused on Administration', (await page.textContent('main')).includes('Connectez-vous'));
    ok('no script error (public)', page.errors.length === 0, page.errors.join(' | '));
    await page.context().close();
  }

  // ---- each role: what it may see ----
  const expectMenu = {
    bailleur: ['Accueil', 'Déposer une livraison', 'Mon compte'], analyste: ['Territoires', 'Mon compte'],
    partenaire: ['Territoires', 'Mon compte'], admin: ['Administration', 'Mon compte'], dpd: ['Registre et audit', 'Mon compte'],
  };
  const forbidden = {
    bailleur: ['Administration', 'Registre et audit'], analyste: ['Administration', 'Registre et audit', 'Déposer une livraison'],
    partenaire: ['Administration', 'Registre et audit', 'Déposer une livraison', 'Accueil'], admin: ['Registre et audit', 'Déposer une livraison', 'Territoires'],
    dpd: ['Administration', 'Déposer une livraison', 'Énergie'],
  };
  const pages = {};
  for (const who of Object.keys(expectMenu)) {
    const page = await newPage(who);
    pages[who] = page;
    const menu = await menuOf(page);
    ok(`${who}: menu has ${expectMenu[who].join(', ')}`, expectMenu[who].every(m => menu.includes(m)), menu);
    ok(`${who}: menu lacks ${forbidden[who].join(', ')}`, !forbidden[who].some(m => menu.includes(m)), menu);
  }
  {
    const page = pages.bailleur;
    await go(page, '#/admin');
    ok('member refused on Administration', (await page.textContent('main')).includes('pas ouverte à votre rôle'));
    await go(page, '#/accueil');
    ok('member home: key figures and deliveries', (await page.$$('main table')).length >= 2);
    await shot(page, 'accueil');
    await go(page, '#/energie?niveau=departement');
    ok('member energy: own dwellings listed', /\d+ logements de votre patrimoine/.test(await page.textContent('main')));
    const admin = pages.admin;
    await go(admin, '#/admin');
    ok('admin sees organisations, users, agreements', (await admin.$$('main table')).length === 3);
    await shot(admin, 'administration');
    const dpd = pages.dpd;
    await go(dpd, '#/registre');
    ok('DPO sees the register and the audit log', (await dpd.textContent('main')).includes('Journal d\'audit') && (await dpd.$$('main tbody tr')).length > 5);
    // the partner's map: communes outside its agreement (département 29) are not coloured
    const part = pages.partenaire;
    await go(part, '#/territoires?niveau=commune&ind=nb_ls');
    const pdata = await apiJson(part, '/api/v1/indicators?level=commune&indicator=nb_ls');
    const outside = pdata.rows.filter(r => !r.code.startsWith('29'));
    const fills = { length: await part.$eval('#carte', e => Number(e.dataset.features)) };
    const white = await part.$eval('#carte', e => Number(e.dataset.blank));
    ok(`partner sees only its territory (${pdata.rows.length} communes of 29; ${white} of ${fills.length} map communes left blank)`,
      outside.length === 0 && pdata.rows.length > 0 && white >= fills.length - 277, `${outside.length} outside, ${white} blank`);
  }

  // ---- exports equal to the API's figures; deep links ----
  {
    const page = pages.analyste;
    const hash = '#/territoires?niveau=epci&date=2024-01-01&ind=nb_ls,tx_vac,loyer_m2&tri=nb_ls&ordre=desc';
    await go(page, hash);
    const apiData = await apiJson(page, '/api/v1/indicators?level=epci&date=2024-01-01&indicator=nb_ls,tx_vac,loyer_m2');
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
    const csv = readFileSync(await dl.path(), 'utf8').replace(/^\ufeff/, '').trim().split('\r\n').map(l => l.split(';'));
    csv.shift();
    const byCode = new Map(apiData.rows.map(r => [r.code, r]));
    const diff = [];
    for (const l of csv) {
      const r = byCode.get(l[1]);
      if (!r) { diff.push('unknown ' + l[1]); continue; }
      ['nb_ls', 'tx_vac', 'loyer_m2'].forEach((id, i) => {
        const want = r[id] === 'secret' ? 's' : r[id] === null ? '' : String(r[id]).replace('.', ',');
        if (l[2 + i] !== want) diff.push(`${l[1]} ${id}: ${l[2 + i]} != ${want}`);
      });
    }
    ok(`CSV export equals the API's figures (${csv.length} EPCI)`, diff.length === 0 && csv.length === apiData.rows.length, diff.slice(0, 5));
    const nums = csv.map(l => Number(l[2].replace(',', '.'))).filter(x => !isNaN(x));
    const state = await page.evaluate(() => ({ niveau: document.querySelector('#niveau').value, date: document.querySelector('#date').value,
      ind: [...document.querySelector('#ind').selectedOptions].map(o => o.value).join(',') }));
    ok('deep link restores level, date, indicators and sort', state.niveau === 'epci' && state.date === '2024-01-01' &&
      state.ind.split(',').sort().join() === 'loyer_m2,nb_ls,tx_vac' && nums.every((x, i) => i === 0 || nums[i - 1] >= x), JSON.stringify(state));
    await page.reload();
    await page.waitForFunction(() => document.getElementById('contenu').dataset.ready);
    ok('deep link survives a reload', (await page.$eval('#niveau', s => s.value)) === 'epci');
    await go(page, '#/fiche?niveau=departement&code=35');
    ok('territory sheet: figures and history', (await page.textContent('main')).includes('Historique') && (await page.$$('main table')).length >= 2);
    await shot(page, 'fiche');
    if (SHOTS) {
      await go(page, '#/territoires?niveau=commune&ind=nb_ls,tx_vac');
      await page.waitForSelector('#carte[data-features]');
      await page.locator('#carte').screenshot({ path: path.join(SRC, 'docs', 'screenshots', 'carte.png') });
    }
  }

  // ---- CSRF ----
  {
    const page = pages.analyste;
    const n0 = page.errors.length;
    const st = await page.evaluate(async () => {
      const a = await fetch('/api/v1/tokens', { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: '{"scope":"read:indicators","days":1}' });
      const b = await fetch('/api/v1/tokens', { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': sessionStorage.getItem('dh-csrf') }, body: '{"scope":"read:indicators","days":1}' });
      return [a.status, b.status];
    });
    ok('CSRF: a write without the token is refused, with it accepted', st[0] === 403 && st[1] === 201, st);
    // that refusal, logged by the browser as a failed load, is the one expected
    page.errors = page.errors.slice(0, n0).concat(page.errors.slice(n0).filter(e => !/status of 403/.test(e)));
  }

  // ---- upload a file with known faults ----
  {
    const page = pages.bailleur;
    const member = process.env.MEMBER;
    const faults = readFileSync(path.join(WORK, 'up', 'faults.csv'), 'utf8').trim().split('\n').slice(1)
      .map(l => l.split(';')).filter(f => f[0] === `rpls-${member}.csv`);
    await go(page, '#/depot');
    await page.setInputFiles('#fichier', path.join(WORK, 'up', `rpls-${member}.csv`));
    await page.fill('#date-ref', '2025-01-01');
    await page.click('form.controls button[type=submit]');
    await page.waitForSelector('#rapport table, #rapport .error', { timeout: 30000 });
    if (!(await page.$('#rapport table'))) console.log('    report: ' + (await page.textContent('#rapport')));
    const prog = await page.$eval('#progression', p => p.value);
    const missing = [];
    for (const [, row, col, field, code] of faults) {
      await page.selectOption('#regle', code);
      let found = false;
      for (;;) {
        const rows = await page.$$eval('#rapport table:last-of-type tbody tr', trs => trs.map(tr => [...tr.children].map(td => td.textContent)));
        if (rows.some(r => r[0] === row && r[2] === field)) { found = true; break; }
        const next = await page.$('#rapport nav button:last-child:not([disabled])');
        if (!next) break;
        await next.click();
      }
      if (!found) missing.push(`${row}/${col}/${field}/${code}`);
    }
    ok(`upload: each known fault's line in the report (${faults.length} faults), progress ${prog} %`, faults.length > 0 && missing.length === 0 && prog === 100, missing);
    await page.selectOption('#regle', '');
    await shot(page, 'depot');
  }

  // ---- axe-core on every page ----
  {
    const ctx = await browser.newContext({ ...ctxOpts, bypassCSP: true }); // to inject axe only
    const page = await ctx.newPage();
    const list = [[null, '#/public'], [null, '#/connexion'], [null, '#/territoires?niveau=commune&ind=nb_ls,tx_vac'], [null, '#/energie'],
      ['bailleur', '#/accueil'], ['bailleur', '#/depot'], ['bailleur', '#/compte'], ['bailleur', '#/fiche?niveau=departement&code=29'],
      ['admin', '#/admin'], ['dpd', '#/registre']];
    let current = null;
    for (const [who, hash] of list) {
      if (who !== current) {
        await ctx.clearCookies();
        if (who) {
          await page.goto(B + '/#/connexion');
          await page.fill('#login', who); await page.fill('#password', PW); await page.click('button[type=submit]');
          await page.waitForFunction(() => document.querySelector('#logout'));
        }
        current = who;
      }
      await page.goto(B + '/' + hash);
      await page.reload();
      await page.waitForFunction(() => document.getElementById('contenu').dataset.ready, null, { timeout: 20000 });
      await page.addScriptTag({ content: AXE });
      const v = await page.evaluate(async () => (await window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] })).violations
        .map(x => `${x.id}: ${x.nodes.length} (${x.nodes[0].target.join(' ')})`));
      ok(`axe-core: no WCAG 2.1 AA violation on ${hash}${who ? ' (' + who + ')' : ''}`, v.length === 0, v.join('; '));
      if (SHOTS && hash === '#/public') await shot(page, 'public');
    }
    await ctx.close();
  }
  for (const [who, p] of Object.entries(pages)) ok(`no script error (${who})`, p.errors.length === 0, p.errors.join(' | '));
} catch (e) {
  failed++;
  console.log('not ok dashboard run', '\n    ' + (e.stack || e));
}
await browser.close();
process.exit(failed ? 1 : 0);
