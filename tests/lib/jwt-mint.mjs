// jwt-mint.mjs: prints a compact JWT, signed with node:crypto (not with
// sselight's code), for the Mercure tests.
//   node jwt-mint.mjs --alg HS256 --key SECRET --claims JSON
//        [--exp-in S] [--nbf-in S] [--header-alg NAME]
//   node jwt-mint.mjs --alg RS256 --key-file PRIVATE.pem --claims JSON
// --alg none gives an empty signature. --header-alg writes another alg into
// the header than the one signing (an algorithm-confusion token).
import { createHmac, createSign } from 'node:crypto';
import { readFileSync } from 'node:fs';

const opt = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) {
        console.error(`jwt-mint: bad argument ${argv[i]}`);
        process.exit(2);
    }
    opt[argv[i].slice(2)] = argv[i + 1];
}
const alg = opt.alg || 'HS256';
const claims = JSON.parse(opt.claims || '{}');
const now = Math.floor(Date.now() / 1000);
if (opt['exp-in'] !== undefined) claims.exp = now + Number(opt['exp-in']);
if (opt['nbf-in'] !== undefined) claims.nbf = now + Number(opt['nbf-in']);

const b64 = (s) => Buffer.from(s).toString('base64url');
const header = b64(JSON.stringify({ alg: opt['header-alg'] || alg, typ: 'JWT' }));
const input = `${header}.${b64(JSON.stringify(claims))}`;
let sig = '';
if (alg === 'HS256') {
    const key = opt['key-file'] ? readFileSync(opt['key-file']) : opt.key;
    sig = createHmac('sha256', key).update(input).digest('base64url');
} else if (alg === 'RS256') {
    sig = createSign('RSA-SHA256').update(input).sign(readFileSync(opt['key-file']))
        .toString('base64url');
} else if (alg !== 'none') {
    console.error(`jwt-mint: unknown alg ${alg}`);
    process.exit(2);
}
console.log(`${input}.${sig}`);
