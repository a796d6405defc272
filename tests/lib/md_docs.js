// Markdown and Makefile reading for tests/integration/t_docs.sh. Every
// subcommand prints tab-separated records that the shell script turns into
// checks; none of them runs anything.
//
//   links DOCROOT FILE...        relative links and images that do not resolve
//   make DOCROOT CODEROOT FILE... each `make TARGET` in code, and whether the
//                                Makefile has TARGET
//   env DOCROOT CODEROOT         SSELIGHT_* names in the docs against the code,
//                                and the ones the code reads against
//                                docs/configuration.md
//   console FILE OUTDIR          README console examples, one command a file
//   match EXPECTED ACTUAL OUT    exit 0 when ACTUAL matches EXPECTED (a line
//                                "…" matches any lines); else writes to OUT
//                                the expected lines with each "…" replaced by
//                                the lines it best stands for (for diff -u)
//   synopsis help|man TOOL       from --help or from `mandoc -T ascii | col -b`
//                                on stdin: one synopsis a line, blanks collapsed
'use strict';
const fs = require('fs');
const path = require('path');

const ELLIPSIS = '\u2026';

// ---------------------------------------------------------------- markdown

// scan TEXT: the lines, the fenced code blocks ({start, end, info, indent,
// lines: [{n, text}]}, n 1-based), the code spans ({n, text}) and "prose":
// the text with fenced blocks, code spans and HTML comments blanked (same
// length, newlines kept, so offsets still give line numbers).
function scan(text) {
    const lines = text.split('\n');
    const inFence = new Array(lines.length).fill(false);
    const fences = [];
    let open = null;
    for (let i = 0; i < lines.length; i++) {
        const l = lines[i].replace(/\r$/, '');
        if (!open) {
            const m = /^( *)(`{3,}|~{3,})(.*)$/.exec(l);
            if (m && !(m[2][0] === '`' && m[3].includes('`'))) {
                open = { start: i + 1, indent: m[1].length, ch: m[2][0],
                    len: m[2].length, info: m[3].trim(), lines: [] };
                inFence[i] = true;
            }
            continue;
        }
        inFence[i] = true;
        const c = /^ *(`{3,}|~{3,})\s*$/.exec(l);
        if (c && c[1][0] === open.ch && c[1].length >= open.len) {
            open.end = i + 1;
            fences.push(open);
            open = null;
            continue;
        }
        // Content loses up to the fence's own indentation.
        let t = l, k = 0;
        while (k < open.indent && t[0] === ' ') { t = t.slice(1); k++; }
        open.lines.push({ n: i + 1, text: t });
    }
    if (open) { open.end = lines.length; fences.push(open); }

    let prose = lines.map((l, i) => (inFence[i] ? ' '.repeat(l.length) : l)).join('\n');
    prose = prose.replace(/<!--[\s\S]*?-->/g, (m) => m.replace(/[^\n]/g, ' '));
    const lineStarts = [0];
    for (let i = 0; i < prose.length; i++) if (prose[i] === '\n') lineStarts.push(i + 1);
    const lineOf = (off) => {
        let lo = 0, hi = lineStarts.length - 1;
        while (lo < hi) {
            const mid = (lo + hi + 1) >> 1;
            if (lineStarts[mid] <= off) lo = mid; else hi = mid - 1;
        }
        return lo + 1;
    };
    // Code spans: a run of N backticks up to the next run of exactly N,
    // within one paragraph (no blank line between).
    const spans = [];
    const chars = prose.split('');
    let i = 0;
    while (i < prose.length) {
        if (prose[i] === '\\' && prose[i + 1] === '`') { i += 2; continue; }
        if (prose[i] !== '`') { i++; continue; }
        let j = i;
        while (prose[j] === '`') j++;
        const n = j - i;
        let k = j, close = -1;
        while (k < prose.length) {
            if (prose[k] === '\n' && /^\n[ \t]*\n/.test(prose.slice(k, k + 200))) break;
            if (prose[k] === '`') {
                let e = k;
                while (prose[e] === '`') e++;
                if (e - k === n) { close = k; break; }
                k = e;
                continue;
            }
            k++;
        }
        if (close < 0) { i = j; continue; }
        let content = prose.slice(j, close).replace(/\n/g, ' ');
        if (/^ .* $/.test(content) && content.trim()) content = content.slice(1, -1);
        spans.push({ n: lineOf(i), text: content });
        for (let p = i; p < close + n; p++) if (chars[p] !== '\n') chars[p] = ' ';
        i = close + n;
    }
    prose = chars.join('');
    return { lines, inFence, fences, spans, prose, lineOf, text };
}

// Link reference definitions: label (normalized) -> {target, n}.
function definitions(s) {
    const defs = new Map();
    const re = /^ {0,3}\[([^\]\n]+)\]:[ \t]*(?:\n[ \t]*)?(<[^>\n]*>|\S+)/gm;
    let m;
    while ((m = re.exec(s.prose))) {
        const label = normLabel(m[1]);
        if (!defs.has(label)) defs.set(label, { target: m[2], n: s.lineOf(m.index), at: m.index });
    }
    return defs;
}
const normLabel = (l) => l.trim().replace(/\s+/g, ' ').toLowerCase();

