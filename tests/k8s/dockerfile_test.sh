#!/usr/bin/env bash
# No Docker engine runs here, so check the Dockerfile's promises as text: the build stage runs the
# same scripts CI runs and nothing else; runtime images are bookworm-slim (the build's release, so
# the shared libraries match) and end as a non-root user; each copies a binary the build makes;
# every image the Helm chart names has a target.
set -u
root="$(cd "$(dirname "$0")/../.." && pwd)"
df="$root/Dockerfile"
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }

build_runs=$(awk '/^FROM .* AS build$/{b=1;next} /^FROM /{b=0} b && /^RUN /' "$df")
check "build stage is debian:bookworm" 'grep -q "^FROM debian:bookworm AS build$" "$df"'
check "build stage installs with scripts/install-deps.sh" 'grep -qx "RUN bash scripts/install-deps.sh" <<<"$build_runs"'
check "build stage builds with scripts/build.sh" 'grep -q "^RUN bash scripts/build.sh " <<<"$build_runs"'
check "build stage runs nothing else" '[ "$(wc -l <<<"$build_runs")" = 2 ]'
check "runtime base is debian:bookworm-slim" 'grep -q "^FROM debian:bookworm-slim AS runtime-base$" "$df"'

stages=$(awk '/^FROM /{print $4}' "$df" | grep -v -e '^build$' -e '^runtime-base$')
for stage in $stages; do
  from=$(awk -v s="$stage" '/^FROM /&&$4==s{print $2}' "$df")
  check "stage $stage builds on runtime-base" '[ "$from" = runtime-base ]'
  user=$(awk -v s="$stage" '/^FROM /{cur=$4} cur==s && /^USER /{u=$2} END{print u}' "$df")
  check "stage $stage runs as non-root (USER $user)" \
    '[ -n "$user" ] && [ "${user%%:*}" != 0 ] && [ "${user%%:*}" != root ]'
  entry=$(awk -v s="$stage" '/^FROM /{cur=$4} cur==s && /^ENTRYPOINT /' "$df")
  check "stage $stage has an ENTRYPOINT" '[ -n "$entry" ]'
  # Each binary copied from the build must be an executable its folder's CMakeLists.txt defines
  # (a folder not in the tree yet is skipped: its stage waits for it).
  for src in $(awk -v s="$stage" '/^FROM /{cur=$4} cur==s && /^COPY --from=build /{print $3}' "$df"); do
    rel=${src#/src/build/}
    case "$rel" in */) continue ;; esac  # a directory (plugins)
    dir=${rel%/*} bin=${rel##*/}
    if [ -f "$root/$dir/CMakeLists.txt" ]; then
      check "stage $stage: $bin is built in $dir/" 'grep -q "add_executable($bin[ )]" "$root/$dir/CMakeLists.txt"'
    else
      echo "SKIP: stage $stage: $dir/ not in the tree yet"
    fi
  done
done

# The chart's default images must be targets of this Dockerfile.
for img in $(awk '/^[a-z]+:$/{sec=$1} /^  image: /{print $2}' "$root/charts/outrigger/values.yaml"); do
  check "chart image $img is a Dockerfile target" 'grep -qx "$img" <<<"$stages"'
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
