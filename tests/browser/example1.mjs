// Browser test for the "Intro SSE Example" page (example 1) of sselight.
//
// Usage:  BASE_URL=http://127.0.0.1:5123 TEST_OUT=/tmp/out node tests/browser/example1.mjs
//   BASE_URL  origin of a running sselight server (required)
//   TEST_OUT  directory for artifacts (example1.png); default: $TMPDIR/sselight-test-out
//   CHROMIUM  chromium binary; default: /usr/bin/chromium (Debian package)
//   TEST_TIMEOUT_MS  hard overall timeout (default 30000)
//
// Prints one line per check ("ok - ..." / "not ok - ...: why"), then a summary
// line "N passed, N failed"; exits 1 if any check failed. Hard timeout ~30 s.

import { launchChromium, oneLine, testEnv, timeBudget } from './lib.mjs';
import fs from 'node:fs';
import path from 'node:path';

const HARD_TIMEOUT_MS = Number(process.env.TEST_TIMEOUT_MS) || 30_000;
const DONE_TIMEOUT_MS = 12_000; // 11 events 0.5 s apart => ~5.5 s expected
const RESTART_TIMEOUT_MS = 8_000; // browser reconnects ~3 s after the stream ends
const MIN_SPREAD_MS = 3_000; // first..DONE spread; a buffered stream gives ~0
const SEED_PREFIX = 'The contents of this';
const EXPECTED = [...Array(10).keys()].map((i) => `message number ${i}`).concat(['DONE']);

const { remaining, budget } = timeBudget(HARD_TIMEOUT_MS, 1_500);

let passed = 0;
let failed = 0;
let finished = false;
function check(desc, cond, why = '') {
  if (finished) return !!cond; // hard timeout already reported
  if (cond) {
    passed++;
    console.log(`ok - ${desc}`);
  } else {
    failed++;
    console.log(`not ok - ${desc}: ${why || 'assertion failed'}`);
  }
  return !!cond;
}

const { ORIGIN, OUT, url } = testEnv();
const SHOT = path.join(OUT, 'example1.png');

let browser = null;

function finish() {
  if (finished) return;
  finished = true;
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
}

// Hard stop: never hang, whatever the browser or server does.
const hardTimer = setTimeout(() => {
  check('test finished within time limit', false, `still running after ${HARD_TIMEOUT_MS / 1000} s`);
  finish();
  const b = browser;
  browser = null;
  Promise.race([b ? b.close().catch(() => {}) : null, new Promise((r) => setTimeout(r, 2_000))])
    .finally(() => process.exit(1));
}, HARD_TIMEOUT_MS);

// Runs in the page before any of its scripts: records htmx SSE events and the
// time each <p> is appended inside #sse-content.
function initScript(seedPrefix) {
  window.__sseEvents = [];
  window.__appended = [];
  for (const type of ['htmx:sseOpen', 'htmx:sseMessage', 'htmx:sseError']) {
    document.addEventListener(type, (e) => {
      window.__sseEvents.push({ type, target: (e.target && e.target.id) || '', t: performance.now() });
    }, true);
  }
  const record = (node) => {
    if (node.nodeType !== 1) return;
    const ps = node.matches('p') ? [node] : Array.from(node.querySelectorAll('p'));
    for (const p of ps) {
      const text = p.textContent.trim();
      if (text.startsWith(seedPrefix)) continue;
      window.__appended.push({ text, t: performance.now() });
    }
  };
  new MutationObserver((muts) => {
    for (const m of muts) {
      for (const n of m.addedNodes) {
        if (n.nodeType !== 1) continue;
        const host = n.closest ? n.closest('#sse-content') : null;
        if (host && n !== host) record(n);
      }
    }
  }).observe(document, { childList: true, subtree: true });
}

