// Browser test for the other example pages of sselight: the nav, Example 2
// (start from a button), hx-trigger on an SSE event, sse-close, the
// dashboard (several event names on one connection) and the live room.
//
// Usage:  BASE_URL=http://127.0.0.1:5123 TEST_OUT=/tmp/out node tests/browser/examples.mjs
//   BASE_URL  origin of a running sselight server (required)
//   TEST_OUT  directory for artifacts (<page>.png); default: $TMPDIR/sselight-test-out
//   CHROMIUM  chromium binary; default: /usr/bin/chromium (Debian package)
//   TEST_TIMEOUT_MS  hard overall timeout (default 120000)
//
// The sections run at the same time, each in its own browser context (own
// connection pool), except the live room, which runs alone afterwards
// because it measures a delivery time. Each section's lines are printed
// together, in a fixed order, when all have ended. Prints one line per check
// ("ok - ..." / "not ok - ...: why"), then "N passed, N failed"; exits 1 if
// any check failed.

import { launchChromium, oneLine, testEnv, checkReport, runBounded, timeBudget, pathOf } from './lib.mjs';
import fs from 'node:fs';
import path from 'node:path';

const HARD_TIMEOUT_MS = Number(process.env.TEST_TIMEOUT_MS) || 120_000;
const EXPECTED = [...Array(10).keys()].map((i) => `message number ${i}`).concat(['DONE']);
const NAV = [
  ['/', 'Example 1'],
  ['/example2', 'Example 2'],
  ['/trigger', 'hx-trigger'],
  ['/close', 'sse-close'],
  ['/dashboard', 'Dashboard'],
  ['/room', 'Live room'],
];

const { remaining, budget, sleep } = timeBudget(HARD_TIMEOUT_MS, 2_000);

// ---- checks, collected per section -----------------------------------------

const { section, finish } = checkReport();

const { ORIGIN, OUT, url } = testEnv();

let browser = null;

// ---- what every page records, installed before the page's own scripts -----

// Times are epoch milliseconds with sub-millisecond precision
// (performance.timeOrigin + performance.now()), so times taken in two browser
// contexts on this machine can be compared.
function initScript() {
  const now = () => performance.timeOrigin + performance.now();
  window.__now = now;
  // htmx's SSE events
  window.__sse = [];
  for (const type of ['htmx:sseOpen', 'htmx:sseMessage', 'htmx:sseError', 'htmx:sseClose']) {
    document.addEventListener(type, (e) => {
      window.__sse.push({
        type,
        target: (e.target && e.target.id) || '',
        kind: (e.detail && typeof e.detail.type === 'string') ? e.detail.type : '',
        t: now(),
      });
    }, true);
  }
  // every EventSource the page makes, with when it opened and was closed
  window.__es = [];
  const Orig = window.EventSource;
  window.EventSource = class extends Orig {
    constructor(u, opts) {
      super(u, opts);
      const rec = { url: String(u), created: now(), closed: null, es: this };
      window.__es.push(rec);
      this.__rec = rec;
    }
    close() {
      if (this.__rec.closed === null) this.__rec.closed = now();
      super.close();
    }
  };
  // every element added to the document, with its nearest id'd ancestor
  window.__added = [];
  new MutationObserver((muts) => {
    const t = now();
    for (const m of muts) {
      for (const n of m.addedNodes) {
        if (n.nodeType !== 1) continue;
        const host = n.parentElement ? n.parentElement.closest('[id]') : null;
        window.__added.push({
          tag: n.tagName.toLowerCase(),
          cls: typeof n.className === 'string' ? n.className : '',
          text: n.textContent.trim(),
          host: host ? host.id : '',
          t,
        });
      }
    }
  }).observe(document, { childList: true, subtree: true });
  // most EventSources whose URL holds urlPart open at the same time, so far
  window.__maxOpenAtOnce = (urlPart) => {
    const evs = [];
    for (const r of window.__es) {
      if (!r.url.includes(urlPart)) continue;
      evs.push([r.created, 1]);
      if (r.closed !== null) evs.push([r.closed, -1]);
    }
    evs.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    let open = 0;
    let max = 0;
    for (const [, d] of evs) { open += d; max = Math.max(max, open); }
    return max;
  };
}

// ---- shared context set-up -------------------------------------------------

const thirdParty = new Set();
const pageErrors = [];
const dialogs = [];
const isLocal = (u) => {
  if (/^(data|blob|about):/.test(u)) return true;
  try { return new URL(u).origin === ORIGIN; } catch { return false; }
};

