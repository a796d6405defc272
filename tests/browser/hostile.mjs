// Browser test for hostile content in sselight's pages: the Content
// Security Policy holds on every page while htmx does its work, and markup
// posted to the live room (through the form, or published straight to the
// channel "room") never becomes elements or runs.
//
// Usage:  BASE_URL=http://127.0.0.1:5123 TEST_OUT=/tmp/out node tests/browser/hostile.mjs
//   BASE_URL  origin of a running sselight server (required)
//   TEST_OUT  directory for artifacts (hostile-room.png); default: $TMPDIR/sselight-test-out
//   CHROMIUM  chromium binary; default: /usr/bin/chromium (Debian package)
//   TEST_TIMEOUT_MS  hard overall timeout (default 90000)
//
// Part 1 opens every page in its own browser context, at the same time, and
// runs its main interaction (the stream, the Example 2 button, the room
// form, ...). Any CSP violation (a securitypolicyviolation event or a
// console message about the Content Security Policy) or uncaught error
// fails. Part 2 posts XSS attempts to /room through the real form, then
// publishes them raw to the channel, and checks that nothing ran, no dialog
// opened, no element was made from them, and the text shows literally.
// Prints one line per check ("ok - ..." / "not ok - ...: why"), then
// "N passed, N failed"; exits 1 if any check failed.

import { launchChromium, oneLine, testEnv, checkReport, runBounded, timeBudget, pathOf } from './lib.mjs';
import fs from 'node:fs';
import path from 'node:path';

const HARD_TIMEOUT_MS = Number(process.env.TEST_TIMEOUT_MS) || 90_000;

const { remaining, budget, sleep } = timeBudget(HARD_TIMEOUT_MS, 2_000);

// ---- checks, collected per section (printed in a fixed order) --------------

const { section, finish } = checkReport();

const { ORIGIN, OUT, url } = testEnv();

let browser = null;

// ---- what every page records, installed before the page's own scripts -----

function initScript() {
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__csp.push({
      directive: e.violatedDirective,
      blocked: e.blockedURI,
      sample: e.sample,
      source: `${e.sourceFile || ''}:${e.lineNumber || 0}`,
    });
  }, true);
  // every element added to the document, and where
  window.__added = [];
  new MutationObserver((muts) => {
    for (const m of muts) {
      for (const n of m.addedNodes) {
        if (n.nodeType !== 1) continue;
        const all = [n, ...n.querySelectorAll('*')];
        for (const e of all) {
          const host = e.closest('[id]');
          window.__added.push({ tag: e.tagName.toLowerCase(), host: host ? host.id : '' });
        }
      }
    }
  }).observe(document, { childList: true, subtree: true });
  window.__sseMessages = 0;
  document.addEventListener('htmx:sseMessage', () => { window.__sseMessages++; }, true);
}

const isLocal = (u) => {
  if (/^(data|blob|about):/.test(u)) return true;
  try { return new URL(u).origin === ORIGIN; } catch { return false; }
};

// A fresh context and page that blocks other origins and records CSP
// console messages, page errors, dialogs and requests.
async function openPage(label) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  const rec = { label, cspConsole: [], errors: [], dialogs: [], requests: [], thirdParty: [] };
  await context.route((u) => !isLocal(u.href), (route) => {
    rec.thirdParty.push(route.request().url());
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (/content security policy/i.test(m.text())) rec.cspConsole.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (err) => rec.errors.push(oneLine(err)));
  page.on('dialog', (d) => { rec.dialogs.push(`${d.type()} ${JSON.stringify(d.message())}`); d.dismiss().catch(() => {}); });
  page.on('request', (r) => rec.requests.push({ method: r.method(), path: pathOf(r.url()) }));
  await page.addInitScript(initScript);
  return { context, page, rec };
}

async function load(s, page, p, status = 200, who = '') {
  const desc = `${who ? `${who}: ` : ''}GET ${p} returns ${status} with a Content-Security-Policy header`;
  try {
    const resp = await page.goto(url(p), { waitUntil: 'load', timeout: budget(15_000) });
    const csp = resp ? resp.headers()['content-security-policy'] || '' : '';
    s.check(desc,
      resp && resp.status() === status && csp !== '', `status ${resp && resp.status()}, CSP ${JSON.stringify(csp)}`);
    return resp && resp.status() === status;
  } catch (e) {
    return s.check(desc, false, oneLine(e));
  }
}

