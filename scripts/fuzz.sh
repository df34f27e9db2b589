#!/usr/bin/env bash
# Run libFuzzer harnesses for real (not part of `make check`).
#   scripts/fuzz.sh BUILD_DIR SECONDS JOBS [HARNESS...]
# For each harness: seeds are the corpus inputs the replay driver feeds it (written once to
# BUILD_DIR/fuzz/NAME/seeds), the working corpus grows in BUILD_DIR/fuzz/NAME/corpus, crashes
# land in BUILD_DIR/fuzz/NAME/, and the final statistics (executions, exec/s, cov, ft) are
# printed per harness. JOBS harnesses run at once.
set -u
build=$1 seconds=$2 jobs=$3
shift 3
corpus=${QW_CORPUS:-$(cd "$(dirname "$0")/.." && pwd)/../shared/corpus}
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for f in "$build"/fuzz_*; do
        case $f in *_replay) continue ;; esac
        [ -x "$f" ] && names+=("$(basename "$f")")
    done
fi
run_one() {
    local name=$1 dir=$build/fuzz/$1
    mkdir -p "$dir/seeds" "$dir/corpus"
    if [ -z "$(ls -A "$dir/seeds")" ]; then
        QW_FUZZ_SEED_DIR=$dir/seeds "$build/${name}_replay" "$corpus/pcaps" >/dev/null 2>&1 || true
    fi
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$build/$name" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$dir/" "$dir/corpus" "$dir/seeds" >"$dir/log" 2>&1
    local rc=$?
    local execs rate cov ft
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$dir/log" | grep -o '[0-9]*$')
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$dir/log" | grep -o '[0-9]*$')
    cov=$(grep -o 'cov: [0-9]*' "$dir/log" | tail -1 | grep -o '[0-9]*')
    ft=$(grep -o 'ft: [0-9]*' "$dir/log" | tail -1 | grep -o '[0-9]*')
    printf '%-22s %s  %10s execs %7s exec/s  cov %6s  ft %6s  seeds %s\n' "$name" \
        "$([ $rc -eq 0 ] && echo ok || echo "FAILED (rc $rc, see $dir/log)")" "${execs:-?}" \
        "${rate:-?}" "${cov:-?}" "${ft:-?}" "$(ls "$dir/seeds" | wc -l)"
    return $rc
}
status=0
running=0
for n in "${names[@]}"; do
    run_one "$n" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || status=1
        running=$((running - 1))
    fi
done
while [ "$running" -gt 0 ]; do
    wait -n || status=1
    running=$((running - 1))
done
exit $status
