#!/usr/bin/env bash
# ena_custom from a fixture (2.15.0 unless given: 2.15.0 or 2.17.0), built
# against Debian's headers of a kernel series (6.1 unless given: 6.1 or
# 6.12) into the shared cache (.cache/kmod), as the VM tests load it: a
# no-op after the first build. Prints the build manifest (JSON) on stdout.
#   cached-module.sh [6.1|6.12] [2.15.0|2.17.0]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
FIXTURES=${ENA_LAB_FIXTURES:-$TOP/../shared/fixtures}

# dwarves: pahole, which 6.12's kbuild runs for the module's BTF.
"$TOP/tools/apt-install.sh" linux-headers-amd64 kmod make gcc libelf-dev dwarves
VERSION=${2:-2.15.0}
case $VERSION in
2.15.0 | 2.17.0) ;;
*) echo "cached-module.sh: no fixture for driver version '$VERSION' (2.15.0 or 2.17.0)" >&2; exit 2 ;;
esac
KBUILD=$("$TOP/tools/debian-kernel.sh" headers "${1:-6.1}")
exec "$TOP/kmod/build.sh" --version "$VERSION" --source "tarball:$FIXTURES/amzn-drivers-ena_linux_$VERSION.tar.gz" \
	--kernel-build "$KBUILD" --work "$TOP/.cache/kmod/work" --install "$TOP/.cache/kmod/modules"
