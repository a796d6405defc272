# bench/lib.sh: process accounting shared by the benchmark scripts (sourced
# after tests/lib/harness.sh). Reads /proc only.
descendants() { # the pid and all below it
    local p
    echo "$1"
    for p in $(pgrep -P "$1"); do descendants "$p"; done
}
rss_kb() { # summed VmRSS of the given pids
    local p t=0 v
    for p in "$@"; do
        v=$(awk '/^VmRSS:/ { print $2 }' /proc/"$p"/status 2>/dev/null)
        t=$((t + ${v:-0}))
    done
    echo "$t"
}
cpu_ticks() { # summed user + system clock ticks of the given pids
    local p t=0 v
    for p in "$@"; do
        v=$(awk '{ print $14 + $15 }' /proc/"$p"/stat 2>/dev/null)
        t=$((t + ${v:-0}))
    done
    echo "$t"
}
