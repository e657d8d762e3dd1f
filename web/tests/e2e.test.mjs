// Browser tests of the console against a running shuixiao server (normally
// the `shuixiao demo` that tests/run.sh starts): playwright-core drives
// Debian's Chromium. Each page must load without console errors; the
// drill-down, the Sankey, the receipt check (genuine and tampered) and tenant
// isolation are exercised; a screenshot of every page goes to ARTIFACTS.
//
// Environment: SHUIXIAO_URL (e.g. http://127.0.0.1:18080), SHUIXIAO_TOKEN
// (admin), ARTIFACTS (screenshot dir), optional SHUIXIAO_BIN (to check a
// downloaded receipt with `shuixiao verify proof`), CHROMIUM (default
// /usr/bin/chromium).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';

const BASE = (process.env.SHUIXIAO_URL ?? '').replace(/\/$/, '');
const TOKEN = process.env.SHUIXIAO_TOKEN ?? '';
const OUT = process.env.ARTIFACTS ?? 'test-artifacts/console';
const BIN = process.env.SHUIXIAO_BIN ?? '';
if (!BASE || !TOKEN) throw new Error('set SHUIXIAO_URL and SHUIXIAO_TOKEN (tests/run.sh does)');
mkdirSync(OUT, { recursive: true });

// Flags from reference/platform.md §5: without the background-networking
// ones Chromium keeps trying hosts this machine cannot reach.
const LAUNCH = {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
};

let browser;
const state = {}; // facts found by earlier tests, used by later ones

