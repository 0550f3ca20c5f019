#!/usr/bin/env bash
# Measures what Nemo Router adds, in one run on this machine:
#  1. added latency: a fixed-rate load straight at a fast upstream (the mock LLM server), through nginx
#     proxy_pass, through a raw Netty TCP relay (the JVM floor), and through the gateway;
#     non-streaming (to last byte) and streaming (to first byte)
#  2. throughput: wrk at full speed, direct / nginx / gateway
#  3. a Gatling simulation of the chat scenario, with its HTML report
# Usage: bench/run.sh [--quick] [--no-gatling]     Results: bench/results/<time>/
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
cd "$root"

warmup=10; seconds=20; wrk_seconds=15; warm_seconds=30; gatling=1
for a in "$@"; do
  case "$a" in
    --quick) warmup=3; seconds=5; wrk_seconds=5; warm_seconds=6 ;;
    --no-gatling) gatling=0 ;;
    *) echo "usage: bench/run.sh [--quick] [--no-gatling]" >&2; exit 2 ;;
  esac
done
rate="${BENCH_RATE:-1000}"
stream_rate="${BENCH_STREAM_RATE:-1000,200}"
workers="${BENCH_PROXY_THREADS:-2}"
up=19100; gw=19400; ngx=19500; raw=19600

if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light wrk >/dev/null
fi
mvn -q -B -Pbench -DskipTests package
jar="$root/server/target/nemo-router.jar"
out="$root/bench/results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out/nginx"

pids=()
cleanup() {
  [ -f "$out/nginx/nginx.pid" ] && kill "$(cat "$out/nginx/nginx.pid")" 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$out/data"
}
trap cleanup EXIT

wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listening on $1" >&2; exit 1
}

java -Xms256m -Xmx256m -cp "$jar" io.nemorouter.providers.mock.MockUpstreamServer --port "$up" --threads 1 --chunks 8 \
  > "$out/upstream.log" 2>&1 & pids+=($!)
NEMO_DATA_DIR="$out/data" BENCH_UPSTREAM_PORT=$up NEMO_PORT=$gw NEMO_JAVA_OPTS="-Xms1g -Xmx1g -XX:+AlwaysPreTouch" NEMO_LOG_LEVEL=WARN \
  scripts/nemo-router --config bench/bench.conf > "$out/gateway.log" 2>&1 & pids+=($!)
sed -e "s#__DIR__#$out/nginx#g" -e "s#__UPSTREAM__#$up#" -e "s#__PORT__#$ngx#" -e "s#__WORKERS__#$workers#" \
  bench/nginx.conf.template > "$out/nginx/nginx.conf"
nginx -p "$out/nginx" -c "$out/nginx/nginx.conf" -g 'daemon off;' 2> "$out/nginx/stderr.log" & pids+=($!)
# the raw relay is the floor for a Java/Netty hop: it gets the collector and huge pages the launcher
# gives the gateway, so the gap between them is the gateway's code, not its JVM flags
raw_flags=(-XX:+UseParallelGC)
grep -qE '\[(always|madvise)\]' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null && raw_flags+=(-XX:+UseTransparentHugePages)
java -Xms256m -Xmx256m -XX:+AlwaysPreTouch "${raw_flags[@]}" -cp bench/target/nemo-bench.jar io.nemorouter.bench.RawTcpProxy $raw $up "$workers" \
  > "$out/netty-raw.log" 2>&1 & pids+=($!)
wait_port $up; wait_port $gw; wait_port $ngx; wait_port $raw

# The JVMs compile their hot paths in the first tens of thousands of requests; measure after that,
# as a long-running gateway would be. Every target gets the same warm-up.
echo "== warm-up: ${warm_seconds}s of plain and streamed requests through each target"
for port in $up $ngx $raw $gw; do
  wrk -t1 -c16 -d${warm_seconds}s -s bench/post.lua "http://127.0.0.1:$port/v1/chat/completions" >/dev/null
  wrk -t1 -c16 -d$((warm_seconds / 2))s -s bench/stream.lua "http://127.0.0.1:$port/v1/chat/completions" >/dev/null
done

