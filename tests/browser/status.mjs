// Browser test for the live status page, /status: it loads under its
// Content-Security-Policy with no violation and no console error, its first
// event arrives, and its numbers, charts and process table follow what this
// test does to the server: K subscribers opened to a channel of its own,
// events published to it, the subscribers closed again.
//
// Usage:  BASE_URL=http://127.0.0.1:5123 TEST_OUT=/tmp/out node tests/browser/status.mjs
//   BASE_URL  origin of a running sselight server (required), reached from loopback
//   TEST_OUT  directory for artifacts (status.png); default: $TMPDIR/sselight-test-out
//   CHROMIUM  chromium binary; default: /usr/bin/chromium (Debian package)
//   TEST_TIMEOUT_MS  hard overall timeout (default 90000)
//   SSELIGHT_HEARTBEAT_MS  the server's heartbeat interval (default 15000)
//   STATUS_PROCS     when set, the number of stream processes the page must show
//   STATUS_DOCS_PNG  where the screenshot is copied for the README
//                    (default docs/status.png in this repository; empty: no copy)
//
// The subscribers are plain HTTP clients in this Node process (one
// connection each); the publishes are POSTs from here. Every wait polls the
// page and has a generous bound (BOUND_MS), since the numbers are refreshed
// once a second by each stream process; closed subscribers get one
// heartbeat interval more (CLOSE_BOUND_MS, see there). Prints one line per
// check ("ok - ..." / "not ok - ...: why"), then "N passed, N failed"; exits
// 1 if any check failed.

import { launchChromium, oneLine, testEnv, checkReport, runBounded, timeBudget, pathOf } from './lib.mjs';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HARD_TIMEOUT_MS = Number(process.env.TEST_TIMEOUT_MS) || 90_000;
const BOUND_MS = 10_000; // a change must show on the page within this
// lighttpd notices that a client closed its stream (a FIN, as a browser or
// curl sends) only when it next writes to it, which is the next heartbeat.
// So a closed subscriber leaves the count within one heartbeat interval.
const HEARTBEAT_MS = Number(process.env.SSELIGHT_HEARTBEAT_MS) || 15_000;
const CLOSE_BOUND_MS = HEARTBEAT_MS + BOUND_MS;
const K = 5; // subscribers
const N = 6; // events published
const EXPECT_PROCS = process.env.STATUS_PROCS ? Number(process.env.STATUS_PROCS) : null;
const HERE = path.dirname(fileURLToPath(import.meta.url));
// Off by default, so a test run leaves tracked files alone; refresh the
// README's picture with STATUS_DOCS_PNG=docs/status.png tests/browser/t_browser.sh
const DOCS_PNG = process.env.STATUS_DOCS_PNG
  ? path.resolve(process.env.STATUS_DOCS_PNG)
  : '';

const { remaining, budget, sleep } = timeBudget(HARD_TIMEOUT_MS, 2_000);
const { section, finish } = checkReport();
const { ORIGIN, OUT, url } = testEnv();

// ---- what the page records, installed before its own scripts ---------------

function initScript() {
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__csp.push({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample });
  }, true);
  window.__sse = { open: 0, message: 0, error: 0 };
  document.addEventListener('htmx:sseOpen', () => { window.__sse.open++; }, true);
  document.addEventListener('htmx:sseMessage', () => { window.__sse.message++; }, true);
  document.addEventListener('htmx:sseError', () => { window.__sse.error++; }, true);
}