async function api(path, { token = TOKEN, method = 'GET', body } = {}) {
  let res;
  // A question whose year's roll-up is computing is answered 202: asked again (its Location) after Retry-After,
  // but for a refresh, whose 202 is the answer.
  for (let tries = 0; ; tries++) {
    res = await fetch(BASE + '/api/v1' + path, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (res.status !== 202 || /[?&]refresh=1/.test(path) || tries > 300) break;
    await res.text();
    await new Promise((r) => setTimeout(r, 1000 * Math.min(5, Number(res.headers.get('Retry-After')) || 1)));
  }
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
}

/** newPage opens a page that records console errors and uncaught exceptions. */
async function newPage(token = TOKEN, lang = 'zh') {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', acceptDownloads: true });
  await context.addInitScript(
    ([t, l]) => {
      if (!sessionStorage.getItem('seeded')) {
        if (t) localStorage.setItem('shuixiao.token', t);
        localStorage.setItem('shuixiao.lang', l);
        sessionStorage.setItem('seeded', '1');
      }
    },
    [token, lang],
  );
  const page = await context.newPage();
  page.errors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') page.errors.push(`console: ${m.text()} @ ${m.location()?.url ?? ''}`);
  });
  page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.message}`));
  return page;
}

/** settle waits for the page's data and for every chart to finish drawing. */
async function settle(page, want = 'ready') {
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state), null, { timeout: 20000 });
  const panel = await page.evaluate(() => document.querySelector('.error-panel')?.textContent ?? '');
  assert.equal(await page.evaluate(() => document.body.dataset.state), want, `page state (${page.url()}) ${panel} ${page.errors?.join('; ') ?? ''}`);
  await page.waitForFunction(() => [...document.querySelectorAll('[data-chart-state]')].every((e) => e.dataset.chartState !== 'rendering'), null, { timeout: 20000 });
  await page.waitForFunction(() => !document.querySelector('.loading'), null, { timeout: 20000 }).catch(() => {});
}

async function shot(page, name) {
  // A full-page capture of a scrolled page repeats the sticky header mid-page.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true, animations: 'disabled' });
}

function noErrors(page, allow = []) {
  const errs = page.errors.filter((e) => !allow.some((re) => re.test(e)));
  page.errors = [];
  assert.deepEqual(errs, [], 'console errors');
}

async function hasChinese(page) {
  const text = await page.evaluate(() => document.body.innerText);
  assert.match(text, /[\u4e00-\u9fff]/, 'page shows Chinese labels');
  return text;
}

before(async () => {
  browser = await chromium.launch(LAUNCH);
});
after(async () => {
  await browser?.close();
});

describe('console', { concurrency: false }, () => {
  test('login with the admin token shows role and scope', async () => {
    const page = await newPage('');
    await page.goto(BASE + '/');
    await page.waitForURL(/\/login/);
    await settle(page);
    await page.fill('#token', 'not-a-token');
    await page.click('[data-testid=login]');
    await page.waitForSelector('.login-status .error-text');
    page.errors = page.errors.filter((e) => !/status of 401/.test(e)); // the wrong token's 401 is expected
    await page.fill('#token', TOKEN);
    await page.click('[data-testid=login]');
    const me = await page.waitForSelector('[data-testid=me]');
    assert.equal(await me.$eval('[data-role]', (e) => e.dataset.role), 'admin');
    assert.match(await me.innerText(), /管理员/);
    await shot(page, '01-login');
    await page.click('[data-testid=enter]');
    await page.waitForURL(/\/overview/);
    await settle(page);
    noErrors(page);
    await page.context().close();
  });

  test('overview drills down province → city → park → enterprise', async () => {
    const page = await newPage();
    await page.goto(BASE + '/overview');
    await settle(page);
    const text = await hasChinese(page);
    assert.match(text, /取水量/);
    assert.ok(await page.$('[data-testid=overview-chart] canvas'), 'province chart drawn');
    await shot(page, '02-overview-province');
    for (const [kind, name] of [
      ['city', '03-overview-city'],
      ['park', '04-overview-park'],
    ]) {
      const link = await page.$(`a[data-drill=${kind}]`);
      assert.ok(link, `a ${kind} to drill into`);
      await link.click();
      await page.waitForURL(new RegExp(`level=${kind}`));
      await settle(page);
      assert.ok((await page.$$('.breadcrumbs a')).length >= 1, 'breadcrumbs lead back up');
      await shot(page, name);
    }
    const ent = await page.$('a[data-drill=enterprise]');
    assert.ok(ent, 'an enterprise to open');
    await ent.click();
    await page.waitForURL(/\/enterprises\//);
    await settle(page);
    state.enterprise = decodeURIComponent(new URL(page.url()).pathname.split('/')[2]);
    noErrors(page);
    await page.context().close();
  });

  test('enterprise page: Sankey, metering tree, live stream, trend', async () => {
    const page = await newPage();
    await page.goto(`${BASE}/enterprises/${encodeURIComponent(state.enterprise)}`);
    await settle(page);
    await hasChinese(page);
    assert.equal(await page.$('[data-testid=sankey-error]'), null, 'no Sankey error');
    assert.ok(await page.$('[data-testid=sankey] canvas'), 'Sankey canvas');
    assert.equal(await page.$eval('[data-testid=sankey]', (e) => e.dataset.chartState), 'finished');
    const points = await page.$$('[data-testid=tree] li[data-point]');
    assert.ok(points.length >= 2, `metering tree has points (${points.length})`);
    // The trust of the data behind the balance, as the server computes it from the meters: in the
    // default demo the process meters sign themselves (表计签名) while each outfall's online monitor
    // is registered as signed at its gateway (网关签名), so the enterprise's balance is mixed (混合).
    const meters = await api(`/meters?enterprise=${encodeURIComponent(state.enterprise)}`);
    const levelOf = new Map();
    for (const m of meters) levelOf.set(m.point, levelOf.has(m.point) && levelOf.get(m.point) !== m.trust ? 'mixed' : m.trust);
    const levels0 = new Set(levelOf.values());
    const whole = levels0.size === 1 ? [...levels0][0] : 'mixed';
    const LABEL = { 'meter-signed': '表计签名', 'gateway-signed': '网关签名', mixed: '混合' };
    assert.ok(levelOf.size >= 2 && [...levelOf.values()].includes('meter-signed'), `the demo enterprise has meter-signed points: ${[...levelOf]}`);
    const trust = await page.waitForSelector('[data-testid=balance-trust]', { timeout: 15000 });
    assert.equal(await trust.getAttribute('data-trust'), whole);
    assert.match(await trust.innerText(), new RegExp(`数据可信等级：\\s*${LABEL[whole]}`));
    if (whole === 'mixed') assert.match(await trust.innerText(), /表计签名: \d+ 个计量点/, 'the meter-signed points are counted');
    const pointTrust = await page.$$eval('[data-testid=tree] li[data-point] > .tree-row [data-trust]', (els) =>
      els.map((e) => [e.closest('li[data-point]').dataset.point, e.dataset.trust, e.textContent]),
    );
    assert.equal(pointTrust.length, levelOf.size, `a trust badge on every metered point: ${JSON.stringify(pointTrust)}`);
    for (const [pt, lvl, label] of pointTrust) assert.deepEqual([lvl, label], [levelOf.get(pt), LABEL[levelOf.get(pt)]], `point ${pt}`);
    assert.ok(pointTrust.some(([, , label]) => label === '表计签名'), 'the meter-signed label on the page');
    const levels = await page.$$eval('[data-testid=tree] .level', (els) => [...new Set(els.map((e) => e.className))]);
    assert.ok(levels.length >= 2, `more than one metering level shown (${levels})`);
    await page.waitForSelector('[data-testid=live-state][data-state=live]', { timeout: 15000 });
    await page.waitForSelector('[data-testid=trend-chart] canvas', { timeout: 15000 });
    // Live values: filled from the latest reading or the stream.
    await page.waitForFunction(() => [...document.querySelectorAll('[data-live-meter]')].some((e) => e.textContent !== '—'), null, { timeout: 30000 });
    // A streamed reading in the feed, if the simulator sends one soon.
    await page.waitForSelector('[data-testid=live-feed] tr.new', { timeout: 10000 }).catch(() => {});
    state.meter = await page.$eval('[data-testid=tree] .meter-row a', (a) => decodeURIComponent(a.getAttribute('href').split('/')[2]));
    await settle(page);
    await shot(page, '05-enterprise');
    noErrors(page);
    await page.context().close();
  });

  test('a cyclic flow graph shows an error panel instead of crashing the chart', async () => {
    const page = await newPage();
    await page.route('**/api/v1/enterprises/*/balance*', async (route) => {
      const res = await route.fetch();
      const b = await res.json();
      const [a, c] = b.sankey.nodes.map((n) => n.name);
      b.sankey.links.push({ source: c, target: a, value: 1 }, { source: a, target: c, value: 1 });
      await route.fulfill({ response: res, json: b });
    });
    await page.goto(`${BASE}/enterprises/${encodeURIComponent(state.enterprise)}`);
    await settle(page);
    const panel = await page.waitForSelector('[data-testid=sankey-error]');
    assert.match(await panel.innerText(), /环路/);
    noErrors(page);
    await page.context().close();
  });

  test('meter page: a reading verifies in the browser, a tampered receipt fails', async () => {
    const page = await newPage();
    await page.goto(`${BASE}/meters/${encodeURIComponent(state.meter)}`);
    await settle(page);
    await hasChinese(page);
    const rows = await page.$$('[data-testid=readings] tbody tr[data-index]');
    assert.ok(rows.length >= 2, `readings listed (${rows.length})`);
    // The meter opened from the tree is a process meter: it signs its readings itself.
    assert.equal((await api(`/meters/${encodeURIComponent(state.meter)}`)).trust, 'meter-signed');
    assert.equal(await page.$eval('[data-testid=meter-trust] [data-trust]', (e) => e.dataset.trust + ' ' + e.textContent), 'meter-signed 表计签名');
    assert.match(await page.$eval('[data-testid=readings-trust]', (e) => e.textContent), /表计签名/);

    // Genuine.
    await rows[0].$eval('[data-action=verify]', (b) => b.click());
    const ok = await page.waitForSelector('[data-testid=verification]', { timeout: 20000 });
    assert.equal(await ok.getAttribute('data-result'), 'ok', await ok.innerText());
    const statuses = await ok.$$eval('[data-check]', (els) => Object.fromEntries(els.map((e) => [e.dataset.check, e.dataset.status])));
    for (const c of ['format', 'log-signature', 'inclusion', 'entry-signature', 'match']) assert.equal(statuses[c], 'pass', `check ${c}`);
    await shot(page, '06-meter-verified');

    // Download the receipt (for `shuixiao verify proof`).
    const [dl] = await Promise.all([page.waitForEvent('download'), rows[0].$eval('[data-action=download]', (b) => b.click())]);
    const file = join(OUT, dl.suggestedFilename());
    await dl.saveAs(file);
    const receipt = readFileSync(file, 'utf8');
    assert.match(receipt, /^c2sp\.org\/tlog-proof@v1\n/);
    state.receipt = receipt;
    state.receiptFile = file;

    // Tampered: the server's receipt with one digit of the reading changed.
    await page.route('**/api/v1/proof?*', async (route) => {
      const res = await route.fetch();
      const body = (await res.text()).replace(/^extra (.*)$/m, (_l, b64) => {
        const entry = Buffer.from(b64, 'base64').toString('utf8');
        const changed = entry.replace(/^(total_m3 \d*)(\d)/m, (_m, head, d) => head + ((Number(d) + 1) % 10));
        assert.notEqual(changed, entry, 'tampering changed the entry');
        return 'extra ' + Buffer.from(changed, 'utf8').toString('base64');
      });
      await route.fulfill({ response: res, body });
    });
    await rows[1].$eval('[data-action=verify]', (b) => b.click());
    const bad = await page.waitForSelector('[data-testid=verification][data-result=fail]', { timeout: 20000 });
    const badStatuses = await bad.$$eval('[data-check]', (els) => Object.fromEntries(els.map((e) => [e.dataset.check, e.dataset.status])));
    assert.equal(badStatuses.inclusion, 'fail', 'tampered entry is not in the tree');
    assert.equal(badStatuses['entry-signature'], 'fail', "tampered entry fails the meter's signature");
    assert.match(await bad.innerText(), /验证失败/);
    await bad.scrollIntoViewIfNeeded();
    await shot(page, '07-meter-tampered');
    await page.unroute('**/api/v1/proof?*');
    noErrors(page);
    await page.context().close();
  });

  test('the downloaded receipt passes `shuixiao verify proof`', { skip: !BIN && 'SHUIXIAO_BIN not set' }, async () => {
    const logKey = (await api('/ledger/key')).trim();
    const meter = await api(`/meters/${encodeURIComponent(state.meter)}`);
    const out = execFileSync(BIN, ['verify', 'proof', state.receiptFile, '--log-key', logKey, '--meter-key', meter.key], { encoding: 'utf8' });
    assert.ok(out.length > 0);
  });

  test('ledger page: checkpoint signature, witnesses, rejections, receipt file check', async () => {
    const page = await newPage();
    await page.goto(BASE + '/log');
    await settle(page);
    await hasChinese(page);
    assert.ok((await page.$eval('[data-testid=checkpoint]', (e) => e.textContent)).length > 20, 'checkpoint text shown');
    assert.match(await page.$eval('[data-testid=checkpoint-signature]', (e) => e.innerText), /✓/);
    assert.ok(await page.$('[data-testid=rejections-total]'), 'rejection counter');
    // The witness quorum, when the ledger has a policy, is checked here too.
    const quorum = await page.$eval('[data-testid=quorum]', (e) => e.className);
    assert.doesNotMatch(quorum, /\bbad\b/, 'published checkpoint meets the witness policy');
    await shot(page, '08-ledger');
    // A receipt file: the genuine one passes, a tampered copy fails.
    const genuine = join(OUT, 'genuine.tlog-proof');
    writeFileSync(genuine, state.receipt);
    await page.setInputFiles('#receipt-file', genuine);
    assert.equal(await (await page.waitForSelector('[data-testid=receipt-result] [data-testid=verification]')).getAttribute('data-result'), 'ok');
    const tampered = join(OUT, 'tampered.tlog-proof');
    writeFileSync(tampered, state.receipt.replace(/^index (\d+)$/m, (_l, n) => `index ${Number(n) + 1}`));
    await page.setInputFiles('#receipt-file', tampered);
    await page.waitForSelector('[data-testid=receipt-result] [data-testid=verification][data-result=fail]');
    noErrors(page);
    await page.context().close();
  });

  test('alarms page: filters, history, acknowledge', async () => {
    const page = await newPage();
    await page.goto(BASE + '/alarms?state=all');
    await settle(page);
    await hasChinese(page);
    const row = await page.$('[data-testid=alarms] tbody tr[data-alarm]');
    if (row) {
      await row.$eval('[data-action=history]', (b) => b.click());
      await page.waitForSelector('tr.history:not([hidden]) table, tr.history:not([hidden]) .empty');
    }
    await shot(page, '09-alarms');
    await page.goto(BASE + '/alarms?state=active');
    await settle(page);
    const active = await page.$('[data-testid=alarms] tbody tr[data-state=active]');
    if (active) {
      const id = await active.getAttribute('data-alarm');
      await active.$eval('[data-action=ack]', (b) => b.click());
      await page.waitForFunction((id) => !document.querySelector(`tr[data-alarm="${CSS.escape(id)}"][data-state=active]`), id, { timeout: 10000 });
      const [a] = (await api(`/alarms?state=all`)).filter((x) => String(x.id) === id);
      assert.notEqual(a?.state, 'active', 'acknowledged on the server');
    }
    noErrors(page);
    await page.context().close();
  });

  test('English switch is complete and persists', async () => {
    const page = await newPage();
    await page.goto(BASE + '/overview');
    await settle(page);
    await page.click('[data-testid=lang-switch]');
    await settle(page);
    await page.reload();
    await settle(page);
    const text = await page.evaluate(() => document.body.innerText);
    assert.match(text, /Intake/);
    // Labels are English; only names (of places, parks, enterprises) may stay Chinese.
    const labels = await page.$$eval('th, .kpi-label, .mainnav a, h2', (els) => els.map((e) => e.textContent));
    assert.deepEqual(labels.filter((l) => /[\u4e00-\u9fff]/.test(l)), [], 'untranslated labels');
    await shot(page, '10-overview-english');
    noErrors(page);
    await page.context().close();
  });

  test('an enterprise token sees its enterprise and is refused another', async () => {
    const ents = await api('/enterprises');
    assert.ok(ents.length >= 2, 'the demo has at least two enterprises');
    const own = ents.find((e) => e.id === state.enterprise) ?? ents[0];
    const other = ents.find((e) => e.id !== own.id);
    const created = await api('/tokens', { method: 'POST', body: { role: 'enterprise', scope: own.id, name: 'browser test' } });
    // The server answers {"token": {id, role, scope, …}, "secret": "…"}; the secret is the bearer token.
    const entToken = [created.secret, created.token].find((x) => typeof x === 'string');
    assert.ok(entToken, `token in ${JSON.stringify(created)}`);

    const page = await newPage(entToken);
    await page.goto(BASE + '/');
    await page.waitForURL(new RegExp(`/enterprises/${encodeURIComponent(own.id)}`));
    await settle(page);
    assert.equal(await page.$('[data-nav=ledger]'), null, 'no ledger link for an enterprise');
    noErrors(page);

    await page.goto(`${BASE}/enterprises/${encodeURIComponent(other.id)}`);
    await settle(page, 'error');
    const panel = await page.waitForSelector('.error-panel.forbidden');
    assert.match(await panel.innerText(), /无权访问/);
    assert.equal(await panel.getAttribute('data-status'), '403');
    await shot(page, '11-enterprise-forbidden');
    // The refused request itself is logged by Chromium as a failed resource.
    noErrors(page, [/status of 403/]);
    await page.context().close();
  });

  // The demo's controlled cooling tower and reuse train (shuixiao demo
  // --plants 1): the page shows the process diagram with live values, the
  // index gauges, the control and RO trends, the sequence timeline and the
  // command log; an operator locks a dosing pump out and releases it, and
  // both changes are on the ledger. Read-only roles cannot operate.
  test('plant page: diagram, gauges, trends, timeline, command log, lock-out', async () => {
    const plants = await api('/plants');
    assert.ok(plants.length >= 1, 'the demo runs a controlled plant');
    const plant = plants[0];
    const path = `/plants/${encodeURIComponent(plant.id)}`;
    let cmds = [];
    for (const deadline = Date.now() + 60000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 1000))) {
      const d = await api(path);
      cmds = await api(`${path}/commands?limit=50`);
      if (d.live?.tower?.cycles !== null && d.live?.tower?.cycles !== undefined && cmds.length >= 8) break;
    }
    assert.ok(cmds.length >= 8, `commands so far: ${cmds.length}`);

    const page = await newPage();
    await page.goto(`${BASE}/enterprises/${encodeURIComponent(plant.enterprise)}`);
    await settle(page);
    await page.click(`[data-plant="${plant.id}"]`);
    await page.waitForURL(new RegExp(path));
    await settle(page);
    assert.equal(await page.evaluate(() => document.body.dataset.page), 'plant');
    const diagram = await page.$eval('[data-testid=diagram]', (e) => e.textContent);
    // A number, not "—": the formatter drops trailing zeros (N = 4.996 shows as "5").
    assert.match(diagram, /N = \d/, 'the diagram shows the measured cycles');
    assert.match(diagram, /冷却塔/);
    const gauges = await page.$$eval('[data-gauge]', (els) => els.map((e) => [e.dataset.gauge, e.dataset.value]));
    assert.deepEqual(gauges.map((g) => g[0]), ['cycles', 'product', 'lsi', 'rsi', 'si_calcite', 'si_gypsum']);
    for (const [g, v] of gauges) assert.ok(v !== '' && Number.isFinite(Number(v)), `gauge ${g} has a value (${v})`);
    for (const id of ['control-trend', 'ro-trend']) {
      assert.equal(await page.$eval(`[data-testid=${id}]`, (e) => e.dataset.chartState), 'finished', `${id} drawn`);
    }
    assert.equal(await page.$$eval('[data-timeline]', (els) => els.length), 3);
    assert.ok((await page.$$('[data-command]')).length >= 8, 'the command log lists commands');
    assert.ok(await page.$('[data-command] a.ledger-index'), 'each command links to its ledger receipt');
    await hasChinese(page);
    await shot(page, '16-plant');
    noErrors(page);

    // Lock the inhibitor pump out, then return it to automatic.
    await page.fill('[data-testid=reason]', '浏览器测试：检修加药泵');
    await page.click('[data-actuator-row=inhibitor_pump] button.danger');
    await page.waitForSelector('[data-actuator-row=inhibitor_pump] [data-mode=locked]', { timeout: 15000 });
    await settle(page);
    const modes = (await api(`${path}/commands?kind=mode&actuator=inhibitor_pump`)).filter((c) => c.mode === 'locked');
    assert.ok(modes.length >= 1 && modes[0].index > 0 && modes[0].reason.includes('检修'), `lock-out recorded: ${JSON.stringify(modes[0])}`);
    for (const deadline = Date.now() + 15000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
      const issued = await api(`${path}/commands?kind=issue&actuator=inhibitor_pump&limit=1`);
      if (issued[0]?.interlocks?.includes('lockout')) break;
    }
    const [last] = await api(`${path}/commands?kind=issue&actuator=inhibitor_pump&limit=1`);
    assert.ok(last.value === 0 && last.interlocks.includes('lockout'), `the pump was sent its lock-out value: ${JSON.stringify(last)}`);
    await shot(page, '17-plant-locked');
    await page.click('[data-actuator-row=inhibitor_pump] button:first-child');
    await page.waitForSelector('[data-actuator-row=inhibitor_pump] [data-mode=auto]', { timeout: 15000 });
    noErrors(page);
    await page.context().close();

    // An auditor sees the plant and may not operate it.
    const created = await api('/tokens', { method: 'POST', body: { role: 'auditor', name: 'browser test auditor' } });
    const auditor = [created.secret, created.token].find((x) => typeof x === 'string');
    const res = await fetch(`${BASE}/api/v1${path}/actuators/inhibitor_pump/mode`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${auditor}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ mode: 'locked' }),
    });
    assert.equal(res.status, 403);
    const ro = await fetch(`${BASE}/api/v1${path}`, { headers: { Authorization: `Bearer ${auditor}` } });
    assert.equal(ro.status, 200);

    // English labels are complete on the plant page.
    const en = await newPage(TOKEN, 'en');
    await en.goto(BASE + path);
    await settle(en);
    const labels = await en.$$eval('th, h2, .gauge-title, .tl-label', (els) => els.map((e) => e.textContent));
    assert.deepEqual(labels.filter((l) => /[\u4e00-\u9fff]/.test(l)), [], 'untranslated labels');
    await shot(en, '18-plant-english');
    noErrors(en);
    await en.context().close();
  });

  // The demo's reuse train routes its RO permeate to four production uses
  // by quality class: the plant page shows which uses receive it and why,
  // with the valves' positions. The cycles optimiser's limit is accepted as
  // the blowdown set-point from the page (confirm dialog); the change is on
  // the ledger with the optimiser's figure as its cause, and the loop runs on
  // the new set-point.
  test('plant page: reuse routing by quality class, accepting the optimised cycles', async () => {
    const [plant] = await api('/plants');
    const path = `/plants/${encodeURIComponent(plant.id)}`;
    let d;
    for (const deadline = Date.now() + 60000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 1000))) {
      d = await api(path);
      if (d.live?.reuse?.routing && d.live?.indices?.max_cycles != null) break;
    }
    const routing = d.live?.reuse?.routing;
    assert.ok(routing && routing.uses.length === 4, `live routing: ${JSON.stringify(routing)}`);

    const page = await newPage();
    await page.goto(BASE + path);
    await settle(page);
    const rows = await page.$$eval('[data-testid=routing] [data-use]', (els) =>
      els.map((e) => ({ use: e.dataset.use, status: e.dataset.status, why: e.querySelector('.route-why')?.textContent ?? '', valve: e.querySelector('[data-valve]')?.dataset.value })),
    );
    assert.deepEqual(rows.map((r) => r.use), ['product_rinse', 'boiler_makeup', 'tower_makeup', 'floor_washing']);
    for (const r of rows) {
      assert.ok(['served', 'partial', 'no_flow', 'quality'].includes(r.status), `status of ${r.use}: ${r.status}`);
      assert.match(r.why, /[\u4e00-\u9fff]/, `${r.use} says why in Chinese: ${r.why}`);
      if (r.status === 'served' || r.status === 'partial') assert.match(r.why, /满足「.+」要求/, `${r.use}: ${r.why}`);
      if (r.status === 'quality') assert.match(r.why, /不满足/, `${r.use}: ${r.why}`);
      assert.ok(r.valve !== undefined, `${r.use} shows its reuse valve`);
    }
    const quality = await page.$$eval('[data-stream=ro_permeate] [data-param]', (els) => els.map((e) => e.dataset.param));
    for (const p of ['conductivity_us_cm', 'tds_mgl', 'turbidity_ntu', 'ph', 'cl_mgl']) assert.ok(quality.includes(p), `permeate ${p} shown (${quality})`);
    // The valves move on the ledger: at least one was opened by the routing.
    const valveCmds = await api(`${path}/commands?kind=issue&actuator=reuse_to_rinse&limit=20`);
    assert.ok(valveCmds.some((c) => c.by === 'reuse.route' && c.index > 0 && /class ro_permeate/.test(c.reason)), `rinse valve commands: ${JSON.stringify(valveCmds.slice(0, 2))}`);
    await hasChinese(page);
    await (await page.$('#routing-card')).screenshot({ path: join(OUT, '19-plant-routing.png'), animations: 'disabled' });

    if (process.env.EXPECT_RO_SEAL) {
      // tests/run.sh fails a permeate seal (--inject ro-seal): the permeate's
      // conductivity leaves the RO-permeate class, so the product rinse is cut
      // off (between the cleanings the RO asks for), its valve is closed on
      // the ledger with the reading behind it, and the page says why.
      let row;
      for (const deadline = Date.now() + 150000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 1000))) {
        await page.reload();
        await settle(page);
        row = await page.$eval('[data-use=product_rinse]', (e) => ({ status: e.dataset.status, why: e.querySelector('.route-why').textContent }));
        if (row.status === 'quality') break;
      }
      assert.equal(row.status, 'quality', `product rinse after the seal failed: ${JSON.stringify(row)}`);
      assert.match(row.why, /不满足「反渗透产水级」要求/);
      assert.match(row.why, /电导率 µS\/cm 为 [\d.]+，超出限值/);
      const others = await page.$$eval('[data-testid=routing] [data-use]', (els) => els.filter((e) => e.dataset.use !== 'product_rinse').map((e) => e.dataset.status));
      assert.ok(!others.includes('quality'), `the other classes still hold: ${others}`);
      assert.match(await page.$eval('[data-testid=plant-alarms]', (e) => e.textContent), /reuse water to product_rinse stopped/);
      let closed;
      for (const deadline = Date.now() + 20000; Date.now() < deadline && !closed; await new Promise((r) => setTimeout(r, 1000))) {
        const cs = await api(`${path}/commands?kind=issue&actuator=reuse_to_rinse&limit=50`);
        closed = cs.find((c) => c.value === 0 && /no stream meets class ro_permeate/.test(c.reason) && c.index > 0);
      }
      assert.ok(closed?.inputs?.some((i) => i.name === 'conductivity_us_cm' && i.value > 50), `rinse valve closed with its cause: ${JSON.stringify(closed)}`);
      await (await page.$('#routing-card')).screenshot({ path: join(OUT, '21-plant-routing-cut.png'), animations: 'disabled' });
    }

    // Accept the optimiser's limit: a confirm dialog, then a set-point record
    // on the ledger with the optimiser's figure. The figure is recomputed
    // every process hour; an answer 409 (it moved on) is tried again.
    const before = (await api(`${path}/commands?kind=setpoint&actuator=cycles`)).length;
    let rec;
    for (let attempt = 0; attempt < 3 && !rec; attempt++) {
      await page.reload();
      await settle(page);
      const button = page.locator('[data-testid=accept-cycles-button]');
      assert.equal(await button.isEnabled(), true, `accept button enabled: ${await page.$eval('[data-testid=accept-cycles]', (e) => e.textContent)}`);
      const limit = Number(await page.$eval('[data-testid=accept-cycles]', (e) => e.dataset.limit));
      await page.fill('[data-testid=reason]', '浏览器测试：采纳优化浓缩倍数');
      await button.click();
      const dialog = await page.waitForSelector('[data-testid=confirm-dialog]');
      assert.match(await dialog.innerText(), /最高允许浓缩倍数/);
      await page.screenshot({ path: join(OUT, '20-plant-accept-cycles.png'), animations: 'disabled' });
      await page.click('[data-testid=confirm-ok]');
      await page.waitForSelector('[data-testid=confirm-dialog]', { state: 'detached' });
      for (const deadline = Date.now() + 5000; Date.now() < deadline && !rec; await new Promise((r) => setTimeout(r, 300))) {
        const cs = await api(`${path}/commands?kind=setpoint&actuator=cycles`);
        if (cs.length > before) rec = cs[0];
      }
      if (rec) assert.equal(rec.inputs.find((i) => i.name === 'max_cycles')?.value, limit);
      page.errors = page.errors.filter((e) => !/status of 409/.test(e)); // the figure moved on between load and click
    }
    assert.ok(rec && rec.index > 0 && rec.reason.includes('optimiser limit') && rec.reason.includes('采纳'), `accepted set-point: ${JSON.stringify(rec)}`);
    for (const deadline = Date.now() + 15000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
      d = await api(path);
      if (d.live.tower.cycles_setpoint === rec.value) break;
    }
    assert.equal(d.live.tower.cycles_setpoint, rec.value, 'the blowdown runs on the accepted set-point');
    // Cancelling the dialog changes nothing.
    await page.reload();
    await settle(page);
    const again = await page.$('[data-testid=accept-cycles-button]:not([disabled])');
    if (again) {
      await again.click();
      await page.click('[data-testid=confirm-cancel]');
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal((await api(`${path}/commands?kind=setpoint&actuator=cycles`)).length, before + 1, 'a cancelled dialog records nothing');
    }
    noErrors(page);
    await page.context().close();
  });

  // The demo's park network (tests/run.sh starts it with a fast park clock
  // and a pipe leak: EXPECT_LEAK=1). The map must render; once the monitor
  // has alarmed the leak, its candidate pipes are highlighted on the map and
  // a repair work order is made, assigned and closed from the page.
  test('network page: map, zone balance, leak candidates, work order', { timeout: 600000 }, async () => {
    const nets = await api('/networks');
    assert.ok(nets.length >= 1, 'the demo registers its park network');
    const net = nets[0];
    let leaks = [];
    if (process.env.EXPECT_LEAK) {
      const deadline = Date.now() + Number(process.env.LEAK_WAIT ?? 420) * 1000;
      while ((leaks = await api(`/networks/${encodeURIComponent(net.id)}/leaks?state=open`)).length === 0) {
        assert.ok(Date.now() < deadline, 'no leak alarm in time: did the monitor calibrate and the pipe leak open?');
        await new Promise((r) => setTimeout(r, 3000));
      }
    } else {
      leaks = await api(`/networks/${encodeURIComponent(net.id)}/leaks?state=open`);
    }
    const page = await newPage();
    await page.goto(`${BASE}/networks/${encodeURIComponent(net.id)}`);
    await settle(page);
    await hasChinese(page);
    const map = await page.waitForSelector('[data-testid=network-map] canvas');
    assert.ok(map, 'the map is drawn');
    assert.match(await page.$eval('[data-testid=network-time]', (e) => e.textContent), /管网时间/);
    assert.ok((await page.$$('[data-sensor]')).length >= 3, 'sensors: measured beside modelled');
    await page.waitForSelector('[data-testid=zone-chart]');
    if (leaks.length > 0) {
      const want = leaks[0].leak.candidates.map((c) => c.link);
      const highlighted = (await page.$eval('[data-testid=network-map]', (e) => e.dataset.highlighted)).split(',');
      assert.deepEqual(highlighted.slice(0, 3), want.slice(0, 3), 'the candidates of the newest open leak are highlighted, best first');
      assert.equal(await page.$eval('[data-leak] [data-candidate-rank="1"]', (e) => e.dataset.link), want[0]);
    }
    await shot(page, '12-network-map');
    await page.click('[data-mode=flow]');
    await settle(page);
    assert.equal(await page.$eval('[data-testid=network-map]', (e) => e.dataset.mode), 'flow');
    await shot(page, '13-network-flow');
    if (leaks.length > 0) {
      const alarm = String(leaks[0].alarm.id);
      await page.click(`[data-leak="${alarm}"] [data-action=create-order]`);
      const row = await page.waitForSelector('[data-workorder][data-state=open]');
      const id = await row.getAttribute('data-workorder');
      await page.fill(`[data-workorder="${id}"] [data-field=assignee]`, '抢修一班');
      await page.click(`[data-workorder="${id}"] [data-action=assign]`);
      await page.waitForSelector(`[data-workorder="${id}"][data-state=assigned]`);
      await settle(page);
      await page.fill(`[data-workorder="${id}"] [data-field=repaired]`, leaks[0].leak.candidates[0].link);
      await page.click(`[data-workorder="${id}"] [data-action=close]`);
      await page.waitForSelector(`[data-workorder="${id}"][data-state=closed]`);
      await settle(page);
      const [wo] = (await api(`/workorders?network=${encodeURIComponent(net.id)}&state=closed`)).filter((w) => String(w.id) === id);
      assert.ok(wo && wo.water_lost_m3 > 0 && wo.repaired_link === leaks[0].leak.candidates[0].link, `closed work order ${JSON.stringify(wo)}`);
      await shot(page, '14-network-workorder');
    }
    noErrors(page);
    await page.goto(`${BASE}/networks`);
    await settle(page);
    assert.ok(await page.$(`[data-network-row="${net.id}"]`));
    await shot(page, '15-networks');
    noErrors(page);
    await page.context().close();
  });
});

/** unzip reads a ZIP archive (an XLSX) into {name: Buffer}: central directory, then each entry, stored or deflated. */
function unzip(buf) {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  assert.ok(eocd >= 0, 'the XLSX is a ZIP archive (end of central directory found)');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const out = {};
  for (let n = 0; n < count; n++) {
    assert.equal(buf.readUInt32LE(p), 0x02014b50, 'central directory entry');
    const method = buf.readUInt16LE(p + 10);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    assert.equal(buf.readUInt32LE(local), 0x04034b50, `local header of ${name}`);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(start, start + size);
    out[name] = method === 8 ? inflateRawSync(data) : Buffer.from(data);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** xlsxCells returns every cell of every sheet as text: shared strings resolved, inline strings and numbers as written. */
function xlsxCells(buf) {
  const files = unzip(buf);
  const xmlText = (s) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  const shared = [...(files['xl/sharedStrings.xml']?.toString('utf8') ?? '').matchAll(/<si>([\s\S]*?)<\/si>/g)].map((m) => xmlText([...m[1].matchAll(/<t[^>]*>([\s\S]*?)<\/t>/g)].map((x) => x[1]).join('')));
  const sheets = Object.keys(files).filter((n) => /^xl\/worksheets\/sheet\d+\.xml$/.test(n));
  assert.ok(sheets.length >= 1, `the workbook has sheets (${Object.keys(files).join(', ')})`);
  const cells = [];
  for (const sheet of sheets) {
    for (const m of files[sheet].toString('utf8').matchAll(/<c ([^>]*?)(?:\/>|>([\s\S]*?)<\/c>)/g)) {
      const type = /\bt="([^"]+)"/.exec(m[1])?.[1];
      const inner = m[2] ?? '';
      const v = /<v>([\s\S]*?)<\/v>/.exec(inner)?.[1];
      if (type === 's' && v !== undefined) cells.push({ sheet, text: shared[Number(v)] ?? '' });
      else if (type === 'inlineStr') cells.push({ sheet, text: xmlText([...inner.matchAll(/<t[^>]*>([\s\S]*?)<\/t>/g)].map((x) => x[1]).join('')) });
      else if (v !== undefined) cells.push({ sheet, text: xmlText(v), number: type === 'str' || type === 'b' ? undefined : Number(v) });
    }
  }
  return cells;
}

/** isFigure reports whether a cell's text shows a number (not '—' or empty). */
const isFigure = (s) => /\d/.test(s ?? '') && !/^\s*—\s*$/.test(s);

/** thisYear is the current year in Beijing time. */
const thisYear = () => Number(new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric' }).format(new Date()));

// Issue 14, item 8: the province target dashboard, the quota board with a
// retrofit case, and an enterprise's indicators with both reports. Each
// figure the API serves as a number must show as one, never as '—'.
describe('water-efficiency management', { concurrency: false }, () => {
  const mgmt = {};

  test('quota board: enterprises × products with grades, an over-quota case with its history and transitions', { timeout: 600000 }, async () => {
    // The demo reviews its latest whole model days every two minutes (tests/run.sh runs it at --speed 1440: a model
    // day a minute) and opens a case for each product over quota; the simulator runs two enterprises over quota.
    let cases = [];
    for (const deadline = Date.now() + Number(process.env.CASE_WAIT ?? 480) * 1000; (cases = await api('/quota-cases')).length === 0; ) {
      assert.ok(Date.now() < deadline, 'no retrofit case in time: did the demo report output and review the quotas?');
      await new Promise((r) => setTimeout(r, 5000));
    }
    // Prefer an open case, whose first step an administrator may take.
    const c = cases.find((x) => x.state === 'open') ?? cases.find((x) => x.state !== 'closed') ?? cases[0];
    mgmt.case = c;
    // The board of the window the case was judged over shows the figure that opened it.
    const q = `from=${encodeURIComponent(c.period_from)}&to=${encodeURIComponent(c.period_to)}`;
    const board = await api(`/quota-board?${q}`);
    const rows = board.rows;
    assert.ok(rows.length >= 1, `the board has rows: ${JSON.stringify(board).slice(0, 300)}`);
    assert.ok(board.over >= 1, 'some product is over quota in the window of the case');

    const page = await newPage();
    await page.goto(`${BASE}/quotas?${q}`);
    await settle(page);
    await hasChinese(page);
    const shown = await page.$$eval('[data-testid=quota-board] tbody tr', (trs) =>
      trs.map((tr) => ({ row: tr.dataset.row, grade: tr.dataset.grade, value: tr.querySelector('[data-value]')?.textContent, limit: tr.querySelector('[data-limit]')?.textContent, case: tr.querySelector('[data-case]')?.dataset.case })),
    );
    assert.equal(shown.length, rows.length, 'every row of the board is shown');
    const graded = shown.filter((r) => r.grade);
    assert.ok(graded.length >= 1, 'some rows are graded');
    for (const r of graded) assert.ok(isFigure(r.value) && isFigure(r.limit), `a graded row shows value and limit: ${JSON.stringify(r)}`);
    const mine = shown.find((r) => r.row === `${c.enterprise}|${c.product}`);
    assert.ok(mine && mine.grade === 'over' && mine.case === String(c.id), `the case's row is over quota and links the case: ${JSON.stringify(mine)}`);
    assert.equal(Number(await page.$eval('[data-testid=count-over] .kpi-value', (e) => e.textContent)), board.over);
    await shot(page, '33-quota-board');
    await page.click('[data-show=over]');
    await settle(page);
    assert.deepEqual([...new Set(await page.$$eval('[data-testid=quota-board] tbody tr', (trs) => trs.map((tr) => tr.dataset.grade)))], ['over']);

    // The case page: state, deadline, owner, figures and the whole audited history.
    await page.click(`[data-case="${c.id}"]`);
    await page.waitForURL(new RegExp(`/quota-cases/${c.id}$`));
    await settle(page);
    await hasChinese(page);
    assert.equal(await page.$eval('.page-tools [data-case-state]', (e) => e.dataset.caseState), c.state);
    assert.ok(isFigure(await page.$eval('[data-testid=case-deadline]', (e) => e.textContent)), 'the deadline is shown');
    assert.equal((await page.$eval('[data-testid=case-owner]', (e) => e.textContent)).trim(), c.owner || '—');
    const full = await api(`/quota-cases/${encodeURIComponent(c.id)}`);
    assert.equal((await page.$$('[data-testid=case-history] tbody tr')).length, (full.history ?? []).length, 'every transition is in the history');
    const figures = await page.$$eval('[data-testid=case-figures] .kpi-value', (els) => els.map((e) => e.textContent));
    assert.ok(isFigure(figures[0]) && isFigure(figures[1]), `value and limit of the case: ${figures}`);
    await shot(page, '34-quota-case');
    if (c.state === 'open') {
      await page.fill('[data-testid=case-note]', '浏览器测试：提交改造方案');
      await page.click('[data-transition=plan_submitted]');
      await page.waitForSelector('.page-tools [data-case-state=plan_submitted]', { timeout: 15000 });
      await settle(page);
      const after = await api(`/quota-cases/${encodeURIComponent(c.id)}`);
      assert.equal(after.state, 'plan_submitted');
      const last = after.history[after.history.length - 1];
      assert.ok(last.to === 'plan_submitted' && last.note.includes('浏览器测试') && last.actor, `audited transition: ${JSON.stringify(last)}`);
      assert.equal((await page.$$('[data-testid=case-history] tbody tr')).length, after.history.length);
      await shot(page, '35-quota-case-moved');
    }
    // Closing is a request the server checks against metered months after the opening: a case opened this month has
    // none yet, so it is refused and the case stays as it was.
    const before = await api(`/quota-cases/${encodeURIComponent(c.id)}`);
    const opened = new Date(Date.parse(before.opened_at) + 8 * 3600e3);
    const now = new Date(Date.now() + 8 * 3600e3);
    if (before.state !== 'closed' && opened.getUTCFullYear() === now.getUTCFullYear() && opened.getUTCMonth() === now.getUTCMonth()) {
      await page.click('[data-transition=closed]');
      const toast = await page.waitForSelector('.toast.error', { timeout: 15000 });
      assert.match(await toast.innerText(), /未变更/);
      const still = await api(`/quota-cases/${encodeURIComponent(c.id)}`);
      assert.equal(still.state, before.state, 'a closure without metered evidence is refused');
      assert.equal(still.history.length, before.history.length, 'a refused closure records nothing');
      page.errors = page.errors.filter((e) => !/status of 409/.test(e)); // the refusal itself
    }
    noErrors(page);
    await page.context().close();

    // An auditor reads the case and is offered no transition.
    const created = await api('/tokens', { method: 'POST', body: { role: 'auditor', name: 'browser test quota auditor' } });
    const auditor = [created.secret, created.token].find((x) => typeof x === 'string');
    const ap = await newPage(auditor);
    await ap.goto(`${BASE}/quota-cases/${encodeURIComponent(c.id)}`);
    await settle(ap);
    assert.equal(await ap.$('[data-transition]'), null, 'an auditor has no transition buttons');
    noErrors(ap);
    await ap.context().close();
  });

  test('enterprise indicators for a period: figures, coverage, Sankey, quota grades, percentile, XLSX and PDF reports', async () => {
    // The window a case was judged over (closed, so its figures stand still), else this year so far.
    const c = mgmt.case;
    const id = c?.enterprise ?? mgmt.drilled ?? (await api('/enterprises'))[0].id;
    const year = thisYear();
    const from = c ? c.period_from : `${year}-01-01`;
    const to = c ? c.period_to : new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);
    const period = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
    const balancePath = `/enterprises/${encodeURIComponent(id)}/balance?${period}`;
    const before = await api(balancePath);
    assert.ok(Number.isFinite(before.intake_m3), `the enterprise has an intake for ${year}: ${before.intake_m3}`);

    // The figures the page shows are the ones it was served (readings keep arriving, so a second request may differ).
    const page = await newPage();
    const answer = page.waitForResponse((r) => r.url().includes(`/api/v1/enterprises/${encodeURIComponent(id)}/balance?`));
    await page.goto(`${BASE}/enterprises/${encodeURIComponent(id)}/efficiency?${period}`);
    const served = await (await answer).json();
    await settle(page);
    await hasChinese(page);
    const figures = await page.$$eval('[data-testid=eff-indicators] tr[data-figure]', (trs) =>
      trs.map((tr) => ({ key: tr.dataset.figure, text: tr.querySelector('[data-value]').textContent, value: tr.querySelector('[data-value]').dataset.value, coverage: tr.querySelector('.coverage')?.textContent ?? '' })),
    );
    assert.ok(figures.length >= 10, `indicators listed (${figures.length})`);
    for (const f of figures) {
      const v = f.key.startsWith('intake_by_source_m3.') ? served.intake_by_source_m3[f.key.split('.')[1]] : served[f.key];
      if (Number.isFinite(v)) {
        assert.ok(isFigure(f.text), `${f.key} shows a number: ${f.text}`);
        assert.equal(Number(f.value), v, `${f.key} is the served figure`);
      } else assert.equal(f.text, '—', `${f.key} is absent and says so`);
      assert.match(f.coverage, /\d+ 个计量点/, `${f.key} says which points it came from`);
    }
    assert.ok(isFigure(await page.$eval('[data-testid=kpi-intake_m3] .kpi-value', (e) => e.textContent)), 'intake tile is a number');
    // The Sankey when the balance carries one.
    if (served.sankey?.links?.length) {
      assert.equal(await page.$eval('[data-testid=sankey]', (e) => e.dataset.chartState), 'finished');
    }
    // Products with their quota grade and the industry percentile.
    const products = await page.$$eval('[data-testid=eff-products] tr[data-product]', (trs) => trs.map((tr) => ({ product: tr.dataset.product, grade: tr.dataset.grade, perUnit: tr.querySelector('[data-value]')?.textContent, rank: tr.querySelector('[data-percentile], [data-rank]')?.textContent ?? tr.lastElementChild.textContent })));
    const servedProducts = Object.entries(served.products ?? {});
    assert.equal(products.length, servedProducts.length, 'every product is listed');
    for (const [name, p] of servedProducts) {
      const row = products.find((r) => r.product === name);
      if (Number.isFinite(p.intake_per_unit)) assert.ok(isFigure(row.perUnit), `${name} intake per unit: ${row.perUnit}`);
      assert.equal(row.grade, p.quota_grade ?? '', `${name} grade`);
      assert.doesNotMatch(row.rank, /出错|无权/, `${name}: the industry ranking loads`);
    }
    // The industry ranking of the case's product: this year's, or last year's (declared) while this year has none yet.
    if (c) assert.ok(products.some((r) => /优于 \d+% 同行/.test(r.rank)), `a percentile is shown: ${JSON.stringify(products)}`);
    if (c) {
      // The figure that opened the case, recomputed for its window: still over quota, and not below the figure the
      // review saw (readings in flight at the review's time may have been added since; volumes only grow).
      const p = served.products?.[c.product];
      assert.ok(p && p.quota_grade === 'over' && p.intake_per_unit >= c.value * (1 - 1e-9), `${c.product} over quota at ${c.value}: ${JSON.stringify(p)}`);
    }
    await shot(page, '36-enterprise-efficiency');

    // Both reports download; the XLSX opens with the figures, the PDF is a PDF.
    const [xl] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=report-xlsx]')]);
    const xlsxFile = join(OUT, xl.suggestedFilename());
    await xl.saveAs(xlsxFile);
    const after = await api(balancePath);
    const cells = xlsxCells(readFileSync(xlsxFile));
    assert.ok(cells.some((c) => /水平衡/.test(c.text)), 'the XLSX is the water-balance test report');
    // The report was made between the two requests: its intake lies between theirs (volumes only grow as readings arrive).
    const numbers = cells.filter((c) => Number.isFinite(c.number)).map((c) => c.number);
    const lo = Math.min(before.intake_m3, served.intake_m3) - 1e-6;
    const hi = Math.max(after.intake_m3, served.intake_m3) + 1e-6;
    assert.ok(numbers.some((n) => n >= lo && n <= hi), `the XLSX holds the intake, between ${lo} and ${hi} m³ (numbers: ${numbers.slice(0, 60)})`);
    // Figures that do not move with live data (the plan's 2020 and 2025 figures of the products) are there exactly.
    for (const [name, p] of Object.entries(served.products ?? {})) {
      if (Number.isFinite(p.baseline_2020)) assert.ok(numbers.some((n) => Math.abs(n - p.baseline_2020) < 1e-9), `${name}: 2020 baseline ${p.baseline_2020} in the XLSX`);
      assert.ok(cells.some((c) => c.text.includes(name)), `${name} named in the XLSX`);
    }
    const [pdf] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=report-pdf]')]);
    const pdfFile = join(OUT, pdf.suggestedFilename());
    await pdf.saveAs(pdfFile);
    const pdfBytes = readFileSync(pdfFile);
    assert.equal(pdfBytes.subarray(0, 5).toString('latin1'), '%PDF-', 'the PDF report is a PDF');
    assert.ok(pdfBytes.length > 10000 && /%%EOF\s*$/.test(pdfBytes.subarray(-32).toString('latin1')), `a whole PDF (${pdfBytes.length} B)`);
    noErrors(page);

    // The ledger state the figures were read at is stated.
    assert.ok(Number(await page.$eval('[data-testid=ledger-state]', (e) => e.dataset.size)) > 0, 'ledger size shown');
    // Another period: the pickers change the query and the figures follow.
    await page.click('[data-preset=lastMonth]');
    await settle(page);
    assert.match(page.url(), /from=\d{4}-\d\d-01&to=\d{4}-\d\d-\d\d/);
    noErrors(page);
    await page.context().close();
  });
  test('an enterprise token: its own indicators, board rows and case; the province targets refused', async (t) => {
    // The quota test (which waits for the demo's review) finds the case; run alone, this test takes any case there is.
    const c = mgmt.case ?? (await api('/quota-cases'))[0];
    if (!c) return t.skip('no retrofit case yet: the quota test waits for the demo to open one');
    const created = await api('/tokens', { method: 'POST', body: { role: 'enterprise', scope: c.enterprise, name: 'browser test quota enterprise' } });
    const token = [created.secret, created.token].find((x) => typeof x === 'string');
    const page = await newPage(token);
    await page.goto(BASE + '/');
    await page.waitForURL(new RegExp(`/enterprises/${encodeURIComponent(c.enterprise)}`));
    await settle(page);
    assert.ok(await page.$('[data-nav=efficiency]'), 'an enterprise finds its indicators in the navigation');
    assert.equal(await page.$('[data-nav=targets]'), null, 'no province targets for an enterprise');
    await page.goto(`${BASE}/quotas?from=${encodeURIComponent(c.period_from)}&to=${encodeURIComponent(c.period_to)}`);
    await settle(page);
    const rows = await page.$$eval('[data-testid=quota-board] tbody tr', (trs) => trs.map((tr) => tr.dataset.row));
    assert.ok(rows.length >= 1 && rows.every((r) => r.startsWith(`${c.enterprise}|`)), `only its own rows: ${rows}`);
    await page.goto(`${BASE}/quota-cases/${encodeURIComponent(c.id)}`);
    await settle(page);
    const state = (await api(`/quota-cases/${encodeURIComponent(c.id)}`)).state;
    if (state !== 'closed') assert.ok(await page.$('[data-transition]'), 'the enterprise acts on its own case');
    noErrors(page);
    await page.goto(`${BASE}/targets`);
    await settle(page, 'error');
    assert.equal(await page.$eval('.error-panel', (e) => e.dataset.status), '403');
    noErrors(page, [/status of 403/]);
    await page.context().close();
  });

  test('targets: indicators against 2020 and 2025, trajectories, drill-down to an enterprise', { timeout: 600000 }, async () => {
    // The roll-up is a snapshot per year; refresh=1 recomputes this year's now. This year's metered figures need a
    // whole hour of data, so a demo minutes old has figures only for the years its enterprises declared (2020 to
    // last year): the test takes the latest year with a province figure.
    const first = thisYear();
    const started = await api(`/targets?level=province&year=${first}&refresh=1`);
    assert.equal(started.status, 'computing', 'a refresh is answered at once, computing');
    assert.equal(started.year, first);
    let year;
    for (let y = first; y >= 2020 && !year; y--) {
      const tg = await api(`/targets?level=province&year=${y}`);
      if (tg.indicators.some((i) => Number.isFinite(i.value))) year = y;
    }
    assert.ok(year, 'some year has province figures');

    const page = await newPage();
    /** open goes to a targets page and returns the answer it was drawn from. */
    const open = async (go) => {
      // The figures' answer (a roll-up still computing is answered 202 first, and the page asks again).
      const answer = page.waitForResponse((r) => /\/api\/v1\/targets\?/.test(r.url()) && r.status() === 200);
      await go();
      const served = await (await answer).json();
      await settle(page);
      return served;
    };
    /** checkIndicators compares the indicator table with the answer: numbers where it has them, '—' where not. */
    const checkIndicators = async (served) => {
      for (const ind of served.indicators) {
        const row = await page.$(`[data-testid=target-indicators] tr[data-indicator="${ind.key}"]`);
        assert.ok(row, `row of ${ind.key}`);
        for (const [field, v] of [['value', ind.value], ['baseline', ind.baseline_2020], ['target', ind.target_2025], ['expected', ind.expected]]) {
          const cell = await row.$eval(`[data-field=${field}]`, (e) => ({ text: e.textContent, value: e.dataset.value }));
          if (Number.isFinite(v)) {
            assert.ok(isFigure(cell.text), `${ind.key} ${field} shows a number: ${cell.text}`);
            assert.equal(Number(cell.value), v, `${ind.key} ${field} is the served figure`);
          } else assert.equal(cell.text, '—', `${ind.key} ${field} has no figure and says so`);
        }
        assert.ok(await row.$('[data-on-track]'), `${ind.key} says whether it is on track`);
        assert.ok(await row.$('[data-basis]') || !ind.basis, `${ind.key} says its basis`);
      }
    };
    const served = await open(() => page.goto(`${BASE}/targets?year=${year}`));
    const text = await hasChinese(page);
    assert.match(text, /2025 目标值/);
    assert.ok((served.children ?? []).length >= 1, 'the province has cities');
    await checkIndicators(served);
    // One trajectory chart per indicator with a path, drawn, with the yearly figures on it.
    const charts = await page.$$eval('[data-trajectory]', (els) => els.map((e) => [e.dataset.trajectory, e.dataset.chartState, !!e.querySelector('canvas')]));
    assert.ok(charts.length >= 1, 'trajectory charts');
    for (const [key, st, canvas] of charts) assert.ok(st === 'finished' && canvas, `trajectory of ${key} drawn (${st})`);
    const yearsWithFigures = new Set(served.trajectory.filter((p) => Number.isFinite(p.value)).map((p) => p.year));
    assert.ok(yearsWithFigures.size >= 2, `a trajectory over several years: ${[...yearsWithFigures]}`);
    // The worst contributors are listed when the server names any.
    assert.equal((await page.$$('[data-testid=worst] a[data-worst]')).length, (served.worst ?? []).length);
    await shot(page, '30-targets-province');
    // The target progress report: every province figure the page shows is a number cell of the workbook (the same
    // snapshot: it was computed moments ago and is answered for 10 minutes).
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=report-targets-xlsx]')]);
    const file = join(OUT, dl.suggestedFilename());
    await dl.saveAs(file);
    const numbers = xlsxCells(readFileSync(file)).filter((c) => Number.isFinite(c.number)).map((c) => c.number);
    for (const ind of served.indicators.filter((i) => Number.isFinite(i.value))) {
      assert.ok(numbers.some((n) => Math.abs(n - ind.value) <= 1e-9 * Math.max(1, Math.abs(ind.value))), `${ind.key} ${ind.value} in the targets workbook`);
    }

    // Drill down through the rows that have figures: city → park → an enterprise's indicators.
    let here = served;
    for (const level of ['city', 'park']) {
      const child = here.children.find((c) => c.level === level && c.indicators.some((i) => Number.isFinite(i.value)));
      assert.ok(child, `a ${level} with figures to drill into: ${JSON.stringify(here.children.map((c) => [c.level, c.code]))}`);
      here = await open(() => page.click(`tr[data-child="${child.code}"] a[data-drill=${level}]`));
      assert.match(page.url(), new RegExp(`/targets\\?level=${level}&code=${encodeURIComponent(child.code)}`));
      assert.ok((await page.$$('.breadcrumbs a')).length >= 1, 'breadcrumbs lead back up');
      await checkIndicators(here);
      await shot(page, `31-targets-${level}`);
    }
    const ent = here.children.find((c) => c.level === 'enterprise');
    assert.ok(ent, 'the park has enterprises');
    await page.click(`tr[data-child="${ent.code}"] a[data-drill=enterprise]`);
    await page.waitForURL(/\/enterprises\/[^/]+\/efficiency/);
    await settle(page);
    assert.equal(decodeURIComponent(new URL(page.url()).pathname.split('/')[2]), ent.code);
    noErrors(page);
    await page.context().close();
  });

  test('English: labels complete on targets, quota board and indicators', async () => {
    const page = await newPage(TOKEN, 'en');
    await page.goto(`${BASE}/targets`);
    await settle(page);
    // Without a year the page opens on the latest year with data: the answer of the year it shows.
    const shownYear = await page.$eval('[data-testid=year]', (s) => s.value);
    const served = await api(`/targets?level=province&year=${shownYear}`);
    assert.ok(served.indicators.some((i) => Number.isFinite(i.value)), `the targets page opened on ${shownYear}, a year with figures`);
    // Labels are English; the plan's product names (粗钢, 机织印染布…) are names and have no English in the plan.
    const products = served.indicators.filter((i) => i.key.startsWith('product:')).map((i) => i.key.slice('product:'.length));
    const labels = await page.$$eval('th, .kpi-label, .mainnav a, h2, .segmented button', (els) => els.map((e) => e.textContent));
    const stripped = labels.map((l) => products.reduce((x, p) => x.split(p).join(''), l));
    assert.deepEqual(stripped.filter((l) => /[\u4e00-\u9fff]/.test(l)), [], 'untranslated labels');
    await shot(page, '32-targets-english');
    // The quota board and an enterprise's indicators too.
    const [ent] = await api('/enterprises');
    for (const path of ['/quotas', `/enterprises/${encodeURIComponent(ent.id)}/efficiency`]) {
      await page.goto(BASE + path);
      await settle(page);
      const shown = await page.$$eval('th, .kpi-label, h2, .segmented button, .page-tools a, .filters label', (els) => els.map((e) => e.textContent));
      assert.deepEqual(shown.filter((l) => /[\u4e00-\u9fff]/.test(l)), [], `untranslated labels on ${path}`);
    }
    noErrors(page);
    await page.context().close();
  });

  // Issue 17, items 1, 4 and 6 (plancarbon): plans & permits with the plan
  // alarms the demo's plans raise, the park's headroom, the water–carbon page.
  test('plans & permits: shares at the thresholds, months against plan, permits, tiers, headroom; plan alarms; carbon page', { timeout: 900000 }, async () => {
    // The demo sizes one enterprise's month plan to its first minutes of
    // intake; the plan check runs every 5 minutes.
    const deadline = Date.now() + 840000;
    let alarms = [];
    for (;;) {
      const got = await api('/alarms?state=open');
      alarms = (Array.isArray(got) ? got : (got.alarms ?? got.items ?? [])).filter((a) => a.kind.startsWith('plan-'));
      if (alarms.some((a) => a.kind === 'plan-month-100')) break;
      assert.ok(Date.now() < deadline, `no plan alarm in time (open: ${alarms.map((a) => a.kind).join(', ')})`);
      await new Promise((r) => setTimeout(r, 10000));
    }
    const ov = await api('/plans');
    const over = ov.rows.find((r) => r.level === 'over');
    assert.ok(over, 'an enterprise over plan');
    const page = await newPage();
    await page.goto(`${BASE}/plans`);
    await settle(page);
    await hasChinese(page);
    assert.equal(await page.$eval('[data-testid="count-over"] .kpi-value', (e) => e.textContent), String(ov.rows.filter((r) => r.level === 'over').length));
    assert.equal(await page.$eval('#plans-rows tbody tr', (e) => e.dataset.level), 'over', 'over-plan enterprises first');
    await shot(page, '40-plans');
    await page.click(`[data-enterprise="${over.enterprise}"] a`);
    await settle(page);
    assert.ok(await page.$('[data-testid="plan-months"][data-chart-state="finished"]'), 'month bars drawn');
    assert.ok((await page.$$('#plan-tiers tbody tr')).length >= 2, 'tiers listed');
    assert.ok(await page.$('#plan-permits'), 'permits card');
    await shot(page, '41-plan-enterprise');
    const park = ov.parks[0];
    if (park) {
      await page.goto(`${BASE}/plans?park=${encodeURIComponent(park.park)}`);
      await settle(page);
      assert.ok(await page.$('[data-testid="remaining"]'), 'park remainder');
      await shot(page, '42-plan-headroom');
    }
    await page.goto(`${BASE}/carbon`);
    await settle(page);
    const served = await api('/carbon');
    assert.ok(served.line.account.kg_co2 > 0, 'province CO₂');
    assert.match(await page.$eval('[data-testid="carbon-factor"]', (e) => e.textContent), /0\.5395/);
    assert.ok((await page.$$('#carbon-stages tbody tr')).length >= 1, 'stages listed');
    await shot(page, '43-carbon');
    noErrors(page);
    await page.context().close();
    // English labels complete on both pages.
    const en = await newPage(TOKEN, 'en');
    for (const path of ['/plans', `/plans?enterprise=${encodeURIComponent(over.enterprise)}`, '/carbon']) {
      await en.goto(BASE + path);
      await settle(en);
      const shown = await en.$$eval('th, .kpi-label, h2, .mainnav a', (els) => els.map((e) => e.textContent));
      assert.deepEqual(shown.filter((l) => /[\u4e00-\u9fff]/.test(l)), [], `untranslated labels on ${path}`);
    }
    noErrors(en);
    await en.context().close();
  });

  // Issue 17 (helper mv): contract water saving. The demo seeds contract
  // CWS-DEMO-1 over simulated history and issues its two statements once the
  // checkpoint covers the readings.
  test('contract water saving: contracts, baseline fit chart, statements with savings ± uncertainty, downloads', { timeout: 480000 }, async () => {
    // The demo seeds it 150 s after its start (after the first-minute story).
    let view;
    for (const deadline = Date.now() + 400000; ; await new Promise((r) => setTimeout(r, 2000))) {
      view = await api('/contracts/CWS-DEMO-1').catch(() => null);
      if (view?.statements?.length === 2) break;
      assert.ok(Date.now() < deadline, 'the demo contract has no two statements in time');
    }
    const page = await newPage();
    await page.goto(`${BASE}/contracts`);
    await settle(page);
    await hasChinese(page);
    assert.ok(await page.$('[data-contract-row="CWS-DEMO-1"]'), 'the demo contract is listed');
    await shot(page, '40-contracts');
    await page.click('[data-contract="CWS-DEMO-1"]');
    await settle(page);
    assert.equal(await page.$eval('[data-testid=fit-chart]', (e) => e.dataset.chartState), 'finished', 'the fit chart is drawn');
    const rows = await page.$$eval('[data-testid=statements] tr[data-period]', (trs) => trs.map((tr) => ({ id: tr.dataset.statement, savings: tr.querySelector('[data-savings]')?.dataset.savings, text: tr.textContent })));
    assert.equal(rows.length, 2, 'two reporting periods');
    for (const st of view.statements) {
      const row = rows.find((r) => r.id === st.id);
      assert.ok(row, `statement ${st.id} shown`);
      assert.equal(Number(row.savings), st.savings_m3, 'the served savings');
      assert.match(row.text, /±/, 'savings with their uncertainty');
      assert.match(row.text, new RegExp(String(st.checkpoint_size)), 'the checkpoint size');
    }
    await shot(page, '41-contract');
    // The PDF download through the page's link (token in the header, saved from a blob).
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=statement-pdf-1]')]);
    const path = await dl.path();
    const { readFile } = await import('node:fs/promises');
    assert.equal((await readFile(path)).subarray(0, 5).toString(), '%PDF-', 'the statement PDF downloads');
    // English labels.
    await page.click('[data-testid=lang-switch]');
    await settle(page);
    const labels = await page.$$eval('th, .kpi-label, h2', (els) => els.map((e) => e.textContent));
    assert.deepEqual(labels.filter((l) => /[\u4e00-\u9fff]/.test(l)), [], 'untranslated labels');
    await shot(page, '42-contract-english');
    await page.click('[data-testid=lang-switch]');
    noErrors(page);
    await page.context().close();
  });

  // Water-rights certificates (helper certs): the list matches the server; the demo's certificate shows its
  // issue and transfer in ledger order; an issue of a statement that does not exist is refused with the reason
  // and lists nothing new; the labels are complete in English. The demo issues its certificate once its
  // contract's statements exist (about 150 s after start): this test runs after the plans and contract tests,
  // which wait longer, so its own wait is short, and it fails if the certificate never comes.
  test('water-rights certificates: list, history in ledger order, refusal, English', { timeout: 480000 }, async () => {
    let served;
    for (const deadline = Date.now() + 420000; (served = await api('/certificates')).certificates.length === 0; ) {
      assert.ok(Date.now() < deadline, 'no demo certificate in time: were the contract statements seeded and one verifiable?');
      await new Promise((r) => setTimeout(r, 5000));
    }
    const page = await newPage();
    await page.goto(`${BASE}/certificates`);
    await settle(page);
    await hasChinese(page);
    assert.equal(await page.$$eval('[data-testid=cert-list] tr[data-row]', (r) => r.length), served.certificates.length);
    assert.equal(await page.$$eval('[data-testid=cert-balances] tr[data-balance]', (r) => r.length), served.balances.length);
    await shot(page, '40-certificates');
    const c = served.certificates[0];
    await page.click(`a[data-certificate="${c.id}"]`);
    await settle(page);
    const events = await page.$$eval('[data-testid=cert-history] tr[data-event]', (rows) => rows.map((r) => r.dataset.event));
    assert.equal(events[0], 'issue', `history ${events}`);
    const indices = await page.$$eval('[data-testid=cert-history] [data-index]', (els) => els.map((e) => Number(e.dataset.index)));
    assert.deepEqual(indices, [...indices].sort((a, b) => a - b), 'history in ledger order');
    assert.equal(await page.$$eval('[data-testid=cert-holdings] tr[data-holding]', (r) => r.length), c.holdings.length + (c.retired_m3 > 0 ? 1 : 0));
    await shot(page, '41-certificate');
    // The admin acts for the first holder: a transfer beyond its holding is refused with the reason and
    // changes nothing; 1 m³ to another enterprise becomes the next ledger entry of the history.
    const holder = c.holdings[0];
    const other = (await api('/enterprises')).find((e) => e.id !== holder.holder);
    const act = `[data-act-for="${holder.holder}"] form[data-form=transfer]`;
    await page.fill(`${act} [data-testid=transfer-to]`, other.id);
    await page.fill(`${act} [data-testid=transfer-volume]`, String(holder.volume_m3 + 1));
    await page.click(`${act} [data-testid=transfer-submit]`);
    assert.match(await (await page.waitForSelector('.toast.error', { timeout: 15000 })).innerText(), /持有量|holding/);
    await page.evaluate(() => document.querySelectorAll('.toast').forEach((e) => e.remove()));
    await page.fill(`${act} [data-testid=transfer-volume]`, '1');
    await page.click(`${act} [data-testid=transfer-submit]`);
    await page.waitForSelector('.toast:not(.error)', { timeout: 15000 });
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=cert-history] tr[data-event]').length === n, events.length + 1, { timeout: 15000 });
    const after = await api(`/certificates/${encodeURIComponent(c.id)}`);
    const last = after.history[after.history.length - 1];
    assert.ok(last.op === 'transfer' && last.from === holder.holder && last.to === other.id && last.volume_m3 === 1 && last.index > indices[indices.length - 1], JSON.stringify(last));
    await page.goto(`${BASE}/certificates`);
    await settle(page);
    await page.fill('[data-testid=issue-statement]', 'mvs-0000000000000000');
    await page.click('[data-testid=issue-submit]');
    const toast = await page.waitForSelector('.toast.error', { timeout: 15000 });
    assert.match(await toast.innerText(), /mvs-0000000000000000/);
    assert.equal((await api('/certificates')).certificates.length, served.certificates.length, 'a refused issue lists nothing');
    page.errors = page.errors.filter((e) => !/status of (404|503)/.test(e)); // the refusal itself
    noErrors(page);
    await page.context().close();

    const en = await newPage(TOKEN, 'en');
    await en.goto(`${BASE}/certificates`);
    await settle(en);
    const shown = await en.$$eval('th, .kpi-label, h1, h2, .mainnav a, label', (els) => els.map((e) => e.textContent));
    assert.deepEqual(shown.filter((l) => /[\u4e00-\u9fff]/.test(l)), [], 'untranslated labels on /certificates');
    noErrors(en);
    await en.context().close();
  });
});