const waitFor = (page, fn, arg, ms) =>
  page.waitForFunction(fn, arg, { timeout: budget(ms), polling: 50 }).then(() => true, () => false);

// Checks what the page recorded: no CSP violation, no error, no dialog.
async function checkClean(s, page, rec) {
  const csp = await page.evaluate(() => window.__csp).catch((e) => [{ error: oneLine(e) }]);
  s.check('no securitypolicyviolation event', csp.length === 0,
    csp.slice(0, 3).map((v) => JSON.stringify(v)).join(' | '));
  s.check('no Content Security Policy message in the console', rec.cspConsole.length === 0,
    rec.cspConsole.slice(0, 3).join(' | '));
  s.check('no uncaught JavaScript error', rec.errors.length === 0, rec.errors.join(' | '));
  s.check('no dialog', rec.dialogs.length === 0, rec.dialogs.join(' | '));
  s.check('no request to another origin', rec.thirdParty.length === 0, rec.thirdParty.join(', '));
}

// ---- part 1: every page under its CSP, with its main interaction ----------

const PAGES = {
  '/': async (s, page) => {
    s.check('the stream swaps messages into #sse-content', await waitFor(page,
      () => /message number 1/.test(document.getElementById('sse-content')?.textContent || ''), null, 10_000),
    'no "message number 1" within 10 s');
  },
  '/example2': async (s, page) => {
    await page.click('#example2-start', { timeout: budget(5_000) }).catch(() => {});
    s.check('the button loads the fragment and the stream swaps messages', await waitFor(page,
      () => /message number 1/.test(document.getElementById('example2-content')?.textContent || ''), null, 10_000),
    'no "message number 1" in #example2-content within 10 s');
  },
  '/trigger': async (s, page) => {
    s.check('an SSE tick makes htmx fetch and swap the fragment', await waitFor(page,
      () => /Fetched from the page responder/.test(document.getElementById('tick-target')?.textContent || ''),
      null, 10_000), 'no fragment in #tick-target within 10 s');
  },
  '/close': async (s, page) => {
    s.check('the countdown runs to its "done" swap', await waitFor(page,
      () => /Liftoff/.test(document.getElementById('countdown-done')?.textContent || ''), null, 15_000),
    'no "Liftoff" within 15 s');
  },
  '/dashboard': async (s, page) => {
    s.check('the three widgets get events', await waitFor(page,
      () => document.querySelectorAll('#dash-log li').length >= 1 &&
        /^\d+$/.test(document.getElementById('dash-counter')?.textContent.trim() || '') &&
        /UTC/.test(document.getElementById('dash-clock')?.textContent || ''), null, 10_000),
    'widgets not filled within 10 s');
  },
  '/room': async (s, page) => {
    const text = `csp check ${Date.now()}`;
    await page.fill('#room-text', text, { timeout: budget(5_000) }).catch(() => {});
    await page.click('#room-form button[type="submit"]', { timeout: budget(5_000) }).catch(() => {});
    s.check('a form post comes back over the stream', await waitFor(page,
      (t) => Array.from(document.querySelectorAll('#room-log .room-msg span')).some((x) => x.textContent === t),
      text, 10_000), `"${text}" not in #room-log within 10 s`);
    // The 422 path: htmx swaps the form with its error.
    await page.evaluate(() => document.getElementById('room-text')?.removeAttribute('maxlength'));
    await page.fill('#room-text', 'x'.repeat(501), { timeout: budget(5_000) }).catch(() => {});
    await page.click('#room-form button[type="submit"]', { timeout: budget(5_000) }).catch(() => {});
    s.check('a refused post swaps in the form with its error', await waitFor(page,
      () => !!document.querySelector('#room-form .form-error'), null, 10_000), 'no .form-error within 10 s');
  },
  '/no-such-page': null, // the 404 page loads the same scripts
};

