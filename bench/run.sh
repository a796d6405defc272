#!/bin/bash
# make bench: sselight (the shipped lighttpd.conf + responders) and
# nginx + nchan (bench/nginx-nchan.conf.in, one worker), side by side in the
# same run, under the same load from build/sse_load (loopback only).
# Writes bench/results/DATE.md and DATE.svg; prints progress as it goes.
# Bounded: every load run has its own timeout; the Makefile wraps it all.
source "$(dirname "$0")/../tests/lib/harness.sh"
source "$(dirname "$0")/lib.sh"
set -u
LOAD=$ROOT/build/sse_load
RESULTS=$ROOT/bench/results
STAMP=$(date -u +%Y-%m-%d)
mkdir -p "$RESULTS"
TSV=$OUT_DIR/rows.tsv
: > "$TSV"
TICK=$(getconf CLK_TCK)

# --- process accounting -----------------------------------------------------
pids_named() { # pids_named ROOTPID NAME: the tree's processes whose comm is NAME
    local p
    for p in $(descendants "$1"); do
        [ "$(cat /proc/"$p"/comm 2>/dev/null)" = "$2" ] && echo "$p"
    done
}

# --- the two servers: server_start (harness.sh), nchan_start (lib.sh) -------
cleanup() { nchan_stop; server_stop; rm -rf "${SSELIGHT_DATA_DIR:-/nonexistent}"; }
trap cleanup EXIT

