// Holds N subscribers of one channel open at once (one process, one socket
// each), publishes one event when all are established, and checks every
// subscriber receives it. Prints "established E/N, received R/N" and exits
// 0 only when both are N. Bounded: 60 s.
//   BASE_URL=http://127.0.0.1:PORT node tests/lib/broadcast.mjs N
import http from 'node:http';

const base = new URL(process.env.BASE_URL);
const N = Number(process.argv[2] || 2000);
const channel = `bcast${process.pid}`;
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
let established = 0;
let received = 0;
const reqs = [];
const done = (code) => {
  console.log(`established ${established}/${N}, received ${received}/${N}`);
  reqs.forEach((r) => r.destroy());
  process.exit(code);
};
setTimeout(() => done(1), 60_000).unref();

await new Promise((resolve) => {
  let settled = 0;
  for (let i = 0; i < N; i++) {
    const req = http.get({ host: base.hostname, port: base.port, agent, path: `/events/${channel}` }, (res) => {
      res.setEncoding('utf8');
      let got = '';
      let counted = false;
      res.on('data', (c) => {
        got += c;
        if (!counted && got.includes('retry: ')) { counted = true; established++; if (++settled === N) resolve(); }
        if (got.includes('data: broadcast\n')) { received++; got = ''; if (received === N) done(0); }
      });
    });
    req.on('error', () => { if (++settled === N) resolve(); });
    reqs.push(req);
  }
});
const pub = http.request({ host: base.hostname, port: base.port, method: 'POST', path: `/events/${channel}` });
pub.on('error', () => done(1));
pub.end('broadcast');
setTimeout(() => done(received === N ? 0 : 1), 10_000).unref();
