#!/usr/bin/env bash
# Checks scripts/install.sh and the unit it installs, on a machine where Nemo Router is not installed:
#  1. install.sh refuses an option without its value (--root, --prefix) with the usage line and exit 2;
#  2. install.sh --root puts the launcher, jar, config, secrets file and unit in a scratch root that
#     stands for an image with the nemo-router user, with the modes the unit relies on: the config
#     root:nemo-router 0640 (the image's gid) when installed as root; and in a root with no such
#     group, a config 0644 and a note saying why. A second install keeps an edited config and the
#     secrets, and makes a kept config readable again;
#  3. as root (with setpriv), a process with the service's uid and gid and no other group can read
#     the installed config and not the secrets file, in both roots;
#  4. systemd-analyze verify passes on the installed unit, strictly: any warning fails;
#  5. the installed launcher, given the installed config, starts the gateway (the built-in mock
#     models; as the service's uid and gid when run as root with setpriv), answers /health and a
#     chat completion, and exits 0 on SIGTERM.
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
chmod 0755 "$scratch" # the service's uid below must reach the tree, as it would in /

# 1. an option without its value. Run with stand-ins that make the installer believe it is not root
# and refuse to add users or call systemctl, so that if this check ever regresses into "no --root"
# it fails here instead of installing into this machine.
mkdir "$scratch/stubs"
printf '#!/bin/sh\necho 1000\n' > "$scratch/stubs/id"
# shellcheck disable=SC2016 # $0 is the stub's own, expanded when it runs
printf '#!/bin/sh\necho "stub: $0 must not run here" >&2; exit 99\n' > "$scratch/stubs/useradd"
cp "$scratch/stubs/useradd" "$scratch/stubs/systemctl"
chmod 0755 "$scratch/stubs/"*
for args in "--root" "--no-start --root" "--root --no-start" "--prefix"; do
  code=0
  # shellcheck disable=SC2086 # the options are words
  out="$(PATH="$scratch/stubs:$PATH" "$here/install.sh" $args 2>&1)" || code=$?
  [ "$code" = 2 ] || { echo "$out"; fail "install.sh $args exited $code, not 2 (usage)"; }
  echo "$out" | grep -q '^usage: install.sh ' || { echo "$out"; fail "install.sh $args did not print the usage line"; }
done

# an id for the image's nemo-router user and group that this machine does not use
svc=""
for id in $(seq 61000 61999); do
  if ! getent passwd "$id" >/dev/null && ! getent group "$id" >/dev/null; then svc="$id"; break; fi
done
[ -n "$svc" ] || fail "no free uid/gid between 61000 and 61999 to stand for the service's"
as_service=() # runs a command as the service would run: its uid, its gid, no other groups
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
  as_service=(setpriv "--reuid=$svc" "--regid=$svc" --clear-groups)
  if ! "${as_service[@]}" test -x "$scratch"; then
    echo "verify-install: uid $svc cannot reach $scratch (a private TMPDIR?): checking modes only" >&2
    as_service=()
  fi
