#!/usr/bin/env bash
# Fails when a tracked C++ file differs from clang-format's output.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bad=0
while IFS= read -r f; do
  [ -f "$f" ] || continue
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "not clang-formatted: $f"
    bad=1
  fi
done < <(git ls-files '*.cc' '*.h')
[ "$bad" = 0 ] || { echo "run: clang-format -i <file>"; exit 1; }
echo "format ok"
