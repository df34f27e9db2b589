#!/usr/bin/env bash
# Install the Debian 12 packages quaywatch needs to build, test and demo.
# Idempotent: does nothing when every package is already present.
# Usage: scripts/setup-deps.sh [build|test|bench]   (test adds the test-only tools; bench adds
#        them and the peers bench/run compares against)
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config libpcap-dev libsqlite3-dev libyaml-dev libjansson-dev nettle-dev ieee-data tzdata)
test_pkgs=(libcmocka-dev tshark tcpreplay iproute2 clang libclang-rt-14-dev python3 graphviz)
bench_pkgs=(libndpi-bin)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  test) want+=("${test_pkgs[@]}") ;;
  bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing missing Debian packages: ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "setup: not root and no sudo; install these packages first: ${missing[*]}" >&2; exit 1
  fi
else SUDO=""; fi
export DEBIAN_FRONTEND=noninteractive
# wireshark-common asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
