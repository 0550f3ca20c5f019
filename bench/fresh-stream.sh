#!/usr/bin/env bash
# First streamed byte on fresh client connections, as a new user meets it: one `curl -N` per request
# (a new TCP connection each time) against a Node SSE upstream (bench/sse-upstream.mjs: 20 events 5 ms
# apart), straight (direct), through one or more gateway builds, and through nginx proxy_pass
# (bench/nginx.conf.template: keep-alive upstream, proxy_buffering off). Every target is first warmed with
# WARM seconds of `wrk -H "Connection: close"` streaming load; then N rounds, each sending one request to
# every target in a random order (drift hits all alike). Reports time to first byte (curl's
# time_starttransfer), added = target - direct (percentiles of each, and the per-round paired difference),
# the gateway's x-nemo-overhead-ms, and how many of each target's upstream requests came on a new
# upstream connection (counted by the upstream).
#
# Usage: bench/fresh-stream.sh [N]
#   GW="name=jar[,name2=jar2]"  gateway builds (default gateway=server/target/nemo-router.jar, else /tmp/base)
#   GW_OPTS_<name>="..."        extra JVM flags for one of them (NEMO_JAVA_OPTS)
#   Gateways start through this checkout's scripts/nemo-router, which adds -XX:CompileThresholdScaling=0.1;
#   to start a build as main's launcher does, give it GW_OPTS_<name>=-XX:CompileThresholdScaling=1
#   GW_ENV_<name>="K=V ..."     extra environment for one of them (bench/fresh-stream.conf reads BENCH_IO_THREADS)
#   GW_PREWARM=0: seconds of extra warm-up for the gateways only, twice: short streams (3 events, no gap, 16
#                 connections), then GW_PREWARM_EVENTS (20) events GW_PREWARM_GAP_MS (5) apart on GW_PREWARM_C (128)
#                 connections, all Connection: close; to see what is left once the JIT has compiled the paths
#   WARM=6 (s of wrk per target), WRK_C=8 (wrk connections), NGINX_WORKERS=2, ROUND_GAP_MS=0 (sleep between rounds, ms)
#   KEEP=1: leave everything running at the end (prints the ports; kill the pids in $out/pids)
#   UPSTREAM_KEEPALIVE_MS: Node's server.keepAliveTimeout (its default, 5000, if unset)
# Results: bench/results/fresh-<time>/ (samples.tsv, report.txt, logs)
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
cd "$root"
n="${1:-200}"; warm="${WARM:-6}"; wrk_c="${WRK_C:-8}"; workers="${NGINX_WORKERS:-2}"
up=19700; ngx=19702; gw_port=19710
default_jar="$root/server/target/nemo-router.jar"; [ -f "$default_jar" ] || default_jar=/tmp/base/nemo-router.jar
gws="${GW:-gateway=$default_jar}"

