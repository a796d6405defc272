#!/usr/bin/env python3
"""Writes the hand-made seed inputs of tests/fuzz/corpus/ (the lighttpd
captures come from capture-lighttpd.sh). Not run by make: run it by hand
after changing a harness's input layout, and commit the result."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(harness, name, data):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- FastCGI records (fuzz_fcgi_reader: chunk byte, limit byte, stream) ----
def rec(typ, rid, content=b"", pad=None):
    if pad is None:
        pad = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBB", 1, typ, rid, len(content), pad, 0) + content + b"\0" * pad


def plen(n):
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def pairs(d):
    return b"".join(plen(len(k)) + plen(len(v)) + k + v for k, v in d)


def begin(rid, keep=0):
    return rec(1, rid, struct.pack(">HB5x", 1, keep))


def request(rid, params, body=b"", keep=0):
    p = pairs(params)
    return (begin(rid, keep) + rec(4, rid, p) + rec(4, rid) +
            (rec(5, rid, body) if body else b"") + rec(5, rid))


GET = [(b"REQUEST_METHOD", b"GET"), (b"REQUEST_URI", b"/events/news?history=3"),
       (b"QUERY_STRING", b"history=3"), (b"HTTP_LAST_EVENT_ID", b"41")]
F = "fuzz_fcgi_reader"
# two requests on one kept connection, split in 5-byte chunks
write(F, "keep-conn-two", b"\x05\x40" + request(1, GET, keep=1) +
      request(1, [(b"REQUEST_METHOD", b"POST")], b"hello", keep=1))
# management record with id 0
write(F, "get-values", b"\x00\x40" + rec(9, 0, pairs(
    [(b"FCGI_MPXS_CONNS", b""), (b"FCGI_MAX_CONNS", b""), (b"FCGI_MAX_REQS", b"")])))
# aborted while collecting STDIN
write(F, "abort", b"\x03\x40" + begin(1) + rec(4, 1, pairs(GET)) + rec(4, 1) +
      rec(5, 1, b"part") + rec(2, 1))
# lighttpd starting the same request over, then a second BEGIN while active
write(F, "begin-restart", b"\x00\x41" + begin(7) + rec(4, 7, pairs(GET)) +
      request(7, GET) + begin(8))
# a long (4-byte) length and a value split across two PARAMS records
long = pairs([(b"HTTP_COOKIE", b"c" * 300), (b"QUERY_STRING", b"a=1")])
write(F, "long-param-split", b"\x00\x40" + begin(1) + rec(4, 1, long[:100]) +
      rec(4, 1, long[100:]) + rec(4, 1) + rec(5, 1))
# body over the limit (2 * 64 bytes), DATA and an unknown type
write(F, "body-too-large", b"\x01\x04" + begin(1) + rec(4, 1, pairs(GET)) +
      rec(4, 1) + rec(8, 1, b"data") + rec(5, 1, b"x" * 100) +
      rec(5, 1, b"y" * 100) + rec(5, 1) + rec(42, 1, b"?"))
# a role we do not serve and a wrong version
write(F, "bad-role-version", b"\x00\x40" + rec(1, 1, struct.pack(">HB5x", 2, 0)) +
      b"\x02" + rec(1, 1, struct.pack(">HB5x", 1, 0))[1:])

# ---- query strings (fuzz_query: flags byte, text) ----
Q = "fuzz_query"
for i, q in enumerate([b"channel=news&channel=alerts&history=10",
                       b"lastEventId=41&channel=room",
                       b"event=update&x=%3Cb%3E+c&&=y&z",
                       b"text=hello+%E2%82%AC%21&bad=%zz&nul=%00",
                       b"9007199254740992", b"9007199254740993", b"0",
                       b"007", b"..", b"news.v2_x-1", b"room:1"]):
    write(Q, "q%02d" % i, bytes([0x81 if i % 2 else 0x7e]) + q)

# ---- SSE (fuzz_sse: flags, name len, id len, comment len, name, id,
# comment, data) ----
def sse(flags, name=b"", ident=b"", comment=b"", data=b""):
    return bytes([flags, len(name), len(ident), len(comment)]) + name + ident + comment + data


S = "fuzz_sse"
write(S, "fasthtml", sse(3, b"EventName", b"41", b"",
                         b"<div>\n  <p>message number 0</p>\n</div>"))
write(S, "crlf-mix", sse(0x12, b"update", b"", b"", b"a\r\nb\rc\nd\r\r\n\n\re"))
write(S, "comment-retry", sse(7, b"tick", b"", b"heartbeat\nsecond", b""))
write(S, "name-with-cr", sse(1, b"bad\rname", b"", b"", b"x"))
write(S, "batch-body", sse(0x20, data=b"event: a\r\ndata: 1\r\n\r\n: note\nid: 5\n"
                                      b"event: b\ndata: 2\ndata:3\nretry: 100\n\n"
                                      b"event\ndata\n\nevent: only-name\n\ndata:  two spaces"))

# ---- HTML (fuzz_html: text) ----
H = "fuzz_html"
write(H, "script", b"<script>alert('x & \"y\"')</script>")
write(H, "entities", b"&amp; already &lt;escaped&gt; &#39;")
write(H, "utf8", "héllo € 𝄞 — ok".encode())

# ---- UTF-8 (fuzz_utf8: bytes) ----
U = "fuzz_utf8"
for i, s in enumerate([b"hello", "héllo € 𝄞".encode(), b"\xc0\xaf", b"\xed\xa0\x80",
                       b"\xf4\x90\x80\x80", b"\xe2\x82", b"a\x00b", b"\xef\xbb\xbfbom"]):
    write(U, "u%02d" % i, s)
