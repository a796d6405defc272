// Browser test: a page in Debian's chromium subscribes to sselight's
// Mercure hub with the browser's own EventSource, its JWT in the
// mercureAuthorization cookie; updates come from Debian's php-symfony-mercure
// (tests/lib/mercure-publish.php). A second page has no cookie.
//   1. the page's response names the hub in its Link header
//   2. a public and a private update: the page with the cookie gets both,
//      with the ids the hub gave the publisher; the page without it gets
//      the public one only
//   3. the stream is cut (MERCURE_DROP kills the stream process); an update
//      published before the page is back arrives after the browser's own
//      reconnect, which carries the last id each page had in Last-Event-ID,
//      and nothing arrives twice
//
// Usage:  BASE_URL=... MERCURE_KEY=SECRET MERCURE_DROP='shell command' node tests/browser/mercure.mjs
//   TEST_OUT, CHROMIUM, TEST_TIMEOUT_MS as in the other browser tests
import { execFileSync, execSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, testEnv, checkReport, runBounded, timeBudget, pathOf } from './lib.mjs';

const HARD_TIMEOUT_MS = Number(process.env.TEST_TIMEOUT_MS) || 90_000;
const KEY = process.env.MERCURE_KEY || '';
const DROP = process.env.MERCURE_DROP || '';
const PUBLISH = path.join(path.dirname(fileURLToPath(import.meta.url)), '../lib/mercure-publish.php');
const { budget, sleep } = timeBudget(HARD_TIMEOUT_MS, 2_000);
const { section, finish } = checkReport();
const { url, ORIGIN } = testEnv();
const HUB = url('.well-known/mercure');
const TOPICS = 'https://example.com/books/{id}';

const b64 = (s) => Buffer.from(s).toString('base64url');
function jwt(claims) {
  const input = `${b64('{"alg":"HS256","typ":"JWT"}')}.${b64(JSON.stringify(claims))}`;
  return `${input}.${createHmac('sha256', KEY).update(input).digest('base64url')}`;
}

// Publishes with the PHP library; retries for 8 s while the hub is away
// (a stream process being restarted). Returns the id, or '' on failure.
async function publish(args) {
  const t0 = Date.now();
  for (;;) {
    try {
      return execFileSync('php', [PUBLISH, HUB, KEY, ...args], { timeout: 10_000, encoding: 'utf8' }).trim();
    } catch (e) {
      if (Date.now() - t0 > 8_000) return '';
      await sleep(250);
    }
  }
}

// Opens an EventSource on the page; its events collect in window.got.
async function subscribe(page) {
  await page.evaluate(({ hub, topics }) => {
    window.got = [];
    window.opens = 0;
    const es = new EventSource(`${hub}?topic=${encodeURIComponent(topics)}`, { withCredentials: true });
    const on = (e) => window.got.push({ id: e.lastEventId, type: e.type, data: e.data });
    es.addEventListener('message', on);
    es.addEventListener('book', on);
    es.addEventListener('open', () => { window.opens++; });
    window.es = es;
  }, { hub: HUB, topics: TOPICS });
  await page.waitForFunction(() => window.opens >= 1, null, { timeout: budget(10_000) });
}

const got = (page) => page.evaluate(() => window.got);
const datas = (list) => list.map((e) => e.data);
async function waitFor(page, pred, ms) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (pred(await got(page))) return true;
    await sleep(100);
  }
  return false;
}

