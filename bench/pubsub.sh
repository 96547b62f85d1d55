#!/usr/bin/env bash
# Pub/sub benchmark: publish latency, publish -> delivery latency and throughput, and bulk
# publish CPU of outriggerd on the in-memory, Redis and RabbitMQ brokers, with the same brokers
# driven directly by their C client libraries measured in the same run as baselines.
# Not a test: it prints numbers and exits 0 whatever they are (non-zero only if it cannot run).
#
#   bench/pubsub.sh                  # builds build-bench (Release) and runs everything (~5 min)
#
# Environment knobs:
#   BENCH_BUILD_DIR   build directory (default <repo>/build-bench)
#   BENCH_SKIP_BUILD  1: use the binaries already in BENCH_BUILD_DIR
#   BENCH_ROUNDS      rounds (default 3); within a round the targets take turns, so a burst of
#                     load from elsewhere on a shared machine spreads over all of them
#   BENCH_DURATION    seconds per target and round at the fixed rate (default 4)
#   BENCH_RATE        the fixed rate, events/s (default 1000)
#   BENCH_MAX_EVENTS  events per round of the max-throughput runs (default 10000)
#   BENCH_BULK_DURATION  seconds of bulk publishing per broker (default 10)
#   BENCH_KEEP        1: keep the work directory (logs, raw latencies) and print its path
#
# What is measured (docs/performance.md, section "Pub/sub", has a recorded run):
#  (a) publish latency added by the sidecar: hey at RATE req/s over 16 connections POSTing a
#      1 KB JSON event to /v1.0/publish/pubsub/bench of a publisher-only sidecar (no app, no
#      subscription), vs the same hey POSTing the same body to bench_pubsub_sink's /baseline
#      (a bare epoll server answering 204, as the sidecar does). Percentiles over every request
#      of every round; in-memory, and Redis and RabbitMQ for information.
#  (b) publish -> delivery at RATE events/s: bench_pubsub_pub publishes events carrying their
#      CLOCK_MONOTONIC send time to a sidecar whose app is bench_pubsub_sink, subscribed with a
#      declarative Subscription; the sink records receive time minus send time for every
#      delivery. Baseline: bench_pubsub_direct, the same events through the broker's C client
#      (hiredis XADD/XREADGROUP/XACK; librabbitmq publish/consume/ack). In-memory has no
#      direct equivalent (the broker is the sidecar's own queue).
#      Redis twice through the sidecar: one message at a time (the default, which keeps the
#      stream's order) and with the component's `concurrency: 10` (Dapr's default; its own topic).
#  (c) max throughput: BENCH_MAX_EVENTS events as fast as 16 publishing connections (sidecar)
#      or one synchronous producer (direct) go; delivered/s = events / (last delivery - first
#      send); median round.
#  (d) bulk publish: hey -c 10 -q 20 (= 200 req/s) POSTing 100 1 KB entries per request (=
#      20 000 events/s) to /v1.0-alpha1/publish/bulk/pubsub/bench of a publisher-only sidecar
#      for BULK_DURATION s; the sidecar's CPU from /proc/<pid>/stat utime+stime over the run.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BENCH_BUILD_DIR:-$ROOT/build-bench}
ROUNDS=${BENCH_ROUNDS:-3}
DUR=${BENCH_DURATION:-4}
RATE=${BENCH_RATE:-1000}
MAX_EVENTS=${BENCH_MAX_EVENTS:-10000}
BULK_DUR=${BENCH_BULK_DURATION:-10}
CONNS=16
HEY_Q=$(awk -v r="$RATE" -v c=$CONNS 'BEGIN { printf "%g", r / c }')
BULK_ENTRIES=100
BULK_CONNS=10
BULK_Q=20  # per connection: 10 x 20 req/s x 100 entries = 20 000 events/s
EVENT_BYTES=1024

for tool in hey redis-server redis-cli curl python3 cmake; do
  command -v "$tool" >/dev/null || {
    echo "bench: '$tool' is missing (scripts/install-deps.sh installs it)" >&2
    exit 1
  }
done
RABBIT_SERVER=/usr/lib/rabbitmq/bin/rabbitmq-server  # the real script, not Debian's su wrapper
EPMD=$(ls /usr/lib/erlang/erts-*/bin/epmd 2>/dev/null | head -1 || true)

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  echo "bench: building outriggerd (Release) in $BUILD" >&2
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DOUTRIGGER_BUILD_TESTS=OFF >/dev/null
  cmake --build "$BUILD" --target outriggerd bench_pubsub_sink bench_pubsub_pub \
    bench_pubsub_direct -j2 >/dev/null
