#!/usr/bin/env bash
# Install the Debian packages named that are missing; do nothing if all are
# there. Tests call it so a fresh machine gets what they need.
set -euo pipefail

missing=()
for pkg in "$@"; do
	[[ $pkg =~ ^[a-z0-9][a-z0-9.+-]+$ ]] || { echo "apt-install: bad package name '$pkg'" >&2; exit 2; }
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
((${#missing[@]} == 0)) && exit 0

echo "[apt] installing ${missing[*]}" >&2
sudo_cmd=()
[[ $(id -u) == 0 ]] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-o DPkg::Lock::Timeout=600 -y -q)
if ! "${sudo_cmd[@]}" apt-get "${apt_opts[@]}" install --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
	"${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=600 -q update >/dev/null
	"${sudo_cmd[@]}" apt-get "${apt_opts[@]}" install --no-install-recommends "${missing[@]}" >/dev/null
fi
