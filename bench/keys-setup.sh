#!/usr/bin/env bash
# For bench/keys-ab.sh and bench/log-ab.sh: on each gateway at 127.0.0.1:PORT, creates an organization, a team in it
# and a key in the team, each with RPM, TPM and parallel limits and a budget (all far above what the bench sends, so
# nothing is refused and every level's counters and ledger are exercised); the same key on every gateway (the first
# makes it, the others are given it). Prints the key.
# Usage: bench/keys-setup.sh PORT [PORT...] MASTER_KEY
set -euo pipefail
master="${@: -1}"; ports=("${@:1:$#-1}")
limits='"max_budget":1000000,"budget_duration":"1mo","rpm_limit":10000000,"tpm_limit":10000000000,"max_parallel_requests":100000'
# bench/cluster-ab.sh UNLEASED=1: a parallel limit too small for cluster mode to lease (every request asks Redis)
limits="${BENCH_KEY_LIMITS:-$limits}"
key=""
for port in "${ports[@]}"; do
  base="http://127.0.0.1:$port"
  admin() { curl -sf "$base$1" -H "authorization: Bearer $master" -H 'content-type: application/json' -d "$2"; }
  admin /organization/new "{\"organization_id\":\"bench-org\",$limits}" >/dev/null
  admin /team/new "{\"team_id\":\"bench-team\",\"organization_id\":\"bench-org\",$limits}" >/dev/null
  chosen=""; [ -n "$key" ] && chosen="\"key\":\"$key\","
  made="$(admin /key/generate "{$chosen\"key_alias\":\"bench\",\"team_id\":\"bench-team\",$limits}" \
    | sed -E 's/.*"key":"(sk-nemo-[0-9A-Za-z]+)".*/\1/')"
  key="${key:-$made}"
done
echo "$key"
