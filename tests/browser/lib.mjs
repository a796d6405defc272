// Shared by the browser tests: the environment they run in and how they
// start Debian's chromium.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Flags for a root, offline, headless run: no sandbox (root), and no
// background traffic to hosts this machine cannot reach.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

// BASE_URL (required) and TEST_OUT (created), and url(p): the absolute URL
// of page p below BASE. Without BASE_URL, prints a failing check and a
// summary line and exits 1.
export function testEnv() {
  const raw = process.env.BASE_URL;
  if (!raw) {
    console.log('not ok - BASE_URL is set: environment variable BASE_URL is missing');
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  // A prefix mount (http://host:port/apps/sse) is a directory: pages are
  // found relative to it.
  const base = new URL(raw);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const out = process.env.TEST_OUT || path.join(os.tmpdir(), 'sselight-test-out');
  fs.mkdirSync(out, { recursive: true });
  return { BASE: base, ORIGIN: base.origin, OUT: out, url: (p) => new URL(p, base).href };
}

// Debian's chromium (CHROMIUM overrides the path), headless.
export function launchChromium(timeoutMs) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    timeout: timeoutMs,
    args: CHROMIUM_ARGS,
  });
}

// The first line of an error's message, for one-line failure reasons.
export const oneLine = (e) => String((e && e.message) || e).split('\n')[0];

// Checks collected in named sections and printed in the order the sections
// were made ("ok - SECTION: what" / "not ok - SECTION: what: why"), then
// "N passed, N failed"; finish() sets the exit code. Checks made after
// finish() count for nothing (a late callback after the hard stop).
export function checkReport() {
  let passed = 0;
  let failed = 0;
  let finished = false;
  const sections = [];
  function section(name) {
    const s = {
      name,
      lines: [],
      check(desc, cond, why = '') {
        if (finished) return !!cond;
        if (cond) {
          passed++;
          s.lines.push(`ok - ${name}: ${desc}`);
        } else {
          failed++;
          s.lines.push(`not ok - ${name}: ${desc}: ${why || 'assertion failed'}`);
        }
        return !!cond;
      },
      note(text) { s.lines.push(`# ${name}: ${text}`); },
    };
    sections.push(s);
    return s;
  }
  function finish() {
    if (finished) return;
    for (const s of sections) for (const l of s.lines) console.log(l);
    finished = true;
    console.log(`${passed} passed, ${failed} failed`);
    process.exitCode = failed > 0 ? 1 : 0;
  }
  return { section, finish };
}

// Runs main() with a browser slot, never longer than ms: at the limit one
// failing check in section name, the report, and exit 1. The browser that
// main stores in slot.browser is closed either way.
export async function runBounded(name, ms, report, main) {
  const slot = { browser: null };
  const close = (b) => Promise.race([b ? b.close().catch(() => {}) : null,
    new Promise((r) => setTimeout(r, 3_000))]);
  const hardTimer = setTimeout(() => {
    report.section(name).check('test finished within time limit', false, `still running after ${ms / 1000} s`);
    report.finish();
    const b = slot.browser;
    slot.browser = null;
    close(b).finally(() => process.exit(1));
  }, ms);
  try {
    await main(slot);
  } catch (e) {
    report.section(name).check('browser test ran', false, oneLine(e));
  } finally {
    const b = slot.browser;
    slot.browser = null;
    if (b) await close(b);
    clearTimeout(hardTimer);
    report.finish();
  }
}

// The time left of a test bounded by totalMs, keeping reserveMs for the
// report: remaining() in ms, budget(ms) caps a timeout to what is left, and
// sleep(ms) never sleeps past it.
export function timeBudget(totalMs, reserveMs = 2_000) {
  const t0 = Date.now();
  const remaining = () => totalMs - reserveMs - (Date.now() - t0);
  const budget = (ms) => Math.max(1, Math.min(ms, remaining()));
  const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, Math.min(ms, remaining()))));
  return { remaining, budget, sleep };
}

// The path of a URL string ('' when it does not parse).
export const pathOf = (u) => { try { return new URL(u).pathname; } catch { return ''; } };
