package remote

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// alPackageOf names the Amazon Linux 2023 package of each command the host
// steps run that a minimal AL2023 AMI may lack (dnf provides says which).
var alPackageOf = map[string]string{
	"cmp": "diffutils", "diff": "diffutils",
	"jq": "jq", "iperf3": "iperf3", "ethtool": "ethtool", "ping": "iputils",
	"ip": "iproute", "ss": "iproute",
	"modinfo": "kmod", "insmod": "kmod", "rmmod": "kmod", "modprobe": "kmod", "depmod": "kmod",
	"git": "git", "make": "make", "gcc": "gcc", "lspci": "pciutils", "tar": "tar", "gzip": "gzip",
}

// Every command a host script (and build.sh, which the build step ships) runs
// is installed by prereqs.sh, or a minimal AL2023 AMI has it: coreutils,
// util-linux, systemd-udev, gawk, sed, grep, findutils, curl-minimal.
func TestPrereqsInstallWhatTheHostStepsRun(t *testing.T) {
	pre, err := os.ReadFile("scripts/prereqs.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^PACKAGES=\(([^)]*)\)`).FindSubmatch(pre)
	if m == nil {
		t.Fatal("prereqs.sh has no PACKAGES=(...) line")
	}
	installed := map[string]bool{}
	for _, p := range strings.Fields(string(m[1])) {
		installed[p] = true
	}
	files, _ := filepath.Glob("scripts/*.sh")
	files = append(files, "../kmod/build.sh")
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
			for cmd, pkg := range alPackageOf {
				// A command word: at the start, after a separator, or after a
				// command that runs another (timeout, in_ns, run, xargs ...).
				re := regexp.MustCompile(`(^|[;&|(!]\s*|\$\(\s*|\b(if|then|do|timeout \S+|in_ns \S+|run|exec|xargs)\s+)` + regexp.QuoteMeta(cmd) + `(\s|$)`)
				if re.MatchString(code) && !installed[pkg] {
					t.Errorf("%s runs %s (package %s), which prereqs.sh does not install: %q", f, cmd, pkg, code)
				}
			}
		}
	}
}