// Everything the status fragment shows, read from the page (null when the
// element is missing; numbers are null when the text is not a number).
function readStatus() {
  const txt = (id) => { const e = document.getElementById(id); return e ? e.textContent.trim() : null; };
  const num = (id) => { const t = txt(id); return t !== null && /^\d+(\.\d+)?$/.test(t) ? Number(t) : null; };
  const chart = (id) => {
    const svg = document.getElementById(id);
    if (!svg) return null;
    const pl = svg.querySelector('polyline');
    const pts = ((pl && pl.getAttribute('points')) || '').trim().split(/\s+/).filter(Boolean)
      .map((p) => p.split(',').map(Number));
    const m = /^max\s+(\d+(?:\.\d+)?)$/.exec(((svg.querySelector('text') || {}).textContent || '').trim());
    const last = pts.length ? pts[pts.length - 1] : null;
    return {
      points: pts.length,
      valid: pts.length > 0 && pts.every((p) => p.length === 2 && p.every(Number.isFinite)),
      lastY: last ? last[1] : null,
      max: m ? Number(m[1]) : null,
    };
  };
  const totals = /^(\d+) \/ (\d+)$/.exec(txt('st-totals') || '');
  const rows = Array.from(document.querySelectorAll('#status table.status-procs tbody tr')).map((tr) => {
    const td = Array.from(tr.cells).map((c) => c.textContent.trim());
    return { pid: td[0], kind: td[1], connections: td[2], subscribers: td[3], rss: td[4], cells: td.length };
  });
  return {
    live: document.querySelectorAll('#status-live').length,
    processes: num('st-processes'),
    connections: num('st-connections'),
    subscribers: num('st-subscribers'),
    subscribersText: txt('st-subscribers'),
    demo: num('st-demo'),
    deliveries: num('st-deliveries'),
    publishes: num('st-publishes'),
    broker: txt('st-broker'),
    store: num('st-store'),
    totalsText: txt('st-totals'),
    delivered: totals ? Number(totals[1]) : null,
    published: totals ? Number(totals[2]) : null,
    subChart: chart('chart-subscribers'),
    delChart: chart('chart-deliveries'),
    rows,
  };
}

// ---- subscribers and publishes from this process ----------------------------

// A subscriber to /events/CHANNEL on a connection of its own; counts the
// events whose data starts with PREFIX.
function subscribe(channel, prefix) {
  const sub = { status: null, type: '', got: 0, error: null, req: null, ended: false };
  let buf = '';
  sub.ready = new Promise((resolve) => {
    sub.req = http.get(url(`/events/${channel}`), { agent: false, headers: { Accept: 'text/event-stream' } }, (res) => {
      sub.req.setTimeout(0); // the answer came: from here the stream may be quiet
      sub.status = res.statusCode;
      sub.type = res.headers['content-type'] || '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line.startsWith(`data: ${prefix}`)) sub.got++;
        }
      });
      res.on('end', () => { sub.ended = true; });
      res.on('error', () => {});
      resolve();
    });
    sub.req.on('error', (e) => { sub.error = oneLine(e); resolve(); });
    sub.req.setTimeout(budget(10_000), () => { sub.error = 'no answer'; sub.req.destroy(); });
  });
  sub.close = () => { if (sub.req) sub.req.destroy(); };
  return sub;
}

// POST body to /events/CHANNEL; resolves to the status (or an error text).
function publish(channel, body) {
  return new Promise((resolve) => {
    const req = http.request(url(`/events/${channel}`), {
      method: 'POST', agent: false,
      headers: { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) },
    }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    req.on('error', (e) => resolve(oneLine(e)));
    req.setTimeout(budget(5_000), () => { req.destroy(new Error('no answer')); });
    req.end(body);
  });
}

// ---- the test --------------------------------------------------------------

const isLocal = (u) => {
  if (/^(data|blob|about):/.test(u)) return true;
  try { return new URL(u).origin === ORIGIN; } catch { return false; }
};