async function testPage(p) {
  const s = section(`csp ${p}`);
  const { context, page, rec } = await openPage(p);
  try {
    const is404 = PAGES[p] === null;
    if (!await load(s, page, p, is404 ? 404 : 200)) return;
    const htmxOk = await waitFor(page, () => !!(window.htmx && window.htmx.version), null, 5_000);
    s.check('htmx runs under the policy', htmxOk, 'window.htmx missing');
    if (PAGES[p]) await PAGES[p](s, page);
    await sleep(300);
    await checkClean(s, page, rec);
  } finally {
    await context.close().catch(() => {});
  }
}

// ---- part 2: XSS attempts in the live room ---------------------------------

// Through the real form (the brief's four), and the same kinds published
// straight to the channel.
const FORM_TEXTS = [
  '<script>window.__pwned=1</script>',
  '"><img src=x onerror="window.__pwned=2">',
  '<a href="javascript:window.__pwned=3">x</a>',
  '<svg onload="window.__pwned=4">',
  '<div hx-get="/pwned-by-htmx-form" hx-trigger="load">htmx attributes</div>',
];
const RAW_TEXTS = [
  '<script>window.__pwned=11</script>',
  '<img src=x onerror="window.__pwned=12">',
  '<a href="javascript:window.__pwned=13">x</a>',
  '<svg onload="window.__pwned=14"></svg>',
  '<div hx-get="/pwned-by-htmx-raw" hx-trigger="load">htmx attributes</div>',
  '<iframe srcdoc="<script>parent.__pwned=15</script>"></iframe>',
];
const PWN_PATHS = ['/pwned-by-htmx-form', '/pwned-by-htmx-raw', '/x'];

// What a message must never bring into #room-log: these elements, event
// handler or htmx attributes, or javascript: URLs. __added also counts
// elements that were made and then removed (htmx replaces <script>).
const DANGEROUS_TAGS = ['script', 'img', 'svg', 'iframe', 'object', 'embed', 'a', 'form', 'input', 'style', 'link', 'meta', 'base'];
function roomState(dangerousTags) {
  const log = document.getElementById('room-log');
  const all = log ? Array.from(log.querySelectorAll('*')) : [];
  const bad = all.filter((e) => dangerousTags.includes(e.tagName.toLowerCase()) ||
    Array.from(e.attributes).some((at) => /^(on|hx-|data-hx-|sse-|data-sse-)/i.test(at.name) ||
      /^\s*javascript:/i.test(at.value)));
  return {
    pwned: typeof window.__pwned === 'undefined' ? null : String(window.__pwned),
    bad: bad.map((e) => e.outerHTML.slice(0, 80)),
    added: window.__added.filter((a) => a.host === 'room-log' && dangerousTags.includes(a.tag)).map((a) => a.tag),
    text: log ? log.textContent : '',
    spans: Array.from(document.querySelectorAll('#room-log .room-msg span')).map((x) => x.textContent),
    csp: window.__csp,
  };
}

// The checks after one phase (form posts, then raw publishes) on one page.
async function checkRoom(s, phase, who, p, texts) {
  const st = await p.page.evaluate(roomState, DANGEROUS_TAGS);
  s.check(`${phase}, ${who}: window.__pwned stays undefined`, st.pwned === null, `window.__pwned = ${st.pwned}`);
  s.check(`${phase}, ${who}: no script/img/svg/a/iframe element, event handler or hx- attribute in #room-log`,
    st.bad.length === 0 && st.added.length === 0,
    `present ${JSON.stringify(st.bad.slice(0, 5))}, created ${JSON.stringify(st.added.slice(0, 10))}`);
  s.check(`${phase}, ${who}: #room-log shows "<script>" as text`, st.text.includes('<script>'),
    'no literal "<script>" in #room-log');
  if (texts) {
    const missing = texts.filter((t) => !st.spans.includes(t));
    s.check(`${phase}, ${who}: each text is a message whose text is exactly what was sent`, missing.length === 0,
      `missing ${JSON.stringify(missing)}`);
  }
  s.check(`${phase}, ${who}: no CSP violation (nothing tried to run)`, st.csp.length === 0,
    st.csp.slice(0, 3).map((v) => JSON.stringify(v)).join(' | '));
  s.check(`${phase}, ${who}: no dialog opened`, p.rec.dialogs.length === 0, p.rec.dialogs.join(' | '));
  s.check(`${phase}, ${who}: no uncaught JavaScript error`, p.rec.errors.length === 0, p.rec.errors.join(' | '));
  const pwnReq = p.rec.requests.filter((r) => PWN_PATHS.includes(r.path));
  s.check(`${phase}, ${who}: no request made by injected markup (hx-get, img src)`, pwnReq.length === 0,
    pwnReq.map((r) => `${r.method} ${r.path}`).join(', '));
  return st;
}

