#!/usr/bin/env bash
# No Docker engine runs here, so check the Dockerfile's promises as text: the build stage runs the
# same scripts CI runs and nothing else; runtime images are bookworm-slim (the build's release, so
# the shared libraries match) and end as a non-root user; each copies a binary the build makes;
# every image the Helm chart names has a target; and, given a build directory, every binary and
# plugin a runtime stage copies finds each shared library it needs (readelf NEEDED) in a Debian
# package that stage installs.
# Usage: dockerfile_test.sh [BUILD_DIR]   (without it, the shared-library check is skipped)
set -u
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-}"
df="$root/Dockerfile"
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); return 1; fi; }

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

# A stage with outriggerd has its plugins where outriggerd looks for them (../lib/outrigger).
for stage in $stages; do
  copies=$(awk -v s="$stage" '/^FROM /{cur=$4} cur==s && /^COPY --from=build /{print $3, $4}' "$df")
  if grep -q '^/src/build/sidecar/outriggerd /usr/local/bin/' <<<"$copies"; then
    check "stage $stage copies the plugins beside outriggerd" \
      'grep -qx "/src/build/lib/outrigger/ /usr/local/lib/outrigger/" <<<"$copies"'
  fi
done

# Shared libraries. A stage holds what debian:bookworm-slim holds (of what our binaries link: the
# C and C++ runtimes and zlib, all Priority: required or needed by apt) and what its RUN lines and
# those of the stages it builds on apt-get install (with their dependencies, which apt brings).
base_packages="libc6 libgcc-s1 libstdc++6 zlib1g"
stage_installs() {  # the packages the stage and its parents apt-get install
  local s=$1
  while [ -n "$s" ]; do
    awk -v s="$s" '/^FROM /{cur=$4} cur==s' "$df" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' |
      grep '^RUN ' | grep -o 'apt-get install[^&;|]*' | tr ' ' '\n' |
      grep -v -e '^-' -e '^apt-get$' -e '^install$' -e '^$'
    s=$(awk -v s="$s" '/^FROM /&&$4==s{print $2}' "$df")
    grep -qx "$s" <<<"$stages"$'\n'runtime-base || s=""
  done
}
package_of() {  # $1 soname needed by file $2 -> the Debian package of the library the loader picks
  local path p pkg
  path=$(ldd "$2" 2>/dev/null | awk -v so="$1" '
    $1 == so && $2 == "=>" && $3 ~ /^\// {print $3; exit}
    substr($1, length($1) - length(so)) == "/" so {print $1; exit}')
  [ -n "$path" ] || return 0
  for p in "$path" "/usr$path" "${path#/usr}" "$(readlink -f "$path")"; do
    pkg=$(dpkg -S "$p" 2>/dev/null | grep -v '^diversion' | sed -n 's/^\([^:, ]*\).*: \/.*/\1/p' | head -1)
    if [ -n "$pkg" ]; then
      echo "$pkg"
      return 0
    fi
  done
}
declare -A pkg_cache
if [ -z "$build" ]; then
  echo "SKIP: shared libraries (no build directory given)"
else
  for stage in $stages; do
    installed=" $base_packages $(stage_installs "$stage" | tr '\n' ' ') "
    for src in $(awk -v s="$stage" '/^FROM /{cur=$4} cur==s && /^COPY --from=build /{print $3}' "$df"); do
      rel=${src#/src/build/}
      case "$rel" in
        */)  # the plugins directory
          files=$(find "$build/$rel" -maxdepth 1 -name '*.so' 2>/dev/null | sort)
          check "stage $stage: $build/$rel holds plugins" '[ -n "$files" ]' || continue
          ;;
        *)
          [ -f "$root/${rel%/*}/CMakeLists.txt" ] || continue  # not in the tree yet (see above)
          files=$build/$rel
          ;;
      esac
      for f in $files; do
        check "stage $stage: ${f#$build/} is built in $build" '[ -f "$f" ]' || continue
        for so in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
          # dpkg -S is slow: look each library up once.
          [ -n "${pkg_cache[$so]+x}" ] || pkg_cache[$so]=$(package_of "$so" "$f")
          pkg=${pkg_cache[$so]}
          check "stage $stage: ${f#$build/} needs $so, which no installed Debian package provides" \
            '[ -n "$pkg" ]' || continue
          check "stage $stage: ${f#$build/} needs $so from $pkg, which the stage does not install" \
            '[[ "$installed" == *" $pkg "* ]]'
        done
      done
    done
  done
fi

# The chart's default images must be targets of this Dockerfile.
for img in $(awk '/^[a-z]+:$/{sec=$1} /^  image: /{print $2}' "$root/charts/outrigger/values.yaml"); do
  check "chart image $img is a Dockerfile target" 'grep -qx "$img" <<<"$stages"'
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
