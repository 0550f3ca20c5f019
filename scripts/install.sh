#!/usr/bin/env bash
# Installs Nemo Router as a systemd service on this machine (run as root from a checkout):
#   /opt/nemo-router/{bin/nemo-router,lib/nemo-router.jar}   the launcher and the jar
#   /etc/nemo-router/nemo-router.conf                         the config (kept if it exists)
#   /etc/nemo-router/env                                      secrets, mode 0600 (kept if it exists)
#   /etc/systemd/system/nemo-router.service                   the unit; state in /var/lib/nemo-router
# Options: --no-start (install only), --prefix DIR (default /opt/nemo-router),
#   --root DIR: install the same tree under DIR (an image being built, or a test) and touch nothing
#   else: no system user, no systemctl, and root is not required.
set -euo pipefail

prefix=/opt/nemo-router
start=1
root=""
while [ $# -gt 0 ]; do
  case "$1" in
    --no-start) start=0 ;;
    --prefix) prefix="$2"; shift ;;
    --root) root="$(mkdir -p "$2" && cd "$2" && pwd)"; shift ;;
    *) echo "usage: install.sh [--no-start] [--prefix DIR] [--root DIR]" >&2; exit 2 ;;
  esac
  shift
done

[ -n "$root" ] || [ "$(id -u)" = 0 ] || { echo "install.sh: run as root (or give --root DIR)" >&2; exit 1; }
src="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
jar="$src/server/target/nemo-router.jar"
if [ ! -f "$jar" ]; then
  (cd "$src" && mvn -q -B -DskipTests package)
fi

# the service's group owns the config; under --root it may not exist here, and the files stay the caller's
group=()
if [ -z "$root" ]; then
  if ! id nemo-router >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /var/lib/nemo-router --shell /usr/sbin/nologin nemo-router
  fi
  group=(-g nemo-router)
fi

install -d -m 0755 "$root$prefix/bin" "$root$prefix/lib"
install -m 0644 "$jar" "$root$prefix/lib/nemo-router.jar"
install -m 0755 "$src/scripts/nemo-router" "$root$prefix/bin/nemo-router"
install -m 0644 "$src/README.md" "$root$prefix/README.md"

etc="$root/etc/nemo-router"
install -d -m 0750 "${group[@]}" "$etc"
if [ ! -f "$etc/nemo-router.conf" ]; then
  install -m 0640 "${group[@]}" "$src/conf/nemo-router.conf" "$etc/nemo-router.conf"
fi
if [ ! -f "$etc/env" ]; then
  install -m 0600 /dev/null "$etc/env"
  printf '# Provider keys for Nemo Router, e.g.\n# OPENAI_API_KEY=sk-...\n# GEMINI_API_KEY=...\n' > "$etc/env"
fi

# the unit names the paths of the running system, so --root does not appear in it
install -d -m 0755 "$root/etc/systemd/system"
unit="$root/etc/systemd/system/nemo-router.service"
sed "s#/opt/nemo-router/#$prefix/#g" "$src/scripts/nemo-router.service" > "$unit"
chmod 0644 "$unit"

if [ -n "$root" ]; then
  echo "Nemo Router installed under $root (no user created, systemd not touched)."
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