async function testRoomXss() {
  const s = section('room xss');
  const a = await openPage('room-a');
  const b = await openPage('room-b');
  if (!await load(s, a.page, '/room', 200, 'posting page') || !await load(s, b.page, '/room', 200, 'other page')) return;
  await sleep(1_000); // both EventSources open (history=20 arrives first)

  // Through the form.
  for (const text of FORM_TEXTS) {
    let status = null;
    try {
      await a.page.fill('#room-text', text, { timeout: budget(5_000) });
      const [resp] = await Promise.all([
        a.page.waitForResponse((r) => pathOf(r.url()) === '/room/messages' && r.request().method() === 'POST',
          { timeout: budget(10_000) }),
        a.page.click('#room-form button[type="submit"]', { timeout: budget(5_000) }),
      ]);
      status = resp.status();
    } catch (e) {
      status = oneLine(e);
    }
    const shown = await waitFor(b.page, (t) => Array.from(document.querySelectorAll('#room-log .room-msg span'))
      .some((x) => x.textContent === t), text, 10_000);
    s.check(`form post ${JSON.stringify(text)}: 200 and shown as literal text to another page`,
      status === 200 && shown, `POST ${status}, shown ${shown}`);
  }
  await sleep(500);
  await checkRoom(s, 'form', 'posting page', a, FORM_TEXTS);
  await checkRoom(s, 'form', 'other page', b, FORM_TEXTS);

  // Published straight to the channel, as any loopback script (or token
  // holder) may. README: the body is the event's data; the room page swaps
  // the data in as HTML. Safe: refused, or shown as text.
  const rawStatus = [];
  for (const text of RAW_TEXTS) {
    let st = null;
    try {
      const r = await fetch(url('/events/room'), { method: 'POST', body: text, signal: AbortSignal.timeout(10_000) });
      st = r.status;
      await r.text();
    } catch (e) {
      st = oneLine(e);
    }
    rawStatus.push(st);
    s.note(`POST /events/room ${JSON.stringify(text)} -> ${st}`);
  }
  await sleep(1_500); // time for the events to arrive and anything injected to run
  for (const [who, p] of [['posting page', a], ['other page', b]]) {
    const st = await checkRoom(s, 'raw publish', who, p, null);
    const rawBad = RAW_TEXTS.filter((t, i) => !(typeof rawStatus[i] === 'number' &&
      (rawStatus[i] >= 400 || st.spans.includes(t))));
    s.check(`raw publish, ${who}: each raw publish to "room" is refused or shown as literal text`,
      rawBad.length === 0,
      `neither refused nor shown as text: ${JSON.stringify(rawBad)} (statuses ${JSON.stringify(rawStatus)})`);
  }
  try {
    await b.page.screenshot({ path: path.join(OUT, 'hostile-room.png'), fullPage: true, timeout: budget(5_000) });
  } catch (e) {
    s.note(`screenshot: ${oneLine(e)}`);
  }

  // A page opened now gets all of these from the history: same rules.
  const c = await openPage('room-c');
  if (await load(s, c.page, '/room', 200, 'late page')) {
    await waitFor(c.page, (t) => Array.from(document.querySelectorAll('#room-log .room-msg span'))
      .some((x) => x.textContent === t), FORM_TEXTS[FORM_TEXTS.length - 1], 10_000);
    await sleep(1_000);
    await checkRoom(s, 'history', 'late page', c, FORM_TEXTS);
  }
}

// ---- main ------------------------------------------------------------------

async function main(slot) {
  browser = slot.browser = await launchChromium(budget(15_000));
  const run = async (name, fn) => {
    try {
      await fn();
    } catch (e) {
      section(name).check('section ran', false, oneLine(e));
    }
  };
  await Promise.all(Object.keys(PAGES).map((p) => run(`csp ${p}`, () => testPage(p))));
  await run('room xss', testRoomXss);
}

await runBounded('hostile', HARD_TIMEOUT_MS, { section, finish }, main);
