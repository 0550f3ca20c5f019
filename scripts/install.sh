#!/usr/bin/env bash
# Installs Nemo Router as a systemd service on this machine (run as root from a checkout):
#   /opt/nemo-router/{bin/nemo-router,lib/nemo-router.jar}   the launcher and the jar
#   /etc/nemo-router/nemo-router.conf                         the config (kept if it exists)
#   /etc/nemo-router/env                                      secrets, mode 0600 (kept if it exists)
#   /etc/systemd/system/nemo-router.service                   the unit; state in /var/lib/nemo-router
# Options: --no-start (install only), --prefix DIR (default /opt/nemo-router),
#   --root DIR: install the same tree under DIR (an image being built, or a test) and touch nothing
#   else: no system user, no systemctl, and root is not required.
# The unit runs as user and group nemo-router. The config has no secrets (they live in env, which
# systemd reads as root), but the service must read it: /etc/nemo-router is root:nemo-router 0750 and
# the config root:nemo-router 0640. Under --root the group is looked up in DIR/etc/group, the image's,
# since this machine's gid for it (if any) need not be the image's; if the image has no such group yet
# (or the installer is not root, so cannot give files away), the directory is 0755 and the config 0644,
# readable by whatever user the image runs the service as, and install.sh says so.
set -euo pipefail

usage() { echo "usage: install.sh [--no-start] [--prefix DIR] [--root DIR]" >&2; exit 2; }
# an option's value must follow it: present, not empty, not the next option
need_value() { # OPTION [VALUE]
  if [ $# -lt 2 ] || [ -z "$2" ] || [ "${2#-}" != "$2" ]; then
    echo "install.sh: $1 needs a directory" >&2
    usage
  fi
}

prefix=/opt/nemo-router
start=1
root=""
while [ $# -gt 0 ]; do
  case "$1" in
    --no-start) start=0 ;;
    --prefix) need_value "$@"; prefix="$2"; shift ;;
    --root) need_value "$@"; root="$(mkdir -p "$2" && cd "$2" && pwd)"; shift ;;
    *) usage ;;
  esac
  shift
done

[ -n "$root" ] || [ "$(id -u)" = 0 ] || { echo "install.sh: run as root (or give --root DIR)" >&2; exit 1; }
src="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
jar="$src/server/target/nemo-router.jar"
# built if missing, and rebuilt if a source that goes into it changed since (as the launcher does):
# never install a jar older than the checkout
if [ ! -f "$jar" ] || [ -n "$(find "$src"/*/src/main "$src"/pom.xml "$src"/*/pom.xml -newer "$jar" \
                                -not -path '*/target/*' -print -quit 2>/dev/null)" ]; then
  (cd "$src" && mvn -q -B -DskipTests package)
fi

# the group the config is given to ("" = none: world-readable instead; see the top)
group=""
note=""
if [ -z "$root" ]; then
  if ! id nemo-router >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /var/lib/nemo-router --shell /usr/sbin/nologin nemo-router
  fi
  group=nemo-router
else
  gid="$(awk -F: '$1 == "nemo-router" { print $3; exit }' "$root/etc/group" 2>/dev/null || true)"
  if [ -z "$gid" ]; then
    note="$root/etc/group has no group nemo-router (to get 0750/0640, create the nemo-router user and group in the image before installing)"
  elif [ "$(id -u)" != 0 ]; then
    note="only root can give files to group nemo-router ($gid) (to get 0750/0640, install as root)"
  else
    group="+$gid" # the image's gid, numerically: chgrp must not look the name up on this machine
  fi
fi
if [ -n "$group" ]; then
  etc_mode=0750 conf_mode=0640
else
  etc_mode=0755 conf_mode=0644
fi

install -d -m 0755 "$root$prefix/bin" "$root$prefix/lib"
install -m 0644 "$jar" "$root$prefix/lib/nemo-router.jar"
install -m 0755 "$src/scripts/nemo-router" "$root$prefix/bin/nemo-router"
install -m 0644 "$src/README.md" "$root$prefix/README.md"

etc="$root/etc/nemo-router"
install -d -m "$etc_mode" "$etc"
if [ ! -f "$etc/nemo-router.conf" ]; then
  install -m "$conf_mode" "$src/conf/nemo-router.conf" "$etc/nemo-router.conf"
fi
# a kept config gets the same owner and mode (a tree from an older install may have it unreadable)
chmod "$conf_mode" "$etc/nemo-router.conf"
if [ -n "$group" ]; then
  chgrp "$group" "$etc" "$etc/nemo-router.conf"
fi
if [ ! -f "$etc/env" ]; then
  install -m 0600 /dev/null "$etc/env"
  printf '# Secrets for Nemo Router, e.g.\n# NEMO_MASTER_KEY=sk-master-... (turns virtual keys on; without it the gateway is open and listens on 127.0.0.1 only)\n# OPENAI_API_KEY=sk-...\n# GEMINI_API_KEY=...\n' > "$etc/env"
fi

# the unit names the paths of the running system, so --root does not appear in it
install -d -m 0755 "$root/etc/systemd/system"
unit="$root/etc/systemd/system/nemo-router.service"
sed "s#/opt/nemo-router/#$prefix/#g" "$src/scripts/nemo-router.service" > "$unit"
chmod 0644 "$unit"

if [ -n "$root" ]; then
  echo "Nemo Router installed under $root (no user created, systemd not touched)."
  if [ -n "$note" ]; then
    echo "install.sh: note: $etc is 0755 and nemo-router.conf 0644, readable by the service whatever its" \
      "group (the config holds no secrets: those go in env, 0600, which systemd reads as root), because" \
      "$note." >&2
  fi
elif [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  if [ "$start" = 1 ]; then
    systemctl enable --now nemo-router.service
    echo "Nemo Router installed and started: systemctl status nemo-router; journalctl -u nemo-router"
  else
    echo "Nemo Router installed: systemctl enable --now nemo-router"
  fi
else
  echo "Nemo Router installed ($prefix); systemd is not running here, so the service was not started."
fi
