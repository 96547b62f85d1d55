#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang under ASan+UBSan, replays the saved
# regression inputs (tests/fuzz/regressions/<target>/), then fuzzes each target for a bounded time
# from its seed corpus (tests/fuzz/corpus/<target>/), two at a time. Fails when any input crashes,
# leaks, times out or exceeds the memory limit; the input is kept in build-fuzz/fuzz-work/.
# Usage: scripts/fuzz.sh [seconds-per-target]   (default 30)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-30}"
build="$root/build-fuzz"
work="$build/fuzz-work"
fuzz="$root/tests/fuzz"

launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
# Debug: assertions stay on; the optimisation level is OUTRIGGER_FUZZ's (-O1).
CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DOUTRIGGER_FUZZ=ON "${launcher[@]}" >/dev/null
cmake --build "$build" -j "$(nproc)" --target fuzz_targets

# A 1 MiB stack, an eighth of a thread's default: unbounded recursion (nested JSON, rules) then
# overflows at an eighth of the depth, which a bounded run reaches.
ulimit -s 1024
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$fuzz/ubsan.supp"
common=(-rss_limit_mb=2048 -timeout=10 -print_final_stats=1)

# Per target: the largest input worth trying (the crashes of issue 12 need a trailer field of
# 64 KiB and tens of thousands of nested brackets) and its dictionary.
declare -A max_len=([http_request]=200000 [http_response]=200000 [dapr_api]=200000
  [cloudevent]=65536 [admission]=200000 [resources_yaml]=65536 [route_expr]=65536
  [cron]=256 [duration]=256)
declare -A dict=([http_request]=http.dict [http_response]=http.dict [dapr_api]=json.dict
  [cloudevent]=json.dict [admission]=json.dict)
targets=(http_request http_response dapr_api cloudevent admission resources_yaml route_expr cron
  duration)

rm -rf "$work"
mkdir -p "$work"
failed=0

echo "== fuzz: replaying regression inputs"
for t in "${targets[@]}"; do
  inputs=("$fuzz/regressions/$t"/*)
  [ -e "${inputs[0]}" ] || continue
  if "$build/tests/fuzz/${t}_fuzz" "${common[@]}" "${inputs[@]}" >"$work/$t.replay.log" 2>&1; then
    echo "fuzz: $t: ${#inputs[@]} regression input(s) pass"
  else
    echo "fuzz: $t: a regression input FAILS (log: $work/$t.replay.log)"
    grep -E "^Running:|what\(\)|ERROR|^SUMMARY" "$work/$t.replay.log" | tail -4 || true
    failed=1
  fi
done

run() {
  local t="$1"
  local args=("${common[@]}" -max_total_time="$seconds" -max_len="${max_len[$t]}" -len_control=0
    -artifact_prefix="$work/$t-")
  [ -n "${dict[$t]:-}" ] && args+=(-dict="$fuzz/${dict[$t]}")
  mkdir -p "$work/$t.corpus"
  # New inputs go to the work corpus; the seeds in the tree are only read.
  "$build/tests/fuzz/${t}_fuzz" "${args[@]}" "$work/$t.corpus" "$fuzz/corpus/$t" \
    >"$work/$t.log" 2>&1
}

summary() {
  local t="$1" rc="$2" log="$work/$1.log"
  local runs cov
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1)
  if [ "$rc" -eq 0 ]; then
    echo "fuzz: $t: ok, ${runs:-?} inputs in ${seconds}s (${cov:-no stats})"
  else
    echo "fuzz: $t: FAILED after ${runs:-?} inputs (log: $log)"
    grep -E "what\(\)|^==[0-9]+== ?ERROR|^SUMMARY|Test unit written" "$log" | head -4 || true
    failed=1
  fi
}

echo "== fuzz: ${seconds}s per target, two at a time"
declare -A running=()
reap() {
  local pid rc=0
  wait -n -p pid || rc=$?
  summary "${running[$pid]}" "$rc"
  unset "running[$pid]"
}
for t in "${targets[@]}"; do
  while [ "${#running[@]}" -ge 2 ]; do reap; done
  run "$t" &
  running[$!]="$t"
done
while [ "${#running[@]}" -gt 0 ]; do reap; done

if [ "$failed" -ne 0 ]; then
  echo "== fuzz: FAILED"
  exit 1
fi
echo "== fuzz: every target ran clean"