fi
OUTRIGGERD=$BUILD/sidecar/outriggerd
SINK=$BUILD/bench/bench_pubsub_sink
PUB=$BUILD/bench/bench_pubsub_pub
DIRECT=$BUILD/bench/bench_pubsub_direct
for b in "$OUTRIGGERD" "$SINK" "$PUB" "$DIRECT"; do
  [ -x "$b" ] || { echo "bench: $b is missing" >&2; exit 1; }
done

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$(date +%s)
WORK=$(mktemp -d /tmp/outrigger-bench-pubsub.XXXXXX)
PIDS=()
RABBIT_PID=""
EPMD_PORT=""

cleanup() {
  local pid
  # RabbitMQ: the server script waits on beam.smp; stopping beam stops both.
  if [ -n "$RABBIT_PID" ]; then
    for pid in $(pgrep -P "$RABBIT_PID" 2>/dev/null || true); do kill "$pid" 2>/dev/null || true; done
  fi
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  # The Erlang VM started a private epmd on EPMD_PORT; it outlives the node unless told.
  if [ -n "$EPMD_PORT" ] && [ -n "$EPMD" ]; then
    ERL_EPMD_PORT=$EPMD_PORT "$EPMD" -kill >/dev/null 2>&1 || true
  fi
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "bench: work directory kept: $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "bench: [$(($(date +%s) - T0))s] $*" >&2; }

# Free loopback ports, all asked for at once: one python3 start per port took seconds when the
# machine was busy. free_port hands them out in order (a file, since it runs in $(...)).
PORT_POOL=($(python3 -c '
import socket
socks = [socket.socket() for _ in range(48)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))'))
echo 0 >"$WORK/port.idx"
free_port() {
  local i
  i=$(<"$WORK/port.idx")
  [ "$i" -lt "${#PORT_POOL[@]}" ] || { echo "bench: out of ports" >&2; return 1; }
  echo $((i + 1)) >"$WORK/port.idx"
  echo "${PORT_POOL[$i]}"
}

# wait_for URL CODE PID [TRIES]: polls every 20 ms until URL answers CODE, fails if PID dies.
wait_for() {
  local url=$1 code=$2 pid=$3 tries=${4:-250} i
  for i in $(seq 1 "$tries"); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)" = "$code" ] && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.02
  done
  return 1
}

# start_sidecar NAME PORT RESOURCES_DIR [more flags]: sets SIDECAR_PID.
start_sidecar() {
  local name=$1 port=$2 res=$3
  shift 3
  # Ports taken here, not in the backgrounded command, where $(free_port) would race the next.
  local grpc internal metrics
  grpc=$(free_port) && internal=$(free_port) && metrics=$(free_port)
  "$OUTRIGGERD" --app-id "$name" --dapr-http-port "$port" --dapr-grpc-port "$grpc" \
    --dapr-internal-grpc-port "$internal" --metrics-port "$metrics" \
    --resources-path "$res" --log-level warn "$@" >"$WORK/$name.log" 2>&1 &
  SIDECAR_PID=$!
  PIDS+=("$SIDECAR_PID")
}

# start_sink NAME: sets SINK_PORT.
start_sink() {
  "$SINK" 0 >"$WORK/$1.port" &
  PIDS+=($!)
  for _ in $(seq 1 100); do [ -s "$WORK/$1.port" ] && break; sleep 0.02; done
  SINK_PORT=$(cat "$WORK/$1.port")
}

# component DIR TYPE [name value]...: writes DIR/pubsub.yaml (component "pubsub").
component() {
  local dir=$1 type=$2
  shift 2
  mkdir -p "$dir"
  {
    printf 'apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: pubsub\n'
    printf 'spec:\n  type: %s\n  version: v1\n  metadata:\n' "$type"
    [ $# -eq 0 ] && printf '  []\n'
    while [ $# -gt 0 ]; do
      printf '  - name: %s\n    value: "%s"\n' "$1" "$2"
      shift 2
    done
  } >"$dir/pubsub.yaml"
}

# subscription DIR [TOPIC]: writes DIR/subscription.yaml (TOPIC, default bench, to /deliver).
subscription() {
  cat >"$1/subscription.yaml" <<EOF
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: bench
spec:
  pubsubname: pubsub
  topic: ${2:-bench}
  routes:
    default: /deliver
EOF
}

# why_not NAME: the first error line of a sidecar log, for a "not available" row.
why_not() {
  local note
  note=$(grep -m1 -iE 'error|unknown|fail' "$WORK/$1.log" |
    sed -e 's/.*msg="\(.*\)".*/\1/' -e "s|$WORK/||g" | cut -c1-160 || true)
  echo "${note:-the sidecar did not become healthy}"
}

# up NAME PORT PID: the sidecar answers healthz and accepts a publish.
up() {
  wait_for "http://127.0.0.1:$2/v1.0/healthz" 204 "$3" 500 &&
    [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
      -d '{"probe":1}' "http://127.0.0.1:$2/v1.0/publish/pubsub/probe")" = 204 ]
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# hey_run NAME URL BODY: one round at RATE req/s; appends every request to hey-NAME.csv.
hey_run() {
  hey -z "${DUR}s" -c "$CONNS" -q "$HEY_Q" -m POST -D "$3" -T application/json -o csv "$2" |
    tail -n +2 >>"$WORK/hey-$1.csv"
}

# pct_ms FILE SCALE: "p50 p90 p99 n" in ms over the numbers in FILE (multiplied by SCALE to ms).
pct_ms() {
  sort -n "$1" | awk -v s="$2" '
    { v[NR] = $1 * s }
    function pct(p,  i) { i = int(NR * p + 0.999999); if (i < 1) i = 1; return v[i] }
    END { if (NR == 0) { print "- - - 0"; exit }
          printf "%.2f %.2f %.2f %d", pct(0.50), pct(0.90), pct(0.99), NR }'
}

# hey_summary NAME: "p50 p90 p99 n" (ms) over every 2xx answer; warns about the others.
hey_summary() {
  local csv=$WORK/hey-$1.csv bad
  bad=$(awk -F, '$7 < 200 || $7 > 299 { n++ } END { print n + 0 }' "$csv")
  [ "$bad" -gt 0 ] && log "WARNING: $1: $bad requests did not answer 2xx"
  awk -F, '$7 >= 200 && $7 <= 299 { print $1 }' "$csv" >"$WORK/hey-$1.lat"
  pct_ms "$WORK/hey-$1.lat" 1000
}

median() { tr ' ' '\n' | awk 'NF' | sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "-") }'; }

# drain SINK_PORT EXPECTED OUT: waits (10 s at most) for EXPECTED deliveries, then moves the
# sink's latencies to OUT and prints "count span_ns".
drain() {
  local i n
  for i in $(seq 1 500); do
    n=$(curl -s "http://127.0.0.1:$1/_count" || echo 0)
    [ "${n:-0}" -ge "$2" ] && break
    sleep 0.02
  done
  curl -s -X POST --data-binary "$3" "http://127.0.0.1:$1/_flush"
}

# --- fixtures ---------------------------------------------------------------------------------
python3 - "$WORK" "$EVENT_BYTES" "$BULK_ENTRIES" <<'EOF'
import json, sys
work, size, entries = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
event = lambda seq: {"sent_ns": 0, "seq": seq, "pad": "a" * (size - 60)}
with open(work + "/event.json", "w") as f:
    json.dump(event(0), f, separators=(",", ":"))
with open(work + "/bulk.json", "w") as f:
    json.dump([{"entryId": str(i), "event": event(i), "contentType": "application/json"}
               for i in range(entries)], f, separators=(",", ":"))
EOF

# --- brokers ----------------------------------------------------------------------------------
# RabbitMQ takes seconds to boot: start it first, everything in-memory runs meanwhile.
RABBIT_PORT=$(free_port)
RABBIT_NOTE=""
if [ -x "$RABBIT_SERVER" ] && [ -n "$EPMD" ]; then
  EPMD_PORT=$(free_port)
  RABBIT_DIST_PORT=$(free_port)
  R=$WORK/rabbitmq
  mkdir -p "$R"
  echo '[].' >"$R/enabled_plugins"
  (
    cd "$R"
    export HOME=$R RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$RABBIT_PORT \
      RABBITMQ_NODENAME=rabbit-$RABBIT_PORT@localhost RABBITMQ_DIST_PORT=$RABBIT_DIST_PORT \
      ERL_EPMD_PORT=$EPMD_PORT RABBITMQ_MNESIA_BASE=$R/mnesia RABBITMQ_LOG_BASE=$R/log \
      RABBITMQ_PID_FILE=$R/pid RABBITMQ_ENABLED_PLUGINS_FILE=$R/enabled_plugins \
      RABBITMQ_CONFIG_FILE=$R/rabbitmq RABBITMQ_FEATURE_FLAGS_FILE=$R/feature_flags \
      ERL_CRASH_DUMP=$R/erl_crash.dump
    exec "$RABBIT_SERVER" >"$R/server.log" 2>&1
  ) &
  RABBIT_PID=$!
  PIDS+=("$RABBIT_PID")
else
  RABBIT_NOTE="rabbitmq-server is not installed"
fi

REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$WORK" --logfile "$WORK/redis.log" &
REDIS_PID=$!
PIDS+=("$REDIS_PID")
for _ in $(seq 1 250); do
  redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
  sleep 0.02
done

log "starting sinks and sidecars"
# --- in-memory: publisher-only sidecar (a, d) and delivering sidecar (b, c) --------------------
start_sink sink-base
BASE_PORT=$SINK_PORT
component "$WORK/res-pub-mem" pubsub.in-memory
PUB_MEM_PORT=$(free_port)
start_sidecar pub-mem "$PUB_MEM_PORT" "$WORK/res-pub-mem"
PUB_MEM_PID=$SIDECAR_PID
up pub-mem "$PUB_MEM_PORT" "$PUB_MEM_PID" || {
  log "the in-memory publisher sidecar did not start:"; cat "$WORK/pub-mem.log" >&2; exit 1; }

start_sink sink-mem
SINK_MEM=$SINK_PORT
component "$WORK/res-sub-mem" pubsub.in-memory
subscription "$WORK/res-sub-mem"
SUB_MEM_PORT=$(free_port)
start_sidecar sub-mem "$SUB_MEM_PORT" "$WORK/res-sub-mem" --app-port "$SINK_MEM"
up sub-mem "$SUB_MEM_PORT" "$SIDECAR_PID" || {
  log "the in-memory subscriber sidecar did not start:"; cat "$WORK/sub-mem.log" >&2; exit 1; }

declare -A PUB_URL=(
  [baseline]="http://127.0.0.1:$BASE_PORT/baseline"
  [mem]="http://127.0.0.1:$PUB_MEM_PORT/v1.0/publish/pubsub/pubonly"
)
declare -A PUB_PID=([mem]=$PUB_MEM_PID)
declare -A SUB_PORT=([mem]=$SUB_MEM_PORT)
declare -A SINK_OF=([mem]=$SINK_MEM)
declare -A NOTE
declare -A TOPIC_OF  # the topic a subscriber sidecar's events go to, when not "bench"

# --- redis sidecars ---------------------------------------------------------------------------
redis_meta=(redisHost "127.0.0.1:$REDIS_PORT")
component "$WORK/res-pub-redis" pubsub.redis "${redis_meta[@]}" maxLenApprox 20000
P=$(free_port)
start_sidecar pub-redis "$P" "$WORK/res-pub-redis"
if up pub-redis "$P" "$SIDECAR_PID"; then
  PUB_URL[redis]="http://127.0.0.1:$P/v1.0/publish/pubsub/pubonly"
  PUB_PID[redis]=$SIDECAR_PID
  start_sink sink-redis
  SINK_OF[redis]=$SINK_PORT
  component "$WORK/res-sub-redis" pubsub.redis "${redis_meta[@]}"
  subscription "$WORK/res-sub-redis"
  P=$(free_port)
  start_sidecar sub-redis "$P" "$WORK/res-sub-redis" --app-port "${SINK_OF[redis]}"
  if up sub-redis "$P" "$SIDECAR_PID"; then
    SUB_PORT[redis]=$P
  else
    NOTE[redis]=$(why_not sub-redis)
  fi
  # The same, with up to 10 messages at the app at once (Dapr's default), on a topic of its own.
  start_sink sink-redisc
  SINK_OF[redisc]=$SINK_PORT
  component "$WORK/res-sub-redisc" pubsub.redis "${redis_meta[@]}" concurrency 10
  subscription "$WORK/res-sub-redisc" benchc
  P=$(free_port)
  start_sidecar sub-redisc "$P" "$WORK/res-sub-redisc" --app-port "${SINK_OF[redisc]}"
  if up sub-redisc "$P" "$SIDECAR_PID"; then
    SUB_PORT[redisc]=$P
    TOPIC_OF[redisc]=benchc
  else
    NOTE[redisc]=$(why_not sub-redisc)
  fi
else
  NOTE[redis]=$(why_not pub-redis)
fi

# --- (a) publish latency, in-memory and redis (rabbitmq joins below if it booted) -------------
log "rounds of publish latency at $RATE req/s: warm-up"
for t in baseline mem redis; do
  [ -n "${PUB_URL[$t]:-}" ] || continue
  hey -z 1s -c "$CONNS" -q "$HEY_Q" -m POST -D "$WORK/event.json" -T application/json \
    "${PUB_URL[$t]}" >/dev/null
done

# --- rabbitmq: wait for the broker (60 s at most), then its sidecars --------------------------
if [ -n "$RABBIT_PID" ]; then
  for _ in $(seq 1 600); do
    grep -q 'Server startup complete\|completed with' "$WORK/rabbitmq/server.log" 2>/dev/null &&
      break
    kill -0 "$RABBIT_PID" 2>/dev/null || break
    sleep 0.1
  done
  if grep -q 'Server startup complete\|completed with' "$WORK/rabbitmq/server.log" 2>/dev/null; then
    log "rabbitmq up on $RABBIT_PORT"
    rabbit_meta=(connectionString "amqp://guest:guest@127.0.0.1:$RABBIT_PORT")
    component "$WORK/res-pub-rabbit" pubsub.rabbitmq "${rabbit_meta[@]}"
    P=$(free_port)
    start_sidecar pub-rabbit "$P" "$WORK/res-pub-rabbit"
    if up pub-rabbit "$P" "$SIDECAR_PID"; then
      PUB_URL[rabbit]="http://127.0.0.1:$P/v1.0/publish/pubsub/pubonly"
      PUB_PID[rabbit]=$SIDECAR_PID
      start_sink sink-rabbit
      SINK_OF[rabbit]=$SINK_PORT
      component "$WORK/res-sub-rabbit" pubsub.rabbitmq "${rabbit_meta[@]}"
      subscription "$WORK/res-sub-rabbit"
      P=$(free_port)
      start_sidecar sub-rabbit "$P" "$WORK/res-sub-rabbit" --app-port "${SINK_OF[rabbit]}"
      if up sub-rabbit "$P" "$SIDECAR_PID"; then
        SUB_PORT[rabbit]=$P
      else
        NOTE[rabbit]=$(why_not sub-rabbit)
      fi
      hey -z 1s -c "$CONNS" -q "$HEY_Q" -m POST -D "$WORK/event.json" -T application/json \
        "${PUB_URL[rabbit]}" >/dev/null
    else
      NOTE[rabbit]=$(why_not pub-rabbit)
    fi
  else
    RABBIT_NOTE="rabbitmq-server did not boot in 60 s ($(tail -1 "$WORK/rabbitmq/server.log" 2>/dev/null | cut -c1-120))"
  fi
fi
[ -n "$RABBIT_NOTE" ] && NOTE[rabbit]=$RABBIT_NOTE

CPU_PUB_MEM=0
for r in $(seq 1 "$ROUNDS"); do
  for t in baseline mem redis rabbit; do
    [ -n "${PUB_URL[$t]:-}" ] || continue
    log "round $r/$ROUNDS: publish latency at $RATE req/s: $t"
    before=$(cpu_ticks "${PUB_PID[$t]:-0}")
    hey_run "pub-$t" "${PUB_URL[$t]}" "$WORK/event.json"
    if [ "$t" = mem ]; then CPU_PUB_MEM=$((CPU_PUB_MEM + $(cpu_ticks "$PUB_MEM_PID") - before)); fi
  done
done
declare -A PUBLAT
for t in baseline mem redis rabbit; do
  [ -n "${PUB_URL[$t]:-}" ] && PUBLAT[$t]=$(hey_summary "pub-$t")
done

# --- (b) publish -> delivery at RATE events/s -------------------------------------------------
# Targets: sidecar (mem, redis, rabbit) and direct (dredis, drabbit), taking turns per round.
COUNT=$((RATE * DUR))
declare -A DELIV_OK DELIV_SENT
direct_ok() {
  case $1 in
    dredis) return 0 ;;
    drabbit) [ -z "$RABBIT_NOTE" ] ;;
  esac
}
for r in $(seq 1 "$ROUNDS"); do
  for t in mem redis redisc rabbit dredis drabbit; do
    case $t in
      d*)
        direct_ok "$t" || continue
        port=$REDIS_PORT
        broker=redis
        [ "$t" = drabbit ] && port=$RABBIT_PORT && broker=rabbitmq
        log "round $r/$ROUNDS: publish -> delivery at $RATE/s: direct ${t#d}"
        read -r sent got _ < <("$DIRECT" "$broker" "$port" "$RATE" "$COUNT" $((DUR + 5)) \
          "$WORK/deliv-$t.lat" "$EVENT_BYTES" || echo 0 0 0)
        ;;
      *)
        [ -n "${SUB_PORT[$t]:-}" ] || continue
        log "round $r/$ROUNDS: publish -> delivery at $RATE/s: sidecar $t"
        read -r sent ok failed _ < <("$PUB" "${SUB_PORT[$t]}" "/v1.0/publish/pubsub/${TOPIC_OF[$t]:-bench}" "$RATE" \
          "$COUNT" "$CONNS" $((DUR + 5)) "$EVENT_BYTES" || echo 0 0 0 0)
        [ "$failed" -gt 0 ] && log "WARNING: $t: $failed publishes failed"
        read -r got _ < <(drain "${SINK_OF[$t]}" "$ok" "$WORK/deliv-$t.lat" || echo 0 0)
        ;;
    esac
    DELIV_SENT[$t]=$((${DELIV_SENT[$t]:-0} + sent))
    DELIV_OK[$t]=$((${DELIV_OK[$t]:-0} + got))
  done