// The plan's registries (issue 17 item 5) and the evaluation's declared
// answers (issue 14): the demo seeds simulated providers, water managers for
// every other enterprise and answers for the first one.
describe('registries', { concurrency: false }, () => {
  /** until polls fn (up to 90 s) until it returns a truthy value. */
  const until = async (fn, what) => {
    for (let i = 0; i < 90; i++) {
      const v = await fn().catch(() => undefined);
      if (v) return v;
      await new Promise((r) => setTimeout(r, 1000));
    }
    assert.fail(`waited 90 s for ${what}`);
  };

  test('registries page: managers with the 100,000 m³ flag, providers, catalogue, search', async () => {
    const providers = await until(async () => ((await api('/service-providers')).providers.length >= 3 ? (await api('/service-providers')).providers : null), 'the demo providers');
    const managers = await api('/water-managers');
    const page = await newPage();
    await page.goto(`${BASE}/registries`);
    await settle(page);
    await page.waitForSelector('#reg-managers tbody tr[data-enterprise]');
    const rows = await page.$$eval('#reg-managers tbody tr[data-enterprise]', (trs) => trs.map((tr) => [tr.dataset.enterprise, tr.dataset.standing]));
    assert.equal(rows.length, managers.enterprises.length, 'every enterprise in scope listed');
    const flaggedShown = rows.filter(([, s]) => s === 'missing').map(([e]) => e).sort();
    assert.deepEqual(flaggedShown, managers.enterprises.filter((m) => m.flagged).map((m) => m.enterprise).sort(), 'the flagged enterprises are the server’s');
    assert.equal(await page.$eval('[data-testid=flagged-count]', (e) => Number(e.dataset.n)), managers.flagged);
    const provRows = await page.$$eval('#reg-providers tbody tr', (trs) => trs.map((tr) => tr.dataset.provider));
    assert.deepEqual(provRows.sort(), providers.map((p) => p.id).sort());
    const techRows = await page.$$eval('#reg-technologies tbody tr', (trs) => trs.length);
    assert.ok(techRows >= 80, `technology catalogue rows (${techRows})`);
    await shot(page, '40-registries');
    // Filter by service and search.
    await page.selectOption('[data-testid=service]', 'contract_saving');
    await settle(page);
    await page.waitForSelector('#reg-providers tbody tr');
    const cs = await page.$$eval('#reg-providers tbody tr', (trs) => trs.map((tr) => tr.dataset.provider));
    assert.deepEqual(cs, providers.filter((p) => p.services.includes('contract_saving')).map((p) => p.id));
    await page.fill('[data-testid=reg-search]', '印染 回用');
    await page.click('[data-testid=reg-search-go]');
    await settle(page);
    await page.waitForSelector('#reg-hits tbody tr');
    const hits = await page.$$eval('#reg-hits tbody tr', (trs) => trs.map((tr) => tr.dataset.hit));
    assert.ok(hits.length >= 2 && hits.every((k) => k === 'technology'), `search hits ${hits}`);
    // An admin marks an enterprise above scale (the reuse-rate target counts those only), and back.
    const first = managers.enterprises[0];
    const before = (await api(`/enterprises/${encodeURIComponent(first.enterprise)}`)).above_scale === true;
    await page.click(`#reg-managers tr[data-enterprise="${first.enterprise}"] input[data-above-scale]`);
    await page.waitForSelector(`#reg-managers tr[data-enterprise="${first.enterprise}"] input[data-above-scale="${!before}"]`);
    assert.equal((await api(`/enterprises/${encodeURIComponent(first.enterprise)}`)).above_scale === true, !before);
    await api(`/enterprises/${encodeURIComponent(first.enterprise)}/scale`, { method: 'PUT', body: { above_scale: before } });
    noErrors(page);
    await page.context().close();
    // English: every label translated (the catalogue's names are the plan's own words, in cells).
    const en = await newPage(TOKEN, 'en');
    await en.goto(`${BASE}/registries`);
    await settle(en);
    await en.waitForSelector('#reg-managers tbody tr');
    const labels = await en.$$eval('th, h1, h2, .mainnav a, .filters label, .card-actions label, [data-standing] .badge', (els) => els.map((e) => e.textContent));
    assert.deepEqual(labels.filter((l) => /[\u4e00-\u9fff]/.test(l)), [], 'untranslated labels on /registries');
    noErrors(en);
    await en.context().close();
  });

  test('an enterprise appoints its water manager and answers the evaluation', async () => {
    const managers = await api('/water-managers');
    const target = managers.enterprises.find((m) => m.flagged) ?? managers.enterprises.find((m) => !m.manager) ?? managers.enterprises[0];
    const created = await api('/tokens', { method: 'POST', body: { role: 'enterprise', scope: target.enterprise, name: 'browser test registries' } });
    const token = [created.secret, created.token].find((x) => typeof x === 'string');
    const page = await newPage(token);
    await page.goto(`${BASE}/registries`);
    await settle(page);
    await page.waitForSelector('[data-testid=manager-form]');
    const rows = await page.$$eval('#reg-managers tbody tr[data-enterprise]', (trs) => trs.map((tr) => tr.dataset.enterprise));
    assert.deepEqual(rows, [target.enterprise], 'an enterprise sees only itself');
    // A bad e-mail is named before any request; nothing is stored.
    await page.fill('[data-manager=name]', '测试水务经理');
    await page.fill('[data-manager=email]', 'not-an-address');
    await page.fill('[data-manager=appointed]', '2026-01-05');
    await page.click('[data-testid=save-manager]');
    assert.ok(await page.$eval('[data-manager=email]', (e) => e.validationMessage.length > 0), 'the e-mail field says what is wrong');
    assert.equal((await api(`/water-managers?flagged=0`)).enterprises.find((m) => m.enterprise === target.enterprise).manager?.name === '测试水务经理', false);
    await page.fill('[data-manager=email]', 'manager@example.com');
    await page.click('[data-testid=save-manager]');
    await page.waitForSelector(`#reg-managers tr[data-enterprise="${target.enterprise}"][data-standing=ok]`);
    const stored = (await api('/water-managers')).enterprises.find((m) => m.enterprise === target.enterprise);
    assert.equal(stored.manager.name, '测试水务经理');
    assert.equal(stored.manager.updated_by, created.token?.id ?? stored.manager.updated_by);
    assert.equal(stored.flagged, false);
    await shot(page, '41-registries-enterprise');

    // The evaluation on the indicator page: answer a declared requirement.
    await page.goto(`${BASE}/enterprises/${encodeURIComponent(target.enterprise)}/efficiency`);
    await settle(page);
    await page.waitForSelector('#eval-card [data-answer=no_obsolete]');
    await page.selectOption('#eval-card [data-answer=no_obsolete]', 'yes');
    await page.fill('#eval-card [data-answer-note=no_obsolete]', '已淘汰旧设备');
    await page.click('[data-testid=save-answers]');
    await page.waitForSelector('#eval-card tr[data-requirement=no_obsolete] [data-eval-status=pass]');
    const ans = await api(`/enterprises/${encodeURIComponent(target.enterprise)}/evaluation-answers`);
    assert.equal(ans.latest.no_obsolete.met, true);
    assert.equal(ans.latest.no_obsolete.note, '已淘汰旧设备');
    await shot(page, '42-evaluation-answers');
    noErrors(page);
    await page.context().close();
  });

  test('a retrofit case linked to a provider and a technology becomes the technology’s typical case', { timeout: 600000 }, async () => {
    // Cases come from the demo's quota review (see the quota-board test); wait for one.
    let cases = [];
    for (const deadline = Date.now() + Number(process.env.CASE_WAIT ?? 480) * 1000; (cases = await api('/quota-cases')).length === 0; ) {
      assert.ok(Date.now() < deadline, 'no retrofit case in time');
      await new Promise((r) => setTimeout(r, 5000));
    }
    const c = cases[0];
    const page = await newPage();
    await page.goto(`${BASE}/quota-cases/${encodeURIComponent(c.id)}`);
    await settle(page);
    await page.waitForSelector('[data-testid=link-technology] option:nth-child(2)', { state: 'attached' });
    const tech = await page.$eval('[data-testid=link-technology] option:nth-child(2)', (o) => o.value);
    await page.selectOption('[data-testid=link-provider]', 'SP-SIM-01');
    await page.selectOption('[data-testid=link-technology]', tech);
    await page.click('[data-testid=save-link]');
    await page.waitForSelector(`[data-testid=case-link][data-technology="${tech}"]`);
    const link = await api(`/quota-cases/${encodeURIComponent(c.id)}/link`);
    assert.equal(link.provider, 'SP-SIM-01');
    assert.equal(link.technology, tech);
    await shot(page, '43-case-link');
    await page.goto(`${BASE}/registries`);
    await settle(page);
    await page.waitForSelector(`#reg-technologies tr[data-technology="${tech}"] a[href="/quota-cases/${c.id}"]`);
    noErrors(page);
    await page.context().close();
  });
});