# --- one measurement --------------------------------------------------------
# run_one SERVER CELL N M R: appends a row to $TSV and prints a summary.
RUN=0
run_one() {
    local server=$1 cell=$2 n=$3 m=$4 r=$5 port sub pub resp web
    RUN=$((RUN + 1))
    local ch="b${RUN}x$n"
    if [ "$server" = sselight ]; then
        port=$PORT sub=/events/$ch pub=/events/$ch
        resp=$(pids_named "$SERVER_PID" stream.fcgi | tr '\n' ' ')
        web=$(pids_named "$SERVER_PID" lighttpd | tr '\n' ' ')
    else
        port=$NCHAN_PORT sub=/sub/$ch pub=/pub/$ch
        resp=""
        web=$(descendants "$NGINX_PID" | tr '\n' ' ')
    fi
    local base_resp base_web cpu_resp0 cpu_web0 peak_resp peak_web
    base_resp=$(rss_kb $resp); base_web=$(rss_kb $web)
    cpu_resp0=$(cpu_ticks $resp); cpu_web0=$(cpu_ticks $web)
    peak_resp=$base_resp; peak_web=$base_web
    local cpu_pub0=""
    "$LOAD" --port "$port" --sub-path "$sub" --pub-path "$pub" -n "$n" -m "$m" -r "$r" \
        --timeout 90 > "$OUT_DIR/run$RUN.json" 2> "$OUT_DIR/run$RUN.err" &
    local lp=$!
    while kill -0 "$lp" 2>/dev/null; do
        local a b
        a=$(rss_kb $resp); b=$(rss_kb $web)
        [ "$a" -gt "$peak_resp" ] && peak_resp=$a
        [ "$b" -gt "$peak_web" ] && peak_web=$b
        # Once every subscriber is in: CPU from here on is delivery, not
        # connection set-up (10,000 connects cost more than 10 messages).
        if [ -z "$cpu_pub0" ] && grep -q 'publishing' "$OUT_DIR/run$RUN.err"; then
            cpu_pub0=$(cpu_ticks $resp $web)
        fi
        sleep 0.2
    done
    wait "$lp"
    local cpu_resp cpu_web cpu_pub j
    cpu_pub=$(awk -v a="${cpu_pub0:-0}" -v b="$(cpu_ticks $resp $web)" -v t="$TICK" 'BEGIN { printf "%.2f", (b - a) / t }')
    cpu_resp=$(awk -v a="$cpu_resp0" -v b="$(cpu_ticks $resp)" -v t="$TICK" 'BEGIN { printf "%.2f", (b - a) / t }')
    cpu_web=$(awk -v a="$cpu_web0" -v b="$(cpu_ticks $web)" -v t="$TICK" 'BEGIN { printf "%.2f", (b - a) / t }')
    j=$(cat "$OUT_DIR/run$RUN.json")
    field() { grep -o "\"$1\":[0-9.]*" <<< "$j" | cut -d: -f2; }
    local est del exp p50 p99 max pubs pubsec
    est=$(field established); del=$(field delivered); exp=$(field expected)
    p50=$(field p50_ms); p99=$(field p99_ms); max=$(field max_ms)
    pubs=$(field published); pubsec=$(field pub_seconds)
    local kb_resp kb_web
    kb_resp=$(awk -v a="$base_resp" -v b="$peak_resp" -v n="$n" 'BEGIN { printf "%.2f", (b - a) / n }')
    kb_web=$(awk -v a="$base_web" -v b="$peak_web" -v n="$n" 'BEGIN { printf "%.2f", (b - a) / n }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$server" "$cell" "$n" "$m" "$r" "${est:-0}" "${del:-0}" "${exp:-0}" \
        "${p50:-nan}" "${p99:-nan}" "${max:-nan}" "$kb_resp" "$kb_web" \
        "$cpu_resp" "$cpu_web" "${pubs:-0}" "${pubsec:-0}" "$cpu_pub" >> "$TSV"
    printf 'bench: %-8s cell %s  N=%-5s %3s msgs @ %3s/s  established %s  delivered %s/%s  p50 %s  p99 %s  max %s ms  KB/sub resp %s web %s\n' \
        "$server" "$cell" "$n" "$m" "$r" "${est:-0}" "${del:-0}" "${exp:-0}" \
        "${p50:-?}" "${p99:-?}" "${max:-?}" "$kb_resp" "$kb_web"
}

# Fresh server processes for every run, so "memory per subscriber" is not
# hidden by memory an earlier, larger run left allocated.
run_sselight() {
    server_stop
    server_start || { echo "bench: lighttpd did not start" >&2; exit 1; }
    run_one sselight "$@"
    server_stop
}
run_nchan() {
    nchan_stop
    nchan_start || exit 1
    run_one nchan "$@"
    nchan_stop
}
both() { run_sselight "$@"; run_nchan "$@"; }
both_nchan_first() { run_nchan "$@"; run_sselight "$@"; }

# --- the cells --------------------------------------------------------------
export SSELIGHT_DATA_DIR=$(mktemp -d /tmp/sselight-d.XXXXXX)
echo "bench: sselight (lighttpd.conf) and nginx + nchan, each restarted before every run"

# Cell 1 at N = 1000 three times (its p99 is compared across versions).
both 1 1000 20 10
both_nchan_first 1 1000 20 10
for n in 1000 5000 10000; do both 1 "$n" 20 10; done
# Cell 2 three times, alternating which server goes first.
both 2 10000 10 2
both_nchan_first 2 10000 10 2
both 2 10000 10 2
for r in 100 200 400 800; do both 3 1000 $((r * 3)) "$r"; done

# --- results ------------------------------------------------------------------
MD=$RESULTS/$STAMP.md
SVG=$RESULTS/$STAMP.svg
row() { awk -F'\t' -v s="$1" -v c="$2" -v n="$3" -v r="$4" '$1 == s && $2 == c && $3 == n && $5 == r' "$TSV"; }
{
    echo "# make bench, $STAMP"
    echo
    echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -r)."
    echo "sselight: the shipped lighttpd.conf ($(lighttpd -v 2>&1 | head -n1 | cut -d' ' -f1), server.max-worker = 2) and one stream responder."
    echo "nginx + nchan: $(nginx -v 2>&1 | cut -d/ -f2), libnginx-mod-nchan $(dpkg-query -W -f='${Version}' libnginx-mod-nchan 2>/dev/null), one worker (bench/nginx-nchan.conf.in)."
    echo "Load: build/sse_load (bench/sse_load.c), one epoll process, HTTP/1.0 subscribers on loopback; each message is one POST stamped with its send time; latency = receive - send over all deliveries."
    echo "Memory per subscriber = (peak RSS during the run - RSS before) / N; CPU = user + system seconds during the run; CPU s delivering = from the first publish on (set-up of the connections left out)."
    echo "The web server CPU of nchan includes the nginx master (idle)."
    echo "Single runs on a shared 2-core machine: expect +-30 % between runs; cells 1 (N = 1000) and 2 run three times."
    echo
    echo "| cell | server | N | msgs @ rate | established | delivered / expected | p50 ms | p99 ms | max ms | KB/sub responder | KB/sub web server | CPU s responder | CPU s web server | CPU s delivering | CPU s per 100,000 deliveries |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    awk -F'\t' '{ printf "| %s | %s | %s | %s @ %s/s | %s | %s / %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $2, $1, $3, $4, $5, $6, $7, $8, $9, $10, $11, ($1 == "nchan" ? "-" : $12), $13, ($1 == "nchan" ? "-" : $14), $15, $18, ($7 > 0 ? sprintf("%.2f", $18 * 100000 / $7) : "-") }' "$TSV"
    echo
    echo "Cell 3, highest rate sustained at N = 1000 (all delivered, achieved >= 95 % of offered, p99 < 250 ms):"
    for s in sselight nchan; do
        best=$(awk -F'\t' -v s="$s" '$1 == s && $2 == 3 && $7 == $8 && $8 > 0 && $10 < 250 && $16 / ($17 > 0 ? $17 : 1) >= 0.95 * $5 { if ($5 > b) b = $5 } END { print b + 0 }' "$TSV")
        echo "- $s: ${best}/s"
    done
    echo
    echo "Cell 1 at N = 1000 (10 msgs/s), p99 run by run:"
    for sv in sselight nchan; do
        echo "- $sv: $(awk -F'\t' -v s="$sv" '$1 == s && $2 == 1 && $3 == 1000 { printf "%s%s", (n++ ? ", " : ""), $10 }' "$TSV") ms"
    done
    echo
    echo "Cell 2 (N = 10000, 2 msgs/s), sselight's p99 / nchan's p99, run by run:"
    awk -F'\t' '$2 == 2 { if ($1 == "sselight") s[++ns] = $10; else n[++nn] = $10 }
        END { for (i = 1; i <= ns && i <= nn; i++) printf "- run %d: %s / %s ms = %.2f\n", i, s[i], n[i], (n[i] > 0 ? s[i] / n[i] : 0) }' "$TSV"
    echo
    echo "CPU seconds per 100,000 deliveries, counted from the first publish to the end of the run (sselight: lighttpd + responder; nchan: nginx), sselight / nchan:"
    awk -F'\t' '$7 > 0 { k = $2 " N=" $3 " @ " $5 "/s"; c = $18 * 100000 / $7
            if ($1 == "sselight") { s[k] += c; sn[k]++ } else { n[k] += c; nn[k]++ }; if (!(k in seen)) { seen[k] = 1; order[++o] = k } }
        END { for (i = 1; i <= o; i++) { k = order[i]; if (sn[k] && nn[k]) printf "- cell %s: %.2f / %.2f = %.2f\n", k, s[k] / sn[k], n[k] / nn[k], (n[k] > 0 ? (s[k] / sn[k]) / (n[k] / nn[k]) : 0) } }' "$TSV"
    echo
    echo "Plot: $STAMP.svg (p99 latency and memory per subscriber against N, cell 1)."
} > "$MD"