// A fresh context and page that blocks and records other origins, records
// errors and dialogs, and keeps a log of its requests:
// { method, path, url, t, status, ended }.
async function openPage(label) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  await context.route((u) => !isLocal(u.href), (route) => {
    thirdParty.add(route.request().url());
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  const requests = [];
  const byReq = new Map();
  page.on('request', (req) => {
    if (!isLocal(req.url())) { thirdParty.add(req.url()); return; }
    const r = { method: req.method(), path: pathOf(req.url()), url: req.url(), t: Date.now(), status: null, ended: null };
    requests.push(r);
    byReq.set(req, r);
  });
  page.on('response', (res) => { const r = byReq.get(res.request()); if (r) r.status = res.status(); });
  page.on('requestfinished', (req) => { const r = byReq.get(req); if (r) r.ended = 'finished'; });
  page.on('requestfailed', (req) => { const r = byReq.get(req); if (r) r.ended = req.failure()?.errorText || 'failed'; });
  page.on('pageerror', (err) => pageErrors.push(`${label}: ${oneLine(err)}`));
  page.on('dialog', (d) => { dialogs.push(`${label}: ${d.type()} ${JSON.stringify(d.message())}`); d.dismiss().catch(() => {}); });
  await page.addInitScript(initScript);
  const count = (p, method = 'GET') => requests.filter((r) => r.path === p && r.method === method).length;
  const inFlight = (p) => requests.filter((r) => r.path === p && r.ended === null).length;
  return { context, page, requests, count, inFlight };
}

async function load(s, page, p) {
  try {
    const resp = await page.goto(url(p), { waitUntil: 'load', timeout: budget(10_000) });
    return s.check(`GET ${p} returns 200`, resp && resp.status() === 200, `status ${resp && resp.status()}`);
  } catch (e) {
    return s.check(`GET ${p} returns 200`, false, oneLine(e));
  }
}

const waitFor = (page, fn, arg, ms, polling = 50) =>
  page.waitForFunction(fn, arg, { timeout: budget(ms), polling }).then(() => true, () => false);

const sseOpened = (page, target, ms = 5_000) => waitFor(page,
  (t) => window.__sse.some((e) => e.type === 'htmx:sseOpen' && (!t || e.target === t)), target, ms);

async function shot(s, page, name) {
  const file = path.join(OUT, `${name}.png`);
  try {
    await page.screenshot({ path: file, fullPage: true, timeout: budget(5_000) });
    s.check(`screenshot saved to ${file}`, fs.statSync(file).size > 0, 'empty file');
  } catch (e) {
    s.check(`screenshot saved to ${file}`, false, oneLine(e));
  }
}

// ---- sections --------------------------------------------------------------

async function testNav() {
  const s = section('nav');
  const { page } = await openPage('nav');
  if (!await load(s, page, '/')) return;
  const links = await page.evaluate(() => Array.from(document.querySelectorAll('nav a'))
    .map((a) => [a.getAttribute('href'), a.textContent.trim()]));
  s.check('the nav on / links the six pages in order', JSON.stringify(links) === JSON.stringify(NAV),
    `got ${JSON.stringify(links)}`);
  for (const [href, label] of NAV.slice(1).concat([NAV[0]])) {
    try {
      const [resp] = await Promise.all([
        page.waitForNavigation({ waitUntil: 'load', timeout: budget(10_000) }),
        page.locator('nav a', { hasText: label }).first().click({ timeout: budget(5_000) }),
      ]);
      const info = await page.evaluate(() => ({
        path: location.pathname,
        h1: (document.querySelector('main h1') || {}).textContent || '',
        nav: document.querySelectorAll('nav a').length,
        current: (document.querySelector('nav a[aria-current="page"]') || {}).textContent || '',
      }));
      s.check(`nav link "${label}" opens ${href} with its nav and heading`,
        resp && resp.status() === 200 && info.path === href && info.h1.trim() !== '' &&
          info.nav === NAV.length && info.current.trim() === label,
        `status ${resp && resp.status()} ${JSON.stringify(info)}`);
    } catch (e) {
      s.check(`nav link "${label}" opens ${href} with its nav and heading`, false, oneLine(e));
    }
  }
  const info = await page.evaluate(() => ({
    htmx: window.htmx ? String(window.htmx.version) : null,
    sse: !!(window.htmx && typeof window.htmx.createEventSource === 'function'),
    scripts: Array.from(document.scripts).map((x) => x.getAttribute('src')),
  }));
  // sse-resume.js sits between the two: it must set htmx.createEventSource
  // before the extension would set its own.
  s.check('htmx 2.0.x, sse-resume.js and the sse extension are loaded in that order, from our origin only',
    !!info.htmx && info.htmx.startsWith('2.0.') && info.sse &&
      JSON.stringify(info.scripts) ===
        JSON.stringify(['/vendor/htmx.min.js', '/assets/sse-resume.js', '/vendor/sse.min.js']),
    JSON.stringify(info));
}

async function testExample2() {
  const s = section('example2');
  const { page, count, inFlight } = await openPage('example2');
  const STREAM = '/streams/example2';
  if (!await load(s, page, '/example2')) return;
  // the message texts in #example2-content (not its placeholder)
  const texts = () => page.evaluate((exp) => Array.from(document.querySelectorAll('#example2-content p'))
    .map((p) => p.textContent.trim()).filter((t) => exp.includes(t)), EXPECTED)
    .catch(() => []);

  await sleep(1_000);
  s.check('no stream before the click',
    count(STREAM) === 0 && await page.evaluate(() => window.__es.length) === 0,
    `${count(STREAM)} requests to ${STREAM}`);

  const button = page.locator('#example2-start');
  const tClick = Date.now();
  await button.click({ timeout: budget(5_000) }).catch(() => {});
  const started = await sseOpened(page, 'example2-content', 5_000);
  s.check('the click loads the fragment and opens the stream',
    started && count('/example2/start') === 1 && count(STREAM) === 1,
    `sseOpen ${started}, ${count('/example2/start')} GET /example2/start, ${count(STREAM)} GET ${STREAM}`);

  const gotDone = await waitFor(page,
    () => Array.from(document.querySelectorAll('#example2-content p')).some((p) => p.textContent.trim() === 'DONE'),
    null, 12_000);
  const got = await texts();
  s.check('the 11 messages arrive in order', gotDone && JSON.stringify(got) === JSON.stringify(EXPECTED),
    `got ${JSON.stringify(got)}`);
  const spread = await page.evaluate(() => {
    const a = window.__added.filter((x) => x.host === 'example2-content' && x.tag === 'div');
    return a.length >= 2 ? a[a.length - 1].t - a[0].t : 0;
  });
  s.check('the messages are streamed one by one (spread >= 3 s)', spread >= 3_000, `spread ${Math.round(spread)} ms`);

  const closed = await waitFor(page,
    () => window.__sse.some((e) => e.type === 'htmx:sseClose' && e.kind === 'message' && e.target === 'example2-content'),
    null, 3_000);
  s.check('the "close" event makes the extension close the EventSource', closed,
    `htmx:sseClose events: ${JSON.stringify(await page.evaluate(() => window.__sse.filter((e) => e.type === 'htmx:sseClose')))}`);
  await sleep(5_000);
  s.check('no new stream request in the 5 s after "close"', count(STREAM) === 1,
    `${count(STREAM)} requests to ${STREAM} (${Math.round((Date.now() - tClick) / 1000)} s after the click)`);
  s.check('the messages did not start over', JSON.stringify(await texts()) === JSON.stringify(EXPECTED),
    `now ${JSON.stringify(await texts())}`);
  await shot(s, page, 'example2');

  // A second run: a new #example2-content replaces the old one.
  await page.evaluate(() => { const d = document.getElementById('example2-content'); if (d) d.dataset.old = '1'; });
  await button.click({ timeout: budget(5_000) }).catch(() => {});
  const again = await waitFor(page,
    () => Array.from(document.querySelectorAll('#example2-content:not([data-old]) p'))
      .some((p) => p.textContent.trim() === 'message number 0'),
    null, 4_000);
  const after2 = await texts();
  s.check('a second click starts a new run', again && count(STREAM) === 2 && after2[0] === 'message number 0',
    `${count(STREAM)} requests to ${STREAM}; #example2-content holds ${JSON.stringify(after2)}`);

  // Two quick clicks while a run is going: a synchronous double click, then
  // two real clicks 100 ms apart.
  await page.evaluate(() => { const b = document.getElementById('example2-start'); b.click(); b.click(); });
  await sleep(300);
  await button.click({ timeout: budget(5_000) }).catch(() => {});
  await sleep(100);
  await button.click({ timeout: budget(5_000) }).catch(() => {});
  await sleep(1_500);
  const st = await page.evaluate(() => ({
    maxOpen: window.__maxOpenAtOnce('/streams/example2'),
    openNow: window.__es.filter((r) => r.url.includes('/streams/example2') && r.es.readyState !== 2).length,
    divs: document.querySelectorAll('#example2-content').length,
    made: window.__es.length,
  }));
  s.check('quick clicks never leave more than one stream open (page side)',
    st.maxOpen <= 1 && st.openNow === 1 && st.divs === 1,
    JSON.stringify(st));
  s.check('quick clicks leave one stream request in flight (network side)',
    inFlight(STREAM) === 1, `${inFlight(STREAM)} of ${count(STREAM)} requests to ${STREAM} still open`);
  s.note(`${count(STREAM)} stream requests, ${count('/example2/start')} fragment requests in all`);
}

async function testTrigger() {
  const s = section('trigger');
  const { page, requests, count } = await openPage('trigger');
  const FRAG = '/trigger/fragment';
  if (!await load(s, page, '/trigger')) return;
  const opened = await sseOpened(page, '', 5_000);
  s.check('the page opens /streams/ticks', opened && count('/streams/ticks') === 1,
    `sseOpen ${opened}, ${count('/streams/ticks')} requests`);
  const tOpen = Date.now();
  while (Date.now() - tOpen < 4_500 && count(FRAG) < 3 && remaining() > 0) await sleep(100);
  const got3 = count(FRAG) >= 3;
  s.check('each tick makes the element GET /trigger/fragment (>= 3 in 4.5 s)', got3,
    `${count(FRAG)} GET ${FRAG} in ${Date.now() - tOpen} ms`);
  const bad = requests.filter((r) => r.path === FRAG && r.status !== null && r.status !== 200);
  s.check('the fragment requests succeed', bad.length === 0, bad.map((r) => r.status).join(','));
  await sleep(300);
  const text = (await page.locator('#tick-target').textContent({ timeout: budget(2_000) }).catch(() => '') || '').trim();
  s.check('the target shows the fragment',
    /^Fetched from the page responder at \d\d:\d\d:\d\d UTC \(request #\d+ of this process\)$/.test(text),
    `target text ${JSON.stringify(text)}`);
  const swapped = await page.evaluate(() => window.__added
    .filter((a) => a.host === 'tick-target' && !a.cls.includes('placeholder')).map((a) => a.text));
  s.check('the tick data itself is never swapped in',
    swapped.length >= 1 && swapped.every((t) => t.startsWith('Fetched from the page responder')),
    `added to #tick-target: ${JSON.stringify(swapped.slice(0, 5))}`);
  await shot(s, page, 'trigger');
}

async function testClose() {
  const s = section('close');
  const { page, count } = await openPage('close');
  const STREAM = '/streams/countdown';
  if (!await load(s, page, '/close')) return;
  const done = await waitFor(page,
    () => (document.getElementById('countdown-done') || {}).textContent?.includes('Liftoff'), null, 10_000);
  const seq = await page.evaluate(() => window.__added
    .filter((a) => a.host === 'countdown-count' && a.tag === 'p' && !a.cls.includes('placeholder'))
    .map((a) => a.text));
  s.check('the countdown shows 5, 4, 3, 2, 1 in order', JSON.stringify(seq) === JSON.stringify(['5', '4', '3', '2', '1']),
    `got ${JSON.stringify(seq)}`);
  s.check('the "done" message is shown', done,
    `#countdown-done: ${JSON.stringify(await page.locator('#countdown-done').textContent().catch(() => ''))}`);
  const order = await page.evaluate(() => {
    const close = window.__sse.find((e) => e.type === 'htmx:sseClose');
    const swap = window.__added.find((a) => a.host === 'countdown-done');
    return { close: close ? close.kind : null, closeT: close ? close.t : null, swapT: swap ? swap.t : null };
  });
  s.check('"done" makes the extension close the EventSource', order.close === 'message', JSON.stringify(order));
  if (order.closeT !== null && order.swapT !== null) {
    s.note(`htmx:sseClose ${order.closeT <= order.swapT ? 'before' : 'after'} the "done" swap ` +
      `(${(order.swapT - order.closeT).toFixed(1)} ms)`);
  }
  const visible = await page.evaluate(() => {
    const d = document.getElementById('countdown-done');
    const c = document.getElementById('countdown-count');
    return {
      label: d ? getComputedStyle(d, '::before').content : '',
      shown: d ? d.getBoundingClientRect().height > 0 : false,
      dimmed: c ? Number(getComputedStyle(c).opacity) < 1 : false,
    };
  });
  s.check('the page shows the closed state', visible.shown && visible.dimmed && visible.label.includes('closed'),
    JSON.stringify(visible));
  await shot(s, page, 'close');
  await sleep(4_000);
  s.check('no new request to /streams/countdown in the 4 s after "done"', count(STREAM) === 1,
    `${count(STREAM)} requests to ${STREAM}`);
}

async function testDashboard() {
  const s = section('dashboard');
  const { page, count } = await openPage('dashboard');
  const STREAM = '/streams/dashboard';
  if (!await load(s, page, '/dashboard')) return;
  const opened = await sseOpened(page, 'dashboard', 5_000);
  s.check('the page opens the stream', opened, 'no htmx:sseOpen on #dashboard');
  await waitFor(page, () => document.querySelectorAll('#dash-log li').length >= 1, null, 3_000);
  const read = () => page.evaluate(() => ({
    clock: (document.getElementById('dash-clock') || {}).textContent?.trim() || '',
    counter: (document.getElementById('dash-counter') || {}).textContent?.trim() || '',
    log: document.querySelectorAll('#dash-log li').length,
  }));
  const first = await read();
  await sleep(3_600);
  const last = await read();
  s.note(`first ${JSON.stringify(first)}, 3.6 s later ${JSON.stringify(last)}`);
  s.check('exactly one request to /streams/dashboard', count(STREAM) === 1 &&
    await page.evaluate(() => window.__es.length) === 1, `${count(STREAM)} requests`);
  const clockRe = /^\d\d:\d\d:\d\d UTC$/;
  s.check('the clock widget updates', clockRe.test(first.clock) && clockRe.test(last.clock) && first.clock !== last.clock,
    `${JSON.stringify(first.clock)} then ${JSON.stringify(last.clock)}`);
  s.check('the counter widget increases', /^\d+$/.test(first.counter) && /^\d+$/.test(last.counter) &&
    Number(last.counter) > Number(first.counter), `${first.counter} then ${last.counter}`);
  s.check('the log widget grows', first.log >= 1 && last.log > first.log, `${first.log} then ${last.log} lines`);
  await shot(s, page, 'dashboard');
}

async function testRoom() {
  const s = section('room');
  const a = await openPage('room-a');
  const b = await openPage('room-b');
  const okA = await load(s, a.page, '/room');
  const okB = await load(s, b.page, '/room');
  if (!okA || !okB) return;
  const openA = await sseOpened(a.page, 'room-log', 5_000);
  const openB = await sseOpened(b.page, 'room-log', 5_000);
  s.check('both pages open /events/room', openA && openB, `A ${openA}, B ${openB}`);
  const config = await a.page.evaluate(() => JSON.stringify(window.htmx && window.htmx.config.responseHandling));
  s.check('htmx read the page\'s htmx-config (422 is swapped)', config.includes('"422"'), config);

  // post(text): submits A's form; returns { status, end } with end the epoch
  // time A's page saw the end of the POST response.
  async function post(text) {
    await a.page.fill('#room-text', text, { timeout: budget(3_000) });
    const [resp] = await Promise.all([
      a.page.waitForResponse((r) => pathOf(r.url()) === '/room/messages' && r.request().method() === 'POST',
        { timeout: budget(5_000) }),
      a.page.click('#room-form button[type="submit"]', { timeout: budget(3_000) }),
    ]);
    const end = await a.page.waitForFunction(() => {
      const e = performance.getEntriesByType('resource').filter((x) => x.name.endsWith('/room/messages'));
      return e.length ? performance.timeOrigin + e[e.length - 1].responseEnd : null;
    }, null, { timeout: budget(2_000) }).then((h) => h.jsonValue(), () => null);
    return { status: resp.status(), end };
  }
  const arrival = (page, text) => page.waitForFunction((t) => {
    const hit = window.__added.find((x) => x.host === 'room-log' && x.cls.split(' ').includes('room-msg') && x.text.endsWith(t));
    return hit ? hit.t : null;
  }, text, { timeout: budget(3_000), polling: 20 }).then((h) => h.jsonValue(), () => null);

  const hello = `hello from A ${Date.now()}`;
  let r = null;
  try { r = await post(hello); } catch (e) { s.check('posting from the form works', false, oneLine(e)); return; }
  s.check('posting from the form works', r.status === 200, `POST /room/messages answered ${r.status}`);
  const tB = await arrival(b.page, hello);
  const tA = await arrival(a.page, hello);
  s.check('the other page shows the message', tB !== null, 'not in B\'s #room-log within 3 s');
  s.check('the posting page shows the message too', tA !== null, 'not in A\'s #room-log within 3 s');
  if (tB !== null && r.end !== null) {
    const delta = tB - r.end;
    s.note(`B got the message ${delta.toFixed(1)} ms after A's POST response ended`);
    s.check('B gets the message within 100 ms of the POST response', delta <= 100, `${delta.toFixed(1)} ms`);
  } else {
    s.check('B gets the message within 100 ms of the POST response', false,
      `arrival ${tB}, POST response end ${r.end}`);
  }
  const form = await a.page.evaluate(() => ({
    value: (document.getElementById('room-text') || {}).value,
    error: !!document.querySelector('#room-form .form-error'),
    forms: document.querySelectorAll('#room-form').length,
  }));
  s.check('the form comes back empty', form.value === '' && !form.error && form.forms === 1, JSON.stringify(form));

  // Markup in messages is text. The room keeps its history, so count the
  // messages with this exact text before and after.
  const shown = (t) => b.page.evaluate((x) => Array.from(document.querySelectorAll('#room-log .room-msg span'))
    .filter((e) => e.textContent === x).length, t);
  for (const evil of ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>']) {
    const before = await shown(evil);
    let st = null;
    try { st = (await post(evil)).status; } catch (e) { st = oneLine(e); }
    const got = await waitFor(b.page, ([t, n]) => Array.from(document.querySelectorAll('#room-log .room-msg span'))
      .filter((x) => x.textContent === t).length > n, [evil, before], 3_000);
    s.check(`${JSON.stringify(evil)} shows as literal text`, st === 200 && got, `POST ${st}, shown ${got}`);
  }
  await sleep(300);
  const inert = async (p) => p.evaluate(() => ({
    scripts: document.querySelectorAll('#room-log script').length,
    imgs: document.querySelectorAll('#room-log img').length,
  }));
  const ia = await inert(a.page);
  const ib = await inert(b.page);
  s.check('no <script> or <img> element appears in #room-log', ia.scripts + ia.imgs + ib.scripts + ib.imgs === 0,
    `A ${JSON.stringify(ia)}, B ${JSON.stringify(ib)}`);
  s.check('no dialog opened (nothing ran)', dialogs.length === 0, dialogs.join(' | '));

  // An invalid message: 422, and htmx swaps the form with its error.
  const long = 'x'.repeat(501);
  await a.page.evaluate(() => document.getElementById('room-text')?.removeAttribute('maxlength'));
  let bad = null;
  try { bad = await post(long); } catch (e) { bad = { status: oneLine(e) }; }
  await waitFor(a.page, () => !!document.querySelector('#room-form .form-error'), null, 2_000);
  const f2 = await a.page.evaluate(() => ({
    error: (document.querySelector('#room-form .form-error') || {}).textContent || '',
    len: ((document.getElementById('room-text') || {}).value || '').length,
  }));
  s.check('a too long message gets 422 and the form shows the error and keeps the text',
    bad.status === 422 && f2.error.trim() !== '' && f2.len === 501, `status ${bad.status}, ${JSON.stringify(f2)}`);

  await shot(s, b.page, 'room');

  // A page opened later gets the history.
  const c = await openPage('room-c');
  if (await load(s, c.page, '/room')) {
    const hist = await waitFor(c.page, (t) => Array.from(document.querySelectorAll('#room-log .room-msg span'))
      .some((x) => x.textContent === t), hello, 3_000);
    s.check('a page opened later receives the earlier messages', hist,
      `#room-log: ${JSON.stringify(await c.page.locator('#room-log').textContent().catch(() => ''))}`);
  }
}

// ---- main ------------------------------------------------------------------

async function main(slot) {
  browser = slot.browser = await launchChromium(budget(15_000));
  const run = async (fn) => {
    try {
      await fn();
    } catch (e) {
      section(fn.name.replace(/^test/, '').toLowerCase()).check('section ran', false, oneLine(e));
    }
  };
  await Promise.all([testNav, testExample2, testTrigger, testClose, testDashboard].map(run));
  await run(testRoom);
  const s = section('all');
  s.check('no third-party requests (pages work offline)', thirdParty.size === 0,
    `attempted: ${[...thirdParty].join(', ')}`);
  s.check('no uncaught JavaScript errors', pageErrors.length === 0, pageErrors.join(' | '));
  s.check('no dialogs', dialogs.length === 0, dialogs.join(' | '));
}

await runBounded('examples', HARD_TIMEOUT_MS, { section, finish }, main);
