#!/usr/bin/env bash
# ena_custom 2.15.0 from the fixture, built against Debian's 6.1 headers into
# the shared cache (.cache/kmod), as the VM tests load it: a no-op after the
# first build. Prints the build manifest (JSON) on stdout.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
FIXTURES=${ENA_LAB_FIXTURES:-$TOP/../shared/fixtures}

"$TOP/tools/apt-install.sh" linux-headers-amd64 kmod make gcc libelf-dev
KVER=$("$TOP/tools/debian-kernel.sh")
exec "$TOP/kmod/build.sh" --version 2.15.0 --source "tarball:$FIXTURES/amzn-drivers-ena_linux_2.15.0.tar.gz" \
	--kernel-build "/usr/src/linux-headers-$KVER" --work "$TOP/.cache/kmod/work" --install "$TOP/.cache/kmod/modules"