done
declare -A DELIV
for t in mem redis redisc rabbit dredis drabbit; do
  [ -f "$WORK/deliv-$t.lat" ] && DELIV[$t]=$(pct_ms "$WORK/deliv-$t.lat" 0.000001)
done

# --- (c) max throughput -----------------------------------------------------------------------
declare -A TPUT_ROUNDS ACCEPT_ROUNDS
for r in $(seq 1 "$ROUNDS"); do
  for t in mem redis redisc rabbit dredis drabbit; do
    case $t in
      d*)
        direct_ok "$t" || continue
        port=$REDIS_PORT
        broker=redis
        [ "$t" = drabbit ] && port=$RABBIT_PORT && broker=rabbitmq
        log "round $r/$ROUNDS: max throughput: direct ${t#d}"
        read -r sent got span < <("$DIRECT" "$broker" "$port" 0 "$MAX_EVENTS" 15 /dev/null \
          "$EVENT_BYTES" || echo 0 0 0)
        ;;
      *)
        [ -n "${SUB_PORT[$t]:-}" ] || continue
        log "round $r/$ROUNDS: max throughput: sidecar $t"
        read -r sent ok failed elapsed _ < <("$PUB" "${SUB_PORT[$t]}" "/v1.0/publish/pubsub/${TOPIC_OF[$t]:-bench}" \
          0 "$MAX_EVENTS" "$CONNS" 15 "$EVENT_BYTES" || echo 0 0 0 1)
        [ "$failed" -gt 0 ] && log "WARNING: $t: $failed publishes failed"
        ACCEPT_ROUNDS[$t]+=" $(awk -v n="$ok" -v s="$elapsed" 'BEGIN { printf "%.0f", n / s }')"
        read -r got span < <(drain "${SINK_OF[$t]}" "$ok" /dev/null || echo 0 0)
        ;;
    esac
    [ "$got" -lt "$sent" ] && log "WARNING: $t: $got of $sent events delivered in time"
    TPUT_ROUNDS[$t]+=" $(awk -v n="$got" -v s="$span" 'BEGIN { printf "%.0f", (s > 0) ? n * 1e9 / s : 0 }')"
  done
