#!/usr/bin/env bash
# Sidecar benchmark: service invocation, state, memory and start-up time of outriggerd, with
# nginx and redis-benchmark measured in the same run on the same machine as baselines.
# Not a test: it prints numbers and exits 0 whatever they are (non-zero only if it cannot run).
#
#   bench/sidecar.sh                 # builds build-bench (Release) and runs everything (~3 min)
#
# Environment knobs:
#   BENCH_BUILD_DIR   build directory (default <repo>/build-bench)
#   BENCH_SKIP_BUILD  1: use the binaries already in BENCH_BUILD_DIR
#   BENCH_ROUNDS      rounds of the invocation measurements (default 3); the targets take turns
#                     within a round, so a burst of load from elsewhere on a shared machine
#                     spreads over all of them instead of hitting one
#   BENCH_DURATION    seconds per target and round (default 4: 12 s per target in all)
#   BENCH_STATE_DURATION  seconds per state measurement (default 5)
#   BENCH_KEEP        1: keep the work directory (logs, raw tool outputs) and print its path
#
# What is measured (docs/performance.md has a recorded run and how to read it):
#  (a) POST with a 1 KB body to an app answering 1 KB, five ways: app direct; one sidecar
#      (sidecar B -> its app); two sidecars (sidecar A -> sidecar B's internal port -> app);
#      one nginx (-> app); nginx pair (nginx 1 -> nginx 2 -> app). Max throughput: wrk, 2
#      threads, 16 connections, median of the rounds. Latency: hey at a fixed 1000 req/s over
#      16 connections (-c 16 -q 62.5: hey's rate is per worker), p50/p90/p99 over every request
#      of every round (hey -o csv).
#  (b) state GET and SAVE (1 KB values, 1000 keys) through a sidecar on state.in-memory and on
#      state.redis (a redis-server on a free loopback port), wrk with Lua scripts, 16
#      connections; redis-benchmark GET/SET (16 clients, 1 KB values, 1000 keys) as baseline.
#  (c) outriggerd VmRSS idle (after start, before any traffic) and peak while serving the
#      1000 req/s runs (sampled every 50 ms), plus peak at max throughput.
#  (d) exec to GET /v1.0/healthz = 204 with local components (in-memory state), median of 10.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BENCH_BUILD_DIR:-$ROOT/build-bench}
ROUNDS=${BENCH_ROUNDS:-3}
DUR=${BENCH_DURATION:-4}
STATE_DUR=${BENCH_STATE_DURATION:-5}
CONNS=16
RATE=1000
HEY_Q=$(awk -v r=$RATE -v c=$CONNS 'BEGIN { printf "%g", r / c }')

for tool in wrk hey nginx redis-server redis-benchmark redis-cli curl python3 cmake; do
  command -v "$tool" >/dev/null || {
    echo "bench: '$tool' is missing (scripts/install-deps.sh installs it)" >&2
    exit 1
  }
done

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  echo "bench: building outriggerd (Release) in $BUILD" >&2
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DOUTRIGGER_BUILD_TESTS=OFF >/dev/null
  cmake --build "$BUILD" --target outriggerd bench_echo_app bench_startup_probe -j2 >/dev/null
fi
OUTRIGGERD=$BUILD/sidecar/outriggerd
ECHO_APP=$BUILD/bench/bench_echo_app
STARTUP_PROBE=$BUILD/bench/bench_startup_probe

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
WORK=$(mktemp -d /tmp/outrigger-bench.XXXXXX)
export OUTRIGGER_NAMERESOLUTION_DIR=$WORK/nameresolution
mkdir -p "$OUTRIGGER_NAMERESOLUTION_DIR" "$WORK/res-mem" "$WORK/res-redis"
PIDS=()

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "bench: work directory kept: $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "bench: $*" >&2; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for URL CODE PID: polls until URL answers CODE (5 s at most), fails if PID dies.
wait_for() {
  local url=$1 code=$2 pid=$3 i
  for i in $(seq 1 250); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)" = "$code" ] && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.02
  done
  return 1
}

# start_sidecar NAME APP_ID HTTP_PORT RESOURCES_DIR [more flags]: sets SIDECAR_PID.
start_sidecar() {
  local name=$1 app_id=$2 port=$3 res=$4
  shift 4
  "$OUTRIGGERD" --app-id "$app_id" --dapr-http-port "$port" --dapr-grpc-port "$(free_port)" \
    --dapr-internal-grpc-port "$(free_port)" --metrics-port "$(free_port)" \
    --resources-path "$res" --log-level warn "$@" >"$WORK/$name.log" 2>&1 &
  SIDECAR_PID=$!
  PIDS+=("$SIDECAR_PID")
}

