// mercure-listen.mjs: subscribes to a Mercure hub with the npm `eventsource`
// client (not sselight's code) and prints each event as one JSON line
// {"id":..,"type":..,"data":..}, then "# done N" and exits after COUNT
// events or SECONDS. A JWT, when given, goes in Authorization: Bearer
// through the client's fetch option.
//   node mercure-listen.mjs URL COUNT SECONDS [JWT] [TYPE...]
// TYPEs are the event types to listen to besides "message".
import { EventSource } from 'eventsource';

const [url, countArg, secondsArg, jwt, ...types] = process.argv.slice(2);
const count = Number(countArg);
let got = 0;
const opts = {};
if (jwt) {
    opts.fetch = (input, init) =>
        fetch(input, { ...init, headers: { ...init.headers, Authorization: `Bearer ${jwt}` } });
}
const es = new EventSource(url, opts);
const finish = (code) => {
    es.close();
    console.log(`# done ${got}`);
    process.exit(code);
};
const on = (e) => {
    console.log(JSON.stringify({ id: e.lastEventId, type: e.type, data: e.data }));
    if (++got >= count) finish(0);
};
es.addEventListener('message', on);
for (const t of types) es.addEventListener(t, on);
es.addEventListener('open', () => console.log('# open'));
es.addEventListener('error', (e) => console.log(`# error ${e.message || ''}`));
setTimeout(() => finish(got >= count ? 0 : 1), Number(secondsArg) * 1000);
