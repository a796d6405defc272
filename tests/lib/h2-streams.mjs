// Opens N event streams on ONE HTTP/2 connection (h2c, prior knowledge),
// publishes one event (over HTTP/1.1), and checks every stream receives it.
// Prints "h2 streams E/N open on 1 connection, received R/N" and exits 0
// only when both are N. Bounded: 15 s.
//   BASE_URL=http://127.0.0.1:PORT/prefix node tests/lib/h2-streams.mjs N
import http2 from 'node:http2';
import http from 'node:http';

const base = new URL(process.env.BASE_URL.replace(/\/?$/, '/'));
const N = Number(process.argv[2] || 3);
const channel = `h2x${process.pid}`;
let open = 0;
let received = 0;
const session = http2.connect(base.origin);
const done = (code) => {
  console.log(`h2 streams ${open}/${N} open on 1 connection, received ${received}/${N}`);
  session.destroy();
  process.exit(code);
};
setTimeout(() => done(1), 15_000).unref();
session.on('error', (e) => { console.log(`# session error: ${e.message}`); done(1); });

const publish = () => {
  const req = http.request(new URL(`events/${channel}`, base), { method: 'POST' }, (res) => res.resume());
  req.on('error', (e) => console.log(`# publish: ${e.message}`));
  req.end('over-h2');
};

for (let i = 0; i < N; i++) {
  const s = session.request({ ':path': new URL(`events/${channel}`, base).pathname });
  s.setEncoding('utf8');
  let got = '';
  let counted = false;
  s.on('response', (h) => {
    if (h[':status'] !== 200) return;
    if (++open === N) publish();
  });
  s.on('data', (c) => {
    got += c;
    if (!counted && got.includes('data: over-h2\n')) {
      counted = true;
      if (++received === N) done(0);
    }
  });
  s.on('error', (e) => console.log(`# stream ${i}: ${e.message}`));
}
