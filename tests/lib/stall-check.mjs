// The stream loop while the store stalls. Opens /streams/ticks and SUBS
// subscribers of one channel, runs a command that stalls the store (holds
// SQLite's write lock, pauses Redis) for about 3 s, publishes PUBS events
// from PUBLISHERS connections while it runs (each with its own
// Idempotency-Key), then checks, printing TAP lines:
//   - tick gaps stay within 1000 +- 150 ms through the stall;
//   - every channel subscriber gets heartbeats during it;
//   - (--start-during) a subscription made during the stall starts in 1 s;
//   - every publish is answered 200 after the stall ends (or, with
//     --allow-503, 503 with Retry-After), none before it with an error;
//   - each acknowledged event reaches every subscriber once, in order.
// Ends with "stall-check: N passed, N failed"; exit 0 only when none failed.
//   BASE_URL=... node stall-check.mjs --stall 'CMD' [--subs 50] [--pubs 20]
//     [--publishers 5] [--heartbeat-ms 500] [--allow-503] [--start-during]
//     [--name NAME]
import http from 'node:http';
import { spawn } from 'node:child_process';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? def : args[i + 1];
};
const flag = (name) => args.includes(`--${name}`);
const base = new URL(process.env.BASE_URL);
const SUBS = Number(opt('subs', 50));
const PUBS = Number(opt('pubs', 20));
const PUBLISHERS = Number(opt('publishers', 5));
const HB = Number(opt('heartbeat-ms', 500));
const STALL = opt('stall', '');
const NAME = opt('name', 'stall');
const ALLOW_503 = flag('allow-503');
const START_DURING = flag('start-during');
const channel = `${NAME.replace(/[^A-Za-z0-9]/g, '')}${process.pid}`;
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const pubAgent = new http.Agent({ keepAlive: true, maxSockets: PUBLISHERS });
let passed = 0;
let failed = 0;
const check = (what, ok, detail) => {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok' : 'not ok'} - ${NAME}: ${what}${!ok && detail ? `: ${detail}` : ''}`);
};
const reqs = [];
const finish = () => {
  reqs.forEach((r) => r.destroy());
  console.log(`stall-check: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
};
setTimeout(() => { check('finished within 60 s', false); finish(); }, 60_000).unref();
const now = () => performance.now();

// An SSE reader: calls onEvent({id, event, data, t}) and onComment(t).
function subscribe(path, onHead, onEvent, onComment) {
  const req = http.get({ host: base.hostname, port: base.port, agent, path }, (res) => {
    onHead(res.statusCode, now());
    res.setEncoding('utf8');
    let buf = '';
    res.on('data', (chunk) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const t = now();
        const ev = { id: null, event: 'message', data: [], t };
        let any = false;
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) { onComment(t); continue; }
          const c = line.indexOf(':');
          const k = c < 0 ? line : line.slice(0, c);
          const v = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
          if (k === 'id') { ev.id = Number(v); any = true; }
          else if (k === 'event') ev.event = v;
          else if (k === 'data') { ev.data.push(v); any = true; }
        }
        if (any) onEvent({ ...ev, data: ev.data.join('\n') });
      }
    });
  });
  req.on('error', () => {});
  reqs.push(req);
}

const ticks = [];
let ticksUp = false;
subscribe('/streams/ticks', (s) => { ticksUp = s === 200; }, (e) => ticks.push(e.t), () => {});
const subs = [];
await new Promise((resolve) => {
  let started = 0;
  for (let i = 0; i < SUBS; i++) {
    const s = { status: 0, events: [], beats: [] };
    subs.push(s);
    subscribe(`/events/${channel}`, (st) => { s.status = st; if (++started === SUBS) resolve(); },
      (e) => { if (e.event !== 'sselight-missed') s.events.push(e); }, (t) => s.beats.push(t));
  }
});
await new Promise((r) => setTimeout(r, 1500)); // a few ticks before
check(`/streams/ticks and ${SUBS} subscribers connected`, ticksUp && subs.every((s) => s.status === 200),
  `ticks ${ticksUp}, statuses ${[...new Set(subs.map((s) => s.status))].join(',')}`);

// The stall.
const stallStart = now();
let stallEnd = null;
const child = spawn('sh', ['-c', STALL], { stdio: ['ignore', 'ignore', 'inherit'] });
const stalled = new Promise((resolve) => child.on('exit', (code) => { stallEnd = now(); resolve(code); }));
await new Promise((r) => setTimeout(r, 400)); // the lock or pause is on

let during = null;
if (START_DURING) {
  during = { status: 0, t: null };
  const t0 = now();
  subscribe(`/events/${channel}x`, (st, t) => { during.status = st; during.t = t - t0; }, () => {}, () => {});
}

const results = [];
const publish = (i) => new Promise((resolve) => {
  const t0 = now();
  const req = http.request({
    host: base.hostname, port: base.port, agent: pubAgent, method: 'POST',
    path: `/events/${channel}`, headers: { 'Idempotency-Key': `${channel}-${i}` },
  }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c) => { body += c; });
    res.on('end', () => {
      results.push({ i, status: res.statusCode, retryAfter: res.headers['retry-after'], body, t0, t: now() });
      resolve();
    });
  });
  req.on('error', (e) => { results.push({ i, status: 0, body: String(e), t0, t: now() }); resolve(); });
  req.end(`msg-${i}`);
});
const queue = [...Array(PUBS).keys()];
await Promise.all([...Array(PUBLISHERS)].map(async () => {
  while (queue.length) await publish(queue.shift());
}));
const code = await stalled;
const stallMs = stallEnd - stallStart;
check(`the stall command ran about 3 s (exit ${code}, ${Math.round(stallMs)} ms)`, code === 0 && stallMs > 2500 && stallMs < 8000);

const ok = results.filter((r) => r.status === 200);
const refused = results.filter((r) => r.status === 503);
const other = results.filter((r) => r.status !== 200 && r.status !== 503);
check(`every publish answered (${ok.length} 200, ${refused.length} 503, ${other.length} other)`,
  results.length === PUBS && other.length === 0 && (ALLOW_503 || refused.length === 0),
  JSON.stringify(other.concat(ALLOW_503 ? [] : refused).slice(0, 3)));
if (ALLOW_503) {
  check('some publishes were refused with 503 while the queue was full', refused.length > 0);
  check('each 503 carries Retry-After and a one-line reason',
    refused.every((r) => r.retryAfter && r.body.trim().split('\n').length === 1),
    JSON.stringify(refused[0]));
}
const early = ok.filter((r) => r.t < stallEnd - 150);
check(`the acknowledged publishes were answered after the stall ended (${early.length} before)`,
  ok.length > 0 && early.length === 0,
  early.slice(0, 3).map((r) => `${r.i} at ${Math.round(r.t - stallStart)} ms`).join(', '));

// Heartbeats during the stall.
const beats = subs.map((s) => s.beats.filter((t) => t > stallStart && t < stallEnd).length);
const minBeats = Math.max(2, Math.floor(stallMs / HB) - 2);
check(`every subscriber got heartbeats during the stall (fewest ${Math.min(...beats)}, want >= ${minBeats})`,
  beats.every((b) => b >= minBeats));

if (during)
  check(`a subscription made during the stall started (status ${during.status} after ${Math.round(during.t ?? -1)} ms)`,
    during.status === 200 && during.t !== null && during.t < 1000);

// Delivery: each acknowledged event, once, in order, to every subscriber
// (and the ticks of the 2 s after the stall).
await new Promise((r) => setTimeout(r, Math.max(200, stallEnd + 2200 - now())));
// Ticks: the gaps between ticks seen from 1 s before the stall to 2 s after.
const span = ticks.filter((t) => t > stallStart - 1000 && t < stallEnd + 2000);
const gaps = span.slice(1).map((t, i) => Math.round(t - span[i]));
check(`tick gaps within 1000 +- 150 ms through the stall (${gaps.join(',')})`,
  gaps.length >= 4 && gaps.every((g) => g >= 850 && g <= 1150));

const ackIds = ok.map((r) => Number(r.body.trim().split('\n')[0])).sort((a, b) => a - b);
const ackData = new Map(ok.map((r) => [Number(r.body.trim().split('\n')[0]), `msg-${r.i}`]));
check(`the acknowledged ids are distinct (${ackIds.length})`, new Set(ackIds).size === ackIds.length);
let bad = 0;
let example = '';
for (const s of subs) {
  const ids = s.events.map((e) => e.id);
  const same = ids.length === ackIds.length && ids.every((id, k) => id === ackIds[k] && s.events[k].data === ackData.get(id));
  if (!same) { bad++; if (!example) example = `got ${ids.join(',')} want ${ackIds.join(',')}`; }
}
check(`all ${SUBS} subscribers got each acknowledged event once, in order`, bad === 0, `${bad} did not: ${example}`);
console.log(`# ${NAME}: stall ${Math.round(stallMs)} ms; ${ok.length} acknowledged, ${refused.length} refused; answers ${Math.round(Math.min(...ok.map((r) => r.t - stallStart)))}..${Math.round(Math.max(...ok.map((r) => r.t - stallStart)))} ms after the stall began; max tick gap ${Math.max(...gaps)} ms`);
finish();
