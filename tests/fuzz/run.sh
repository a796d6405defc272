#!/bin/bash
# Runs libFuzzer harnesses (built by make fuzz-build) for a fixed time each.
# usage: tests/fuzz/run.sh [--build] SECONDS [NAME...]
# --build runs make fuzz-build first (make test uses this, so the part's
# output ends with the summary line even when a harness fails); no NAME
# means every tests/fuzz/fuzz_*.c.
# Prints one "ok"/"not ok" line per harness with the executions it ran
# (libFuzzer's final "Done N runs" line), writes the same to
# $TEST_OUT/fuzz/summary.txt (test-output/ by default) with each harness's
# full log beside it, and ends with "fuzz: N passed, N failed". A harness
# passes when it ran its time without a crash, leak, timeout or failed
# property. The committed seeds (tests/fuzz/corpus/NAME) are only read; new
# inputs go to build/fuzz/corpus/NAME and crashes to build/fuzz/artifacts/.
set -u
cd "$(dirname "$0")/../.."
build=0
if [ "${1:-}" = --build ]; then
    build=1
    shift
fi
secs=$1
shift
if [ $# -eq 0 ]; then
    set -- $(ls tests/fuzz/fuzz_*.c | sed -E 's|.*/(fuzz_[a-z0-9_]+)\.c$|\1|')
fi
if [ "$build" = 1 ] && ! make --no-print-directory fuzz-build; then
    echo "not ok - the fuzz harnesses did not build"
    echo "fuzz: 0 passed, 1 failed"
    exit 1
fi
out=${TEST_OUT:-$PWD/test-output}/fuzz
mkdir -p "$out"
summary=$out/summary.txt
echo "fuzz run $(date -u +%Y-%m-%dT%H:%M:%SZ), $secs s per harness" > "$summary"

passed=0
failed=0
for name in "$@"; do
    bin=build/fuzz/$name
    seeds=tests/fuzz/corpus/$name
    scratch=build/fuzz/corpus/$name
    artifacts=build/fuzz/artifacts/$name
    log=$out/$name.log
    mkdir -p "$scratch" "$artifacts"
    dict=()
    [ -f "tests/fuzz/dict/$name.dict" ] && dict=(-dict="tests/fuzz/dict/$name.dict")
    # The first corpus dir is the one libFuzzer writes to: the scratch one.
    timeout -k 5 $((secs * 2 + 60)) "$bin" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
        -artifact_prefix="$artifacts/" "$scratch" "$seeds" > "$log" 2>&1
    rc=$?
    runs=$(sed -nE 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\1/p' "$log" | tail -n1)
    final=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n1)
    cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<< "$final")
    corp=$(sed -nE 's/.*corp: ([0-9]+)\/.*/\1/p' <<< "$final")
    if [ "$rc" -eq 0 ] && [ -n "$runs" ]; then
        line="ok - $name: $runs runs in $secs s, cov $cov, corpus $corp"
        passed=$((passed + 1))
    else
        execs=$(sed -nE 's/^stat::number_of_executed_units: ([0-9]+)/\1/p' "$log" | tail -n1)
        why=$(grep -E 'ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error:|fuzz property failed' "$log" | head -n1)
        crash=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -n1)
        line="not ok - $name: exit $rc after ${execs:-?} runs: ${why:-see $log}${crash:+; input: $crash}"
        failed=$((failed + 1))
    fi
    echo "$line"
    echo "$line" >> "$summary"
    if [ "$rc" -ne 0 ]; then
        echo "# last lines of $log:"
        tail -n 40 "$log" | sed 's/^/# /'
    fi
done
echo "# summary: $summary"
echo "fuzz: $passed passed, $failed failed" | tee -a "$summary"
[ "$failed" -eq 0 ]
