// N EventSource-like subscribers of one channel, for fault tests. Each one
// parses the raw SSE stream itself (node http, no library). When its
// response ends, fails or is refused, it reconnects after 200-500 ms
// (jittered) with Last-Event-ID = the last id it saw, as a browser does.
// Every (id, data) it receives is recorded. At the end it compares each
// client's sequence with the expected list and exits 0 only when every
// client got exactly the expected messages, each once, in order.
//
//   BASE_URL=http://127.0.0.1:PORT node tests/lib/resume-client.mjs \
//     --clients 100 --channel ch --expect FILE [options]
//
//   --expect FILE     the expected messages, one per line, in order
//   --token-re RE     compare the first match of RE in each event's data
//                     (group 1 if it has one) instead of the whole data
//                     (for room posts, whose data is an HTML fragment)
//   --ready FILE      written once every client has its first stream open
//   --done FILE       when this file appears (the publisher finished), wait
//                     at most --settle-ms for every client to be complete
//   --settle-ms MS    default 20000
//   --grace-ms MS     once complete, listen this long for extra events
//                     (duplicates) before reporting; default 1000
//   --timeout-ms MS   hard limit for the whole run; default 120000
//   --marks FILE      lines "NAME EPOCH_SECONDS" (e.g. the moment of a
//                     kill): reports, per mark, the time until each client
//                     had a new stream open and its first event on it
//   --since N         Last-Event-ID for a reconnect before any id was seen
//                     (default 0: the channel's whole history)
//   --report FILE     the per-client results as JSON
//
// stdout: "# ..." summary lines, then "RESULT ok" or "RESULT fail".
import http from 'node:http';
import fs from 'node:fs';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i];
  if (!k.startsWith('--') || i + 1 >= process.argv.length) {
    console.error(`resume-client: bad argument ${k}`);
    process.exit(2);
  }
  args[k.slice(2)] = process.argv[i + 1];
}
const base = new URL(process.env.BASE_URL || 'http://127.0.0.1:5010');
const N = Number(args.clients || 10);
const channel = args.channel || 'faults';
const expected = fs.readFileSync(args.expect, 'utf8').split('\n').filter((l) => l !== '');
const tokenRe = args['token-re'] ? new RegExp(args['token-re']) : null;
const settleMs = Number(args['settle-ms'] || 20000);
const graceMs = Number(args['grace-ms'] || 1000);
const timeoutMs = Number(args['timeout-ms'] || 120000);
const since = args.since ?? '0';
const expectedIndex = new Map(expected.map((t, i) => [t, i]));
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const now = () => Date.now();
const t0 = now();
let finishing = false;

const tokenOf = (data) => {
  if (!tokenRe) return data;
  const m = tokenRe.exec(data);
  return m ? (m[1] ?? m[0]) : null;
};

class Client {
  constructor(n) {
    this.n = n;
    this.lastId = null; // committed on dispatch, like EventSource
    this.events = []; // {id, token, t, conn}
    this.conns = []; // {start, open, end, status, lastEventId}
    this.statuses = {};
    this.errors = {};
    this.heartbeats = 0;
    this.missedMarkers = 0;
    this.unknown = 0;
    this.tokensSeen = new Set();
    this.completeAt = null;
    this.req = null;
    this.timer = null;
  }

