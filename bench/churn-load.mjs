// Churn soak load and measurement, driven by bench/churn-soak.sh (make soak).
// One node process, against a running lighttpd + responders:
//   - LONG_LIVED subscribers (default 200), spread over CHANNELS channels
//     (default 20), connected for the whole run; each must get every event
//     of its channel, in order, once, with the exact name and data;
//   - churn: CHURN_RATE new subscriber connections per second (default 100),
//     each to one channel (some to two, some with Last-Event-ID or
//     ?history=N), held 0.2-3 s, then closed (FIN), reset (RST), or
//     dropped before the answer arrives;
//   - a publisher at PUB_RATE events per second (default 20) across the
//     channels (some as a batch of 3 in one text/event-stream POST);
//   - a trickle of page traffic (GET /, /room, a 404, POST /room/messages).
// Phases: connect the long-lived subscribers; WARMUP_SECONDS of churn;
// quiesce and measure "start"; SOAK_SECONDS of churn; quiesce and measure
// "end"; check the long-lived subscribers. "Quiesce" = churn stopped, every
// churn client closed, the server's /stats back to exactly the long-lived
// streams, publisher paused: the same condition both times.
// A measurement reads, for the lighttpd master (SERVER_PID) and each of its
// children, the open fds (/proc/PID/fd), VmRSS and CPU time, plus /stats.
// Prints the table and the pass criteria; writes RESULT_MD; exits 0 on pass.
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';

const env = process.env;
const base = new URL(env.BASE_URL || 'http://127.0.0.1:5010');
const SOAK = Number(env.SOAK_SECONDS || 600);
const WARMUP = Number(env.WARMUP_SECONDS || 10);
const CHANNELS = Number(env.CHANNELS || 20);
const LONG = Number(env.LONG_LIVED || 200);
const CHURN_RATE = Number(env.CHURN_RATE || 100);
const PUB_RATE = Number(env.PUB_RATE || 20);
const PAGE_RATE = Number(env.PAGE_RATE || 2);
const MASTER = Number(env.SERVER_PID || 0);
const RESULT_MD = env.RESULT_MD || '';
const NOTE = env.SOAK_NOTE || '';
const CHURN_MAX_ACTIVE = 2000;
const TICK = 100; // clock ticks per second in /proc/PID/stat (Linux x86 USER_HZ)

const t0 = Date.now();
const log = (msg) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rnd = (n) => Math.floor(Math.random() * n);
const chan = (i) => `soak${String(i).padStart(2, '0')}`;

// Self-bound: the shell has its own timeout, this one reports first.
const hardStop = setTimeout(() => {
  console.error('churn-load: gave up (deadline passed)');
  process.exit(3);
}, (SOAK + WARMUP + 50) * 1000);
hardStop.unref();

// --- SSE parsing --------------------------------------------------------------
function sseParser(onEvent, onComment) {
  let pending = '';
  let ev = { id: null, event: 'message', data: null };
  return (chunk) => {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      let line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') {
        if (ev.data !== null) onEvent(ev);
        ev = { id: null, event: 'message', data: null };
        continue;
      }
      if (line.startsWith(':')) { onComment(line); continue; }
      const c = line.indexOf(':');
      const field = c < 0 ? line : line.slice(0, c);
      let value = c < 0 ? '' : line.slice(c + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') ev.data = ev.data === null ? value : `${ev.data}\n${value}`;
      else if (field === 'id') ev.id = value;
      else if (field === 'event') ev.event = value;
    }
  };
}

// --- published events -----------------------------------------------------------
const published = new Map(); // id -> { ch, event, data }
const perChannel = Array.from({ length: CHANNELS }, () => []); // ids in order
let lastId = 0;
const counts = {
  pubRequests: 0, pubEvents: 0, pubErrors: 0, pubBatches: 0,
  churnStarted: 0, churnOk: 0, churnBadStatus: {}, churnErrors: 0, churnEarlyDrop: 0,
  churnReset: 0, churnClosed: 0, churnPausedReset: 0, churnResumed: 0, churnHistory: 0,
  churnMulti: 0, churnEvents: 0, churnOrderViolations: 0, churnMissed: 0, churnSkipped: 0,
  pageRequests: 0, pageStatus: {}, pageErrors: 0, heartbeats: 0,
};
const bump = (obj, key) => { obj[key] = (obj[key] || 0) + 1; };

