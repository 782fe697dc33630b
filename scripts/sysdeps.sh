#!/usr/bin/env bash
# Install the Debian packages listed in system-packages.txt that are not installed yet.
# Usage: scripts/sysdeps.sh [demo|test]   (demo: only the lines tagged `demo`; test: every line)
# Warm machines pay one dpkg-query; a cold one runs `apt-get update` once and installs the rest.
set -euo pipefail
scope=${1:-test}
cd "$(dirname "$0")/.."
mapfile -t wanted < <(grep -v '^\s*#' system-packages.txt | grep -v '^\s*$' |
  awk -v scope="$scope" '{ if (scope == "test" || $0 ~ /#.*\<demo\>/) print $1 }')
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]} — fix: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 2
fi
echo "==> apt-get install ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-q -o DPkg::Lock::Timeout=600)
apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
  { apt-get "${apt_opts[@]}" update >/dev/null && apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null; }