// The links and images of the prose: {n, text, target, kind}.
function links(s) {
    const out = [];
    const p = s.prose;
    const defs = definitions(s);
    const defStarts = new Set([...defs.values()].map((d) => d.at));
    for (const [label, d] of defs) {
        out.push({ n: d.n, text: label, target: d.target, kind: 'definition' });
    }
    const matchBracket = (i) => { // p[i] === '[' -> index of its ']'
        let depth = 0;
        for (let k = i; k < p.length; k++) {
            if (p[k] === '\\') { k++; continue; }
            if (p[k] === '[') depth++;
            else if (p[k] === ']' && --depth === 0) return k;
            else if (p[k] === '\n' && /^\n[ \t]*\n/.test(p.slice(k, k + 200))) return -1;
        }
        return -1;
    };
    for (let i = 0; i < p.length; i++) {
        if (p[i] === '\\') { i++; continue; }
        if (p[i] !== '[') continue;
        // A definition line: its target is checked above.
        const lineStart = p.lastIndexOf('\n', i) + 1;
        if (defStarts.has(lineStart) && /^ {0,3}$/.test(p.slice(lineStart, i))) continue;
        const close = matchBracket(i);
        if (close < 0) continue;
        const image = i > 0 && p[i - 1] === '!';
        const text = s.text.slice(i + 1, close); // as written, code spans too
        const n = s.lineOf(image ? i - 1 : i);
        if (p[close + 1] === '(') {
            let k = close + 2;
            while (k < p.length && /[ \t\n]/.test(p[k])) k++;
            let target = '';
            if (p[k] === '<') {
                const e = p.indexOf('>', k);
                if (e < 0) continue;
                target = p.slice(k + 1, e);
                k = e + 1;
            } else {
                let depth = 0;
                const st = k;
                for (; k < p.length; k++) {
                    const c = p[k];
                    if (c === '\\') { k++; continue; }
                    if (/\s/.test(c)) break;
                    if (c === '(') depth++;
                    else if (c === ')') { if (depth === 0) break; depth--; }
                }
                target = p.slice(st, k);
            }
            // An optional title, then ")".
            const rest = /^[ \t\n]*(?:("[^"]*"|'[^']*'|\([^)]*\))[ \t\n]*)?\)/.exec(p.slice(k));
            if (!rest) continue;
            out.push({ n, text, target, kind: image ? 'image' : 'link' });
        } else if (p[close + 1] === '[') {
            const e = p.indexOf(']', close + 2);
            if (e < 0) continue;
            const label = p.slice(close + 2, e) || text;
            if (defs.has(normLabel(label))) continue; // its definition is checked
            out.push({ n, text, target: null, kind: 'reference', label });
        }
        // "[text]" alone is a link only when defined: checked with its definition.
    }
    // Raw HTML: <a href="..."> and <img src="...">.
    const re = /<(a|img)\b[^>]*?\b(href|src)\s*=\s*("([^"]*)"|'([^']*)')/gi;
    let m;
    while ((m = re.exec(p))) {
        out.push({ n: s.lineOf(m.index), text: m[0], target: m[4] !== undefined ? m[4] : m[5],
            kind: 'html' });
    }
    return out.sort((a, b) => a.n - b.n);
}

