#!/usr/bin/env bash
# No Docker engine runs here, so check the Dockerfile's promises as text: the build stage runs the
# same scripts CI runs, and every runtime image ends as a non-root user.
set -u
df="$(cd "$(dirname "$0")/../.." && pwd)/Dockerfile"
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }
build_runs=$(awk '/^FROM .* AS build$/{b=1;next} /^FROM /{b=0} b && /^RUN /' "$df")
check "build stage installs with scripts/install-deps.sh" 'grep -q "^RUN bash scripts/install-deps.sh$" <<<"$build_runs"'
check "build stage builds with scripts/build.sh" 'grep -q "^RUN bash scripts/build.sh " <<<"$build_runs"'
check "build stage runs nothing else" '[ "$(wc -l <<<"$build_runs")" = 2 ]'
for stage in $(awk '/^FROM /{print $4}' "$df" | grep -v -e '^build$' -e '^runtime-base$'); do
  user=$(awk -v s="$stage" '/^FROM /{cur=$4} cur==s && /^USER /{u=$2} END{print u}' "$df")
  check "stage $stage runs as non-root (USER $user)" '[ -n "$user" ] && [ "${user%%:*}" != 0 ] && [ "${user%%:*}" != root ]'
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