async function testStatus(browser) {
  const s = section('status');
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  const thirdParty = [];
  await context.route((u) => !isLocal(u.href), (route) => {
    thirdParty.push(route.request().url());
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  const consoleBad = [];
  const errors = [];
  const requests = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || /content security policy/i.test(m.text())) consoleBad.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(oneLine(e)));
  page.on('request', (r) => requests.push({ method: r.method(), path: pathOf(r.url()) }));
  await page.addInitScript(initScript);

  const read = () => page.evaluate(readStatus).catch((e) => ({ error: oneLine(e) }));
  // until(cond, ms): reads the page every 200 ms until cond(state) holds;
  // returns { ok, st, ms } with the last state read (a state that cond
  // cannot read, e.g. { error }, counts as not holding).
  const until = async (cond, ms = BOUND_MS) => {
    const holds = (st) => { try { return !!cond(st); } catch { return false; } };
    const t0 = Date.now();
    let st = await read();
    while (!holds(st) && Date.now() - t0 < ms && remaining() > 0) {
      await sleep(200);
      st = await read();
    }
    return { ok: holds(st), st, ms: Date.now() - t0 };
  };
  const brief = (st) => JSON.stringify({
    subscribers: st.subscribersText, totals: st.totalsText, processes: st.processes,
    subChart: st.subChart, delChart: st.delChart, rows: st.rows,
  });

  // Load, first event.
  let resp = null;
  try {
    resp = await page.goto(url('/status'), { waitUntil: 'load', timeout: budget(15_000) });
  } catch (e) {
    s.check('GET /status returns 200 with a Content-Security-Policy header', false, oneLine(e));
    return;
  }
  const csp = resp ? resp.headers()['content-security-policy'] || '' : '';
  if (!s.check('GET /status returns 200 with a Content-Security-Policy header',
    resp && resp.status() === 200 && csp !== '', `status ${resp && resp.status()}, CSP ${JSON.stringify(csp)}`)) return;
  const title = await page.title();
  s.check('the page title is "Status"', /^Status\b/.test(title), `title ${JSON.stringify(title)}`);

  const first = await until((st) => st.subscribers !== null, BOUND_MS);
  if (!s.check('the first status event arrives and shows #st-subscribers as a number', first.ok,
    `after ${first.ms} ms: ${JSON.stringify(first.st)}`)) return;
  s.note(`first event shown ${first.ms} ms after load`);
  const st0 = first.st;
  s.check('one #status-live in #status (the fragment replaces, not nests)', st0.live === 1, `${st0.live}`);
  s.check('the broker shows as up', /, up$/.test(st0.broker || ''), `#st-broker ${JSON.stringify(st0.broker)}`);
  s.check('both charts have a polyline with numeric points and a "max N" label',
    st0.subChart && st0.subChart.valid && st0.subChart.max !== null &&
      st0.delChart && st0.delChart.valid && st0.delChart.max !== null,
    `subscribers ${JSON.stringify(st0.subChart)}, deliveries ${JSON.stringify(st0.delChart)}`);

  // The process table: one row per stream process, and it agrees with the
  // numbers above it.
  const procs = await until((st) => st.processes !== null && st.processes >= 1 && st.rows.length === st.processes);
  s.check('the process table lists one row per stream process (at least one)',
    procs.ok, `#st-processes ${procs.st.processes}, rows ${JSON.stringify(procs.st.rows)}`);
  if (EXPECT_PROCS !== null) {
    s.check(`the page counts ${EXPECT_PROCS} stream processes (STATUS_PROCS)`,
      procs.st.processes === EXPECT_PROCS && procs.st.rows.length === EXPECT_PROCS,
      `#st-processes ${procs.st.processes}, ${procs.st.rows.length} rows`);
  }
  const rowOk = (r) => r.cells === 5 && /^[1-9]\d*$/.test(r.pid) && r.kind !== '' &&
    /^\d+$/.test(r.connections) && /^\d+$/.test(r.subscribers) && /^\d+(\.\d+)? [KMG]iB$/.test(r.rss);
  s.check('each row has a pid, a kind, connection and subscriber counts and an RSS',
    procs.st.rows.length >= 1 && procs.st.rows.every(rowOk), JSON.stringify(procs.st.rows));
  const pids = new Set(procs.st.rows.map((r) => r.pid));
  s.check('the pids in the table are distinct', pids.size === procs.st.rows.length, JSON.stringify([...pids]));

  // K subscribers.
  const base = await read();
  const S0 = base.subscribers;
  const channel = `status-test-${process.pid}-${Date.now()}`;
  const prefix = `status test ${Date.now()}`;
  s.note(`before: ${brief(base)}`);
  const subs = [];
  try {
    for (let i = 0; i < K; i++) subs.push(subscribe(channel, prefix));
    await Promise.all(subs.map((x) => x.ready));
    s.check(`${K} subscribers to /events/${channel} get 200 text/event-stream`,
      subs.every((x) => x.status === 200 && x.type.startsWith('text/event-stream')),
      JSON.stringify(subs.map((x) => [x.status, x.type, x.error])));

    const up = await until((st) => st.subscribers === S0 + K);
    s.check(`#st-subscribers goes from ${S0} to ${S0 + K} within ${BOUND_MS / 1000} s`, up.ok,
      `after ${up.ms} ms it shows ${JSON.stringify(up.st.subscribersText)}`);
    s.note(`subscribers shown ${up.ms} ms after they connected`);
    const agree = await until((st) => st.rows.length >= 1 &&
      st.rows.reduce((a, r) => a + Number(r.subscribers), 0) === st.subscribers && st.subscribers === S0 + K);
    s.check('the table\'s subscriber column adds up to #st-subscribers', agree.ok,
      `#st-subscribers ${agree.st.subscribers}, rows ${JSON.stringify(agree.st.rows)}`);
    s.note(`subscribers per process: ${agree.st.rows.map((r) => `${r.pid}:${r.subscribers}`).join(' ')}`);
    const conns = agree.st.connections;
    // K subscribers and this page's own status stream
    s.check(`#st-connections counts the ${K} subscribers and the status stream`,
      conns !== null && conns >= K + 1, `#st-connections ${conns}`);

    const y0 = base.subChart ? base.subChart.lastY : null;
    const chartUp = await until((st) => st.subChart && st.subChart.max !== null && st.subChart.max >= S0 + K &&
      y0 !== null && st.subChart.lastY !== null && st.subChart.lastY < y0);
    s.check(`the subscribers chart rises: its last point moves up and "max" reaches ${S0 + K}`, chartUp.ok,
      `before ${JSON.stringify(base.subChart)}, now ${JSON.stringify(chartUp.st.subChart)}`);
    const yUp = chartUp.st.subChart ? chartUp.st.subChart.lastY : null;

    // N events, half a second apart, so the deliveries chart gets a shape.
    const before = await read();
    const statuses = [];
    for (let i = 0; i < N; i++) {
      statuses.push(await publish(channel, `${prefix} ${i}`));
      await sleep(500);
    }
    s.check(`${N} publishes to /events/${channel} get 200`, statuses.every((x) => x === 200), JSON.stringify(statuses));
    const t0 = Date.now();
    while (subs.some((x) => x.got < N) && Date.now() - t0 < BOUND_MS && remaining() > 0) await sleep(100);
    s.check(`each of the ${K} subscribers got the ${N} events`, subs.every((x) => x.got === N),
      JSON.stringify(subs.map((x) => x.got)));

    const D0 = before.delivered;
    const P0 = before.published;
    const grown = await until((st) => st.delivered !== null && st.delivered >= D0 + K * N &&
      st.published !== null && st.published >= P0 + N);
    s.check(`#st-totals: delivered grows by ${K} x ${N} = ${K * N} and published by ${N}`,
      grown.ok && grown.st.delivered - D0 === K * N && grown.st.published - P0 === N,
      `before ${JSON.stringify(before.totalsText)}, after ${grown.ms} ms ${JSON.stringify(grown.st.totalsText)}`);
    const delChart = await until((st) => st.delChart && st.delChart.max !== null && st.delChart.max > 0 &&
      st.delChart.lastY !== null);
    s.check('the deliveries chart shows the deliveries ("max" above 0)', delChart.ok,
      `before ${JSON.stringify(before.delChart)}, now ${JSON.stringify(delChart.st.delChart)}`);

    // The screenshot, with the subscribers connected for a few seconds.
    await until((st) => st.subscribers === S0 + K && st.subChart && st.subChart.lastY === yUp, 3_000);
    const shotState = await read();
    s.note(`at the screenshot: ${brief(shotState)}`);
    const file = path.join(OUT, 'status.png');
    try {
      await page.screenshot({ path: file, fullPage: false, timeout: budget(10_000) });
      s.check(`screenshot saved to ${file}`, fs.statSync(file).size > 0, 'empty file');
    } catch (e) {
      s.check(`screenshot saved to ${file}`, false, oneLine(e));
    }
    if (DOCS_PNG) {
      try {
        fs.mkdirSync(path.dirname(DOCS_PNG), { recursive: true });
        fs.copyFileSync(file, DOCS_PNG);
        s.check(`screenshot copied to ${DOCS_PNG}`, fs.statSync(DOCS_PNG).size === fs.statSync(file).size, 'size differs');
      } catch (e) {
        s.check(`screenshot copied to ${DOCS_PNG}`, false, oneLine(e));
      }
    }

    // Close them: the number goes back, the chart comes down, its max stays.
    for (const x of subs) x.close();
    const down = await until((st) => st.subscribers === S0, CLOSE_BOUND_MS);
    s.check(`#st-subscribers goes back to ${S0} within ${CLOSE_BOUND_MS / 1000} s of closing (one heartbeat + ${BOUND_MS / 1000} s)`, down.ok,
      `after ${down.ms} ms it shows ${JSON.stringify(down.st.subscribersText)}`);
    s.note(`subscribers gone from the page ${down.ms} ms after they closed`);
    const chartDown = await until((st) => st.subChart && st.subChart.lastY !== null && yUp !== null &&
      st.subChart.lastY > yUp && st.subChart.max >= S0 + K);
    s.check(`the subscribers chart comes down while its "max" stays at ${S0 + K} or more`, chartDown.ok,
      `while connected ${JSON.stringify(chartUp.st.subChart)}, now ${JSON.stringify(chartDown.st.subChart)}`);
  } finally {
    for (const x of subs) x.close();
  }

  // The page itself stayed clean and on one stream.
  const rec = await page.evaluate(() => ({ csp: window.__csp, sse: window.__sse })).catch((e) => ({ error: oneLine(e) }));
  const streams = requests.filter((r) => r.path === '/streams/status').length;
  s.check('one request to /streams/status, opened once, with no SSE error',
    streams === 1 && rec.sse && rec.sse.open === 1 && rec.sse.error === 0,
    `${streams} requests, ${JSON.stringify(rec.sse || rec)}`);
  s.check('the page received an event every second or so',
    rec.sse && rec.sse.message >= 5, JSON.stringify(rec.sse || rec));
  s.check('no securitypolicyviolation event', Array.isArray(rec.csp) && rec.csp.length === 0,
    JSON.stringify(Array.isArray(rec.csp) ? rec.csp.slice(0, 3) : rec));
  s.check('no console error and no Content Security Policy message', consoleBad.length === 0,
    consoleBad.slice(0, 3).join(' | '));
  s.check('no uncaught JavaScript error', errors.length === 0, errors.join(' | '));
  s.check('no request to another origin', thirdParty.length === 0, thirdParty.join(', '));
  await context.close().catch(() => {});
}

async function main(slot) {
  const browser = slot.browser = await launchChromium(budget(15_000));
  await testStatus(browser);
}

await runBounded('status', HARD_TIMEOUT_MS, { section, finish }, main);