  connect() {
    if (finishing) return;
    const headers = {};
    const resume = this.conns.length > 0;
    if (resume) headers['Last-Event-ID'] = this.lastId ?? since;
    const conn = { start: now(), open: null, end: null, status: null,
                   lastEventId: headers['Last-Event-ID'] ?? null };
    this.conns.push(conn);
    let ended = false;
    const end = (why) => {
      if (ended) return;
      ended = true;
      conn.end = now();
      if (why) this.errors[why] = (this.errors[why] || 0) + 1;
      this.req = null;
      if (!finishing) this.timer = setTimeout(() => this.connect(), 200 + Math.random() * 300);
    };
    const req = http.get({ host: base.hostname, port: base.port, agent, headers,
                           path: `/events/${encodeURIComponent(channel)}` }, (res) => {
      conn.status = res.statusCode;
      this.statuses[res.statusCode] = (this.statuses[res.statusCode] || 0) + 1;
      if (res.statusCode !== 200) {
        res.resume();
        res.on('close', () => end(null));
        return;
      }
      res.setEncoding('utf8');
      let buf = '';
      let ev = { id: null, event: '', data: [] };
      res.on('data', (chunk) => {
        buf += chunk;
        let nl;
        while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
          // A lone CR at the end may be the first half of CRLF: wait.
          if (buf[nl] === '\r' && nl === buf.length - 1) break;
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + (buf.startsWith('\r\n', nl) ? 2 : 1));
          this.line(line, ev, conn);
          if (line === '') ev = { id: null, event: '', data: [] };
        }
      });
      // An ended or cut stream drops its partial event, as EventSource does.
      res.on('close', () => end(res.complete ? null : 'cut'));
      res.on('error', () => end('cut'));
    });
    req.on('error', (e) => end(e.code || 'error'));
    this.req = req;
  }

  line(line, ev, conn) {
    if (line === '') {
      if (ev.data.length === 0 && ev.id === null) return;
      if (ev.id !== null) this.lastId = ev.id;
      if (ev.event === 'sselight-missed') { this.missedMarkers++; return; }
      if (ev.data.length === 0) return;
      const data = ev.data.join('\n');
      const token = tokenOf(data);
      this.events.push({ id: ev.id, token, t: now(), conn: this.conns.length - 1 });
      if (token !== null && expectedIndex.has(token)) this.tokensSeen.add(token);
      else this.unknown++;
      if (this.completeAt === null && this.tokensSeen.size === expected.length) this.completeAt = now();
      return;
    }
    if (line.startsWith(':')) {
      if (line.startsWith(': heartbeat')) this.heartbeats++;
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'retry') { if (conn.open === null) { conn.open = now(); opened(); } }
    else if (field === 'id') ev.id = value;
    else if (field === 'event') ev.event = value;
    else if (field === 'data') ev.data.push(value);
  }

  stop() {
    clearTimeout(this.timer);
    if (this.req) this.req.destroy();
  }

  result() {
    const tokens = this.events.map((e) => e.token);
    const counts = new Map();
    for (const t of tokens) counts.set(t, (counts.get(t) || 0) + 1);
    let duplicates = 0;
    for (const c of counts.values()) if (c > 1) duplicates += c - 1;
    const ids = new Map();
    let dupIds = 0;
    for (const e of this.events) { if (ids.has(e.id)) dupIds++; ids.set(e.id, true); }
    let outOfOrder = 0;
    let prevId = -1;
    let prevIdx = -1;
    for (const e of this.events) {
      const id = Number(e.id);
      const idx = expectedIndex.has(e.token) ? expectedIndex.get(e.token) : -1;
      if (!(id > prevId) || (idx >= 0 && idx < prevIdx)) outOfOrder++;
      if (id > prevId) prevId = id;
      if (idx > prevIdx) prevIdx = idx;
    }
    const missing = expected.filter((t) => !counts.has(t));
    let firstDiff = -1;
    for (let i = 0; i < Math.max(tokens.length, expected.length); i++) {
      if (tokens[i] !== expected[i]) { firstDiff = i; break; }
    }
    return {
      client: this.n, received: this.events.length, duplicates, duplicateIds: dupIds,
      outOfOrder, missing: missing.length, missingFirst: missing.slice(0, 5),
      unexpected: this.unknown, missedMarkers: this.missedMarkers,
      exact: firstDiff < 0 && this.missedMarkers === 0,
      firstDiff: firstDiff < 0 ? null
        : { index: firstDiff, expected: expected[firstDiff] ?? null, got: tokens[firstDiff] ?? null,
            id: this.events[firstDiff]?.id ?? null },
      connections: this.conns.length, reconnects: this.conns.length - 1,
      statuses: this.statuses, errors: this.errors, heartbeats: this.heartbeats,
    };
  }
}

const clients = Array.from({ length: N }, (_, i) => new Client(i));
let readyWritten = false;
function opened() {
  if (readyWritten) return;
  if (clients.every((c) => c.conns.some((k) => k.open !== null))) {
    readyWritten = true;
    if (args.ready) fs.writeFileSync(args.ready, `${now()}\n`);
  }
}

function stats(xs) {
  if (xs.length === 0) return { min: null, max: null };
  return { min: Math.min(...xs), max: Math.max(...xs) };
}
const secs = (ms) => (ms === null || ms === undefined ? 'none' : (ms / 1000).toFixed(2));

function marks() {
  if (!args.marks || !fs.existsSync(args.marks)) return [];
  return fs.readFileSync(args.marks, 'utf8').split('\n').filter(Boolean).map((l) => {
    const [name, t] = l.trim().split(/\s+/);
    return { name, t: Math.round(Number(t) * 1000) };
  });
}