function pad(n) {
  const a = 'abcdefghijklmnopqrstuvwxyz0123456789 ';
  let s = '';
  for (let i = 0; i < n; i++) s += a[rnd(a.length)];
  return s;
}
let seq = 0;
function makeEvent(ci) {
  seq++;
  const names = ['message', 'message', 'update', 'tick:x'];
  const event = names[rnd(names.length)];
  let data = `${chan(ci)} ${seq} ${pad(rnd(300))}`;
  if (rnd(5) === 0) data += `\nsecond line ${seq}\n${pad(rnd(40))}`;
  return { ch: chan(ci), ci, event, data };
}

function request(opts, body) {
  return new Promise((resolve) => {
    const req = http.request({ host: base.hostname, port: base.port, agent: false, ...opts }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
      res.on('error', (e) => resolve({ status: 0, text: String(e) }));
    });
    req.setTimeout(10000, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, text: String(e) }));
    req.end(body);
  });
}

async function publishOne() {
  const ci = rnd(CHANNELS);
  const batch = rnd(20) === 0;
  const evs = batch ? [makeEvent(ci), makeEvent(ci), makeEvent(ci)] : [makeEvent(ci)];
  let path = `/events/${chan(ci)}`;
  let headers = {};
  let body;
  if (batch) {
    headers['Content-Type'] = 'text/event-stream';
    body = evs.map((e) => `event: ${e.event}\n${e.data.split('\n').map((l) => `data: ${l}`).join('\n')}\n\n`).join('');
  } else {
    if (evs[0].event !== 'message') path += `?event=${encodeURIComponent(evs[0].event)}`;
    body = evs[0].data;
  }
  counts.pubRequests++;
  if (batch) counts.pubBatches++;
  const r = await request({ method: 'POST', path, headers: { ...headers, 'Content-Length': Buffer.byteLength(body) } }, body);
  const ids = r.text.trim().split('\n').map(Number);
  if (r.status !== 200 || ids.length !== evs.length || ids.some((x) => !(x > 0))) {
    counts.pubErrors++;
    if (counts.pubErrors <= 5) log(`publish failed: ${r.status} ${r.text.slice(0, 200)}`);
    return;
  }
  ids.forEach((id, k) => {
    published.set(id, evs[k]);
    perChannel[ci].push(id);
    if (id > lastId) lastId = id;
  });
  counts.pubEvents += ids.length;
}

let pubOn = false;
let pubBusy = false;
async function publisherLoop() {
  let due = Date.now();
  for (;;) {
    if (done) return;
    if (!pubOn) { await sleep(20); due = Date.now(); continue; }
    const now = Date.now();
    if (due > now) await sleep(due - now);
    if (!pubOn) continue;
    due = Math.max(due + 1000 / PUB_RATE, Date.now() - 1000);
    pubBusy = true;
    await publishOne();
    pubBusy = false;
  }
}

// --- long-lived subscribers -----------------------------------------------------
const longSubs = [];
function longSubscriber(i) {
  return new Promise((resolve, reject) => {
    const ci = i % CHANNELS;
    const sub = { i, ci, ids: [], bad: 0, pending: [], ended: false, req: null };
    const req = http.get({ host: base.hostname, port: base.port, agent: false,
      path: `/events/${chan(ci)}`, headers: { Accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) { reject(new Error(`long-lived ${i}: status ${res.statusCode}`)); return; }
      res.setEncoding('utf8');
      res.on('data', sseParser((ev) => {
        const id = Number(ev.id);
        const want = published.get(id);
        sub.ids.push(id);
        // An event may arrive before its POST's answer: checked at the end.
        if (want) { if (!(want.ch === chan(ci) && want.event === ev.event && want.data === ev.data)) sub.bad++; }
        else sub.pending.push({ id, event: ev.event, data: ev.data });
      }, () => { counts.heartbeats++; }));
      res.on('end', () => { sub.ended = true; });
      res.on('close', () => { sub.ended = true; });
      resolve(sub);
    });
    req.on('error', (e) => { sub.ended = true; sub.error = String(e); reject(e); });
    sub.req = req;
    longSubs.push(sub);
  });
}