// GitHub's anchors for the headings of a markdown text, in order, with
// duplicates numbered like github-slugger does; plus explicit id=/name=.
function anchors(text) {
    const s = scan(text);
    const occ = new Map();
    const result = new Set();
    const slugger = (value) => {
        const base = slug(value);
        let r = base;
        while (occ.has(r)) {
            occ.set(base, occ.get(base) + 1);
            r = base + '-' + occ.get(base);
        }
        occ.set(r, 0);
        return r;
    };
    const L = s.lines.map((l) => l.replace(/\r$/, ''));
    for (let i = 0; i < L.length; i++) {
        if (s.inFence[i]) continue;
        const atx = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/.exec(L[i]);
        if (atx) { result.add(slugger(headingText(atx[2] || ''))); continue; }
        if (i > 0 && /^ {0,3}(=+|-+)[ \t]*$/.test(L[i]) && !s.inFence[i - 1] &&
            L[i - 1].trim() !== '' && !/^ {0,3}([-*+>#|]|\d+[.)])/.test(L[i - 1]) &&
            !/^ {0,3}(=+|-+)[ \t]*$/.test(L[i - 1])) {
            result.add(slugger(headingText(L[i - 1].trim())));
        }
    }
    const re = /<[a-z][^>]*?\b(?:id|name)\s*=\s*("([^"]*)"|'([^']*)')/gi;
    let m;
    while ((m = re.exec(s.prose))) result.add(m[2] !== undefined ? m[2] : m[3]);
    return result;
}

// The text GitHub renders for a heading's markdown.
function headingText(md) {
    const parts = md.split(/(`+[^`]*?`+)/);
    return parts.map((part, idx) => {
        if (idx % 2 === 1) return part.replace(/^`+|`+$/g, '');
        return part
            .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
            .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
            .replace(/\[([^\]]*)\]\[[^\]]*\]/g, '$1')
            .replace(/<[^>]+>/g, '')
            .replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>')
            .replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&nbsp;/g, ' ')
            .replace(/\\([!-/:-@[-`{-~])/g, '$1')
            .replace(/(^|[^\p{L}\p{N}])_+(?=[\p{L}\p{N}])/gu, '$1')
            .replace(/([\p{L}\p{N}])_+(?=[^\p{L}\p{N}_]|$)/gu, '$1');
    }).join('').trim();
}

function slug(text) {
    return text.toLowerCase()
        .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
        .replace(/ /g, '-');
}

function editDistance(a, b) {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1,
                d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
    }
    return d[a.length][b.length];
}

// Why TARGET (from a link in FILE) does not resolve, or null when it does.
function brokenReason(docRoot, file, link, anchorCache) {
    if (link.kind === 'reference') return `reference [${link.label}] has no definition`;
    let t = link.target.trim();
    if (t.startsWith('<') && t.endsWith('>')) t = t.slice(1, -1);
    if (/^[a-z][a-z0-9+.-]*:/i.test(t) || t.startsWith('//')) return null; // http(s), mailto, ...
    if (t === '') return 'empty target';
    const hash = t.indexOf('#');
    let p = hash < 0 ? t : t.slice(0, hash);
    let frag = hash < 0 ? null : t.slice(hash + 1);
    p = p.replace(/\?.*$/, '');
    try { p = decodeURIComponent(p); } catch (e) { /* keep as written */ }
    if (frag !== null) { try { frag = decodeURIComponent(frag); } catch (e) { /* keep */ } }
    let abs;
    if (p === '') abs = path.join(docRoot, file);
    else if (p.startsWith('/')) abs = path.join(docRoot, p);
    else abs = path.resolve(path.dirname(path.join(docRoot, file)), p);
    const rel = path.relative(docRoot, abs);
    if (rel.startsWith('..') || path.isAbsolute(rel)) return `${p} is outside the repository`;
    if (!fs.existsSync(abs)) return `${rel || p} does not exist`;
    if (frag === null || frag === '' || frag === 'top') return null;
    const st = fs.statSync(abs);
    if (st.isDirectory()) return `#${frag}: ${rel}/ is a directory, it has no anchors`;
    if (!/\.(md|markdown)$/i.test(abs)) {
        if (/^L\d+(C\d+)?(-L\d+(C\d+)?)?$/.test(frag)) return null;
        return `#${frag}: ${rel} is not markdown, it has no headings`;
    }
    if (!anchorCache.has(abs)) anchorCache.set(abs, anchors(fs.readFileSync(abs, 'utf8')));
    const set = anchorCache.get(abs);
    if (set.has(frag)) return null;
    let best = null, bestD = 4;
    for (const a of set) {
        const dd = editDistance(frag, a);
        if (dd < bestD) { bestD = dd; best = a; }
    }
    return `no heading in ${rel} has the anchor #${frag}` + (best ? ` (did you mean #${best}?)` : '');
}

