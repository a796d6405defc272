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

// BASE_URL (required) and TEST_OUT (created). Without BASE_URL, prints a
// failing check and a summary line and exits 1.
export function testEnv() {
  const raw = process.env.BASE_URL;
  if (!raw) {
    console.log('not ok - BASE_URL is set: environment variable BASE_URL is missing');
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  const base = new URL(raw);
  const out = process.env.TEST_OUT || path.join(os.tmpdir(), 'sselight-test-out');
  fs.mkdirSync(out, { recursive: true });
  return { BASE: base, ORIGIN: base.origin, OUT: out };
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