// --- churn ----------------------------------------------------------------------
let churnOn = false;
let churnActive = 0;
function churnOne() {
  if (churnActive >= CHURN_MAX_ACTIVE) { counts.churnSkipped++; return; }
  counts.churnStarted++;
  churnActive++;
  const ci = rnd(CHANNELS);
  const r = Math.random();
  let path = `/events/${chan(ci)}`;
  const headers = { Accept: 'text/event-stream' };
  let after = -1;
  let chans = [chan(ci)];
  if (r < 0.25 && lastId > 0) {
    after = Math.max(0, lastId - rnd(80));
    headers['Last-Event-ID'] = String(after);
    counts.churnResumed++;
  } else if (r < 0.35) {
    path += `?history=${rnd(30)}`;
    counts.churnHistory++;
  } else if (r < 0.45) {
    const other = chan((ci + 1 + rnd(CHANNELS - 1)) % CHANNELS);
    chans = [chan(ci), other];
    path = `/events?channel=${chans[0]}&channel=${chans[1]}`;
    counts.churnMulti++;
  }
  const mode = Math.random();
  const stay = 200 + rnd(2800);
  let finished = false;
  let timer = null;
  const finish = () => {
    if (finished) return;
    finished = true;
    if (timer) clearTimeout(timer);
    churnActive--;
  };
  const req = http.get({ host: base.hostname, port: base.port, agent: false, path, headers }, (res) => {
    if (res.statusCode !== 200) {
      bump(counts.churnBadStatus, res.statusCode);
      res.resume();
      res.on('end', finish);
      res.on('close', finish);
      return;
    }
    counts.churnOk++;
    res.setEncoding('utf8');
    let prev = after;
    res.on('data', sseParser((ev) => {
      if (ev.event === 'sselight-missed') { counts.churnMissed++; return; }
      const id = Number(ev.id);
      counts.churnEvents++;
      const want = published.get(id);
      if (!(id > prev) || (want && !chans.includes(want.ch))) counts.churnOrderViolations++;
      prev = id;
    }, () => { counts.heartbeats++; }));
    res.on('close', finish);
    res.on('end', finish);
    res.on('error', finish);
    timer = setTimeout(() => {
      const sock = req.socket;
      if (mode < 0.45) { counts.churnClosed++; req.destroy(); finish(); }
      else if (mode < 0.9) { counts.churnReset++; if (sock && sock.resetAndDestroy) sock.resetAndDestroy(); else req.destroy(); finish(); }
      else {
        // stops reading, then is reset a moment later
        counts.churnPausedReset++;
        res.pause();
        timer = setTimeout(() => { if (sock && sock.resetAndDestroy) sock.resetAndDestroy(); else req.destroy(); finish(); }, 300 + rnd(700));
      }
    }, stay);
  });
  req.on('error', () => { if (!finished) counts.churnErrors++; finish(); });
  if (mode > 0.95) {
    // gone before the answer: right after the request is sent
    counts.churnEarlyDrop++;
    setTimeout(() => { finished || (req.destroy(), finish()); }, rnd(15));
  }
}

async function churnLoop() {
  let due = Date.now();
  for (;;) {
    if (done) return;
    if (!churnOn) { await sleep(20); due = Date.now(); continue; }
    await sleep(10);
    const now = Date.now();
    while (due <= now && churnOn) {
      churnOne();
      due += 1000 / CHURN_RATE;
    }
    if (due < now - 1000) due = now; // do not burst after a stall
  }
}

// --- page traffic -----------------------------------------------------------------
let pageOn = false;
let pageActive = 0;
async function pageOne() {
  pageActive++;
  counts.pageRequests++;
  const k = rnd(5);
  let r;
  if (k === 0) r = await request({ path: '/' });
  else if (k === 1) r = await request({ path: '/room' });
  else if (k === 2) r = await request({ path: `/no/such/page-${rnd(1000)}` });
  else if (k === 3) r = await request({ path: '/stats' });
  else {
    const body = `text=${encodeURIComponent(`soak note ${seq} <b>${pad(rnd(60))}</b>`)}`;
    r = await request({ method: 'POST', path: '/room/messages',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body) } }, body);
  }
  if (r.status === 0) counts.pageErrors++;
  bump(counts.pageStatus, r.status);
  pageActive--;
}
async function pageLoop() {
  for (;;) {
    if (done) return;
    await sleep(1000 / PAGE_RATE);
    if (pageOn) pageOne();
  }
}

