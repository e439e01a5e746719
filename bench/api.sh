#!/usr/bin/env bash
# bench/api.sh - tikgated vs nginx on loopback, in the same run (not a test).
#
#   bench/api.sh                        # DUR=10 CONN=64 THREADS=1 WARMUP=2 RUNS=3
#   DUR=5 CONN=100 RUNS=1 bench/api.sh  # other settings
#   ROUTE=list bench/api.sh             # GET /v1/control-plane/policies: a list of 100 policies
#
# Each run loads tikgated then nginx (alternating, so drifting background load hits both);
# the figures printed are each server's median run.
#
# Measures an authenticated `GET /v1/control-plane/policies/{id}` on tikgated against nginx
# serving the very same JSON bytes as a static file, with the same wrk settings, and prints
# both request rates, the ratio tikgated/nginx (target >= 0.8) and wrk's latency percentiles.
#
# tikgated: built in $BUILD (default build-release: -Dbuildtype=release -Dtests=false) when
# missing, started with a temporary data dir, a known bootstrap key, log level $LOG_LEVEL
# (default info, the default configuration: one access line per request) and $HTTP_THREADS
# workers. ROUTE=object (default): one policy; ROUTE=list: the policies list, 100 items (the
# default page) of the same shape; nginx serves the very same bytes either way.
# nginx: 1 worker, access_log off, its own temporary prefix and config.
# Both servers and the generator share this machine's CPUs; wrk is not pinned unless
# PIN=1 (then wrk runs on CPU 0 and each server on the remaining CPUs).
# Loopback only (127.0.0.1); ports $API_PORT (default 18480) and $NGINX_PORT (18481).
# Needs: wrk, nginx (Debian packages; installed with apt-get when missing and we are root).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-release}
DUR=${DUR:-10}
CONN=${CONN:-64}
THREADS=${THREADS:-1}
WARMUP=${WARMUP:-2}
RUNS=${RUNS:-3}
PIN=${PIN:-0}
LOG_LEVEL=${LOG_LEVEL:-info}
ROUTE=${ROUTE:-object}
HTTP_THREADS=${HTTP_THREADS:-2}
API_PORT=${API_PORT:-18480}
NGINX_PORT=${NGINX_PORT:-18481}
KEY=tg_sk_bench0000000000000000000000

. "$(dirname "$0")/need.sh"
bench_need wrk nginx:nginx-light curl
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# --- build -----------------------------------------------------------------------------------
if [[ ! -f $BUILD/build.ninja ]]; then
    meson setup "$BUILD" "$ROOT" -Dbuildtype=release -Dtests=false >&2
fi
ninja -C "$BUILD" src/daemon/tikgated >&2
TIKGATED=$BUILD/src/daemon/tikgated

# --- servers ---------------------------------------------------------------------------------
TMP=$(mktemp -d /tmp/tikgate-bench-api.XXXXXX)
API_PID=
NGINX_PID=
cleanup() {
    # No errexit here: a killed child's status (143) must not cut the cleanup short.
    set +e
    local p
    for p in $API_PID $NGINX_PID; do kill "$p" 2>/dev/null; done
    for p in $API_PID $NGINX_PID; do wait "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ncpu=$(nproc)
# Servers are started as direct children (no function or subshell wrapper), so $! is the
# server itself and the cleanup's kill reaches it.
srv_pin=(env)
wrk_pin=()
if [[ $PIN == 1 && $ncpu -ge 2 ]]; then
    srv_pin=(taskset -c "1-$((ncpu - 1))")
    wrk_pin=(taskset -c 0)
fi

wait_port() { # url
    for _ in $(seq 100); do
        curl -s -o /dev/null "$1" && return 0
        sleep 0.05
    done
    echo "server at $1 did not come up" >&2
    return 1
}

mkdir -p "$TMP/data"
TIKGATE_DATA_DIR=$TMP/data TIKGATE_LISTEN=127.0.0.1:$API_PORT TIKGATE_BOOTSTRAP_TOKEN=$KEY TIKGATE_VPN=off \
    TIKGATE_LOG_LEVEL=$LOG_LEVEL TIKGATE_HTTP_THREADS=$HTTP_THREADS TIKGATE_SHARE_DIR=$ROOT \
    "${srv_pin[@]}" "$TIKGATED" >"$TMP/tikgated.out" 2>"$TMP/tikgated.err" &
API_PID=$!
wait_port "http://127.0.0.1:$API_PORT/healthz" || { cat "$TMP/tikgated.err" >&2; exit 1; }

svc() { printf '"%s":{"enabled":%s,"port":%d,"networks":["10.0.0.0/8","192.168.88.0/24"]}' "$@"; }
body="{\"name\":\"bench\",\"trusted_networks\":[\"10.0.0.0/8\",\"172.16.0.0/12\"],\
\"custom_input_rules\":false,$(svc winbox true 8291),$(svc ssh true 22),$(svc http false 80),\
$(svc https true 443),$(svc telnet false 23),$(svc ftp false 21),$(svc api false 8728),\
$(svc api_ssl false 8729)}"
created=$(curl -sf -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d "$body" "http://127.0.0.1:$API_PORT/v1/control-plane/policies") \
    || { echo "policy create failed" >&2; exit 1; }
id=$(sed -n 's/.*"policy_id":"\([0-9a-f-]*\)".*/\1/p; s/^{"id":"\([0-9a-f-]*\)".*/\1/p' \
    <<<"$created" | head -1)
[[ -n $id ]] || { echo "no id in: $created" >&2; exit 1; }
API_PATH=/v1/control-plane/policies/$id
if [[ $ROUTE == list ]]; then
    # 100 policies in all (the tenant's default and the one above, then 98 more): one full page.
    for i in $(seq 98); do
        curl -sf -o /dev/null -X POST -H "Authorization: Bearer $KEY" \
            -H 'Content-Type: application/json' -d "${body/\"bench\"/\"bench-$i\"}" \
            "http://127.0.0.1:$API_PORT/v1/control-plane/policies" \
            || { echo "policy create $i failed" >&2; exit 1; }
    done
    API_PATH=/v1/control-plane/policies
fi
API_URL=http://127.0.0.1:$API_PORT$API_PATH

mkdir -p "$TMP/nginx/html/v1/control-plane/policies" "$TMP/nginx/logs"
[[ $ROUTE == list ]] && rmdir "$TMP/nginx/html/v1/control-plane/policies"
# The exact bytes tikgated answers, served by nginx at the same path.
curl -sf -H "Authorization: Bearer $KEY" -o "$TMP/nginx/html$API_PATH" "$API_URL"
bytes=$(stat -c %s "$TMP/nginx/html$API_PATH")
cat >"$TMP/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    types { application/json json; }
    default_type application/json;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $TMP/nginx/html;
    }
}
EOF
"${srv_pin[@]}" "$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" >"$TMP/nginx/logs/stdout" 2>&1 &
NGINX_PID=$!
NGINX_URL=http://127.0.0.1:$NGINX_PORT$API_PATH
wait_port "$NGINX_URL" || { cat "$TMP/nginx/logs/error.log" >&2; exit 1; }
cmp -s <(curl -sf "$NGINX_URL") <(curl -sf -H "Authorization: Bearer $KEY" "$API_URL") \
    || { echo "nginx and tikgated bodies differ" >&2; exit 1; }

