#!/usr/bin/env bash
# Installs the Debian packages that the build, the tests and the benchmarks need.
# Idempotent: only packages that are missing are installed.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config clang-format
  libboost-dev libboost-program-options-dev libboost-system-dev libboost-filesystem-dev
  libcpprest-dev libssl-dev libyaml-cpp-dev rapidjson-dev prometheus-cpp-dev
  libhiredis-dev libpq-dev librdkafka-dev librabbitmq-dev libsqlite3-dev libmosquitto-dev
  libgtest-dev libgmock-dev
  # fuzz targets (scripts/fuzz.sh): clang with libFuzzer and the sanitizer runtimes
  clang-14 libclang-rt-14-dev
  # servers the tests start on loopback
  redis-server postgresql rabbitmq-server mosquitto
  # integration tests (JS SDK) and offline Kubernetes checks
  python3-yaml python3-jsonschema python3-jsonpatch unzip curl
  # benchmarks
  nginx wrk hey procps redis-tools  # redis-tools: redis-benchmark, redis-cli
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js may come from elsewhere (it ships its own npm): only ask Debian when it is absent.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # Servers must not start as system services: tests start their own on free ports.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "install-deps: all packages present"
