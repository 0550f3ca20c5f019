#!/usr/bin/env bash
# Cold start: how long a gateway build takes to open its port, and the latency of the first N steps it
# serves after that (bench/cold-start.mjs: each step is a plain request on a kept-alive connection and a
# short streamed request on a fresh connection, to the gateway and straight to the upstream, interleaved),
# in windows, against bench/sse-upstream.mjs. The client process warms itself and the upstream on direct
# requests (CLIENT_WARM=3000 steps) before the gateway is started.
# Usage: bench/cold-start.sh [N=5000] [WINDOW=500]
#   GW="name=jar[,name2=jar2]" (default gateway=server/target/nemo-router.jar), GW_OPTS_<name>, GW_ENV_<name> as in fresh-stream.sh
#   REPEAT=1: start each build this many times (alternating builds)
#   Gateways start through this checkout's scripts/nemo-router, which adds -XX:CompileThresholdScaling=0.1;
#   to start a build as main's launcher does, give it GW_OPTS_<name>=-XX:CompileThresholdScaling=1
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
cd "$root"
n="${1:-5000}"; win="${2:-500}"; up=19700; port=19720
gws="${GW:-gateway=$root/server/target/nemo-router.jar}"
out="$root/bench/results/cold-$(date +%Y%m%d-%H%M%S)"; mkdir -p "$out"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
node bench/sse-upstream.mjs $up > "$out/upstream.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$up") 2>/dev/null && break; sleep 0.05; done
IFS=',' read -ra gw_list <<<"$gws"
for r in $(seq "${REPEAT:-1}"); do
  for g in "${gw_list[@]}"; do
    name="${g%%=*}"; jar="$(readlink -f "${g#*=}")"; opts_var="GW_OPTS_$name"; env_var="GW_ENV_$name"
    node bench/cold-start.mjs "http://127.0.0.1:$port" "http://127.0.0.1:$up" "$n" "$win" "$name" > "$out/$name-$r.txt" & cp=$!
    until grep -q "client warm" "$out/$name-$r.txt"; do sleep 0.1; done
    t0=$(date +%s%N)
    rm -rf "$out/data-$name"  # each start from an empty store, as a first start is
    env NEMO_DATA_DIR="$out/data-$name" ${!env_var:-} BENCH_UPSTREAM_PORT=$up NEMO_LOG_LEVEL=INFO NEMO_JAR="$jar" NEMO_JAVA_OPTS="-Xms1g -Xmx1g -XX:+AlwaysPreTouch ${!opts_var:-}" \
      scripts/nemo-router --config bench/fresh-stream.conf --port $port > "$out/$name-$r.log" 2>&1 & gp=$!
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.01; done
    t1=$(date +%s%N)
    wait $cp
    echo "== $name (run $r): port open $(( (t1 - t0) / 1000000 )) ms after launch ($jar ${!env_var:-}); $(grep -ho 'warm-up: .*' "$out/$name-$r.log" || true)" | tee -a "$out/summary.txt"
    grep -v "client warm" "$out/$name-$r.txt" | tee -a "$out/summary.txt"
    kill $gp; wait $gp 2>/dev/null || true
  done
done
echo "Results in $out"
