#!/usr/bin/env bash
# Checks scripts/install.sh and the unit it installs, on a machine where Nemo Router is not installed:
#  1. install.sh --root puts the launcher, jar, config, secrets file and unit in a scratch root, with
#     the modes the unit relies on, and a second install keeps an edited config and the secrets;
#  2. systemd-analyze verify passes on the installed unit, strictly: any warning fails;
#  3. the installed launcher, given the installed config, starts the gateway (the built-in mock
#     models), answers /health and a chat completion, and exits 0 on SIGTERM.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "$0")")" && pwd)"
scratch="$(mktemp -d)"
gateway=""
cleanup() {
  [ -z "$gateway" ] || kill -9 "$gateway" 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT
fail() { echo "verify-install: $*" >&2; exit 1; }

"$here/install.sh" --root "$scratch" --no-start >/dev/null
opt="$scratch/opt/nemo-router"
etc="$scratch/etc/nemo-router"
[ -x "$opt/bin/nemo-router" ] || fail "no launcher in $opt/bin"
[ -s "$opt/lib/nemo-router.jar" ] || fail "no jar in $opt/lib"
[ "$(stat -c %a "$etc")" = 750 ] || fail "$etc is not mode 0750"
[ "$(stat -c %a "$etc/nemo-router.conf")" = 640 ] || fail "the config is not mode 0640"
[ "$(stat -c %a "$etc/env")" = 600 ] || fail "the secrets file is not mode 0600"
grep -q '^ExecStart=/opt/nemo-router/bin/nemo-router$' "$scratch/etc/systemd/system/nemo-router.service" \
  || fail "the installed unit does not start /opt/nemo-router/bin/nemo-router"

echo "# edited by the operator" >> "$etc/nemo-router.conf"
echo "OPENAI_API_KEY=sk-kept" >> "$etc/env"
"$here/install.sh" --root "$scratch" --no-start >/dev/null
grep -q '^# edited by the operator$' "$etc/nemo-router.conf" || fail "a second install replaced the config"
grep -q '^OPENAI_API_KEY=sk-kept$' "$etc/env" || fail "a second install replaced the secrets file"
sed -i '/^OPENAI_API_KEY=sk-kept$/d' "$etc/env"

# systemd-analyze resolves the unit's dependencies from the scratch root: give it the system's units
if command -v systemd-analyze >/dev/null 2>&1; then
  mkdir -p "$scratch/usr/lib/systemd"
  cp -r /usr/lib/systemd/system "$scratch/usr/lib/systemd/"
  out="$(systemd-analyze verify --root="$scratch" nemo-router.service 2>&1)" || { echo "$out"; exit 1; }
  [ -z "$out" ] || { echo "$out"; exit 1; }
  echo "systemd-analyze verify: nemo-router.service OK"
elif [ "${CI:-}" = true ]; then
  fail "systemd-analyze not found (.ci/run installs the systemd package)"
else
  echo "systemd-analyze not found: skipping the unit check (apt-get install systemd)" >&2
fi

# one HTTP/1.1 exchange over bash's /dev/tcp (no curl on a minimal machine); prints the answer
http() { # METHOD PATH [BODY]
  local body="${3:-}"
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf '%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "$1" "$2" "${#body}" "$body" >&3
  cat <&3
  exec 3<&-
}
NEMO_DATA_DIR="$scratch/var/lib/nemo-router" "$opt/bin/nemo-router" --config "$etc/nemo-router.conf" --port 0 \
  > "$scratch/gateway.log" 2>&1 &
gateway=$!
port=""
for _ in $(seq 300); do
  port="$(sed -n 's#^Nemo Router ready on http://[^:]*:\([0-9]*\)/v1$#\1#p' "$scratch/gateway.log")"
  [ -n "$port" ] && break
  kill -0 "$gateway" 2>/dev/null || { cat "$scratch/gateway.log"; fail "the installed gateway did not start"; }
  sleep 0.1
done
[ -n "$port" ] || { cat "$scratch/gateway.log"; fail "the installed gateway did not say it was ready"; }
http GET /health | head -1 | grep -q ' 200 ' || fail "GET /health on the installed gateway did not answer 200"
answer="$(http POST /v1/chat/completions '{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hi"}]}')"
echo "$answer" | head -1 | grep -q ' 200 ' || { echo "$answer"; fail "a chat completion on the installed gateway did not answer 200"; }
echo "$answer" | grep -q '"object":"chat.completion"' || { echo "$answer"; fail "the chat answer is not a chat.completion"; }
kill -TERM "$gateway"
code=0
wait "$gateway" || code=$?
gateway=""
[ "$code" = 0 ] || { cat "$scratch/gateway.log"; fail "the installed gateway exited $code on SIGTERM, not 0"; }
echo "install.sh: the installed gateway started, answered and stopped cleanly"