function finish(why) {
  if (finishing) return;
  finishing = true;
  clients.forEach((c) => c.stop());
  const results = clients.map((c) => c.result());
  const exact = results.filter((r) => r.exact).length;
  const rec = stats(results.map((r) => r.received));
  const dup = results.reduce((a, r) => a + r.duplicates, 0);
  const dupClients = results.filter((r) => r.duplicates > 0).length;
  const ooo = results.reduce((a, r) => a + r.outOfOrder, 0);
  const miss = results.reduce((a, r) => a + r.missing, 0);
  const missClients = results.filter((r) => r.missing > 0).length;
  const unexpected = results.reduce((a, r) => a + r.unexpected, 0);
  const markers = results.reduce((a, r) => a + r.missedMarkers, 0);
  const recon = stats(results.map((r) => r.reconnects));
  const statuses = {};
  const errors = {};
  for (const r of results) {
    for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] || 0) + v;
    for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] || 0) + v;
  }
  const out = [];
  out.push(`# resume-client: ${N} clients on ${channel}, ended by ${why} after ${secs(now() - t0)} s`);
  out.push(`# clients with exactly the ${expected.length} expected messages once, in order: ${exact}/${N}`);
  out.push(`# received per client: min ${rec.min} max ${rec.max}; duplicates ${dup} (in ${dupClients} clients); out of order ${ooo}; missing ${miss} (in ${missClients} clients); unexpected ${unexpected}; sselight-missed ${markers}`);
  out.push(`# reconnects per client: min ${recon.min} max ${recon.max}; answers ${JSON.stringify(statuses)}; stream errors ${JSON.stringify(errors)}`);
  const report = { why, expected: expected.length, clients: results, marks: [] };
  for (const m of marks()) {
    const reopen = [];
    const first = [];
    const any = [];
    for (const c of clients) {
      const a = c.events.find((x) => x.t >= m.t);
      if (a) any.push(a.t - m.t);
      const k = c.conns.findIndex((x) => x.open !== null && x.start >= m.t);
      if (k < 0) continue;
      reopen.push(c.conns[k].open - m.t);
      const e = c.events.find((x) => x.conn >= k);
      if (e) first.push(e.t - m.t);
    }
    const ro = stats(reopen);
    const fe = stats(first);
    const ae = stats(any);
    report.marks.push({ name: m.name, t: m.t, reopened: reopen.length, reopen: ro, firstEvent: fe, anyEvent: ae });
    out.push(`# after ${m.name}: next event ${secs(ae.min)}-${secs(ae.max)} s; ${reopen.length}/${N} clients reopened a stream in ${secs(ro.min)}-${secs(ro.max)} s, first event on it ${secs(fe.min)}-${secs(fe.max)} s`);
  }
  const bad = results.filter((r) => !r.exact).slice(0, 5);
  for (const r of bad) {
    out.push(`# client ${r.client}: received ${r.received}, duplicates ${r.duplicates}, out of order ${r.outOfOrder}, missing ${r.missing} ${JSON.stringify(r.missingFirst)}, first difference ${JSON.stringify(r.firstDiff)}, reconnects ${r.reconnects}, answers ${JSON.stringify(r.statuses)}`);
  }
  const ok = exact === N;
  out.push(`RESULT ${ok ? 'ok' : 'fail'}`);
  if (args.report) fs.writeFileSync(args.report, JSON.stringify(report, null, 1));
  console.log(out.join('\n'));
  process.exit(ok ? 0 : 1);
}

let doneSeenAt = null;
const poll = setInterval(() => {
  const t = now();
  const complete = clients.every((c) => c.completeAt !== null);
  if (complete) {
    const last = Math.max(...clients.map((c) => c.completeAt));
    if (t - last >= graceMs) finish('complete');
  } else if (args.done && doneSeenAt === null && fs.existsSync(args.done)) {
    doneSeenAt = t;
  }
  if (doneSeenAt !== null && !complete && t - doneSeenAt >= settleMs) finish('settle timeout');
  if (t - t0 >= timeoutMs) finish('hard timeout');
}, 100);
process.on('SIGTERM', () => finish('SIGTERM'));
process.on('SIGINT', () => finish('SIGINT'));

// Spread the first connections a little: 100 at once is fine, but a
// burst is not what we test here.
clients.forEach((c, i) => setTimeout(() => c.connect(), Math.floor(i / 20) * 20));
void poll;
