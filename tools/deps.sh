#!/bin/sh
# Installs the Debian 12 packages ward needs to build and test, if any are
# missing. As root it runs apt-get; otherwise it prints the exact command
# and fails. usage: tools/deps.sh [extra-package ...]
set -eu
pkgs="gcc make pkg-config meson ninja-build python3 libuv1-dev libsodium-dev
libgmp-dev libprotobuf-c-dev protobuf-c-compiler libssl-dev libsqlite3-dev valgrind $*"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "ward: missing packages:$missing" >&2
    echo "ward: install them with: sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "ward: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
