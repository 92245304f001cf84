#!/usr/bin/env bash
#
# The long fuzzing campaign: every libFuzzer target for SECONDS each (600 by
# default), one after the other, at the lowest CPU priority, on one core.
#
#   bench/fuzz_long.sh [SECONDS] [TARGET...]
#
# Each run starts from the committed seeds (fuzz/corpus/T), the crash
# inputs kept as regression tests (fuzz/regress/T) and what earlier runs
# found (build/fuzz/corpus/T, where new inputs go).  Logs and crash, leak,
# timeout and out-of-memory inputs: build/fuzz/long/.  The table at the end
# (also in build/fuzz/long/summary.txt) has libFuzzer's final numbers:
# executions, edge coverage (cov), features (ft), corpus size, and what
# went wrong.  Exit status 1 when a target found anything.

set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$REPO/build/fuzz/long
SECS=${1:-600}
shift || true
DEFAULT="extract rewrite usage registry calibrate"
[ -f "$REPO/core/src/llmr_feedback.c" ] && DEFAULT="$DEFAULT feedback"
TARGETS=${*:-$DEFAULT}

cd "$REPO" || exit 1
make -s fuzz || exit 1
mkdir -p "$OUT"

summary=$OUT/summary.txt
printf '%-10s %8s %12s %8s %6s %7s %6s  %s\n' target seconds execs exec/s \
    cov ft corpus result >"$summary"

failed=0

for t in $TARGETS; do
    mkdir -p "build/fuzz/corpus/$t" "$OUT/artifacts/$t"
    log=$OUT/$t.log
    seeds=(fuzz/corpus/"$t")
    [ -d "fuzz/regress/$t" ] && seeds+=("fuzz/regress/$t")

    echo "==> fuzz_$t for $SECS s (log: ${log#$REPO/})"

    nice -n 19 "build/fuzz/fuzz_$t" -max_total_time="$SECS" -timeout=10 \
        -rss_limit_mb=2048 -max_len=65536 -dict=fuzz/json.dict \
        -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$t/" \
        "build/fuzz/corpus/$t" "${seeds[@]}" >"$log" 2>&1
    rc=$?

    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
    found=$(ls "$OUT/artifacts/$t" 2>/dev/null | tr '\n' ' ')

    if [ $rc -eq 0 ] && [ -z "$found" ]; then
        result="ok: no crash, leak, timeout or OOM"
    else
        result="FAILED (exit $rc): ${found:-see the log}"
        failed=1
    fi

    printf '%-10s %8s %12s %8s %6s %7s %6s  %s\n' "$t" "$SECS" \
        "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" \
        "$result" >>"$summary"
done

cat "$summary"
exit $failed