// --- measurement ----------------------------------------------------------------
function procInfo(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(rest[1]);
    const cpu = (Number(rest[11]) + Number(rest[12])) / TICK;
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = Number((/VmRSS:\s+(\d+)/.exec(status) || [0, 0])[1]);
    const fds = fs.readdirSync(`/proc/${pid}/fd`).length;
    let exe = '';
    try { exe = fs.readlinkSync(`/proc/${pid}/exe`); } catch { /* gone */ }
    return { pid, ppid, cpu, rss, fds, exe };
  } catch { return null; }
}
function serverProcs() {
  const out = [];
  const m = procInfo(MASTER);
  if (!m) return out;
  out.push({ ...m, name: 'lighttpd master' });
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const p = procInfo(Number(d));
    if (!p || p.ppid !== MASTER) continue;
    // " (deleted)": the file was rebuilt on disk while the process runs on.
    const replaced = p.exe.endsWith(' (deleted)');
    const b = p.exe.replace(/ \(deleted\)$/, '').split('/').pop();
    out.push({ ...p, replaced, name: b === 'lighttpd' ? 'lighttpd worker' : b });
  }
  const order = ['lighttpd master', 'lighttpd worker', 'stream.fcgi', 'index.fcgi'];
  return out.sort((a, b) => (order.indexOf(a.name) - order.indexOf(b.name)) || (a.pid - b.pid));
}
async function stats() {
  const r = await request({ path: '/stats', headers: { Connection: 'close' } });
  try { return JSON.parse(r.text); } catch { return { error: `${r.status} ${r.text.slice(0, 100)}` }; }
}

// Every published event of ci delivered to every long-lived subscriber of ci.
function longCaughtUp() {
  return longSubs.every((s) => {
    const ids = perChannel[s.ci];
    return ids.length === 0 || (s.ids.length && s.ids[s.ids.length - 1] >= ids[ids.length - 1]);
  });
}

async function quiesce(label) {
  log(`${label}: stopping churn`);
  churnOn = false;
  pageOn = false;
  let until = Date.now() + 10000;
  while ((churnActive > 0 || pageActive > 0) && Date.now() < until) await sleep(50);
  // The publisher keeps going: lighttpd notices a closed client when it
  // next writes to it, so events on every channel free the closed streams.
  let s = await stats();
  until = Date.now() + 45000;
  while (!(s.streams_open === LONG && s.subscribers === LONG && s.connections === LONG + 1) && Date.now() < until) {
    await sleep(500);
    s = await stats();
  }
  const settled = s.streams_open === LONG && s.subscribers === LONG;
  pubOn = false;
  while (pubBusy) await sleep(20);
  until = Date.now() + 15000;
  while (!longCaughtUp() && Date.now() < until) await sleep(50);
  await sleep(1500);
  const st = await stats();
  await sleep(300);
  const procs = serverProcs();
  log(`${label}: churn clients open ${churnActive}, server streams_open ${st.streams_open}, subscribers ${st.subscribers}, connections ${st.connections}${settled ? '' : ' (NOT settled to the long-lived set)'}`);
  return { label, at: Date.now(), procs, stats: st, settled };
}

// --- the run ----------------------------------------------------------------------
let done = false;
const cpu0 = process.cpuUsage();
log(`${LONG} long-lived subscribers on ${CHANNELS} channels; churn ${CHURN_RATE}/s; publish ${PUB_RATE}/s; warm-up ${WARMUP} s; soak ${SOAK} s`);
for (let i = 0; i < LONG; i += 50) {
  await Promise.all(Array.from({ length: Math.min(50, LONG - i) }, (_, k) => longSubscriber(i + k)));
}
await sleep(300);
publisherLoop();
churnLoop();
pageLoop();

pubOn = true; churnOn = true; pageOn = true;
await sleep(WARMUP * 1000);
const start = await quiesce('start');
const countsAtStart = JSON.parse(JSON.stringify(counts));

pubOn = true; churnOn = true; pageOn = true;
const soakStart = Date.now();
const progress = setInterval(() => {
  log(`churn started ${counts.churnStarted}, open ${churnActive}, events published ${counts.pubEvents}, pub errors ${counts.pubErrors}, churn events ${counts.churnEvents}`);
}, 60000);
await sleep(SOAK * 1000);
clearInterval(progress);
const soakSeconds = (Date.now() - soakStart) / 1000;
const end = await quiesce('end');

// --- checks -------------------------------------------------------------------------
let complete = 0;
const problems = [];
for (const s of longSubs) {
  const want = perChannel[s.ci];
  const got = s.ids;
  const dups = got.length - new Set(got).size;
  let inOrder = true;
  for (let k = 1; k < got.length; k++) if (!(got[k] > got[k - 1])) inOrder = false;
  const same = got.length === want.length && got.every((id, k) => id === want[k]);
  let badContent = s.bad;
  for (const p of s.pending) {
    const w = published.get(p.id);
    if (!(w && w.ch === chan(s.ci) && w.event === p.event && w.data === p.data)) badContent++;
  }
  if (same && inOrder && dups === 0 && badContent === 0 && !s.ended) complete++;
  else if (problems.length < 10) {
    problems.push(`long-lived #${s.i} (${chan(s.ci)}): got ${got.length}/${want.length}, dups ${dups}, in order ${inOrder}, wrong content ${badContent}, disconnected ${s.ended}${s.error ? ` (${s.error})` : ''}`);
  }
}
const longEvents = longSubs.reduce((a, s) => a + s.ids.length, 0);

