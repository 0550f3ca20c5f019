#!/usr/bin/env bash
# What the request log and accounting cost per request: bench/ab.sh with the same jar on both sides, A with the log
# extension off, B with it on (nemo.log defaults: each call a JSON line, spend rollups, per-key metrics), every request
# carrying metadata and tags (what the log captures before routing) and a virtual key (so the record names a key, a
# team and an organization; keys are on, with the same limits and budgets, on both sides).
# Usage: bench/log-ab.sh [JAR=server/target/nemo-router.jar] [ROUNDS=5]
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
cd "$root"
jar="$(readlink -f "${1:-server/target/nemo-router.jar}")"; rounds="${2:-5}"
master="sk-bench-master-$RANDOM$RANDOM-0123456789"
da="$(mktemp -d /tmp/nemo-bench-a.XXXXXX)"; db="$(mktemp -d /tmp/nemo-bench-b.XXXXXX)"
trap 'rm -rf "$da" "$db"' EXIT
export BENCH_EXTRA=',"metadata":{"job_id":"invoices-0418","stage":"extract","customer":"acme"},"tags":["batch","pdf"]'
echo "== A: log off; B: log on (keys on both sides; every request keyed, with metadata and tags)"
A_ENV="BENCH_LOG_ENABLED=false BENCH_MASTER_KEY=$master BENCH_DATA_DIR=$da" B_ENV="BENCH_MASTER_KEY=$master BENCH_DATA_DIR=$db" \
  AB_SETUP="$root/bench/keys-setup.sh 19400 19401 $master" bench/ab.sh "$jar" "$jar" "$rounds"
echo "== B's request log: $(cat "$db"/logs/requests-*.jsonl 2>/dev/null | wc -l) records in $(du -sh "$db/logs" | cut -f1)"