# nginx_proxy NAME PORT UPSTREAM_PORT: an nginx reverse proxy with keep-alive upstreams, as
# many workers as outriggerd has I/O threads (2), no access log.
nginx_proxy() {
  local name=$1 port=$2 upstream=$3 dir=$WORK/$1
  mkdir -p "$dir"
  local user_line=""
  [ "$(id -u)" -eq 0 ] && user_line="user root;"
  cat >"$dir/nginx.conf" <<EOF
$user_line
worker_processes 2;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  upstream app { server 127.0.0.1:$upstream; keepalive 64; }
  server {
    listen 127.0.0.1:$port;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
  nginx -e "$dir/error.log" -c "$dir/nginx.conf" -p "$dir" &
  PIDS+=($!)
  NGINX_PID=$!
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# sample_rss PID OUTFILE: writes the peak VmRSS (kB) seen every 50 ms until killed.
sample_rss() {
  local pid=$1 out=$2 peak=0 k v _
  while :; do
    while read -r k v _; do
      if [ "$k" = "VmRSS:" ]; then
        [ "$v" -gt "$peak" ] && peak=$v && echo "$peak" >"$out"
        break
      fi
    done <"/proc/$pid/status" || return 0
    sleep 0.05
  done
}

# run_wrk NAME URL LUA SECONDS: prints req/s; warns about errors and non-2xx answers. Keeps
# every run's output in $WORK/wrk-NAME.txt.
run_wrk() {
  local name=$1 url=$2 lua=$3 secs=$4 out=$WORK/wrk-last.txt
  wrk -t2 -c"$CONNS" -d"${secs}s" -s "$lua" --latency "$url" >"$out"
  cat "$out" >>"$WORK/wrk-$name.txt"
  if grep -qE 'Non-2xx|Socket errors' "$out"; then
    log "WARNING: $name: $(grep -E 'Non-2xx|Socket errors' "$out" | tr -s ' ' | tr '\n' ' ')"
  fi
  awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out"
}

# run_hey NAME URL: one round at RATE req/s over CONNS connections; appends every request's
# latency and status to $WORK/hey-NAME.csv.
run_hey() {
  local name=$1 url=$2
  hey -z "${DUR}s" -c "$CONNS" -q "$HEY_Q" -m POST -D "$WORK/body.bin" \
    -T application/octet-stream -o csv "$url" | tail -n +2 >>"$WORK/hey-$name.csv"
}

# hey_summary NAME SECONDS: "p50 p90 p99 achieved_req/s" (ms) over every 200 answer.
hey_summary() {
  local csv=$WORK/hey-$1.csv bad
  bad=$(awk -F, '$7 != 200 { n++ } END { print n + 0 }' "$csv")
  [ "$bad" -gt 0 ] && log "WARNING: $1: $bad requests did not answer 200"
  awk -F, '$7 == 200 { print $1 * 1000 }' "$csv" | sort -n | awk -v secs="$2" '
    { v[NR] = $1 }
    function pct(p,  i) { i = int(NR * p + 0.999999); if (i < 1) i = 1; return v[i] }
    END { printf "%.1f %.1f %.1f %.0f", pct(0.50), pct(0.90), pct(0.99), NR / secs }'
}

median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# --- fixtures ---------------------------------------------------------------------------------
head -c 1024 /dev/zero | tr '\0' 'a' >"$WORK/body.bin"
cat >"$WORK/post.lua" <<'EOF'
wrk.method = "POST"
wrk.body = string.rep("a", 1024)
wrk.headers["Content-Type"] = "application/octet-stream"
EOF
# State: 1000 keys, 1 KB values. SAVE runs first so GET finds every key.
cat >"$WORK/state-save.lua" <<'EOF'
local value = string.rep("v", 1024)
request = function()
  local body = '[{"key":"k' .. math.random(1000) .. '","value":"' .. value .. '"}]'
  return wrk.format("POST", wrk.path, {["Content-Type"] = "application/json"}, body)
end
EOF
cat >"$WORK/state-get.lua" <<'EOF'
request = function()
  return wrk.format("GET", wrk.path .. "/k" .. math.random(1000))
end
EOF
cat >"$WORK/res-mem/statestore.yaml" <<'EOF'
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
spec:
  type: state.in-memory
  version: v1
  metadata: []
EOF

# --- processes --------------------------------------------------------------------------------
"$ECHO_APP" 0 >"$WORK/app.port" &
PIDS+=($!)
APP_PID=$!
for _ in $(seq 1 100); do [ -s "$WORK/app.port" ] && break; sleep 0.02; done
APP_PORT=$(cat "$WORK/app.port")

B_PORT=$(free_port)
start_sidecar sidecar-b appb "$B_PORT" "$WORK/res-mem" --app-port "$APP_PORT"
B_PID=$SIDECAR_PID
A_PORT=$(free_port)
start_sidecar sidecar-a appa "$A_PORT" "$WORK/res-mem"
A_PID=$SIDECAR_PID
N2_PORT=$(free_port)
nginx_proxy nginx2 "$N2_PORT" "$APP_PORT"
N2_PID=$NGINX_PID
N1_PORT=$(free_port)
nginx_proxy nginx1 "$N1_PORT" "$N2_PORT"
N1_PID=$NGINX_PID

wait_for "http://127.0.0.1:$B_PORT/v1.0/healthz" 204 "$B_PID" || {
  log "sidecar B did not start:"; cat "$WORK/sidecar-b.log" >&2; exit 1; }
wait_for "http://127.0.0.1:$A_PORT/v1.0/healthz" 204 "$A_PID" || {
  log "sidecar A did not start:"; cat "$WORK/sidecar-a.log" >&2; exit 1; }
wait_for "http://127.0.0.1:$N2_PORT/" 200 "$N2_PID" || {
  log "nginx 2 did not start:"; cat "$WORK/nginx2/error.log" >&2; exit 1; }
wait_for "http://127.0.0.1:$N1_PORT/" 200 "$N1_PID" || {
  log "nginx 1 did not start:"; cat "$WORK/nginx1/error.log" >&2; exit 1; }

declare -A URL=(
  [direct]="http://127.0.0.1:$APP_PORT/x"
  [sidecar1]="http://127.0.0.1:$B_PORT/v1.0/invoke/appb/method/x"
  [sidecar2]="http://127.0.0.1:$A_PORT/v1.0/invoke/appb/method/x"
  [nginx1]="http://127.0.0.1:$N2_PORT/x"
  [nginx2]="http://127.0.0.1:$N1_PORT/x"
)
for t in direct sidecar1 sidecar2 nginx1 nginx2; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @"$WORK/body.bin" "${URL[$t]}")
  [ "$code" = 200 ] || { log "$t: POST ${URL[$t]} answered $code"; exit 1; }
done

# (c) idle RSS: after start and one request each, before any load.
sleep 1
RSS_IDLE_A=$(rss_kb "$A_PID")
RSS_IDLE_B=$(rss_kb "$B_PID")

# (a) latency at a fixed rate first, so the RSS peak below is the one under 1000 req/s.
declare -A LAT TPUT
for t in direct sidecar1 sidecar2 nginx2; do  # warm-up: connections, caches
  hey -z 1s -c "$CONNS" -q "$HEY_Q" -m POST -D "$WORK/body.bin" "${URL[$t]}" >/dev/null
done
sample_rss "$A_PID" "$WORK/rss-a-fixed" &
SAMPLER_A=$!
sample_rss "$B_PID" "$WORK/rss-b-fixed" &
SAMPLER_B=$!
PIDS+=("$SAMPLER_A" "$SAMPLER_B")
for r in $(seq 1 "$ROUNDS"); do
  for t in direct sidecar1 sidecar2 nginx2; do
    log "round $r/$ROUNDS: latency at $RATE req/s: $t"
    run_hey "$t" "${URL[$t]}"
  done
done
kill "$SAMPLER_A" "$SAMPLER_B" 2>/dev/null || true
wait "$SAMPLER_A" "$SAMPLER_B" 2>/dev/null || true
RSS_FIXED_A=$(cat "$WORK/rss-a-fixed" 2>/dev/null || echo 0)
RSS_FIXED_B=$(cat "$WORK/rss-b-fixed" 2>/dev/null || echo 0)
for t in direct sidecar1 sidecar2 nginx2; do
  LAT[$t]=$(hey_summary "$t" $((ROUNDS * DUR)))
done

declare -A TPUT_ROUNDS
for r in $(seq 1 "$ROUNDS"); do
  for t in direct sidecar1 sidecar2 nginx1 nginx2; do
    log "round $r/$ROUNDS: max throughput: $t"
    TPUT_ROUNDS[$t]+=" $(run_wrk "$t" "${URL[$t]}" "$WORK/post.lua" "$DUR")"
  done
done
for t in direct sidecar1 sidecar2 nginx1 nginx2; do
  TPUT[$t]=$(echo "${TPUT_ROUNDS[$t]}" | median)
done
HWM_A=$(awk '/^VmHWM:/ { print $2 }' "/proc/$A_PID/status")
HWM_B=$(awk '/^VmHWM:/ { print $2 }' "/proc/$B_PID/status")

# (b) state.
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$WORK" --logfile "$WORK/redis.log" &
REDIS_PID=$!
PIDS+=("$REDIS_PID")
for _ in $(seq 1 250); do
  redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
  sleep 0.02
done
cat >"$WORK/res-redis/redisstore.yaml" <<EOF
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: redisstore
spec:
  type: state.redis
  version: v1
  metadata:
  - name: redisHost
    value: 127.0.0.1:$REDIS_PORT
  - name: redisPassword
    value: ""
EOF

declare -A STATE
S_PORT=$(free_port)
start_sidecar sidecar-state-mem appstate "$S_PORT" "$WORK/res-mem"
wait_for "http://127.0.0.1:$S_PORT/v1.0/healthz" 204 "$SIDECAR_PID" || {
  log "state sidecar did not start:"; cat "$WORK/sidecar-state-mem.log" >&2; exit 1; }
log "state in-memory"
wrk -t1 -c"$CONNS" -d1s -s "$WORK/state-save.lua" \
  "http://127.0.0.1:$S_PORT/v1.0/state/statestore" >/dev/null  # warm-up
STATE[mem_save]=$(run_wrk state-mem-save "http://127.0.0.1:$S_PORT/v1.0/state/statestore" \
  "$WORK/state-save.lua" "$STATE_DUR")
STATE[mem_get]=$(run_wrk state-mem-get "http://127.0.0.1:$S_PORT/v1.0/state/statestore" \
  "$WORK/state-get.lua" "$STATE_DUR")
kill "$SIDECAR_PID"

R_PORT=$(free_port)
start_sidecar sidecar-state-redis appstate2 "$R_PORT" "$WORK/res-redis"
REDIS_NOTE=""
if wait_for "http://127.0.0.1:$R_PORT/v1.0/healthz" 204 "$SIDECAR_PID" &&
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d '[{"key":"probe","value":"x"}]' "http://127.0.0.1:$R_PORT/v1.0/state/redisstore")" = 204 ]; then
  log "state redis"
  wrk -t1 -c"$CONNS" -d1s -s "$WORK/state-save.lua" \
    "http://127.0.0.1:$R_PORT/v1.0/state/redisstore" >/dev/null  # warm-up
  STATE[redis_save]=$(run_wrk state-redis-save "http://127.0.0.1:$R_PORT/v1.0/state/redisstore" \
    "$WORK/state-save.lua" "$STATE_DUR")
  STATE[redis_get]=$(run_wrk state-redis-get "http://127.0.0.1:$R_PORT/v1.0/state/redisstore" \
    "$WORK/state-get.lua" "$STATE_DUR")
