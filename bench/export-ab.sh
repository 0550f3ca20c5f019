#!/usr/bin/env bash
# What exporters cost on the request path: bench/ab.sh with the same jar on both sides, A without exporters,
# B with four (webhook, Datadog, Langfuse and S3), every one of them sending to a receiver that never answers:
# their queues fill and drop, which must not slow a request. Exporters read the request log's records on its
# writer thread, so B's event loops do the same work as A's.
# SET=otlp measures the OpenTelemetry exporter alone: unlike the others it also works on the request path
# (a traceparent made per attempt and sent upstream), so its cost is reported on its own.
# Usage: [SET=http|otlp] bench/export-ab.sh [JAR=server/target/nemo-router.jar] [ROUNDS=5]
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
cd "$root"
jar="$(readlink -f "${1:-server/target/nemo-router.jar}")"; rounds="${2:-5}"
stuck=19190
d="$(mktemp -d /tmp/nemo-export-ab.XXXXXX)"
node bench/stuck-receiver.mjs $stuck > "$d/stuck.log" 2>&1 & sp=$!
trap 'kill $sp 2>/dev/null || true; rm -rf "$d"' EXIT
if [ "${SET:-http}" = otlp ]; then
cat > "$d/export.conf" <<CONF
include "$root/bench/bench.conf"
nemo.exporters = [
  { type = otlp, endpoint = "http://127.0.0.1:$stuck/v1/traces", timeout = 30s }
]
CONF
echo "== A: no exporters; B: otlp to a receiver that never answers"
else
cat > "$d/export.conf" <<CONF
include "$root/bench/bench.conf"
nemo.exporters = [
  { type = webhook, url = "http://127.0.0.1:$stuck/hook", timeout = 30s }
  { type = datadog, url = "http://127.0.0.1:$stuck/api/v2/logs", api_key = \${?BENCH_EXPORT_SECRET}, timeout = 30s }
  { type = langfuse, host = "http://127.0.0.1:$stuck", public_key = \${?BENCH_EXPORT_SECRET}, secret_key = \${?BENCH_EXPORT_SECRET}, timeout = 30s }
  { type = s3, bucket = logs, region = us-east-1, endpoint = "http://127.0.0.1:$stuck", path_style = true,
    access_key_id = \${?BENCH_EXPORT_SECRET}, secret_access_key = \${?BENCH_EXPORT_SECRET}, batch_size = 100, flush_interval = 1s, timeout = 30s }
]
CONF
echo "== A: no exporters; B: webhook, datadog, langfuse and s3, all to a receiver that never answers"
fi
export BENCH_EXPORT_SECRET="bench-export-secret-0123456789"
B_CONF="$d/export.conf" bench/ab.sh "$jar" "$jar" "$rounds"
