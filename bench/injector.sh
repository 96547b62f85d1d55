#!/usr/bin/env bash
# Sidecar injector benchmark: admission latency (p50/p90/p99) and throughput of outrigger-injector
# for a typical pod at a fixed 200 req/s over HTTPS, and its RSS idle and under load, with nginx
# over TLS answering the same request with a fixed string as the baseline, in the same run.
# Not a test: it prints numbers and exits 0 whatever they are (non-zero only if it cannot run).
#
#   bench/injector.sh               # builds build-inj-bench (Release) and runs (~1.5 min)
#
# Environment knobs:
#   BENCH_BUILD_DIR   build directory (default <repo>/build-inj-bench)
#   BENCH_SKIP_BUILD  1: use the injector already built in BENCH_BUILD_DIR
#   BENCH_ROUNDS      rounds at the fixed rate, the two targets taking turns (default 3)
#   BENCH_DURATION    seconds per target and round (default 10)
#   BENCH_RATE        requests per second (default 200)
#   BENCH_KEEP        1: keep the work directory (logs, certificate, the request) and print its path
# What is measured and how: bench/injector_bench.py; a recorded run: docs/performance.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BENCH_BUILD_DIR:-$ROOT/build-inj-bench}

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  echo "bench: building outrigger-injector (Release) in $BUILD" >&2
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DOUTRIGGER_BUILD_TESTS=OFF >/dev/null
  cmake --build "$BUILD" --target outrigger-injector -j2 >/dev/null
fi
# The load driver, a standalone tool (header-only Beast, OpenSSL).
DRIVER=$BUILD/bench/injector_load
if [ ! -x "$DRIVER" ] || [ "$ROOT/bench/injector_load.cc" -nt "$DRIVER" ]; then
  mkdir -p "$BUILD/bench"
  c++ -O2 -std=c++20 "$ROOT/bench/injector_load.cc" -o "$DRIVER" -lssl -lcrypto -pthread
fi

keep=()
[ "${BENCH_KEEP:-0}" = 1 ] && keep=(--keep)
exec /usr/bin/python3 "$ROOT/bench/injector_bench.py" --injector "$BUILD/injector/outrigger-injector" \
  --driver "$DRIVER" \
  --rounds "${BENCH_ROUNDS:-3}" --duration "${BENCH_DURATION:-10}" --rate "${BENCH_RATE:-200}" \
  "${keep[@]}"