echo "== added latency ($warmup s warm-up + $seconds s per target)"
java -Xms512m -Xmx512m -jar bench/target/nemo-bench.jar \
  --target direct=127.0.0.1:$up --target gateway=127.0.0.1:$gw --target nginx=127.0.0.1:$ngx --target netty-raw=127.0.0.1:$raw \
  --rate "$rate" --stream-rate "$stream_rate" --warmup "$warmup" --seconds "$seconds" --out "$out/overhead.md"

echo "== throughput (wrk, 1 thread, 64 connections)"
# nginx and the gateway alternate in rounds (and in who goes first), so a drift of the machine between minutes hits both alike
rounds=3; round_seconds=$(( (wrk_seconds + rounds - 1) / rounds ))
{
  echo "# Throughput: wrk -t1 -c64, non-streaming chat, one target at a time"
  echo
  echo "direct and netty-raw: ${wrk_seconds}s each; nginx and gateway: $rounds alternating rounds of ${round_seconds}s each (requests/s of each round in brackets)."
  echo
  echo "| target | requests/s | p50 | p99 |"
  echo "|---|---:|---:|---:|"
} > "$out/throughput.md"
declare -A rps rounds_of
wrk_once() { # name port seconds -> appends to rounds_of[name], writes the last wrk output
  local res
  res="$(wrk -t1 -c64 -d"$3"s --latency -s bench/post.lua "http://127.0.0.1:$2/v1/chat/completions")"
  echo "$res" >> "$out/wrk-$1.txt"
  rounds_of[$1]="${rounds_of[$1]:-} $(awk '/Requests\/sec/ {print $2}' <<<"$res")"
  last_p50="$(awk '$1=="50%" {print $2}' <<<"$res")"; last_p99="$(awk '$1=="99%" {print $2}' <<<"$res")"
}
for t in direct:$up netty-raw:$raw nginx:$ngx gateway:$gw; do
  wrk -t1 -c64 -d2s -s bench/post.lua "http://127.0.0.1:${t##*:}/v1/chat/completions" >/dev/null  # warm
done
for t in direct:$up netty-raw:$raw; do
  wrk_once "${t%%:*}" "${t##*:}" "$wrk_seconds"
  rps[${t%%:*}]="${rounds_of[${t%%:*}]# }"
  echo "| ${t%%:*} | ${rps[${t%%:*}]} | $last_p50 | $last_p99 |" >> "$out/throughput.md"
done
declare -A p50s p99s
for r in $(seq "$rounds"); do
  order="nginx:$ngx gateway:$gw"; [ $((r % 2)) = 0 ] && order="gateway:$gw nginx:$ngx"  # who goes first alternates too
  for t in $order; do
    wrk_once "${t%%:*}" "${t##*:}" "$round_seconds"
    p50s[${t%%:*}]="$last_p50"; p99s[${t%%:*}]="$last_p99"
  done
done
for name in nginx gateway; do
  rps[$name]="$(awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.0f", s / NF }' <<<"${rounds_of[$name]}")"
  echo "| $name | ${rps[$name]} (${rounds_of[$name]# }) | ${p50s[$name]} | ${p99s[$name]} |" >> "$out/throughput.md"
done
ratio="$(awk -v g="${rps[gateway]}" -v n="${rps[nginx]}" 'BEGIN { printf "%.0f", 100 * g / n }')"
printf '\nGateway throughput is **%s%%** of nginx proxy_pass in front of the same upstream (mean of the rounds; p50/p99 of the last round).\n' "$ratio" >> "$out/throughput.md"
cat "$out/throughput.md"

if [ "$gatling" = 1 ]; then
  echo "== gatling (chat scenario through the gateway)"
  mvn -q -B -Pbench -pl bench gatling:test -Dgateway.url="http://127.0.0.1:$gw" -Dbench.seconds="$seconds" \
    > "$out/gatling.log" 2>&1 || { tail -30 "$out/gatling.log"; exit 1; }
  report="$(ls -td bench/target/gatling/*/ | head -1)"
  cp -r "$report" "$out/gatling"
  echo "Gatling report: $out/gatling/index.html"
fi
echo "Results in $out"