// After the long-lived clients leave too, the server must free every stream.
for (const s of longSubs) s.req.destroy();
pubOn = true;
let after = await stats();
let until = Date.now() + 20000;
while (!(after.streams_open === 0 && after.subscribers === 0) && Date.now() < until) {
  await sleep(500);
  after = await stats();
}
pubOn = false;
while (pubBusy) await sleep(20);
done = true;
const cpuNode = process.cpuUsage(cpu0);
const elapsed = (Date.now() - t0) / 1000;

// --- report -------------------------------------------------------------------------
const lines = [];
const out = (s = '') => lines.push(s);
const mb = (kb) => (kb / 1024).toFixed(2);
let pass = true;
const verdicts = [];
const verdict = (ok, text) => { verdicts.push(`${ok ? 'PASS' : 'FAIL'} - ${text}`); if (!ok) pass = false; };

out(`# Churn soak, ${new Date(t0).toISOString().slice(0, 16).replace('T', ' ')} UTC`);
out();
out(`Machine: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.release()}. ` +
  'Shared: other engineers ran builds and tests on the same 2 cores during the run, so timings are disturbed; fd and memory figures are not timing-dependent.');
if (NOTE) out(`Note: ${NOTE}`);
if (env.SOAK_COMMIT) out(`Code: commit ${env.SOAK_COMMIT} (responders as built in cgi-bin/ when the server started).`);
out(`Server: the shipped lighttpd.conf (server.max-worker = 2), one stream responder, two page responders, scratch data dir.`);
out(`Load (bench/churn-load.mjs, one node process): ${LONG} long-lived subscribers on ${CHANNELS} channels; ` +
  `churn at ${CHURN_RATE} connections/s (held 0.2-3 s; 25 % Last-Event-ID, 10 % ?history=N, 10 % two channels; ` +
  `~45 % closed, ~45 % reset (RST), ~10 % stop reading then reset, ~5 % dropped before the answer); ` +
  `publisher at ${PUB_RATE} events/s (5 % of POSTs a batch of 3); page traffic ${PAGE_RATE}/s (/, /room, 404, /stats, POST /room/messages).`);
out(`Soak: ${soakSeconds.toFixed(0)} s after a ${WARMUP} s warm-up. "start" and "end" are both measured in the same quiet state: ` +
  `churn stopped, every churn client closed, /stats back to exactly the ${LONG} long-lived streams, publisher paused.`);
