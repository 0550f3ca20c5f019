#!/usr/bin/env bash
# A/B of two gateway builds under the same load at the same time: for changes worth less than the
# machine's drift between runs (tens of microseconds, a few percent of throughput).
#  - latency: OverheadBench sends one open-model load to direct, A and B at once, ROUNDS times
#  - throughput: wrk alternates A and B for ROUNDS rounds
# Usage: [A_OPTS=...] [B_OPTS=...] bench/ab.sh A.jar B.jar [rounds]   (A_OPTS/B_OPTS: extra JVM flags per side;
#   A_ENV/B_ENV="K=V ...": extra environment per side, which bench.conf reads; AB_SETUP=CMD: run once both are up,
#   its output becomes BENCH_AUTH, the key every request of the load carries, e.g. bench/keys-ab.sh;
#   A_CONF/B_CONF: a config file per side instead of bench/bench.conf, e.g. bench/export-ab.sh; CPU=1: each latency
#   round also reports each side's CPU per request by thread (event loops, request log, cache writer, GC, JIT, other),
#   from /proc's schedstat: work off the request path shows there, where two shared cores hide it in the p50) e.g. cp server/target/nemo-router.jar /tmp/a.jar; (change, build); bench/ab.sh /tmp/a.jar server/target/nemo-router.jar
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
[ $# -ge 2 ] || { echo "usage: bench/ab.sh A.jar B.jar [rounds]" >&2; exit 2; }
a="$(readlink -f "$1")"; b="$(readlink -f "$2")"; rounds="${3:-4}"
cd "$root"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
[ -f bench/target/nemo-bench.jar ] || mvn -q -B -Pbench -DskipTests package
up=19100; pa=19400; pb=19401
out="$root/bench/results/ab-$(date +%Y%m%d-%H%M%S)"; mkdir -p "$out"
# the ports free first: right after another run its gateways may still be draining, and a gateway finding its port
# taken exits (its log says so) while the wait below would see the old one's port open
for p in $up $pa $pb; do
  for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || break; sleep 0.1; done
done
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$out"/data-*; }
trap cleanup EXIT
java -Xms256m -Xmx256m -cp "$a" io.nemorouter.providers.mock.MockUpstreamServer --port $up --threads 1 --chunks 8 \
  > "$out/upstream.log" 2>&1 & pids+=($!)
# both through the real launcher (its JVM flags, NEMO_JAR picks the build), as bench/run.sh starts the gateway
env NEMO_DATA_DIR="$out/data-a" ${A_ENV:-} BENCH_UPSTREAM_PORT=$up NEMO_LOG_LEVEL=WARN NEMO_JAR="$a" NEMO_JAVA_OPTS="-Xms1g -Xmx1g -XX:+AlwaysPreTouch ${A_OPTS:-}" \
  scripts/nemo-router --config "${A_CONF:-bench/bench.conf}" --port $pa > "$out/a.log" 2>&1 & pids+=($!)
env NEMO_DATA_DIR="$out/data-b" ${B_ENV:-} BENCH_UPSTREAM_PORT=$up NEMO_LOG_LEVEL=WARN NEMO_JAR="$b" NEMO_JAVA_OPTS="-Xms1g -Xmx1g -XX:+AlwaysPreTouch ${B_OPTS:-}" \
  scripts/nemo-router --config "${B_CONF:-bench/bench.conf}" --port $pb > "$out/b.log" 2>&1 & pids+=($!)
for p in $up $pa $pb; do
  for _ in $(seq 600); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.1; done  # 60 s: a start-up warm-up comes first
done
if [ -n "${AB_SETUP:-}" ]; then
  BENCH_AUTH="$($AB_SETUP)"; export BENCH_AUTH
  echo "== AB_SETUP made a key for the load: ${BENCH_AUTH:0:12}..."
fi
echo "== warm-up (A and B alternately, 2 x 15 s each)"
for _ in 1 2; do for p in $pa $pb; do
  wrk -t1 -c16 -d10s -s bench/post.lua "http://127.0.0.1:$p/v1/chat/completions" >/dev/null
  wrk -t1 -c16 -d5s -s bench/stream.lua "http://127.0.0.1:$p/v1/chat/completions" >/dev/null
done; done
echo "== added latency, non-streaming at 1000/s, $rounds rounds of 10 s (A = gateway, B = b)"
# CPU=1: nanoseconds on the CPU so far, per thread group, of one gateway (its java process; schedstat's first field)
cpu_by_group() {
  for t in /proc/"$1"/task/*; do
    printf '%s %s\n' "$(tr ' ' '_' 2>/dev/null < "$t/comm")" "$(cut -d' ' -f1 "$t/schedstat" 2>/dev/null || echo 0)"
  done | awk '{ n = $1; g = "other";
    if (n ~ /^multiThreadIo|^epollEventLoop|^nioEventLoop/) g = "loops"; else if (n ~ /^nemo-request/) g = "log";
    else if (n ~ /^nemo-cache/) g = "cache"; else if (n ~ /^G1|^GC_|^VM_Thread/) g = "gc"; else if (n ~ /Compiler/) g = "jit";
    s[g] += $2 } END { for (g in s) print g, s[g] }' | sort
}
cpu_report() { # side, before, after, requests
  join <(echo "$2") <(echo "$3") | awk -v side="$1" -v n="$4" '{ d = ($3 - $2) / 1000 / n; t += d; printf "%s %s %.1f µs", (NR == 1 ? side ":" : ","), $1, d }
    END { printf ", all %.1f µs per request\n", t }'
}
for i in $(seq "$rounds"); do
  if [ -n "${CPU:-}" ]; then ca0="$(cpu_by_group "${pids[1]}")"; cb0="$(cpu_by_group "${pids[2]}")"; fi
  java -Xms512m -Xmx512m -jar bench/target/nemo-bench.jar --target direct=127.0.0.1:$up --target gateway=127.0.0.1:$pa \
    --target b=127.0.0.1:$pb --rate 1000 --only plain --warmup 3 --seconds 10 --out "$out/overhead-$i.md" 2>/dev/null \
    | awk '/Added by/ { gsub(/\*/, ""); print $3, $9 }' | tr '\n' ' ' | awk -v i="$i" '{ printf "round %d: A p50 +%s µs, B p50 +%s µs\n", i, $2, $4 }'
  if [ -n "${CPU:-}" ]; then # 13 s at 1000/s: the bench's 3 s warm-up and 10 s measured
    cpu_report "  cpu A" "$ca0" "$(cpu_by_group "${pids[1]}")" 13000 >> "$out/cpu.txt"
    cpu_report "  cpu B" "$cb0" "$(cpu_by_group "${pids[2]}")" 13000 >> "$out/cpu.txt"
    tail -2 "$out/cpu.txt" >&2
  fi
done | tee "$out/latency.txt"
awk '{ gsub(/[+,]/, ""); a += $5; b += $9; n++ } END { printf "mean added p50: A %.1f µs, B %.1f µs (B - A = %+.1f)\n", a / n, b / n, (b - a) / n }' \
  "$out/latency.txt" | tee -a "$out/latency.txt"
echo "== throughput, wrk -t1 -c64, $rounds alternating rounds of 5 s"
for r in $(seq "$rounds"); do
  order="A:$pa B:$pb"; [ $((r % 2)) = 0 ] && order="B:$pb A:$pa"  # who goes first alternates too
  for t in $order; do
  echo "${t%%:*} $(wrk -t1 -c64 -d5s -s bench/post.lua "http://127.0.0.1:${t##*:}/v1/chat/completions" | awk '/Requests\/sec/ {print $2}')"
done; done | tee "$out/throughput.txt" | awk '{ s[$1] += $2; n[$1]++ } END { printf "mean requests/s: A %.0f, B %.0f (B/A = %.1f%%)\n", s["A"] / n["A"], s["B"] / n["B"], 100 * s["B"] / n["B"] / (s["A"] / n["A"]) }'
echo "Results in $out"