done
declare -A TPUT ACCEPT
for t in mem redis redisc rabbit dredis drabbit; do
  [ -n "${TPUT_ROUNDS[$t]:-}" ] && TPUT[$t]=$(echo "${TPUT_ROUNDS[$t]}" | median)
  [ -n "${ACCEPT_ROUNDS[$t]:-}" ] && ACCEPT[$t]=$(echo "${ACCEPT_ROUNDS[$t]}" | median)
done

# --- (d) bulk publish at 20 000 events/s, publisher-only sidecars -----------------------------
HZ=$(getconf CLK_TCK)
declare -A BULK
for t in mem redis rabbit; do
  [ -n "${PUB_URL[$t]:-}" ] || continue
  url=${PUB_URL[$t]/\/v1.0\/publish\//\/v1.0-alpha1\/publish\/bulk\/}
  log "bulk publish, $((BULK_CONNS * BULK_Q * BULK_ENTRIES)) events/s for ${BULK_DUR}s: $t"
  hey -z 1s -c "$BULK_CONNS" -q "$BULK_Q" -m POST -D "$WORK/bulk.json" -T application/json \
    "$url" >/dev/null
  before=$(cpu_ticks "${PUB_PID[$t]}")
  hey -z "${BULK_DUR}s" -c "$BULK_CONNS" -q "$BULK_Q" -m POST -D "$WORK/bulk.json" \
    -T application/json -o csv "$url" | tail -n +2 >"$WORK/bulk-$t.csv"
  after=$(cpu_ticks "${PUB_PID[$t]}")
  bad=$(awk -F, '$7 < 200 || $7 > 299 { n++ } END { print n + 0 }' "$WORK/bulk-$t.csv")
  [ "$bad" -gt 0 ] && log "WARNING: bulk $t: $bad requests did not answer 2xx"
  # "events/s cores p50_ms p99_ms" (request latency of a 100-entry batch)
  awk -F, '$7 >= 200 && $7 <= 299 { print $1 }' "$WORK/bulk-$t.csv" >"$WORK/bulk-$t.lat"
  # Both over the BULK_DUR s of offered load (hey -z stops sending then; the sidecar idles).
  BULK[$t]="$(awk -F, -v e=$BULK_ENTRIES -v s="$BULK_DUR" \
    '$7 >= 200 && $7 <= 299 { n++ } END { printf "%.0f", n * e / s }' "$WORK/bulk-$t.csv") \
$(awk -v d=$((after - before)) -v hz="$HZ" -v s="$BULK_DUR" 'BEGIN { printf "%.2f", d / hz / s }') \
$(pct_ms "$WORK/bulk-$t.lat" 1000 | awk '{ print $1, $3 }')"
  if [ "$t" = redis ]; then redis-cli -p "$REDIS_PORT" del pubonly >/dev/null; fi
done

# --- report -----------------------------------------------------------------------------------
field() { echo "$1" | awk -v i="$2" '{ print $i }'; }
sub_ms() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/) printf "%.2f", a - b; else print "n/a" }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b > 0) printf "%.0f%%", 100 * a / b; else print "n/a" }'; }
verdict() {
  awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
    if (v !~ /^-?[0-9.]+%?$/) { print "n/a"; exit }
    sub(/%$/, "", v); ok = (op == "<=") ? (v + 0 <= l + 0) : (v + 0 >= l + 0)
    print ok ? "met" : "NOT met" }'
}
label() {
  case $1 in
    baseline) echo "baseline (bench sink, 204)" ;;
    mem) echo "sidecar, in-memory" ;;
    redis) echo "sidecar, redis" ;;
    redisc) echo "sidecar, redis, concurrency 10" ;;
    rabbit) echo "sidecar, rabbitmq" ;;
    dredis) echo "redis direct (hiredis)" ;;
    drabbit) echo "rabbitmq direct (librabbitmq)" ;;
  esac
}
na() { printf "    %-34s not available: %s\n" "$(label "$1")" "${NOTE[${1#d}]:-${RABBIT_NOTE:-?}}"; }
DIRTY=""
git -C "$ROOT" diff --quiet HEAD -- common sidecar 2>/dev/null || DIRTY=" + uncommitted changes"