command -v nginx >/dev/null && command -v wrk >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light wrk >/dev/null; }
out="$root/bench/results/fresh-$(date +%Y%m%d-%H%M%S)"; mkdir -p "$out/nginx"
pids=()
cleanup() {
  [ "${KEEP:-0}" = 1 ] && { echo "${pids[*]}" > "$out/pids"; echo "left running: pids in $out/pids"; return; }
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$out"/data-*
}
trap cleanup EXIT
wait_port() {
  for _ in $(seq 1 1200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "nothing listening on $1" >&2; exit 1
}

KEEPALIVE_MS="${UPSTREAM_KEEPALIVE_MS:-}" node bench/sse-upstream.mjs $up > "$out/upstream.log" 2>&1 & pids+=($!)
sed -e "s#__DIR__#$out/nginx#g" -e "s#__UPSTREAM__#$up#" -e "s#__PORT__#$ngx#" -e "s#__WORKERS__#$workers#" \
  bench/nginx.conf.template > "$out/nginx/nginx.conf"
nginx -p "$out/nginx" -c "$out/nginx/nginx.conf" -g "daemon off;" > "$out/nginx/stdout.log" 2> "$out/nginx/stderr.log" & pids+=($!)
targets=("direct:$up" "nginx:$ngx")
IFS=',' read -ra gw_list <<<"$gws"
for g in "${gw_list[@]}"; do
  name="${g%%=*}"; jar="$(readlink -f "${g#*=}")"; opts_var="GW_OPTS_$name"; env_var="GW_ENV_$name"
  env NEMO_DATA_DIR="$out/data-$name" ${!env_var:-} BENCH_UPSTREAM_PORT=$up NEMO_LOG_LEVEL=WARN NEMO_JAR="$jar" NEMO_JAVA_OPTS="-Xms1g -Xmx1g -XX:+AlwaysPreTouch ${!opts_var:-}" \
    scripts/nemo-router --config bench/fresh-stream.conf --port $gw_port > "$out/$name.log" 2>&1 & pids+=($!)
  echo "$name: $jar on $gw_port (pid $!) ${!opts_var:-} ${!env_var:-}"
  wait_port $gw_port  # one at a time: a start-up warm-up gets the machine to itself
  targets+=("$name:$gw_port"); gw_port=$((gw_port + 1))
done
for t in "${targets[@]}"; do wait_port "${t##*:}"; done

body='{"model":"bench","stream":true,"messages":[{"role":"user","content":"Summarise the benefits of an LLM gateway in one line."}]}'
if [ "${GW_PREWARM:-0}" != 0 ]; then  # extra warm-up for the gateways only, fresh connections: first short streams, then the measured shape
  for t in "${targets[@]:2}"; do
    for shape in "3 0 16" "${GW_PREWARM_EVENTS:-20} ${GW_PREWARM_GAP_MS:-5} ${GW_PREWARM_C:-128}"; do
      read -r ev gap c <<<"$shape"
      wrk -t1 -c"$c" -d"${GW_PREWARM}s" -H "Connection: close" -H "x-sse-events: $ev" -H "x-sse-gap-ms: $gap" -s bench/stream.lua \
        "http://127.0.0.1:${t##*:}/v1/chat/completions" | awk -v t="${t%%:*}" -v s="$ev events $gap ms apart, $c connections" \
        '/Requests\/sec/ { printf "  pre-warm %s (%s): %s streams/s\n", t, s, $2 }'
    done
  done
fi
echo "== warm-up: ${warm}s of wrk -c$wrk_c -H 'Connection: close' streaming per target"
for t in "${targets[@]}"; do
  wrk -t1 -c"$wrk_c" -d"${warm}s" -H "Connection: close" -s bench/stream.lua "http://127.0.0.1:${t##*:}/v1/chat/completions" \
    | awk -v t="${t%%:*}" '/Requests\/sec/ { printf "  %s: %s streams/s\n", t, $2 }'
done
curl -s "http://127.0.0.1:$up/stats" > "$out/upstream-stats-before.json"

echo "== $n rounds, one fresh curl -N per target per round, random order"
printf 'round\ttarget\tconnect_us\tttfb_us\ttotal_us\toverhead_ms\n' > "$out/samples.tsv"
hdr="$out/headers.txt"
for i in $(seq "$n"); do
  for t in $(printf '%s\n' "${targets[@]}" | shuf); do
    w="$(curl -N -s -o /dev/null -D "$hdr" -w '%{time_connect} %{time_starttransfer} %{time_total}' \
      -H 'content-type: application/json' -H "x-bench-target: ${t%%:*}" -d "$body" "http://127.0.0.1:${t##*:}/v1/chat/completions")"
    ov="$(awk -F': ' 'tolower($1)=="x-nemo-overhead-ms" { gsub(/\r/, "", $2); print $2 }' "$hdr")"
    read -r c f tot <<<"$w"
    printf '%s\t%s\t%.0f\t%.0f\t%.0f\t%s\n' "$i" "${t%%:*}" "$(echo "$c*1000000" | bc)" "$(echo "$f*1000000" | bc)" \
      "$(echo "$tot*1000000" | bc)" "${ov:--}" >> "$out/samples.tsv"
  done
  [ "${ROUND_GAP_MS:-0}" = 0 ] || sleep "$(echo "${ROUND_GAP_MS}/1000" | bc -l)"
done
curl -s "http://127.0.0.1:$up/stats" > "$out/upstream-stats-after.json"

node - "$out" <<'EOF' | tee "$out/report.txt"
const fs = require('fs'); const out = process.argv[2];
const rows = fs.readFileSync(out + '/samples.tsv', 'utf8').trim().split('\n').slice(1).map(l => l.split('\t'));
const by = {}, round = {};
for (const [r, t, c, f, tot, ov] of rows) {
  (by[t] ||= { ttfb: [], ov: [], connect: [] });
  by[t].ttfb.push(+f); by[t].connect.push(+c); if (ov !== '-') by[t].ov.push(+ov);
  (round[r] ||= {})[t] = +f;
}
const q = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
const med = a => q(a, 0.5);
const d = by.direct.ttfb;
console.log(`first byte (curl time_starttransfer), µs, ${d.length} fresh connections per target`);
console.log('target     p50     p90     p99  | added p50  added p90 | paired added p50  p90 | connect p50');
for (const [t, v] of Object.entries(by)) {
  const paired = Object.values(round).filter(x => x[t] !== undefined && x.direct !== undefined).map(x => x[t] - x.direct);
  const add = t === 'direct' ? '          -          -' :
    `${String(med(v.ttfb) - med(d)).padStart(11)} ${String(q(v.ttfb, .9) - q(d, .9)).padStart(10)}`;
  const pa = t === 'direct' ? '                    -     -' : `${String(med(paired)).padStart(21)} ${String(q(paired, .9)).padStart(5)}`;
  console.log(`${t.padEnd(8)} ${String(med(v.ttfb)).padStart(6)} ${String(q(v.ttfb, .9)).padStart(7)} ${String(q(v.ttfb, .99)).padStart(7)}  |${add} |${pa} | ${med(v.connect)}`);
}
for (const [t, v] of Object.entries(by)) if (v.ov.length) {
  const o = v.ov.map(x => x * 1000);
  console.log(`${t} x-nemo-overhead-ms as µs: p50 ${med(o).toFixed(0)}, p90 ${q(o, .9).toFixed(0)}, max ${Math.max(...o).toFixed(0)}, min ${Math.min(...o).toFixed(0)}`);
}
const b = JSON.parse(fs.readFileSync(out + '/upstream-stats-before.json')), a = JSON.parse(fs.readFileSync(out + '/upstream-stats-after.json'));
for (const t of Object.keys(a.byTarget)) {
  const x = a.byTarget[t], y = b.byTarget[t] || { requests: 0, newConnections: 0 };
  console.log(`upstream saw ${t}: ${x.requests - y.requests} requests, ${x.newConnections - y.newConnections} on new connections`);
}
console.log(`upstream connections accepted during the rounds: ${a.connections - b.connections}`);
EOF
echo "Results in $out"
