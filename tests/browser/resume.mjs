// Browser test: the room page resumes by event id after htmx's SSE
// extension reconnects by itself (www/assets/sse-resume.js).
//
// The page follows /events/room?history=20. Its stream is cut (the command
// in RESUME_DROP kills the stream process), and before the browser's own
// reconnect, RESUME_BLOCKERS streams of ours fill the server's stream cap,
// so that reconnect gets 503: the EventSource is closed for good, and the
// extension re-creates it after a back-off, without Last-Event-ID. Two
// messages are posted meanwhile; then our streams end, a retry gets in,
// and every message must be on the page exactly once, in order.
//
// The same runs a second time with sse-resume.js answered empty (as if it
// were missing): there the page must show the first messages twice, or
// the run did not test what it claims (the check can fail).
//
// Usage:  BASE_URL=... RESUME_DROP='shell command' RESUME_BLOCKERS=N node tests/browser/resume.mjs
//   BASE_URL         a running sselight whose stream cap is RESUME_BLOCKERS
//                    streams on the room channel (or in all)
//   RESUME_DROP      a shell command that cuts the page's open stream
//   RESUME_BLOCKERS  how many streams fill the cap (default 1)
//   TEST_OUT, CHROMIUM, TEST_TIMEOUT_MS as in the other browser tests

import { execSync } from 'node:child_process';
import http from 'node:http';
import { launchChromium, oneLine, testEnv, checkReport, runBounded, timeBudget, pathOf } from './lib.mjs';

const HARD_TIMEOUT_MS = Number(process.env.TEST_TIMEOUT_MS) || 100_000;
const BLOCKERS = Number(process.env.RESUME_BLOCKERS) || 1;
const DROP = process.env.RESUME_DROP || '';
const { remaining, budget, sleep } = timeBudget(HARD_TIMEOUT_MS, 2_000);
const { section, finish } = checkReport();
const { url } = testEnv();

// POST /room/messages as the form does; returns the status.
async function post(text) {
  const r = await fetch(url('room/messages'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ text }).toString(),
    signal: AbortSignal.timeout(5_000),
  });
  await r.text();
  return r.status;
}

// A stream of ours on the room channel, held open until closed. Resolves
// with its status once the head has come.
function blocker() {
  return new Promise((resolve) => {
    const req = http.get(url('events/room'), (res) => {
      res.on('data', () => {});
      res.on('error', () => {});
      resolve({ status: res.statusCode, close: () => req.destroy() });
    });
    req.on('error', (e) => resolve({ status: 0, close: () => {}, error: e }));
    req.setTimeout(5_000, () => req.destroy());
  });
}

// How often each of texts appears among the room's messages on the page.
async function counts(page, texts) {
  return page.evaluate((ts) => {
    const shown = [...document.querySelectorAll('#room-log .room-msg span')].map((e) => e.textContent);
    return { order: shown.filter((t) => ts.includes(t)), n: ts.map((t) => shown.filter((x) => x === t).length) };
  }, texts);
}

async function waitShown(page, text, ms) {
  try {
    await page.waitForFunction((t) => [...document.querySelectorAll('#room-log .room-msg span')]
      .some((e) => e.textContent === t), text, { timeout: budget(ms) });
    return true;
  } catch {
    return false;
  }
}

async function scenario(browser, name, withScript) {
  const s = section(name);
  const ctx = await browser.newContext();
  if (!withScript) {
    await ctx.route((u) => pathOf(u.href) .endsWith('/assets/sse-resume.js'),
      (route) => route.fulfill({ status: 200, contentType: 'text/javascript', body: '' }));
  }
  const page = await ctx.newPage();
  const statuses = [];
  page.on('response', (r) => { if (pathOf(r.url()).endsWith('/events/room')) statuses.push(r.status()); });
  const tag = `${name}-${process.pid}`;
  const texts = [1, 2, 3, 4].map((i) => `${tag} m${i}`);
  await page.goto(url('room'), { timeout: budget(10_000) });

  s.check('m1 and m2 posted', (await post(texts[0])) === 200 && (await post(texts[1])) === 200);
  s.check('the page shows m1 and m2', (await waitShown(page, texts[0], 5_000)) && (await waitShown(page, texts[1], 5_000)));

  // Cut the stream, and fill the cap before the browser's own reconnect
  // (retry: 3000 ms).
  execSync(DROP, { stdio: 'ignore', shell: '/bin/bash', timeout: 5_000 });
  await sleep(700);
  const held = [];
  for (let i = 0; i < BLOCKERS; i++) held.push(await blocker());
  s.check(`our ${BLOCKERS} stream(s) fill the cap`, held.every((h) => h.status === 200),
    held.map((h) => h.status).join(','));
  s.check('m3 and m4 posted while the page is refused',
    (await post(texts[2])) === 200 && (await post(texts[3])) === 200);
  // Let the page be refused a few times (503, then the extension's retries).
  const t0 = Date.now();
  while (!statuses.includes(503) && Date.now() - t0 < 8_000) await sleep(100);
  s.check('the page was refused with 503 (the extension then reconnects by itself)', statuses.includes(503),
    `statuses seen: ${statuses.join(',')}`);
  await sleep(1_500);
  for (const h of held) h.close();

  const got = await waitShown(page, texts[3], 20_000);
  s.check('after the cap frees up, the page gets m3 and m4', got);
  await sleep(500);
  const c = await counts(page, texts);
  s.note(`shown per message: ${c.n.join(' ')}; statuses: ${statuses.join(',')}`);
  if (withScript) {
    s.check('every message is shown exactly once', c.n.every((k) => k === 1), `counts ${c.n.join(' ')}`);
    s.check('in order', c.order.join('|') === texts.join('|'), c.order.join('|'));
  } else {
    s.check('without sse-resume.js the reconnect shows m1 and m2 again (what the script prevents)',
      c.n[0] >= 2 && c.n[1] >= 2, `counts ${c.n.join(' ')}`);
  }
  await ctx.close();
}

await runBounded('resume', HARD_TIMEOUT_MS, { section, finish }, async (slot) => {
  if (!DROP) {
    section('resume').check('RESUME_DROP is set', false, 'no command to cut the page\'s stream');
    return;
  }
  slot.browser = await launchChromium(budget(20_000));
  await scenario(slot.browser, 'resume with sse-resume.js', true);
  await scenario(slot.browser, 'the same without it', false);
});