async function main() {
  browser = await launchChromium(budget(15_000));
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  const page = await context.newPage();

  // (b) offline: abort and record every request that leaves BASE_URL's origin.
  const thirdParty = new Set();
  const isLocal = (url) => {
    if (/^(data|blob|about):/.test(url)) return true;
    try { return new URL(url).origin === ORIGIN; } catch { return false; }
  };
  await context.route((url) => !isLocal(url.href), (route) => {
    thirdParty.add(route.request().url());
    return route.abort('blockedbyclient');
  });
  page.on('request', (req) => {
    if (!isLocal(req.url())) thirdParty.add(req.url());
  });
  const badSubresources = new Map(); // url -> reason
  page.on('response', (res) => {
    const type = res.request().resourceType();
    if (['script', 'stylesheet'].includes(type) && res.status() >= 400) {
      badSubresources.set(res.url(), `HTTP ${res.status()}`);
    }
  });
  page.on('requestfailed', (req) => {
    const type = req.resourceType();
    if (isLocal(req.url()) && ['script', 'stylesheet'].includes(type)) {
      if (!badSubresources.has(req.url())) badSubresources.set(req.url(), req.failure()?.errorText || 'failed');
    }
  });
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(oneLine(err)));

  await page.addInitScript(initScript, SEED_PREFIX);

  try {
    // (a) page loads
    let resp = null;
    try {
      resp = await page.goto(url('./'), { waitUntil: 'load', timeout: budget(10_000) });
    } catch (e) {
      check('GET / returns 200', false, oneLine(e));
      return;
    }
    check('GET / returns 200', resp && resp.status() === 200, `status ${resp && resp.status()}`);
    const title = await page.title();
    const h1 = (await page.locator('h1').first().textContent({ timeout: 2_000 }).catch(() => '')) || '';
    check('page title and heading contain "Intro SSE Example"',
      title.includes('Intro SSE Example') && h1.includes('Intro SSE Example'),
      `title=${JSON.stringify(title)} h1=${JSON.stringify(h1)}`);
    check('scripts and stylesheets load without error', badSubresources.size === 0,
      [...badSubresources].map(([u, r]) => `${r} ${u}`).join(', '));
    check('seed paragraph present in #sse-content',
      await page.evaluate((pfx) => {
        const p = document.querySelector('#sse-content p');
        return !!p && p.textContent.trim().startsWith(pfx);
      }, SEED_PREFIX),
      '#sse-content or its introductory <p> missing');

    // (c) htmx 2.0.x and the sse extension
    const info = await page.evaluate(() => ({
      htmx: typeof window.htmx !== 'undefined',
      version: window.htmx ? String(window.htmx.version) : null,
      // htmx.createEventSource comes from sse-resume.js (or, without it,
      // the extension's init()), so also ask whether sse.min.js was
      // fetched; htmx:sseOpen below shows the extension really runs.
      sseExt: !!(window.htmx && typeof window.htmx.createEventSource === 'function') &&
        performance.getEntriesByType('resource').some((e) => e.name.endsWith('/vendor/sse.min.js')),
    }));
    check('htmx loaded', info.htmx, 'window.htmx is undefined (is /vendor/htmx.min.js served?)');
    check('htmx version is 2.0.x', !!info.version && info.version.startsWith('2.0.'), `htmx.version=${info.version}`);
    check('htmx sse extension loaded', info.sseExt,
      'htmx.createEventSource missing or /vendor/sse.min.js not fetched');

    if (info.htmx && info.sseExt) {
      const opened = await page.waitForFunction(
        () => window.__sseEvents.some((e) => e.type === 'htmx:sseOpen' && e.target === 'sse-content'),
        null, { timeout: budget(5_000) }).then(() => true, () => false);
      check('htmx:sseOpen fired on #sse-content', opened, 'no htmx:sseOpen event within 5 s');
    } else {
      check('htmx:sseOpen fired on #sse-content', false, 'skipped: htmx or sse extension not loaded');
    }

    // (d) the 11 messages arrive, in order
    let gotDone = false;
    if (info.htmx && info.sseExt) {
      gotDone = await page.waitForFunction(
        () => Array.from(document.querySelectorAll('#sse-content p')).some((p) => p.textContent.trim() === 'DONE'),
        null, { timeout: budget(DONE_TIMEOUT_MS), polling: 50 }).then(() => true, () => false);
    }
    const domTexts = await page.evaluate((pfx) =>
      Array.from(document.querySelectorAll('#sse-content p'))
        .map((p) => p.textContent.trim())
        .filter((t) => !t.startsWith(pfx)), SEED_PREFIX);
    const appended = await page.evaluate(() => window.__appended.slice());
    const first11 = domTexts.slice(0, EXPECTED.length);
    check('DONE message received', gotDone, info.htmx && info.sseExt
      ? `no "DONE" in #sse-content within ${DONE_TIMEOUT_MS / 1000} s; got ${JSON.stringify(domTexts)}`
      : 'skipped: htmx or sse extension not loaded');
    check('messages 0..9 then DONE appended in order',
      gotDone && JSON.stringify(first11) === JSON.stringify(EXPECTED),
      `got ${JSON.stringify(first11)}`);
    const sseMsgs = await page.evaluate(() => window.__sseEvents.filter((e) => e.type === 'htmx:sseMessage').length);
    check('htmx:sseMessage fired for each message', sseMsgs >= EXPECTED.length,
      `${sseMsgs} htmx:sseMessage events`);

    // (e) streamed, not buffered: messages arrive one by one over >= 3 s
    const obs11 = appended.slice(0, EXPECTED.length);
    const obsOk = JSON.stringify(obs11.map((a) => a.text)) === JSON.stringify(EXPECTED);
    if (obsOk) {
      const spread = obs11[EXPECTED.length - 1].t - obs11[0].t;
      const gaps = obs11.slice(1).map((a, i) => a.t - obs11[i].t);
      const distinct = new Set(obs11.map((a) => Math.round(a.t / 100))).size;
      check(`messages streamed one by one (first..DONE spread >= ${MIN_SPREAD_MS / 1000} s)`,
        spread >= MIN_SPREAD_MS && distinct >= 6,
        `spread ${Math.round(spread)} ms, gaps ${gaps.map(Math.round).join(',')} ms (buffered stream?)`);
      console.log(`# first..DONE spread ${Math.round(spread)} ms; gaps ${gaps.map(Math.round).join(',')} ms`);
    } else {
      check(`messages streamed one by one (first..DONE spread >= ${MIN_SPREAD_MS / 1000} s)`, false,
        `appended sequence not as expected: ${JSON.stringify(obs11.map((a) => a.text))}`);
    }

    // (f) screenshot
    try {
      await page.screenshot({ path: SHOT, fullPage: true, timeout: budget(5_000) });
      check(`screenshot saved to ${SHOT}`, fs.statSync(SHOT).size > 0, 'empty file');
    } catch (e) {
      check(`screenshot saved to ${SHOT}`, false, oneLine(e));
    }

    // (g) reconnect: the stream starts over after DONE
    if (gotDone) {
      const restarted = await page.waitForFunction(
        () => Array.from(document.querySelectorAll('#sse-content p'))
          .filter((p) => p.textContent.trim() === 'message number 0').length >= 2,
        null, { timeout: budget(RESTART_TIMEOUT_MS), polling: 100 }).then(() => true, () => false);
      check('stream starts over after reconnect ("message number 0" appears again)', restarted,
        `not seen within ${RESTART_TIMEOUT_MS / 1000} s after DONE`);
    } else {
      check('stream starts over after reconnect ("message number 0" appears again)', false,
        'skipped: DONE never arrived');
    }

    // (b) verdict
    check('no third-party requests (page works offline)', thirdParty.size === 0,
      `attempted: ${[...thirdParty].join(', ')}`);
    check('no uncaught JavaScript errors', pageErrors.length === 0, pageErrors.join(' | '));
  } finally {
    if (!fs.existsSync(SHOT)) {
      await page.screenshot({ path: SHOT, fullPage: true, timeout: 3_000 }).catch(() => {});
    }
  }
}

try {
  await main();
} catch (e) {
  check('browser test ran', false, oneLine(e));
} finally {
  const b = browser;
  browser = null;
  if (b) await Promise.race([b.close().catch(() => {}), new Promise((r) => setTimeout(r, 3_000))]);
  clearTimeout(hardTimer);
  finish();
}