await runBounded('mercure', HARD_TIMEOUT_MS, { section, finish }, async (slot) => {
  const s = section('mercure');
  if (!KEY || !DROP) {
    s.check('MERCURE_KEY and MERCURE_DROP are set', false, 'missing');
    return;
  }
  slot.browser = await launchChromium(budget(20_000));
  const withCookie = await slot.browser.newContext();
  await withCookie.addCookies([{
    name: 'mercureAuthorization', url: ORIGIN,
    value: jwt({ mercure: { subscribe: [TOPICS] } }),
  }]);
  const plain = await slot.browser.newContext();
  const a = await withCookie.newPage();
  const b = await plain.newPage();
  const resp = await a.goto(url(''), { timeout: budget(10_000) });
  const link = (await resp.allHeaders()).link || '';
  s.check('the page names the hub in its Link header', /<[^>]*\/\.well-known\/mercure>; rel="mercure"/.test(link), link);
  await b.goto(url(''), { timeout: budget(10_000) });
  // The Last-Event-ID each page's hub requests carried ('' for none), in order.
  const lastIds = (page) => {
    const seen = [];
    page.on('request', (r) => {
      if (pathOf(r.url()).endsWith('/.well-known/mercure') && r.method() === 'GET') {
        seen.push(r.headerValue('last-event-id').then((v) => v || ''));
      }
    });
    return () => Promise.all(seen);
  };
  const aIds = lastIds(a);
  const bIds = lastIds(b);
  await subscribe(a);
  await subscribe(b);

  const id1 = await publish(['--topic', 'https://example.com/books/1', '--data', 'public-1', '--type', 'book']);
  const id2 = await publish(['--topic', 'https://example.com/books/2', '--data', 'private-2', '--private']);
  s.check('the PHP publisher got ids for both updates', id1 && id2, `${id1} ${id2}`);
  const aBoth = await waitFor(a, (l) => l.length >= 2, 8_000);
  const ga = await got(a);
  s.check('the page with the cookie got both updates', aBoth, JSON.stringify(ga));
  s.check('... with the ids the publisher was given, in order',
    ga.length >= 2 && ga[0].id === id1 && ga[1].id === id2, JSON.stringify(ga));
  s.check('... the first as a "book" event', ga.length >= 1 && ga[0].type === 'book', JSON.stringify(ga[0]));
  await waitFor(b, (l) => l.length >= 1, 5_000);
  await sleep(1_000);
  const gb = await got(b);
  s.check('the page without the cookie got the public update only',
    datas(gb).join('|') === 'public-1', JSON.stringify(gb));

  // Cut both streams; publish while they are away.
  execSync(DROP, { stdio: 'ignore', timeout: 10_000 });
  await sleep(300);
  const id3 = await publish(['--topic', 'https://example.com/books/3', '--data', 'while-away']);
  const opensThen = await a.evaluate(() => window.opens);
  s.check('an update was published while the streams were cut', !!id3 && opensThen === 1,
    id3 ? `the page had already reconnected (opened ${opensThen} times)` : 'the publish failed for 8 s');
  const aBack = await waitFor(a, (l) => datas(l).includes('while-away'), 20_000);
  const bBack = await waitFor(b, (l) => datas(l).includes('while-away'), 20_000);
  await sleep(1_000);
  const a2 = datas(await got(a));
  const b2 = datas(await got(b));
  const opens = await a.evaluate(() => window.opens);
  s.note(`page with cookie: ${a2.join(',')} (opened ${opens} times); without: ${b2.join(',')}`);
  s.check('the browser reconnected by itself', opens >= 2, `opened ${opens} times`);
  s.check('after the reconnect the page with the cookie got the missed update', aBack, a2.join(','));
  s.check('... and nothing twice', a2.join('|') === 'public-1|private-2|while-away', a2.join(','));
  s.check('the page without the cookie got it too, nothing twice', bBack && b2.join('|') === 'public-1|while-away',
    b2.join(','));
  const [ra, rb] = [await aIds(), await bIds()];
  s.check('the browser reconnected with Last-Event-ID: the last id each page had',
    ra.length >= 2 && ra[0] === '' && ra[1] === id2 && rb.length >= 2 && rb[0] === '' && rb[1] === id1,
    `with cookie: ${JSON.stringify(ra)}, without: ${JSON.stringify(rb)}`);
  await withCookie.close();
  await plain.close();
});