else
  REDIS_NOTE=$(grep -m1 -iE 'error|unknown|fail' "$WORK/sidecar-state-redis.log" |
    sed -e 's/.*msg="\(.*\)".*/\1/' -e "s|$WORK/||g" | cut -c1-200 || true)
  [ -n "$REDIS_NOTE" ] || REDIS_NOTE="sidecar with a state.redis component did not serve SAVE"
fi
kill "$SIDECAR_PID" 2>/dev/null || true
log "redis-benchmark"
redis-benchmark -p "$REDIS_PORT" -c "$CONNS" -n 100000 -d 1024 -r 1000 -t set,get --csv -q \
  >"$WORK/redis-benchmark.csv"
RB_SET=$(awk -F'"' '$2 == "SET" { printf "%.0f", $4 }' "$WORK/redis-benchmark.csv")
RB_GET=$(awk -F'"' '$2 == "GET" { printf "%.0f", $4 }' "$WORK/redis-benchmark.csv")

# (d) start-up: exec to /v1.0/healthz = 204, in-memory state, the app already listening.
log "start-up time"
P_PORT=$(free_port)
"$STARTUP_PROBE" 10 "$P_PORT" "$OUTRIGGERD" --app-id appstart --app-port "$APP_PORT" \
  --dapr-http-port "$P_PORT" --dapr-internal-grpc-port "$(free_port)" \
  --metrics-port "$(free_port)" --resources-path "$WORK/res-mem" --log-level warn \
  >"$WORK/startup.txt"
