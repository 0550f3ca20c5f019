#!/usr/bin/env bash
# What virtual keys cost per request: bench/ab.sh with the same jar on both sides, A with the keys extension off
# (the core alone), B with a master key, every request carrying a virtual key that belongs to a team and an
# organization, each level with RPM, TPM and parallel limits and a budget (bench/keys-setup.sh): auth (a SHA-256
# and a map lookup), the limits, the budget reservation and its settlement, spend written through to the store.
# Usage: bench/keys-ab.sh [JAR=server/target/nemo-router.jar] [ROUNDS=5]
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
cd "$root"
jar="$(readlink -f "${1:-server/target/nemo-router.jar}")"; rounds="${2:-5}"
master="sk-bench-master-$RANDOM$RANDOM-0123456789"
da="$(mktemp -d /tmp/nemo-bench-a.XXXXXX)"; db="$(mktemp -d /tmp/nemo-bench-b.XXXXXX)"
trap 'rm -rf "$da" "$db"' EXIT
echo "== A: keys off; B: keys on (a key in a team in an org, limits and budgets at every level)"
A_ENV="BENCH_KEYS_ENABLED=false BENCH_DATA_DIR=$da" B_ENV="BENCH_MASTER_KEY=$master BENCH_DATA_DIR=$db" \
  AB_SETUP="$root/bench/keys-setup.sh 19401 $master" bench/ab.sh "$jar" "$jar" "$rounds"
