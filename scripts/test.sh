#!/usr/bin/env bash
# Runs every test: formatting, the release build's unit, conformance and integration tests, the
# same again under AddressSanitizer + UndefinedBehaviorSanitizer, and a bounded run of the fuzz
# targets (OUTRIGGER_SKIP_SANITIZERS=1 skips both of those, OUTRIGGER_SKIP_FUZZ=1 the fuzzing).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

bash scripts/install-deps.sh

echo "== clang-format"
bash scripts/check-format.sh

echo "== build (RelWithDebInfo)"
bash scripts/build.sh "$root/build"
echo "== tests (RelWithDebInfo)"
ctest --test-dir "$root/build" --output-on-failure -j 2 --timeout 300

if [ "${OUTRIGGER_SKIP_SANITIZERS:-0}" != "1" ]; then
  echo "== build (ASan+UBSan)"
  bash scripts/build.sh "$root/build-asan" -DOUTRIGGER_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
  echo "== tests (ASan+UBSan)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$root/build-asan" --output-on-failure -j 2 --timeout 600
  if [ "${OUTRIGGER_SKIP_FUZZ:-0}" != "1" ]; then
    echo "== fuzz (libFuzzer, ASan+UBSan)"
    bash scripts/fuzz.sh
  fi
fi
echo "== all tests passed"
