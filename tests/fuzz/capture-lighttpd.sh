#!/bin/bash
# Captures the FastCGI bytes lighttpd really sends to a responder, as seeds
# for fuzz_fcgi_reader (tests/fuzz/corpus/fuzz_fcgi_reader/lighttpd-*).
# Not run by make: run it by hand when the seeds should be refreshed.
# Needs lighttpd, curl and python3. Each seed is two selector bytes (chunk
# size, body limit; see fuzz_fcgi_reader.c) followed by the captured stream.
set -eu
cd "$(dirname "$0")/../.."
out=tests/fuzz/corpus/fuzz_fcgi_reader
dir=$(mktemp -d)
trap 'kill $srv $httpd 2>/dev/null; rm -rf "$dir"' EXIT
mkdir -p "$out" "$dir/www"
port=$(node tests/lib/free-port.js 2>/dev/null || echo 18791)

# A fake responder: records what arrives on each connection until the empty
# STDIN record, answers a tiny response and END_REQUEST.
cat > "$dir/srv.py" <<'PY'
import os, socket, struct, sys
path, outdir = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path); s.listen(8)
n = 0
while True:
    c, _ = s.accept()
    data = b""
    done = False
    while not done:
        chunk = c.recv(65536)
        if not chunk:
            break
        data += chunk
        p = 0
        while len(data) - p >= 8:
            _, typ, rid, clen, plen = struct.unpack(">BBHHB", data[p:p+7])
            if len(data) - p < 8 + clen + plen:
                break
            if typ == 5 and clen == 0:
                done = True
            p += 8 + clen + plen
    with open(os.path.join(outdir, "cap%d" % n), "wb") as f:
        f.write(data)
    n += 1
    body = b"Status: 200\r\nContent-Type: text/plain\r\n\r\nok\n"
    pad = (8 - len(body) % 8) % 8
    c.sendall(struct.pack(">BBHHBB", 1, 6, rid, len(body), pad, 0) + body + b"\0" * pad
              + struct.pack(">BBHHBB", 1, 6, rid, 0, 0, 0)
              + struct.pack(">BBHHBB", 1, 3, rid, 8, 0, 0) + b"\0" * 8)
    c.close()
PY
python3 "$dir/srv.py" "$dir/fcgi.sock" "$dir" & srv=$!
cat > "$dir/lighttpd.conf" <<CONF
server.modules = ( "mod_fastcgi" )
server.document-root = "$dir/www"
server.port = $port
server.bind = "127.0.0.1"
fastcgi.server = ( "/" => (( "socket" => "$dir/fcgi.sock", "check-local" => "disable" )) )
CONF
for _ in $(seq 50); do [ -S "$dir/fcgi.sock" ] && break; sleep 0.1; done
/usr/sbin/lighttpd -D -f "$dir/lighttpd.conf" & httpd=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
# cap0 is that readiness probe; the requests below are cap1...

u=http://127.0.0.1:$port
curl -s -o /dev/null "$u/events/news?history=10"
curl -s -o /dev/null -H 'Last-Event-ID: 41' "$u/events?channel=news&channel=alerts"
curl -s -o /dev/null --data-binary $'two\r\nlines\rand\nmore' "$u/events/news?event=update"
curl -s -o /dev/null -H 'Content-Type: text/event-stream' \
    --data-binary $'event: a\r\ndata: 1\r\n\r\n: note\nevent: b\ndata: 2\ndata:3\n' "$u/events/news"
curl -s -o /dev/null -d 'text=hello+%3Cb%3Eworld%3C%2Fb%3E' "$u/room/messages"
sleep 0.3

names=(get-history get-resume post-data post-batch post-form)
i=1
for name in "${names[@]}"; do
    # chunk size 0 (all at once) and 7 (records split mid-header); body limit 64*64
    { printf '\000\100'; cat "$dir/cap$i"; } > "$out/lighttpd-$name"
    i=$((i + 1))
done
{ printf '\007\001'; cat "$dir/cap3"; } > "$out/lighttpd-post-data-split"
ls -l "$out"