# --- load ------------------------------------------------------------------------------------
WRK=(wrk -t"$THREADS" -c"$CONN" --latency)
run_wrk() { # name seconds url [header]
    local name=$1 secs=$2 url=$3
    shift 3
    "${wrk_pin[@]}" "${WRK[@]}" -d"${secs}s" "$@" "$url" >"$TMP/wrk.$name.txt"
}
rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
pct() { awk -v p="$2" '$1 == p {print $2}' "$1"; }
errors() { awk '/Non-2xx|Socket errors/ {print}' "$1"; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk: ${WRK[*]} -d${DUR}s (warm-up ${WARMUP}s each, $RUNS run(s), median kept); pin=$PIN"
echo "tikgated: $TIKGATED (log level $LOG_LEVEL, $HTTP_THREADS HTTP threads)"
echo "nginx:    $($NGINX -v 2>&1 | sed 's/.*: //') (1 worker, access_log off, sendfile)"
echo "body:     $bytes bytes, GET $API_PATH"
run_wrk warm-api "$WARMUP" "$API_URL" -H "Authorization: Bearer $KEY"
run_wrk warm-nginx "$WARMUP" "$NGINX_URL"
api_rates=() nginx_rates=()
if [[ -n ${PERF:-} ]]; then
    # PERF=file: a call-graph profile of tikgated over one extra run (not counted).
    perf record -g -o "$PERF" -p "$API_PID" -- sleep "$DUR" >/dev/null 2>&1 &
    perf_pid=$!
    run_wrk perf "$DUR" "$API_URL" -H "Authorization: Bearer $KEY"
    wait "$perf_pid" || true
    echo "perf profile: $PERF ($(rps "$TMP/wrk.perf.txt") req/s during the profile)"
fi
for r in $(seq "$RUNS"); do
    run_wrk "api.$r" "$DUR" "$API_URL" -H "Authorization: Bearer $KEY"
    run_wrk "nginx.$r" "$DUR" "$NGINX_URL"
    a=$(rps "$TMP/wrk.api.$r.txt")
    n=$(rps "$TMP/wrk.nginx.$r.txt")
    api_rates+=("$a $r") nginx_rates+=("$n $r")
    echo "run $r: tikgated $a req/s, nginx $n req/s, ratio $(awk -v a="$a" -v b="$n" \
        'BEGIN {printf "%.3f", a / b}')"
done
# The median run of each server (RUNS odd: the middle one; even: the upper middle).
median_run() { printf '%s\n' "$@" | sort -g | awk -v n=$# 'NR == int(n / 2) + 1 {print $2}'; }
ma=$(median_run "${api_rates[@]}")
mn=$(median_run "${nginx_rates[@]}")
for f in "$TMP/wrk.api.$ma.txt" "$TMP/wrk.nginx.$mn.txt"; do
    e=$(errors "$f")
    [[ -z $e ]] || echo "WARNING ($(basename "$f")): $e"
done
printf '\nmedian of %d run(s):\n%-9s %12s %9s %9s %9s %9s\n' "$RUNS" server req/s p50 p75 p90 p99
for s in tikgated:"$TMP/wrk.api.$ma.txt" nginx:"$TMP/wrk.nginx.$mn.txt"; do
    f=${s#*:}
    printf '%-9s %12s %9s %9s %9s %9s\n' "${s%%:*}" "$(rps "$f")" "$(pct "$f" 50%)" \
        "$(pct "$f" 75%)" "$(pct "$f" 90%)" "$(pct "$f" 99%)"
done
best_api=$(rps "$TMP/wrk.api.$ma.txt")
best_nginx=$(rps "$TMP/wrk.nginx.$mn.txt")
ratio=$(awk -v a="$best_api" -v b="$best_nginx" 'BEGIN {printf "%.3f", a / b}')
echo
echo "ratio tikgated/nginx (medians): $ratio (target >= 0.8)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