read -r START_MED START_MIN START_MAX < <(tail -1 "$WORK/startup.txt")

# --- report -----------------------------------------------------------------------------------
lat() { echo "${LAT[$1]}" | awk -v i="$2" '{ print $i }'; }
# added TARGET FIELD: latency of TARGET minus app direct (ms).
added() { awk -v a="$(lat "$1" "$2")" -v d="$(lat direct "$2")" 'BEGIN { printf "%.1f", a - d }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "n/a" }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

echo
echo "Outrigger sidecar benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "load average before / after the run: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg)"
echo "host: $(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(uname -r)"
echo "outriggerd: Release, $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'); nginx $(nginx -v 2>&1 | sed 's|.*/||'); redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')"
echo
echo "(a) Service invocation: POST 1 KB -> app answering 1 KB"
echo "    $ROUNDS rounds, targets taking turns; max req/s: median of wrk -t2 -c$CONNS -d${DUR}s"
echo "    latency: every request of hey -z ${DUR}s -c $CONNS -q $HEY_Q (= $RATE req/s) in all rounds"
printf "    %-34s %10s %8s %8s %8s %9s\n" target "max req/s" "p50 ms" "p90 ms" "p99 ms" "at req/s"
for t in direct sidecar1 sidecar2 nginx1 nginx2; do
  case $t in
    direct) label="app direct" ;;
    sidecar1) label="one sidecar (B -> app)" ;;
    sidecar2) label="two sidecars (A -> B -> app)" ;;
    nginx1) label="one nginx (-> app)" ;;
    nginx2) label="nginx pair (1 -> 2 -> app)" ;;
  esac
  if [ -n "${LAT[$t]:-}" ]; then
    printf "    %-34s %10s %8s %8s %8s %9s\n" "$label" "${TPUT[$t]}" "$(lat $t 1)" "$(lat $t 2)" \
      "$(lat $t 3)" "$(lat $t 4)"
  else
    printf "    %-34s %10s %8s %8s %8s %9s\n" "$label" "${TPUT[$t]}" - - - -
  fi