out();
out('| process | pid | fds start | fds end | Δ fds | RSS start KB | RSS end KB | Δ RSS KB | CPU s during soak |');
out('|---|---|---|---|---|---|---|---|---|');
const startBy = new Map(start.procs.map((p) => [p.pid, p]));
const endBy = new Map(end.procs.map((p) => [p.pid, p]));
const samePids = start.procs.length === end.procs.length && start.procs.every((p) => endBy.has(p.pid));
for (const p of end.procs) {
  const s = startBy.get(p.pid);
  if (!s) { out(`| ${p.name} | ${p.pid} | (new) | ${p.fds} | - | - | ${p.rss} | - | - |`); continue; }
  const dF = p.fds - s.fds;
  const dR = p.rss - s.rss;
  out(`| ${p.name}${p.replaced ? ' \\*' : ''} | ${p.pid} | ${s.fds} | ${p.fds} | ${dF >= 0 ? '+' : ''}${dF} | ${s.rss} | ${p.rss} | ${dR >= 0 ? '+' : ''}${dR} | ${(p.cpu - s.cpu).toFixed(1)} |`);
  verdict(dF <= 5, `${p.name} ${p.pid}: fds ${s.fds} -> ${p.fds} (Δ ${dF}, limit +5)`);
  const limit = Math.max(s.rss * 0.10, 2048);
  verdict(dR <= limit, `${p.name} ${p.pid}: RSS ${mb(s.rss)} -> ${mb(p.rss)} MB (Δ ${dR} KB, limit ${Math.round(limit)} KB = max(10 %, 2 MB))`);
}
if (end.procs.some((p) => p.replaced)) {
  out();
  out('\\* its binary was replaced on disk during the run (rebuilt by someone else); the process kept running the image it started with.');
}
for (const p of start.procs) if (!endBy.has(p.pid)) out(`| ${p.name} | ${p.pid} | ${p.fds} | (gone) | - | ${p.rss} | (gone) | - | - |`);
verdict(samePids && start.procs.length >= 5, `the same ${start.procs.length} server processes at start and end (none restarted)`);
verdict(start.settled && end.settled, `server settled to exactly the ${LONG} long-lived streams before each measurement`);
verdict(complete === LONG, `long-lived subscribers complete: ${complete}/${LONG} (every event of their channel, in order, once, exact name and data, never disconnected)`);
verdict(counts.pubErrors === 0, `publishes answered 200 with ids: ${counts.pubRequests - counts.pubErrors}/${counts.pubRequests}`);
verdict(counts.churnOrderViolations === 0, `churn subscribers saw ids in increasing order, only of their channels (violations: ${counts.churnOrderViolations})`);
verdict(after.streams_open === 0 && after.subscribers === 0, `after every client left, /stats shows 0 streams (streams_open ${after.streams_open}, subscribers ${after.subscribers})`);
out();
const statKeys = ['rss_bytes', 'connections', 'streams_open', 'subscribers', 'published', 'delivered', 'heartbeats', 'refused_cap', 'closed_slow', 'closed_cap', 'accepted'];
out('| /stats | start | end | Δ |');
out('|---|---|---|---|');
for (const k of statKeys) {
  const a = start.stats[k];
  const b = end.stats[k];
  out(`| ${k} | ${a} | ${b} | ${typeof a === 'number' && typeof b === 'number' ? b - a : '-'} |`);
}
out();
const dc = (k) => counts[k] - countsAtStart[k];
out('Traffic during the soak (between the two measurements):');
out(`- churn connections started: ${dc('churnStarted')} (${(dc('churnStarted') / soakSeconds).toFixed(1)}/s), answered 200: ${dc('churnOk')}; ` +
  `closed ${dc('churnClosed')}, reset ${dc('churnReset')}, stopped reading then reset ${dc('churnPausedReset')}, dropped before the answer ${dc('churnEarlyDrop')}; ` +
  `resumed with Last-Event-ID ${dc('churnResumed')}, ?history ${dc('churnHistory')}, two channels ${dc('churnMulti')}; events received ${dc('churnEvents')}; skipped (over ${CHURN_MAX_ACTIVE} open) ${dc('churnSkipped')}`);
out(`- events published: ${dc('pubEvents')} in ${dc('pubRequests')} POSTs (${(dc('pubEvents') / ((end.at - start.at) / 1000)).toFixed(1)}/s over the ${((end.at - start.at) / 1000).toFixed(0)} s between the measurements; the publisher also runs while the end quiesces), publish errors ${dc('pubErrors')}`);
out(`- page requests: ${dc('pageRequests')}`);
out('Whole run (warm-up + soak + quiesce):');
out(`- churn: started ${counts.churnStarted}, 200 ${counts.churnOk}, other statuses ${JSON.stringify(counts.churnBadStatus)}, connection errors (mostly the early drops) ${counts.churnErrors}, sselight-missed ${counts.churnMissed}`);
out(`- publishes: ${counts.pubEvents} events in ${counts.pubRequests} POSTs (${counts.pubBatches} batches), errors ${counts.pubErrors}`);
out(`- long-lived: ${LONG} subscribers, ${longEvents} events received (${complete} complete)`);
out(`- page statuses: ${JSON.stringify(counts.pageStatus)}`);
out(`- load generator CPU: ${((cpuNode.user + cpuNode.system) / 1e6).toFixed(1)} s over ${elapsed.toFixed(0)} s (${((cpuNode.user + cpuNode.system) / 1e4 / elapsed).toFixed(0)} % of one core)`);
for (const p of problems) out(`- problem: ${p}`);
out();
out('Pass criteria (fds measured with only the long-lived connections open, at start and end):');
out();
for (const v of verdicts) out(`- ${v}`);
out();
out(`Result: ${pass ? 'PASS' : 'FAIL'}`);

const text = lines.join('\n') + '\n';
console.log('\n' + text);
if (RESULT_MD) {
  fs.writeFileSync(RESULT_MD, text);
  console.log(`written: ${RESULT_MD}`);
}
process.exit(pass ? 0 : 1);
