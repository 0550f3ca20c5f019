#!/usr/bin/env bash
# What cluster mode adds per request: bench/ab.sh with the same jar on both sides, both with a master key and every
# request carrying a virtual key in a team in an organization, each level with RPM, TPM and parallel limits and a
# budget (bench/keys-setup.sh); A keeps them in its embedded store, B in a Redis on loopback (nemo.cluster.redis).
# The limits are far above the load, so B admits nearly every request from its leases (a hundredth of each limit held
# ahead) and settles in batches off the request path. UNLEASED=1 gives every level a parallel limit of 100, too
# small to lease: then every request makes one admission script call to Redis before routing.
# Usage: [UNLEASED=1] bench/cluster-ab.sh [JAR=server/target/nemo-router.jar] [ROUNDS=5]
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
cd "$root"
jar="$(readlink -f "${1:-server/target/nemo-router.jar}")"; rounds="${2:-5}"
master="sk-bench-master-$RANDOM$RANDOM-0123456789"
redis_port=19379
d="$(mktemp -d /tmp/nemo-cluster-ab.XXXXXX)"
redis-server --port $redis_port --bind 127.0.0.1 --save "" --appendonly no --dir "$d" --daemonize yes --pidfile "$d/redis.pid" \
  --logfile "$d/redis.log"
trap 'kill "$(cat "$d/redis.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$d"' EXIT
mkdir -p "$d/a" "$d/b"
cat > "$d/cluster.conf" <<CONF
include "$root/bench/bench.conf"
nemo.cluster { redis = "redis://127.0.0.1:$redis_port", prefix = "bench-$RANDOM" }
CONF
echo "== A: keys in the embedded store; B: cluster mode, keys, limits and budgets in Redis on loopback"
if [ -n "${UNLEASED:-}" ]; then
  export BENCH_KEY_LIMITS='"max_budget":1000000,"budget_duration":"1mo","rpm_limit":10000000,"tpm_limit":10000000000,"max_parallel_requests":100'
fi
A_ENV="BENCH_MASTER_KEY=$master BENCH_DATA_DIR=$d/a" B_ENV="BENCH_MASTER_KEY=$master BENCH_DATA_DIR=$d/b" B_CONF="$d/cluster.conf" \
  AB_SETUP="$root/bench/keys-setup.sh 19400 19401 $master" bench/ab.sh "$jar" "$jar" "$rounds"
