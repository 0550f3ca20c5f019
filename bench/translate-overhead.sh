#!/usr/bin/env bash
# What translating to a provider's own API adds inside the gateway, by the gateway's own clock (x-nemo-overhead-ms):
# one gateway, three models answering the same chat: `passthrough` (provider = openai, the mock upstream server),
# `anthropic` and `gemini` (each in front of its stand-in), each sent ROUNDS x N sequential requests at RATE/s.
# The difference from passthrough is the translation both ways (request encoded, answer read and rewritten) and the
# held, translated answer path. JMH's AnthropicTranslationBench / GeminiTranslationBench / ResponsesBridgeBench time
# the translation alone, hot.
# Usage: bench/translate-overhead.sh [JAR=server/target/nemo-router.jar] [N=3000] [RATE=500] [ROUNDS=3]
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
cd "$root"
jar="$(readlink -f "${1:-server/target/nemo-router.jar}")"; n="${2:-3000}"; rate="${3:-500}"; rounds="${4:-3}"
up=19210; anth=19310; gem=19320; gw=19510
d="$(mktemp -d /tmp/nemo-translate.XXXXXX)"; pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$d"; }
trap cleanup EXIT
java -Xms256m -Xmx256m -cp "$jar" io.nemorouter.providers.mock.MockUpstreamServer --port $up --threads 1 > "$d/up.log" 2>&1 & pids+=($!)
java -Xms256m -Xmx256m -cp "$jar" io.nemorouter.providers.standin.StandInServer --api anthropic --port $anth > "$d/a.log" 2>&1 & pids+=($!)
java -Xms256m -Xmx256m -cp "$jar" io.nemorouter.providers.standin.StandInServer --api gemini --port $gem --key k > "$d/g.log" 2>&1 & pids+=($!)
cat > "$d/gw.conf" <<CONF
nemo {
  server.host = "127.0.0.1"
  cache.enabled = false
  models = [
    { name = "passthrough", provider = openai, model = "m", api_base = "http://127.0.0.1:$up/v1", api_key = "k" }
    { name = "anthropic", provider = anthropic, model = "claude-sonnet-4-5", api_base = "http://127.0.0.1:$anth", api_key = "k" }
    { name = "gemini", provider = gemini, model = "gemini-2.5-flash", api_base = "http://127.0.0.1:$gem", api_key = "k" }
  ]
}
CONF
env NEMO_DATA_DIR="$d/data" NEMO_LOG_LEVEL=WARN NEMO_JAR="$jar" NEMO_JAVA_OPTS="-Xms1g -Xmx1g" \
  scripts/nemo-router --config "$d/gw.conf" --port $gw > "$d/gw.log" 2>&1 & pids+=($!)
for p in $up $anth $gem $gw; do
  for _ in $(seq 600); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.1; done
done
echo "== warm-up: 4,000 requests a model at 2,000/s"
node bench/overhead-client.mjs $gw passthrough,anthropic,gemini 4000 2000 > /dev/null
for i in $(seq "$rounds"); do
  echo "== round $i: $n requests a model at $rate/s"
  node bench/overhead-client.mjs $gw passthrough,anthropic,gemini "$n" "$rate"
done