echo
echo "Outrigger pub/sub benchmark — $(date -u '+%Y-%m-%d %H:%M UTC'), $(($(date +%s) - T0)) s"
echo "load average before / after the run: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg)"
echo "host: $(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(uname -r)"
echo "outriggerd: Release, $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$DIRTY; redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'); rabbitmq $(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null | cut -d- -f1)"
echo "events: ${EVENT_BYTES} B JSON; $ROUNDS rounds, targets taking turns"
echo
echo "(a) Publish latency: hey -z ${DUR}s -c $CONNS -q $HEY_Q (= $RATE req/s), every request of every round"
printf "    %-34s %8s %8s %8s %8s   %s\n" target "p50 ms" "p90 ms" "p99 ms" requests "added p50 / p99"
for t in baseline mem redis rabbit; do
  if [ -n "${PUBLAT[$t]:-}" ]; then
    v=${PUBLAT[$t]}
    added=""
    [ "$t" != baseline ] && added="$(sub_ms "$(field "$v" 1)" "$(field "${PUBLAT[baseline]}" 1)") / $(sub_ms "$(field "$v" 3)" "$(field "${PUBLAT[baseline]}" 3)")"
    printf "    %-34s %8s %8s %8s %8s   %s\n" "$(label $t)" $v "$added"
  else
    na "$t"
  fi
