#!/usr/bin/env bash
# What the response cache does to latency, in one run of two bench/ab.sh passes with the same jar on both sides,
# A with nemo.cache off, B with it on (open mode: one tenant):
#  1. hits: every request the same, so after the first B answers each from the cache; B's added p50 over direct
#     (the mock upstream answering 200 at once) is a hit's latency through the gateway (target: under 50 µs);
#  2. misses: every request different (BENCH_UNIQUE: a "seed" counter), so B misses each one, computing its key,
#     recording the answer and storing it; B - A is what a miss adds (target: under 5 µs).
# Usage: bench/cache-ab.sh [JAR=server/target/nemo-router.jar] [ROUNDS=5]
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
cd "$root"
jar="$(readlink -f "${1:-server/target/nemo-router.jar}")"; rounds="${2:-5}"
for pass in hits misses; do
  da="$(mktemp -d /tmp/nemo-bench-a.XXXXXX)"; db="$(mktemp -d /tmp/nemo-bench-b.XXXXXX)"
  echo "== $pass: A cache off; B cache on"
  unique=0; [ "$pass" = misses ] && unique=1
  BENCH_UNIQUE=$unique A_ENV="BENCH_DATA_DIR=$da" B_ENV="BENCH_CACHE_ENABLED=true BENCH_DATA_DIR=$db" \
    bench/ab.sh "$jar" "$jar" "$rounds" | sed "s/^/[$pass] /"
  rm -rf "$da" "$db"
done
