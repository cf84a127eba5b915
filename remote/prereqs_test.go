package remote

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// packageOf names, per distribution, the package of each command the host
// steps run that a minimal AMI may lack (dnf provides / dpkg -S say which).
var packageOf = map[string]map[string]string{
	"AL2023": al2023Packages,
	"DEBIAN": withOverrides(al2023Packages, map[string]string{"ping": "iputils-ping", "ip": "iproute2", "ss": "iproute2"}),
}

var al2023Packages = map[string]string{
	"cmp": "diffutils", "diff": "diffutils",
	"jq": "jq", "iperf3": "iperf3", "ethtool": "ethtool", "ping": "iputils",
	"ip": "iproute", "ss": "iproute",
	"modinfo": "kmod", "insmod": "kmod", "rmmod": "kmod", "modprobe": "kmod", "depmod": "kmod",
	"git": "git", "make": "make", "gcc": "gcc", "lspci": "pciutils", "tar": "tar", "gzip": "gzip",
}

// withOverrides is table with some commands in other packages.
func withOverrides(table, over map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range table {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

// Every command a host script (and build.sh, which the build step ships) runs
// is installed by prereqs.sh on each distribution, or its minimal AMI has it:
// coreutils, util-linux, udev, gawk/mawk, sed, grep, findutils, curl.
func TestPrereqsInstallWhatTheHostStepsRun(t *testing.T) {
	pre, err := os.ReadFile("scripts/prereqs.sh")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("scripts/*.sh")
	files = append(files, "../kmod/build.sh")
	for distro, table := range packageOf {
		m := regexp.MustCompile(`(?m)^` + distro + `_PACKAGES=\(([^)]*)\)`).FindSubmatch(pre)
		if m == nil {
			t.Fatalf("prereqs.sh has no %s_PACKAGES=(...) line", distro)
		}
		installed := map[string]bool{}
		for _, p := range strings.Fields(string(m[1])) {
			installed[p] = true
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(string(b), "\n") {
				code := strings.TrimSpace(line)
				if strings.HasPrefix(code, "#") {
					continue
				}
				for cmd, pkg := range table {
					// A command word: at the start, after a separator, or after a
					// command that runs another (timeout, in_ns, run, xargs ...).
					re := regexp.MustCompile(`(^|[;&|(!]\s*|\$\(\s*|\b(if|then|do|timeout \S+|in_ns \S+|run|exec|xargs)\s+)` + regexp.QuoteMeta(cmd) + `(\s|$)`)
					if re.MatchString(code) && !installed[pkg] {
						t.Errorf("%s runs %s (on %s: package %s), which prereqs.sh does not install: %q", f, cmd, distro, pkg, code)
					}
				}
			}
		}
	}
}
