#!/usr/bin/env bash
# What routing among a group costs, in one bench/ab.sh run with the same jar on both sides: A serves the bench
# model from one catalog entry, B from a group of three entries of the same upstream (least-busy), so B's
# extra work is the router's choice among three. Target: B - A under 5 µs at p50.
# Usage: bench/router-ab.sh [JAR=server/target/nemo-router.jar] [ROUNDS=5]
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
cd "$root"
jar="$(readlink -f "${1:-server/target/nemo-router.jar}")"; rounds="${2:-5}"
echo "== A one deployment; B a group of three"
B_ENV="BENCH_GROUP=bench" bench/ab.sh "$jar" "$jar" "$rounds"
