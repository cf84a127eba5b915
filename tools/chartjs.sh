#!/usr/bin/env bash
# Chart.js for the tests and the twin's disk: the tarball the hosts fetch
# (version and digest pinned in remote/scripts/lib.sh), downloaded once into
# .cache/chartjs and unpacked by the hosts' own fetch_chartjs. Prints the
# path of the tarball (--tarball) or of the minified build (default).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=$ROOT/.cache/chartjs
# shellcheck source=../remote/scripts/lib.sh
source "$ROOT/remote/scripts/lib.sh"

tgz=$CACHE/chart.js-$CHARTJS_VERSION.tgz
js=$CACHE/chart.js-$CHARTJS_VERSION.min.js
mkdir -p "$CACHE"
if [[ ! -s $tgz ]]; then
	echo "[chartjs] downloading Chart.js $CHARTJS_VERSION from the npm registry" >&2
	curl -fsSL --retry 3 -o "$tgz.tmp" "$CHARTJS_URL" || { echo "[chartjs] error: cannot download $CHARTJS_URL" >&2; exit 1; }
	mv "$tgz.tmp" "$tgz"
fi
if [[ ! -s $js ]] && ! fetch_chartjs "$js" "file://$tgz"; then
	rm -f "$tgz"
	echo "[chartjs] error: the cached tarball was not the pinned one (removed: run again)" >&2
	exit 1
fi
if [[ ${1:-} == --tarball ]]; then echo "$tgz"; else echo "$js"; fi