done
CPU_MEM_CORES=$(awk -v d="$CPU_PUB_MEM" -v hz="$HZ" -v s=$((ROUNDS * DUR)) 'BEGIN { printf "%.2f", d / hz / s }')
echo "    sidecar CPU while publishing $RATE/s to in-memory: $CPU_MEM_CORES cores"
echo "    (hey reports whole 0.1 ms steps: each latency is +-0.05 ms)"
echo
echo "(b) Publish -> delivery at $RATE events/s for ${DUR}s per round (16 publishing connections;"
echo "    direct: one producer and one consumer connection); latency = delivery - send"
printf "    %-34s %8s %8s %8s %12s\n" target "p50 ms" "p90 ms" "p99 ms" "delivered"
for t in mem redis redisc dredis rabbit drabbit; do
  if [ -n "${DELIV[$t]:-}" ]; then
    v=${DELIV[$t]}
    printf "    %-34s %8s %8s %8s %12s\n" "$(label $t)" "$(field "$v" 1)" "$(field "$v" 2)" \
      "$(field "$v" 3)" "${DELIV_OK[$t]}/${DELIV_SENT[$t]}"
  else
    na "$t"
  fi
done
echo "    in-memory has no direct equivalent: the broker is a queue inside the sidecar"
echo
echo "(c) Max throughput: $MAX_EVENTS events per round, median round"
printf "    %-34s %14s %14s\n" target "delivered/s" "published/s"
for t in mem redis redisc dredis rabbit drabbit; do
  if [ -n "${TPUT[$t]:-}" ]; then
    printf "    %-34s %14s %14s\n" "$(label $t)" "${TPUT[$t]}" "${ACCEPT[$t]:--}"
  else
    na "$t"
  fi
