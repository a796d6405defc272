// A publisher that never gives up on a message and never creates a
// duplicate, for fault tests: it sends COUNT messages one after another,
// at most RATE per second, each with its own idempotency key, and retries a
// message with the same key after a 5xx, a connection error or no answer
// within 5 s, until it gets 200. Any other answer (4xx) is a failure.
//
//   BASE_URL=http://127.0.0.1:PORT node tests/lib/fault-publisher.mjs \
//     --mode events|room --channel ch --count 200 --rate 20 --prefix m \
//     [--expect FILE] [--progress FILE] [--timeout-ms 120000]
//
//   events: POST /events/<channel>, body = the message, header
//           Idempotency-Key; the answer is the id
//   room:   POST /room/messages, form fields text (the message) and key
//   --expect FILE   the messages, one per line, written before the first send
//   --progress FILE one line per attempt, appended as it happens:
//                   "ack I ID ATTEMPTS EPOCH_SECONDS SENT_EPOCH_SECONDS"
//                   or "retry I WHY EPOCH_SECONDS"
//   --kill-at I --kill-pids "P ..." [--kill-delay-ms D] [--marks FILE]
//                   SIGKILL to those pids D ms (default 1) after the first
//                   request of message I is sent, so the crash lands on a
//                   publish in flight (0: at once, so the request meets a
//                   dead or restarting responder); appends "kill EPOCH_SECONDS"
//                   to FILE
//   --keys per-message (default) | per-attempt | none
//                   per-attempt and none break the retry's idempotency: they
//                   show that a test catches the duplicates this makes
// The messages are PREFIX + the number on 4 digits (m0001 ...).
// stdout: "# ..." summary lines; exit 0 only when every message got 200.
import http from 'node:http';
import fs from 'node:fs';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].slice(2)] = process.argv[i + 1];
const base = new URL(process.env.BASE_URL || 'http://127.0.0.1:5010');
const mode = args.mode || 'events';
const channel = args.channel || 'faults';
const count = Number(args.count || 200);
const rate = Number(args.rate || 20);
const prefix = args.prefix || 'm';
const timeoutMs = Number(args['timeout-ms'] || 120000);
const run = `${prefix}${process.pid}`;
const agent = new http.Agent({ keepAlive: false });
const t0 = Date.now();
const messages = Array.from({ length: count }, (_, i) => `${prefix}${String(i + 1).padStart(4, '0')}`);
if (args.expect) fs.writeFileSync(args.expect, messages.join('\n') + '\n');
const progress = args.progress ? fs.openSync(args.progress, 'a') : null;
const note = (line) => { if (progress !== null) fs.writeSync(progress, `${line}\n`); };
const epoch = () => (Date.now() / 1000).toFixed(3);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const killAt = Number(args['kill-at'] || 0);
const killPids = (args['kill-pids'] || '').split(/\s+/).filter(Boolean).map(Number);
const killDelay = Number(args['kill-delay-ms'] ?? 1);
let killed = false;
function killNow() {
  killed = true;
  if (args.marks) fs.appendFileSync(args.marks, `kill ${epoch()}\n`);
  for (const p of killPids) {
    try { process.kill(p, 'SIGKILL'); } catch (e) { console.log(`# publisher: kill ${p}: ${e.code}`); }
  }
  note(`killed ${killPids.join(' ')}`);
}

const keys = args.keys || 'per-message';
let attemptNo = 0;
function post(i) {
  attemptNo++;
  const key = keys === 'per-attempt' ? `${run}-${i + 1}-${attemptNo}` : `${run}-${i + 1}`;
  let path;
  let body;
  const headers = {};
  if (mode === 'room') {
    path = '/room/messages';
    body = `text=${encodeURIComponent(messages[i])}`;
    if (keys !== 'none') body += `&key=${encodeURIComponent(key)}`;
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
  } else {
    path = `/events/${encodeURIComponent(channel)}`;
    body = messages[i];
    if (keys !== 'none') headers['Idempotency-Key'] = key;
  }
  headers['Content-Length'] = Buffer.byteLength(body);
  return new Promise((resolve) => {
    const req = http.request({ host: base.hostname, port: base.port, agent, method: 'POST', path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, body: text }));
      res.on('error', (e) => resolve({ status: 0, why: e.code || 'error' }));
    });
    req.setTimeout(5000, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (e) => resolve({ status: 0, why: e.code || 'error' }));
    req.end(body);
    if (i + 1 === killAt && !killed) {
      if (killDelay > 0) setTimeout(killNow, killDelay);
      else killNow(); // before the request can reach the responder
    }
  });
}

const ids = [];
const outcomes = {};
let attempts = 0;
let retried = 0;
let failed = null;
// Paced from the previous message, not from the start: after an outage the
// publisher goes on at RATE rather than sending its backlog at once (so the
// messages after a fault still span the time a test needs to set the next).
let due = t0;
for (let i = 0; i < count && failed === null; i++) {
  if (Date.now() < due) await sleep(due - Date.now());
  due = Math.max(due, Date.now()) + 1000 / rate;
  for (let a = 1; ; a++) {
    if (Date.now() - t0 > timeoutMs) { failed = `message ${i + 1}: gave up after ${timeoutMs} ms`; break; }
    attempts++;
    const sent = epoch();
    const r = await post(i);
    const what = r.status === 0 ? r.why : String(r.status);
    outcomes[what] = (outcomes[what] || 0) + 1;
    if (r.status === 200) {
      const id = mode === 'room' ? '-' : r.body.trim();
      ids.push(id);
      note(`ack ${i + 1} ${id} ${a} ${epoch()} ${sent}`);
      break;
    }
    if (r.status >= 400 && r.status < 500) {
      failed = `message ${i + 1}: ${r.status} ${(r.body || '').trim().slice(0, 200)}`;
      note(`fail ${i + 1} ${r.status}`);
      break;
    }
    retried++;
    note(`retry ${i + 1} ${what} ${epoch()}`);
    await sleep(100 + Math.random() * 100);
  }
}

const acked = ids.length;
let idsOk = 'n/a';
if (mode !== 'room') {
  const nums = ids.map(Number);
  const increasing = nums.every((n, k) => Number.isInteger(n) && n > 0 && (k === 0 || n > nums[k - 1]));
  idsOk = increasing ? 'strictly increasing' : 'NOT strictly increasing';
}
console.log(`# publisher (${mode}): acknowledged ${acked}/${count} in ${((Date.now() - t0) / 1000).toFixed(2)} s; attempts ${attempts}, retries ${retried}; answers ${JSON.stringify(outcomes)}; ids ${idsOk}`);
if (failed) console.log(`# publisher failed: ${failed}`);
if (args.ids) fs.writeFileSync(args.ids, ids.join('\n') + '\n');
process.exit(acked === count && idsOk !== 'NOT strictly increasing' ? 0 : 1);
