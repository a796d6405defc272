// Many publishers at once, for group commit. SUBS subscribers of one
// channel connect; PUBLISHERS keep-alive connections each publish PER
// times as fast as answers come, each publish with its own Idempotency-Key.
// Every 10th publish is a batch of 3 events (text/event-stream); every
// 25th is sent again with the same key right after its answer. Checks,
// printing TAP lines:
//   - every publish answered 200; a repeat answers the same ids with
//     Idempotent-Replayed: true and stores nothing;
//   - a batch's ids are consecutive; no id is given to two publishes;
//   - every subscriber gets every stored event once, in id order, with its
//     data;
//   - /stats: fewer transactions than publishes (publishes were grouped).
// Ends with "group-publish: N passed, N failed".
//   BASE_URL=... node group-publish.mjs [--publishers 16] [--per 500] [--subs 5]
import http from 'node:http';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? def : args[i + 1];
};
const base = new URL(process.env.BASE_URL);
const PUBLISHERS = Number(opt('publishers', 16));
const PER = Number(opt('per', 500));
const SUBS = Number(opt('subs', 5));
const channel = `group${process.pid}`;
let passed = 0;
let failed = 0;
const check = (what, ok, detail) => {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok' : 'not ok'} - group commit: ${what}${!ok && detail ? `: ${detail}` : ''}`);
};
const reqs = [];
const finish = () => {
  reqs.forEach((r) => r.destroy());
  console.log(`group-publish: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
};
setTimeout(() => { check('finished within 100 s', false); finish(); }, 100_000).unref();

const get = (path) => new Promise((resolve, reject) => {
  http.get({ host: base.hostname, port: base.port, path }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c) => { body += c; });
    res.on('end', () => resolve(body));
  }).on('error', reject);
});

// Subscribers: collect (id, data) per subscriber.
const subAgent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const subs = [];
await new Promise((resolve) => {
  let up = 0;
  for (let i = 0; i < SUBS; i++) {
    const s = { events: [], buf: '' };
    subs.push(s);
    const req = http.get({ host: base.hostname, port: base.port, agent: subAgent, path: `/events/${channel}` }, (res) => {
      if (++up === SUBS) resolve();
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        s.buf += chunk;
        let k;
        while ((k = s.buf.indexOf('\n\n')) >= 0) {
          const block = s.buf.slice(0, k);
          s.buf = s.buf.slice(k + 2);
          let id = null;
          const data = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('id: ')) id = Number(line.slice(4));
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (id !== null) s.events.push({ id, data: data.join('\n') });
        }
      });
    });
    req.on('error', () => { if (++up === SUBS) resolve(); });
    reqs.push(req);
  }
});
const before = JSON.parse(await get('/stats'));

const pubAgent = new http.Agent({ keepAlive: true, maxSockets: PUBLISHERS });
const post = (key, body, batch) => new Promise((resolve) => {
  const headers = { 'Idempotency-Key': key };
  if (batch) headers['Content-Type'] = 'text/event-stream';
  const req = http.request({ host: base.hostname, port: base.port, agent: pubAgent, method: 'POST', path: `/events/${channel}`, headers }, (res) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (c) => { text += c; });
    res.on('end', () => resolve({ status: res.statusCode, replayed: res.headers['idempotent-replayed'] === 'true', ids: text.trim().split('\n').map(Number) }));
  });
  req.on('error', (e) => resolve({ status: 0, ids: [], error: String(e) }));
  req.end(body);
});

const stored = new Map(); // id -> data
const problems = [];
let publishes = 0;
let repeats = 0;
const t0 = performance.now();
await Promise.all([...Array(PUBLISHERS).keys()].map(async (p) => {
  for (let j = 0; j < PER; j++) {
    const key = `p${p}-${j}`;
    const batch = j % 10 === 9;
    const datas = batch ? [0, 1, 2].map((k) => `${key}.${k}`) : [key];
    const body = batch ? datas.map((d) => `data: ${d}\n\n`).join('') : key;
    const r = await post(key, body, batch);
    publishes++;
    if (r.status !== 200 || r.replayed || r.ids.length !== datas.length) {
      problems.push(`${key}: ${JSON.stringify(r)}`);
      continue;
    }
    if (!r.ids.every((id, k) => k === 0 || id === r.ids[0] + k)) problems.push(`${key}: ids not consecutive ${r.ids}`);
    r.ids.forEach((id, k) => {
      if (stored.has(id)) problems.push(`${key}: id ${id} given twice`);
      stored.set(id, datas[k]);
    });
    if (j % 25 === 24) {
      const again = await post(key, body, batch);
      repeats++;
      if (again.status !== 200 || !again.replayed || again.ids.join() !== r.ids.join())
        problems.push(`${key} repeated: ${JSON.stringify(again)} after ${r.ids}`);
    }
  }
}));
const secs = (performance.now() - t0) / 1000;
check(`${publishes} publishes and ${repeats} repeats answered as expected`, problems.length === 0, problems.slice(0, 3).join('; '));

await new Promise((r) => setTimeout(r, 2000));
const want = [...stored.keys()].sort((a, b) => a - b);
let bad = 0;
let example = '';
for (const s of subs) {
  const ok = s.events.length === want.length && s.events.every((e, k) => e.id === want[k] && e.data === stored.get(e.id));
  if (!ok) { bad++; if (!example) example = `got ${s.events.length} events, want ${want.length}`; }
}
check(`every subscriber got the ${want.length} stored events once, in order`, bad === 0, `${bad} of ${SUBS}: ${example}`);

const after = JSON.parse(await get('/stats'));
// /stats answers from one stream process; the publishes may have spread
// over several, so this compares that process's counts only.
const d = (k) => after.store[k] - (before.pid === after.pid ? before.store[k] : 0);
check(`publishes were grouped: ${d('publishes')} publishes in ${d('transactions')} transactions (largest ${after.store.largest_group})`,
  d('publishes') > 0 && d('transactions') < d('publishes'));
console.log(`# group commit: ${publishes + repeats} POSTs from ${PUBLISHERS} connections in ${secs.toFixed(1)} s (${Math.round((publishes + repeats) / secs)}/s)`);
finish();