done
echo
echo "    added latency vs app direct (ms)       p50      p90      p99"
printf "    %-34s %8s %8s %8s\n" "two sidecars" "$(added sidecar2 1)" "$(added sidecar2 2)" \
  "$(added sidecar2 3)"
printf "    %-34s %8s %8s %8s\n" "nginx pair" "$(added nginx2 1)" "$(added nginx2 2)" \
  "$(added nginx2 3)"
printf "    %-34s %8s %8s %8s   (target <= 1.2)\n" "ratio sidecars / nginx" \
  "$(ratio "$(added sidecar2 1)" "$(added nginx2 1)")" \
  "$(ratio "$(added sidecar2 2)" "$(added nginx2 2)")" \
  "$(ratio "$(added sidecar2 3)" "$(added nginx2 3)")"
echo "    (issue targets on dedicated nodes: two sidecars add <= 0.3 ms p50, <= 0.7 ms p99;"
echo "     hey reports whole 0.1 ms steps, so each latency is +-0.05 ms)"
echo "    one sidecar max req/s as % of one nginx: $(pct "${TPUT[sidecar1]}" "${TPUT[nginx1]}") (target >= 50%)"
echo
echo "(b) State, 1 KB values over 1000 keys: wrk -t2 -c$CONNS -d${STATE_DUR}s; redis-benchmark -c $CONNS -d 1024 -r 1000"
printf "    %-34s %10s %14s %8s\n" "store / op" "req/s" "baseline req/s" "ratio"
printf "    %-34s %10s %14s %8s\n" "in-memory SAVE (POST)" "${STATE[mem_save]}" - -
printf "    %-34s %10s %14s %8s\n" "in-memory GET" "${STATE[mem_get]}" - -
if [ -z "$REDIS_NOTE" ]; then
  printf "    %-34s %10s %14s %8s\n" "redis SAVE (POST) vs redis SET" "${STATE[redis_save]}" "$RB_SET" \
    "$(pct "${STATE[redis_save]}" "$RB_SET")"
  printf "    %-34s %10s %14s %8s\n" "redis GET vs redis GET" "${STATE[redis_get]}" "$RB_GET" \
    "$(pct "${STATE[redis_get]}" "$RB_GET")"
