// Publish-to-delivery latency of the channels API, through lighttpd.
// N subscribers on one channel (default 100), M publishes (default 200) at
// R per second (default 20); each event's data is the publisher's send time,
// so latency = receive time - send time on the same clock. Prints p50, p99,
// max and delivered/expected. Bounded: gives up after 60 s.
//   BASE_URL=http://127.0.0.1:5010 node bench/pubsub-latency.mjs [N] [M] [R]
import http from 'node:http';

const base = new URL(process.env.BASE_URL || 'http://127.0.0.1:5010');
const N = Number(process.argv[2] || 100);
const M = Number(process.argv[3] || 200);
const R = Number(process.argv[4] || 20);
const channel = `bench${process.pid}`;
const agent = new http.Agent({ keepAlive: false, maxSockets: N + 10 });
const latencies = [];
let delivered = 0;
const clients = [];

function subscribe() {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: base.hostname, port: base.port, agent,
      path: `/events/${channel}`, headers: { Accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`subscribe: ${res.statusCode}`));
      res.setEncoding('utf8');
      let pending = '';
      res.on('data', (chunk) => {
        const now = performance.timeOrigin + performance.now();
        pending += chunk;
        let cut;
        while ((cut = pending.indexOf('\n\n')) >= 0) {
          const block = pending.slice(0, cut);
          pending = pending.slice(cut + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (!data) continue;
          latencies.push(now - Number(data.slice(6)));
          delivered++;
        }
      });
      resolve(req);
    });
    req.on('error', reject);
    clients.push(req);
  });
}

function publish() {
  return new Promise((resolve, reject) => {
    const body = String(performance.timeOrigin + performance.now());
    const req = http.request({ host: base.hostname, port: base.port, agent, method: 'POST',
      path: `/events/${channel}`, headers: { 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`publish: ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const giveUp = setTimeout(() => { console.error('bench: gave up after 60 s'); process.exit(1); }, 60_000);

await Promise.all(Array.from({ length: N }, subscribe));
await new Promise((r) => setTimeout(r, 300));
for (let i = 0; i < M; i++) {
  await publish();
  await new Promise((r) => setTimeout(r, 1000 / R));
}
const deadline = Date.now() + 5000;
while (delivered < N * M && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
clients.forEach((c) => c.destroy());
clearTimeout(giveUp);
const sorted = latencies.sort((a, b) => a - b);
console.log(`subscribers ${N}, publishes ${M} at ${R}/s, delivered ${delivered}/${N * M}`);
console.log(`latency ms: p50 ${pct(sorted, 50).toFixed(2)}, p99 ${pct(sorted, 99).toFixed(2)}, max ${sorted[sorted.length - 1].toFixed(2)}`);
process.exit(delivered === N * M ? 0 : 1);