if command -v gnuplot >/dev/null 2>&1; then
    # one point per N (the last run at that N)
    awk -F'\t' '$2 == 1 && $1 == "sselight" { v[$3] = $3 " " $10 " " ($12 + $13) } END { for (k in v) print v[k] }' "$TSV" | sort -n > "$OUT_DIR/s.dat"
    awk -F'\t' '$2 == 1 && $1 == "nchan" { v[$3] = $3 " " $10 " " $13 } END { for (k in v) print v[k] }' "$TSV" | sort -n > "$OUT_DIR/n.dat"
    gnuplot <<GP
set terminal svg size 900,400 dynamic font "sans,11"
set output "$SVG"
set multiplot layout 1,2 title "make bench $STAMP: 20 messages at 10/s"
set xlabel "subscribers"
set key top left
set grid
set ylabel "p99 latency (ms)"
plot "$OUT_DIR/s.dat" using 1:2 with linespoints title "sselight", "$OUT_DIR/n.dat" using 1:2 with linespoints title "nginx + nchan"
set ylabel "memory per subscriber (KB)"
set yrange [0:*]
plot "$OUT_DIR/s.dat" using 1:3 with linespoints title "sselight (lighttpd + responder)", "$OUT_DIR/n.dat" using 1:3 with linespoints title "nginx + nchan"
unset multiplot
GP
fi
echo "bench: wrote $MD${SVG:+ and $SVG}"
cat "$MD"