else
  printf "    %-34s %10s %14s %8s\n" "redis SAVE / GET" "not available" "SET $RB_SET" -
  printf "    %-34s %10s %14s %8s\n" "" "" "GET $RB_GET" -
  echo "    state.redis not available: $REDIS_NOTE"
fi
echo
echo "(c) outriggerd VmRSS (MB)                 sidecar A   sidecar B   target"
printf "    %-34s %11s %11s   %s\n" "idle (after start)" "$(mb "$RSS_IDLE_A")" "$(mb "$RSS_IDLE_B")" "<= 8"
printf "    %-34s %11s %11s   %s\n" "peak during the $RATE req/s runs" "$(mb "$RSS_FIXED_A")" \
  "$(mb "$RSS_FIXED_B")" "<= 15"
printf "    %-34s %11s %11s\n" "peak after max throughput (VmHWM)" "$(mb "$HWM_A")" "$(mb "$HWM_B")"
echo
echo "(d) exec -> /v1.0/healthz 204, in-memory state, 10 starts"
echo "    median $START_MED ms (min $START_MIN, max $START_MAX)   target <= 50 ms"

# verdict VALUE OP LIMIT: "met" or "NOT met" (n/a when VALUE is not a number).
verdict() {
  awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
    if (v !~ /^-?[0-9.]+%?$/) { print "n/a"; exit }
    sub(/%$/, "", v); ok = (op == "<=") ? (v + 0 <= l + 0) : (v + 0 >= l + 0)
    print ok ? "met" : "NOT met" }'
}
R50=$(ratio "$(added sidecar2 1)" "$(added nginx2 1)")
R99=$(ratio "$(added sidecar2 3)" "$(added nginx2 3)")
TP=$(pct "${TPUT[sidecar1]}" "${TPUT[nginx1]}")
echo
echo "Targets (this machine; the absolute latency ones are for dedicated nodes)"
printf "    %-58s %-8s %s\n" "two sidecars add <= 1.2x the nginx pair, p50" "$R50" "$(verdict "$R50" '<=' 1.2)"
printf "    %-58s %-8s %s\n" "two sidecars add <= 1.2x the nginx pair, p99" "$R99" "$(verdict "$R99" '<=' 1.2)"
printf "    %-58s %-8s %s\n" "two sidecars add <= 0.3 ms p50 (dedicated nodes)" "$(added sidecar2 1)" \
  "$(verdict "$(added sidecar2 1)" '<=' 0.3)"
printf "    %-58s %-8s %s\n" "two sidecars add <= 0.7 ms p99 (dedicated nodes)" "$(added sidecar2 3)" \
  "$(verdict "$(added sidecar2 3)" '<=' 0.7)"
printf "    %-58s %-8s %s\n" "one sidecar >= 50% of one nginx's max req/s" "$TP" "$(verdict "$TP" '>=' 50)"
printf "    %-58s %-8s %s\n" "RSS idle <= 8 MB (larger of A, B)" \
  "$(mb $((RSS_IDLE_A > RSS_IDLE_B ? RSS_IDLE_A : RSS_IDLE_B)))" \
  "$(verdict "$(mb $((RSS_IDLE_A > RSS_IDLE_B ? RSS_IDLE_A : RSS_IDLE_B)))" '<=' 8)"
printf "    %-58s %-8s %s\n" "RSS at 1000 req/s <= 15 MB (larger of A, B)" \
  "$(mb $((RSS_FIXED_A > RSS_FIXED_B ? RSS_FIXED_A : RSS_FIXED_B)))" \
  "$(verdict "$(mb $((RSS_FIXED_A > RSS_FIXED_B ? RSS_FIXED_A : RSS_FIXED_B)))" '<=' 15)"
printf "    %-58s %-8s %s\n" "exec -> healthz 204 <= 50 ms (median)" "$START_MED" \
  "$(verdict "$START_MED" '<=' 50)"