function cmdLinks(docRoot, files) {
    const cache = new Map();
    for (const f of files) {
        console.log(`F\t${f}`);
        const s = scan(fs.readFileSync(path.join(docRoot, f), 'utf8'));
        for (const l of links(s)) {
            const why = brokenReason(docRoot, f, l, cache);
            if (why) {
                const shown = l.kind === 'reference' ? `[${l.text}][${l.label}]`
                    : l.kind === 'html' ? l.text
                    : l.kind === 'definition' ? `[${l.text}]: ${l.target}`
                    : `${l.kind === 'image' ? '!' : ''}[${l.text.replace(/\s+/g, ' ')}](${l.target})`;
                console.log(`B\t${f}:${l.n}: ${shown.length > 120 ? shown.slice(0, 117) + '...' : shown}: ${why}`);
            }
        }
    }
}

// ---------------------------------------------------------------- make

// The targets a Makefile (and what it includes by a literal path) defines.
function makeTargets(codeRoot) {
    const vars = new Map();
    const targets = new Set();
    const expand = (str, depth = 0) => {
        if (depth > 10) return str;
        return str.replace(/\$[({]([A-Za-z0-9_.-]+)(?::([^=)}]*)=([^)}]*))?[)}]/g, (m, name, from, to) => {
            if (!vars.has(name)) return m;
            let v = expand(vars.get(name), depth + 1);
            if (from !== undefined) {
                const f = expand(from, depth + 1), t = expand(to, depth + 1);
                v = v.split(/\s+/).filter(Boolean).map((w) => {
                    if (f.includes('%')) {
                        const [pre, suf] = f.split('%');
                        if (w.startsWith(pre) && w.endsWith(suf) && w.length >= pre.length + suf.length) {
                            const stem = w.slice(pre.length, w.length - suf.length);
                            return t.includes('%') ? t.replace('%', stem) : t;
                        }
                        return w;
                    }
                    return w.endsWith(f) ? w.slice(0, w.length - f.length) + t : w;
                }).join(' ');
            }
            return v;
        });
    };
    const read = (file, depth) => {
        if (depth > 5 || !fs.existsSync(file)) return;
        const logical = fs.readFileSync(file, 'utf8').replace(/\\\n/g, ' ').split('\n');
        let inDefine = false;
        for (const line of logical) {
            if (inDefine) { if (/^\s*endef\b/.test(line)) inDefine = false; continue; }
            if (/^\s*define\b/.test(line)) { inDefine = true; continue; }
            if (line.startsWith('\t') || /^\s*#/.test(line)) continue;
            const inc = /^\s*-?include\s+(.*)$/.exec(line);
            if (inc) {
                for (const w of expand(inc[1]).split(/\s+/)) {
                    if (w && !w.includes('$') && !w.includes('*')) read(path.join(codeRoot, w), depth + 1);
                }
                continue;
            }
            const asg = /^\s*(?:override\s+|export\s+)?([A-Za-z0-9_.-]+)\s*(:{1,3}=|\?=|\+=|!=|=)\s*(.*)$/.exec(line);
            if (asg) {
                const [, name, op, value] = asg;
                if (op === '+=') vars.set(name, (vars.has(name) ? vars.get(name) + ' ' : '') + value);
                else if (op === '?=') { if (!vars.has(name)) vars.set(name, value); }
                else if (op !== '!=') vars.set(name, op.startsWith(':') ? expand(value) : value);
                continue;
            }
            const rule = /^([^\t#=:][^=:]*?)\s*::?(?!=)(.*)$/.exec(line);
            if (!rule) continue;
            const heads = expand(rule[1]).split(/\s+/).filter(Boolean);
            for (const h of heads) if (!h.includes('$') && !h.includes('%')) targets.add(h);
            if (heads.includes('.PHONY')) {
                for (const w of expand(rule[2]).split(/\s+/)) if (w && !w.includes('$')) targets.add(w);
            }
        }
    };
    read(path.join(codeRoot, 'Makefile'), 0);
    for (const t of [...targets]) if (t.startsWith('.')) targets.delete(t);
    return targets;
}

// `make ...` invocations in a code line: [{targets: [...], text}]
function makeInvocations(code) {
    const out = [];
    // Drop a shell comment: "#" at the start or after a blank.
    const line = code.replace(/(^|\s)#.*$/, '$1');
    const re = /(^|[\s;&|(`$])make(?=\s|$)([^;&|)`<>\n]*)/g;
    let m;
    while ((m = re.exec(line))) {
        // At a command's place (the line's start after "$ ", "sudo",
        // VAR=value, or after ; && || | ( `) every word may be a target; in
        // a sentence ("the server that make run starts") only the first.
        const before = line.slice(0, m.index + m[1].length);
        const command = /(^|[;&|(`]|\$(?!\())\s*(sudo\s+)?([A-Za-z_][A-Za-z0-9_]*=\S*\s+)*$/.test(before);
        const words = m[2].trim().split(/\s+/).filter(Boolean);
        const targets = [];
        let other = false;
        for (let i = 0; i < words.length; i++) {
            const w = words[i];
            if (/^-[CfIoWj]$/.test(w) || /^--(directory|file|makefile|include-dir|old-file|what-if|jobs)$/.test(w)) {
                if (w === '-C' || w === '--directory') {
                    const d = words[i + 1] || '';
                    if (d !== '.' && d !== './') other = true;
                }
                if (w !== '-j' && w !== '--jobs' || /^\d+$/.test(words[i + 1] || '')) i++;
                continue;
            }
            if (/^-C./.test(w) || /^--directory=/.test(w)) {
                const d = w.replace(/^-C|^--directory=/, '');
                if (d !== '.' && d !== './') other = true;
                continue;
            }
            if (w.startsWith('-')) continue;
            if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(w)) continue; // a variable
            // Prose in a code block ("make run: port check, ..."): a word
            // ending in , : ; or . is the last target; anything else stops.
            const t = /^([A-Za-z0-9_\/%+-][A-Za-z0-9_.\/%+-]*?)([,:;.]?)$/.exec(w);
            if (!t) break;
            targets.push(t[1]);
            if (t[2] || !command) break;
        }
        if (!other) out.push({ targets, text: ('make' + m[2]).trim() });
    }
    return out;
}

function cmdMake(docRoot, codeRoot, files) {
    const have = makeTargets(codeRoot);
    console.log(`T\t${[...have].sort().join(' ')}`);
    for (const f of files) {
        const s = scan(fs.readFileSync(path.join(docRoot, f), 'utf8'));
        const code = [];
        for (const fe of s.fences) for (const l of fe.lines) code.push(l);
        for (const sp of s.spans) code.push(sp);
        code.sort((a, b) => a.n - b.n);
        for (const c of code) {
            for (const inv of makeInvocations(c.text)) {
                for (const t of inv.targets) {
                    console.log(`${have.has(t) ? 'OK' : 'MISSING'}\t${t}\t${f}:${c.n}\t${inv.text}`);
                }
            }
        }
    }
}

// ---------------------------------------------------------------- env

function walk(dir) {
    let out = [];
    if (!fs.existsSync(dir)) return out;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) out = out.concat(walk(p));
        else if (e.isFile()) out.push(p);
    }
    return out.sort();
}

function listDir(dir, re) {
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir).filter((n) => re.test(n)).sort()
        .map((n) => path.join(dir, n)).filter((p) => fs.statSync(p).isFile());
}

function cmdEnv(docRoot, codeRoot) {
    const NAME = /SSELIGHT_[A-Z0-9_]+/g;
    // 1. Names in the docs -> where.
    const docFiles = [path.join(docRoot, 'README.md')]
        .concat(listDir(path.join(docRoot, 'docs'), /\.md$/))
        .concat(listDir(path.join(docRoot, 'man'), /\.[0-9][a-z]*$/))
        .filter((f) => fs.existsSync(f));
    const inDocs = new Map();
    for (const f of docFiles) {
        const rel = path.relative(docRoot, f);
        fs.readFileSync(f, 'utf8').split('\n').forEach((l, i) => {
            for (const m of l.matchAll(NAME)) {
                if (!inDocs.has(m[0])) inDocs.set(m[0], []);
                const locs = inDocs.get(m[0]);
                const loc = `${rel}:${i + 1}`;
                if (!locs.includes(loc)) locs.push(loc);
            }
        });
    }
    // 2. Names anywhere in the code.
    const codeFiles = listDir(path.join(codeRoot, 'src'), /\.[ch]$/)
        .concat(listDir(path.join(codeRoot, 'tools'), /./))
        .concat([path.join(codeRoot, 'lighttpd.conf'), path.join(codeRoot, 'Makefile')])
        .concat(walk(path.join(codeRoot, 'deploy')))
        .filter((f) => fs.existsSync(f));
    const inCode = new Set();
    for (const f of codeFiles) {
        for (const m of fs.readFileSync(f, 'utf8').matchAll(NAME)) inCode.add(m[0]);
    }
    for (const [name, locs] of [...inDocs].sort()) {
        // A name ending in "_" (SSELIGHT_METRICS_*) is a prefix.
        const found = name.endsWith('_') ? [...inCode].some((c) => c.startsWith(name)) : inCode.has(name);
        const shown = locs.length > 4 ? locs.slice(0, 4).join(', ') + `, and ${locs.length - 4} more` : locs.join(', ');
        console.log(`DOC\t${name}\t${shown}\t${found ? 'found' : 'missing'}`);
    }
    // 3. What the code reads: in src, getenv("SSELIGHT_..."), the settings
    // table { "key", "SSELIGHT_..." }, stream_main_env_number("SSELIGHT_...",
    // #define NAME "SSELIGHT_..." (CONFIG_ENV); ${SSELIGHT_...}
    // or $SSELIGHT_... read by the shell scripts in tools/.
    const reads = new Map();
    const keys = [];
    for (const f of listDir(path.join(codeRoot, 'src'), /\.[ch]$/)) {
        const rel = path.relative(codeRoot, f);
        const text = fs.readFileSync(f, 'utf8');
        text.split('\n').forEach((l, i) => {
            const re = /(?:getenv\s*\(\s*|_env_number\s*\(\s*|\{\s*"[a-z][a-z0-9_]*",\s*|#\s*define\s+\w+\s+)"(SSELIGHT_[A-Z0-9_]+)"/g;
            for (const m of l.matchAll(re)) {
                if (!reads.has(m[1])) reads.set(m[1], `${rel}:${i + 1}`);
            }
            const k = /\{\s*"([a-z][a-z0-9_]*)",\s*"(SSELIGHT_[A-Z0-9_]+)"/.exec(l);
            if (k && path.basename(f) === 'config.c') keys.push({ key: k[1], env: k[2], loc: `${rel}:${i + 1}` });
        });
    }
    for (const f of listDir(path.join(codeRoot, 'tools'), /\.sh$/)) {
        const rel = path.relative(codeRoot, f);
        fs.readFileSync(f, 'utf8').split('\n').forEach((l, i) => {
            if (/^\s*#/.test(l)) return;
            for (const m of l.matchAll(/\$\{?(SSELIGHT_[A-Z0-9_]+)/g)) {
                // Set by the script itself first (run.sh's SSELIGHT_RUN_DIR=$(mktemp)) still
                // counts: lighttpd-env.sh reads it for lighttpd -f lighttpd.conf users.
                if (!reads.has(m[1])) reads.set(m[1], `${rel}:${i + 1}`);
            }
        });
    }
    const conf = path.join(docRoot, 'docs', 'configuration.md');
    if (!fs.existsSync(conf)) { console.log('NOCONF'); return; }
    const confText = fs.readFileSync(conf, 'utf8');
    const confNames = new Set(confText.match(NAME) || []);
    for (const [name, loc] of [...reads].sort()) {
        console.log(`READ\t${name}\t${loc}\t${confNames.has(name) ? 'documented' : 'undocumented'}`);
    }
    // Settings-file keys: named in code in docs/configuration.md (a code span
    // or a fenced block), since "prefix" or "sync" alone is an ordinary word.
    const s = scan(confText);
    const codeText = s.spans.map((x) => x.text).concat(
        ...s.fences.map((fe) => fe.lines.map((l) => l.text))).join('\n');
    for (const k of keys) {
        const re = new RegExp(`(^|[^A-Za-z0-9_])${k.key}([^A-Za-z0-9_]|$)`, 'm');
        console.log(`KEY\t${k.key}\t${k.loc}\t${re.test(codeText) ? 'documented' : 'undocumented'}`);
    }
}

// ---------------------------------------------------------------- console

function cmdConsole(file, outDir) {
    const s = scan(fs.readFileSync(file, 'utf8'));
    fs.mkdirSync(outDir, { recursive: true });
    let count = 0, blocks = 0;
    for (const fe of s.fences) {
        const lang = fe.info.split(/\s+/)[0].replace(/^\{?\.?|\}$/g, '');
        if (lang !== 'console') {
            for (const l of fe.lines) {
                // A curl or sselight-pub command: first word (after "$ ",
                // "sudo", VAR=value) or after a pipe, ";" or "&&".
                if (/(^|[|;&(]\s*|^\s*(\$\s+)?(sudo\s+)?([A-Z_][A-Z0-9_]*=\S*\s+)*)(curl|[\w.\/-]*sselight-pub)\s/.test(l.text) &&
                    !/^\s*#/.test(l.text)) {
                    console.log(`UNCHECKED\t${l.n}\t${fe.info || '(no info string)'}\t${l.text.trim()}`);
                }
            }
            continue;
        }
        blocks++;
        let cur = null;
        const flush = () => {
            if (!cur) return;
            count++;
            const id = String(count).padStart(3, '0');
            fs.writeFileSync(path.join(outDir, id + '.cmd'), cur.cmd);
            fs.writeFileSync(path.join(outDir, id + '.exp'), cur.exp.map((x) => x + '\n').join(''));
            const stream = cur.exp.length > 0 && cur.exp[cur.exp.length - 1] === ELLIPSIS ? 1 : 0;
            console.log(`CMD\t${id}\t${cur.n}\t${stream}\t${cur.cmd.replace(/\\\n\s*/g, '').replace(/\n/g, ' ')}`);
            cur = null;
        };
        for (let i = 0; i < fe.lines.length; i++) {
            const l = fe.lines[i];
            const text = l.text.replace(/\r$/, '');
            if (text.startsWith('$ ')) {
                flush();
                cur = { n: l.n, cmd: text.slice(2), exp: [] };
                // A command ending in "\" goes on on the next line.
                while (/\\$/.test(cur.cmd) && i + 1 < fe.lines.length) {
                    i++;
                    cur.cmd += '\n' + fe.lines[i].text.replace(/\r$/, '');
                }
            } else if (cur) {
                cur.exp.push(text);
            } else {
                console.log(`ORPHAN\t${l.n}\t${text}`);
            }
        }
        flush();
    }
    console.log(`BLOCKS\t${blocks}\t${count}`);
}

function readLines(f) {
    let t = fs.readFileSync(f, 'utf8').replace(/\r/g, '');
    if (t === '') return [];
    if (t.endsWith('\n')) t = t.slice(0, -1);
    return t.split('\n');
}

function cmdMatch(expFile, actFile, outFile) {
    const E = readLines(expFile), A = readLines(actFile);
    const n = E.length, m = A.length;
    // cost[i][j]: aligning E[i..] with A[j..], an unmatched line costs MISS,
    // a line that a "…" stands for 1 (so "…" takes no line it need not).
    // They match when nothing is unmatched.
    const MISS = 1000000;
    const cost = Array.from({ length: n + 1 }, () => new Float64Array(m + 1));
    for (let i = n; i >= 0; i--) {
        for (let j = m; j >= 0; j--) {
            if (i === n) { cost[i][j] = MISS * (m - j); continue; }
            if (E[i] === ELLIPSIS) {
                cost[i][j] = Math.min(cost[i + 1][j], j < m ? 1 + cost[i][j + 1] : Infinity);
                continue;
            }
            let c = MISS + cost[i + 1][j];
            if (j < m) {
                c = Math.min(c, MISS + cost[i][j + 1]);
                if (E[i] === A[j]) c = Math.min(c, cost[i + 1][j + 1]);
            }
            cost[i][j] = c;
        }
    }
    if (cost[0][0] < MISS) process.exit(0);
    const out = [];
    let i = 0, j = 0;
    while (i < n || j < m) {
        if (i < n && E[i] === ELLIPSIS) {
            if (j < m && cost[i][j] === 1 + cost[i][j + 1]) { out.push(A[j]); j++; } else i++;
            continue;
        }
        if (i < n && j < m && E[i] === A[j] && cost[i][j] === cost[i + 1][j + 1]) { out.push(E[i]); i++; j++; continue; }
        if (i < n && cost[i][j] === MISS + cost[i + 1][j]) { out.push(E[i]); i++; continue; }
        j++; // an actual line the expectation lacks
    }
    fs.writeFileSync(outFile, out.map((x) => x + '\n').join(''));
    process.exit(1);
}

// ---------------------------------------------------------------- synopsis

function cmdSynopsis(kind, tool) {
    const lines = fs.readFileSync(0, 'utf8').replace(/\r/g, '').split('\n');
    const syn = [];
    const esc = tool.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    if (kind === 'help') {
        if (!new RegExp(`^usage: ${esc}( |$)`).test(lines[0] || '')) process.exit(1);
        syn.push(lines[0].slice('usage: '.length));
        for (let i = 1; i < lines.length; i++) {
            if (!new RegExp(`^ +${esc}( |$)`).test(lines[i])) break;
            syn.push(lines[i]);
        }
    } else {
        const start = lines.findIndex((l) => /^SYNOPSIS\s*$/.test(l));
        if (start < 0) process.exit(1);
        const body = [];
        for (let i = start + 1; i < lines.length; i++) {
            if (/^\S/.test(lines[i])) break; // the next section
            if (lines[i].trim()) body.push(lines[i]);
        }
        const base = Math.min(...body.map((l) => l.match(/^ */)[0].length));
        for (const l of body) {
            const t = l.slice(base);
            if (new RegExp(`^${esc}( |$)`).test(t) || syn.length === 0) syn.push(t);
            else syn[syn.length - 1] += ' ' + t;
        }
    }
    for (const x of syn) console.log(x.replace(/\s+/g, ' ').trim());
}

// ---------------------------------------------------------------- main

const [cmd, ...args] = process.argv.slice(2);
switch (cmd) {
    case 'links': cmdLinks(args[0], args.slice(1)); break;
    case 'make': cmdMake(args[0], args[1], args.slice(2)); break;
    case 'env': cmdEnv(args[0], args[1]); break;
    case 'console': cmdConsole(args[0], args[1]); break;
    case 'match': cmdMatch(args[0], args[1], args[2]); break;
    case 'synopsis': cmdSynopsis(args[0], args[1]); break;
    case 'anchors': console.log([...anchors(fs.readFileSync(args[0], 'utf8'))].join('\n')); break;
    default:
        console.error('usage: node md_docs.js links|make|env|console|match|synopsis|anchors ...');
        process.exit(2);
}