done
echo "    sidecar / direct delivered/s: redis $(pct "${TPUT[redis]:-}" "${TPUT[dredis]:-0}"), redis concurrency 10 $(pct "${TPUT[redisc]:-}" "${TPUT[dredis]:-0}"), rabbitmq $(pct "${TPUT[rabbit]:-}" "${TPUT[drabbit]:-0}")"
echo
echo "(d) Bulk publish: hey -z ${BULK_DUR}s -c $BULK_CONNS -q $BULK_Q, $BULK_ENTRIES entries per request (= $((BULK_CONNS * BULK_Q * BULK_ENTRIES)) events/s offered)"
printf "    %-34s %10s %8s %14s %14s\n" "publisher-only sidecar" "events/s" "cores" "batch p50 ms" "batch p99 ms"
for t in mem redis rabbit; do
  if [ -n "${BULK[$t]:-}" ]; then
    printf "    %-34s %10s %8s %14s %14s\n" "$(label $t)" ${BULK[$t]}
  else
    na "$t"
  fi
done

ADDED99=$(sub_ms "$(field "${PUBLAT[mem]}" 3)" "$(field "${PUBLAT[baseline]}" 3)")
BULK_RATE=$(field "${BULK[mem]:-}" 1)
BULK_CORES=$(field "${BULK[mem]:-}" 2)
echo
echo "Targets (issue 3 §7; Dapr 1.18 for reference)"
printf "    %-58s %-8s %s\n" "publish adds p99 <= 0.3 ms, in-memory (Dapr: +0.83 ms)" "$ADDED99" \
  "$(verdict "$ADDED99" '<=' 0.3)"
printf "    %-58s %-8s %s\n" "bulk publish reaches 20 000 events/s, in-memory" "$BULK_RATE" \
  "$(verdict "$BULK_RATE" '>=' 19600)"
printf "    %-58s %-8s %s\n" "... on <= 0.4 core (Dapr: 2.2 cores)" "$BULK_CORES" \
  "$(verdict "$BULK_CORES" '<=' 0.4)"
exit 0
