#!/usr/bin/env bash
# Checks scripts/nemo-router.service with systemd-analyze verify, strictly: any warning fails.
# The unit is verified inside a scratch root that holds the system's units and a stand-in for
# ExecStart, so it can run on a machine where Nemo Router is not installed.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "$0")")" && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/etc/systemd/system" "$scratch/opt/nemo-router/bin" "$scratch/usr/lib/systemd"
cp -r /usr/lib/systemd/system "$scratch/usr/lib/systemd/"
cp "$here/nemo-router.service" "$scratch/etc/systemd/system/"
install -m 0755 "$here/nemo-router" "$scratch/opt/nemo-router/bin/nemo-router"
out="$(systemd-analyze verify --root="$scratch" nemo-router.service 2>&1)" || { echo "$out"; exit 1; }
if [ -n "$out" ]; then
  echo "$out"
  exit 1
fi
echo "systemd-analyze verify: nemo-router.service OK"
