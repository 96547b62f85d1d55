#!/usr/bin/env bash
# Operator benchmark: time from `kubectl apply` of a Component to every connected sidecar serving
# it, with 1 and with N sidecars (default 100) streaming from one outrigger-operator, plus the
# operator's RSS. Uses the test API server (tests/operator/fake_apiserver.py) and the real kubectl.
# Not a test: prints numbers, exits 0 whatever they are.
#   bench/operator.sh            # BENCH_SIDECARS=100, BENCH_BUILD_DIR=<repo>/build-bench
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BENCH_BUILD_DIR:-$ROOT/build-bench}
N=${BENCH_SIDECARS:-100}
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DOUTRIGGER_BUILD_TESTS=OFF >/dev/null
  cmake --build "$BUILD" --target outriggerd outrigger-operator -j2 >/dev/null
fi
KUBECTL=$(bash "$ROOT/scripts/get-k8s-tools.sh")/kubectl/kubectl
WORK=$(mktemp -d /tmp/outrigger-opbench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
API=$(port); OP=$(port)
python3 "$ROOT/tests/operator/fake_apiserver.py" --port "$API" --state "$WORK/api.json" >"$WORK/api.log" 2>&1 & PIDS+=($!)
cat >"$WORK/kubeconfig" <<K
apiVersion: v1
kind: Config
clusters: [{name: t, cluster: {server: "http://127.0.0.1:$API"}}]
contexts: [{name: t, context: {cluster: t, user: t, namespace: default}}]
current-context: t
users: [{name: t, user: {token: bench}}]
K
K() { "$KUBECTL" --kubeconfig "$WORK/kubeconfig" --cache-dir "$WORK/cache" "$@"; }
for i in $(seq 1 50); do curl -sf "http://127.0.0.1:$API/version" >/dev/null && break; sleep 0.1; done
K apply --validate=false -f "$ROOT/crds/" >/dev/null
# The sidecars' service-account token (the operator reviews it once, then reuses the answer).
curl -sf -X POST "http://127.0.0.1:$API/api/v1/namespaces/default/serviceaccounts/default/token" \
  -d '{"spec":{"audiences":["spiffe://cluster.local/ns/default/dapr-sentry"]}}' |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["status"]["token"])' >"$WORK/token"
"$BUILD/operator/outrigger-operator" --kubeconfig "$WORK/kubeconfig" --port "$OP" --healthz-port 0 --metrics-port 0 \
  --log-level warn >"$WORK/operator.log" 2>&1 & OPPID=$!; PIDS+=($OPPID)

PORTS=()
start_sidecars() {
  local count=$1
  for i in $(seq 1 "$count"); do
    local p; p=$(port)
    NAMESPACE=default OUTRIGGER_NAMERESOLUTION_DIR="$WORK" OUTRIGGER_OPERATOR_TOKEN_FILE="$WORK/token" \
      "$BUILD/sidecar/outriggerd" --mode kubernetes \
      --control-plane-address "127.0.0.1:$OP" --app-id "app$((${#PORTS[@]}+1))" --dapr-http-port "$p" \
      --metrics-port 0 --dapr-internal-grpc-port 0 --dapr-listen-addresses 127.0.0.1 --log-level warn \
      >>"$WORK/sidecars.log" 2>&1 & PIDS+=($!)
    PORTS+=("$p")
  done
  for p in "${PORTS[@]}"; do
    for t in $(seq 1 200); do curl -sf -o /dev/null "http://127.0.0.1:$p/v1.0/healthz/outbound" && break; sleep 0.05; done
  done
}

# Seconds from starting `kubectl apply` until every sidecar lists the component: one polling
# thread per sidecar, every 5 ms, so polling 100 sidecars does not itself add a slow round.
measure() {
  local name=$1
  python3 - "$name" "${PORTS[@]}" >"$WORK/poll.out" <<'PY' &
import sys, threading, time, urllib.request
name, ports = sys.argv[1], sys.argv[2:]
seen = {}
def poll(p):
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            body = urllib.request.urlopen(f"http://127.0.0.1:{p}/v1.0/metadata", timeout=2).read().decode()
            if f'"name":"{name}"' in body:
                seen[p] = time.time()
                return
        except Exception:
            pass
        time.sleep(0.005)
threads = [threading.Thread(target=poll, args=(p,)) for p in ports]
for t in threads: t.start()
for t in threads: t.join()
print(len(seen), max(seen.values()) if seen else 0)
PY
  local poller=$!
  sleep 1  # the pollers run before the apply starts
  local t0; t0=$(date +%s.%N)
  K apply --validate=false -f - >/dev/null <<C
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: $name, namespace: default}
spec: {type: state.in-memory, version: v1, metadata: []}
C
  local t_applied; t_applied=$(date +%s.%N)
  wait "$poller" || true
  read -r got last <"$WORK/poll.out"
  awk -v a="$t0" -v b="$t_applied" -v c="$last" -v got="$got" -v n="${#PORTS[@]}" \
    'BEGIN { printf "%.3f s to reach %d/%d sidecars (kubectl apply itself: %.3f s)\n", c - a, got, n, b - a }'
}

start_sidecars 1
one=$(measure bench-one)
start_sidecars $((N - 1))
sleep 1
many=$(measure bench-many)
rss=$(awk '/VmRSS/ {printf "%.1f", $2/1024}' /proc/$OPPID/status)
echo
echo "Outrigger operator benchmark — $(date -u '+%Y-%m-%d %H:%M UTC') — $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  kubectl apply -> served by every sidecar, 1 sidecar:        $one   (includes kubectl's own start-up)"
echo "  kubectl apply -> served by every sidecar, ${#PORTS[@]} sidecars:     $many   (target < 1 s)"
echo "  operator VmRSS with ${#PORTS[@]} sidecars streaming:          $rss MB   (target < 15 MB)"
