#!/usr/bin/env bash
# Installs the Debian packages linebeat needs to build, test and run its demo.
# As root it runs apt-get; otherwise it prints the exact command and fails.
# Usage: scripts/deps.sh [--browser]   (--browser adds chromium for page tests)
set -euo pipefail

pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev
      libssl-dev libmodbus-dev libpaho-mqtt-dev libsqlite3-dev sqlite3 libmicrohttpd-dev
      libjansson-dev libinih-dev libsodium-dev libevdev-dev libcmocka-dev
      mosquitto mosquitto-clients curl python3 socat openssl)
if [ "${1:-}" = "--browser" ]; then
    pkgs+=(chromium)
    # Node.js may come from elsewhere than Debian; only ask apt when it is absent.
    command -v npm >/dev/null || pkgs+=(nodejs npm)
fi

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "linebeat needs these packages; run as root:" >&2
    echo "  apt-get update && $cmd" >&2
    exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
$cmd