fi
# service_reads FILE yes|no WHAT: the service can (yes) or cannot (no) read FILE, else fail saying WHAT.
# Without root and setpriv there is no other uid to try: the mode checks stand for this one.
service_reads() {
  [ ${#as_service[@]} -gt 0 ] || return 0
  local can=no
  if "${as_service[@]}" cat "$1" >/dev/null 2>&1; then can=yes; fi
  [ "$can" = "$2" ] || fail "$3"
}

# 2. an image that has the service's user and group
mkdir -p "$scratch/etc"
echo "nemo-router:x:$svc:$svc:Nemo Router:/var/lib/nemo-router:/usr/sbin/nologin" > "$scratch/etc/passwd"
echo "nemo-router:x:$svc:" > "$scratch/etc/group"
"$here/install.sh" --root "$scratch" --no-start >/dev/null 2>"$scratch/install.err" \
  || { cat "$scratch/install.err"; fail "install.sh --root failed"; }
opt="$scratch/opt/nemo-router"
etc="$scratch/etc/nemo-router"
[ -x "$opt/bin/nemo-router" ] || fail "no launcher in $opt/bin"
[ -s "$opt/lib/nemo-router.jar" ] || fail "no jar in $opt/lib"
if [ "$(id -u)" = 0 ]; then
  [ "$(stat -c %a:%u:%g "$etc")" = "750:0:$svc" ] \
    || fail "$etc is $(stat -c %a:%u:%g "$etc"), not 750, root and the image's nemo-router group ($svc)"
  [ "$(stat -c %a:%u:%g "$etc/nemo-router.conf")" = "640:0:$svc" ] \
    || fail "the config is $(stat -c %a:%u:%g "$etc/nemo-router.conf"), not 640, root and the image's nemo-router group ($svc)"
  ! grep -q 'note:' "$scratch/install.err" \
    || { cat "$scratch/install.err"; fail "install.sh --root printed a note though the image has the group"; }
else
  [ "$(stat -c %a "$etc")" = 755 ] || fail "$etc is not mode 0755 (installed by a user that cannot chgrp)"
  [ "$(stat -c %a "$etc/nemo-router.conf")" = 644 ] || fail "the config is not mode 0644 (installed by a user that cannot chgrp)"
  grep -q 'note: .*only root can give files to group nemo-router' "$scratch/install.err" \
    || { cat "$scratch/install.err"; fail "install.sh --root as a user did not say why the config is 0644"; }
fi
[ "$(stat -c %a "$etc/env")" = 600 ] || fail "the secrets file is not mode 0600"
service_reads "$etc/nemo-router.conf" yes "the service's uid and gid ($svc) cannot read the installed config"
service_reads "$etc/env" no "the service's uid ($svc) can read the secrets file"
grep -q '^ExecStart=/opt/nemo-router/bin/nemo-router$' "$scratch/etc/systemd/system/nemo-router.service" \
  || fail "the installed unit does not start /opt/nemo-router/bin/nemo-router"

# a root with no nemo-router group (an image whose user comes later): a readable config, and a note
bare="$scratch/bare"
"$here/install.sh" --root "$bare" --no-start >/dev/null 2>"$scratch/install.err" \
  || { cat "$scratch/install.err"; fail "install.sh --root (no group) failed"; }
[ "$(stat -c %a "$bare/etc/nemo-router")" = 755 ] || fail "with no nemo-router group, $bare/etc/nemo-router is not mode 0755"
[ "$(stat -c %a "$bare/etc/nemo-router/nemo-router.conf")" = 644 ] || fail "with no nemo-router group, the config is not mode 0644"
[ "$(stat -c %a "$bare/etc/nemo-router/env")" = 600 ] || fail "with no nemo-router group, the secrets file is not mode 0600"
grep -q "note: .*$bare/etc/group has no group nemo-router" "$scratch/install.err" \
  || { cat "$scratch/install.err"; fail "install.sh --root did not say why the config is 0644"; }
service_reads "$bare/etc/nemo-router/nemo-router.conf" yes "with no nemo-router group, uid $svc cannot read the config"
service_reads "$bare/etc/nemo-router/env" no "with no nemo-router group, uid $svc can read the secrets file"

echo "# edited by the operator" >> "$etc/nemo-router.conf"
echo "OPENAI_API_KEY=sk-kept" >> "$etc/env"
conf_mode="$(stat -c %a "$etc/nemo-router.conf")"
chmod 0600 "$etc/nemo-router.conf" # as an older installer or a hand left it: unreadable by the service
"$here/install.sh" --root "$scratch" --no-start >/dev/null 2>"$scratch/install.err" \
  || { cat "$scratch/install.err"; fail "a second install.sh --root failed"; }
grep -q '^# edited by the operator$' "$etc/nemo-router.conf" || fail "a second install replaced the config"
grep -q '^OPENAI_API_KEY=sk-kept$' "$etc/env" || fail "a second install replaced the secrets file"
[ "$(stat -c %a "$etc/nemo-router.conf")" = "$conf_mode" ] \
  || fail "a second install left the kept config mode $(stat -c %a "$etc/nemo-router.conf"), not $conf_mode"
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
# the state directory as systemd makes it (StateDirectory=, StateDirectoryMode=0750): the service's
install -d -m 0750 "$scratch/var/lib/nemo-router"
[ ${#as_service[@]} = 0 ] || chown "$svc:$svc" "$scratch/var/lib/nemo-router"
NEMO_DATA_DIR="$scratch/var/lib/nemo-router" "${as_service[@]}" "$opt/bin/nemo-router" --config "$etc/nemo-router.conf" \
  --port 0 > "$scratch/gateway.log" 2>&1 &
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
if [ ${#as_service[@]} = 0 ]; then
  echo "install.sh: usage errors exit 2; config and secrets modes OK; the installed gateway started, answered" \
    "and stopped cleanly (as uid $(id -u), not as a service uid: that needs root and setpriv)"
else
  echo "install.sh: usage errors exit 2; the service's uid and gid ($svc) read the config, not the secrets;" \
    "the installed gateway started as them, answered and stopped cleanly"
fi
