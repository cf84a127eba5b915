package infra

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ttl runs the host's safety-clock tool against a deadline file in dir;
// "powering off" appends to a file instead.
func ttl(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	tool := filepath.Join(dir, "ena-lab-ttl")
	if err := os.WriteFile(tool, TTLTool(), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", append([]string{tool}, args...)...)
	cmd.Env = append(os.Environ(),
		"ENA_LAB_DEADLINE_FILE="+filepath.Join(dir, "etc", "deadline"),
		"ENA_LAB_POWEROFF=touch "+filepath.Join(dir, "powered-off"),
	)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func deadline(t *testing.T, dir string) int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "etc", "deadline"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func poweredOff(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "powered-off"))
	return err == nil
}

func TestSafetyClockPowersOffOnlyPastTheDeadline(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().Unix()
	if out, err := ttl(t, dir, "init", "4"); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	if d := deadline(t, dir); d < now+4*3600 || d > now+4*3600+60 {
		t.Errorf("deadline %d is not 4 h from now (%d)", d, now)
	}
	if out, err := ttl(t, dir, "check"); err != nil || poweredOff(dir) {
		t.Fatalf("check before the deadline powered off (err %v)\n%s", err, out)
	}
	// A second init (a reboot re-running user data) must not move the clock.
	first := deadline(t, dir)
	if _, err := ttl(t, dir, "init", "8"); err != nil || deadline(t, dir) != first {
		t.Errorf("init twice moved the deadline from %d to %d", first, deadline(t, dir))
	}
	if out, err := ttl(t, dir, "extend", "2"); err != nil || deadline(t, dir) != first+2*3600 {
		t.Errorf("extend 2 gave %d, want %d (%v %s)", deadline(t, dir), first+2*3600, err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "etc", "deadline"), []byte(strconv.FormatInt(now-5, 10)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := ttl(t, dir, "check"); err != nil || !poweredOff(dir) {
		t.Fatalf("check past the deadline did not power off (err %v)\n%s", err, out)
	}
	// Extending a passed deadline counts from now, not from the past.
	if _, err := ttl(t, dir, "extend", "1"); err != nil || deadline(t, dir) < now+3600 {
		t.Errorf("extend after expiry gave %d", deadline(t, dir))
	}
}

func TestSafetyClockRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"init", "0"}, {"init", "abc"}, {"init", "169"}, {"extend", "1"}, {"frobnicate"}} {
		out, err := ttl(t, dir, args...)
		if err == nil {
			t.Errorf("%v succeeded: %s", args, out)
		}
		if !strings.Contains(out, "ena-lab-ttl:") {
			t.Errorf("%v: no clear message: %s", args, out)
		}
	}
}

func TestUserDataInstallsTheClockAndIsValidShell(t *testing.T) {
	ud := UserData(6)
	if !strings.HasPrefix(ud, "#!/bin/bash\n") {
		t.Error("user data is not a shell script cloud-init will run")
	}
	for _, want := range []string{"ena-lab-ttl init 6\n", "systemctl enable --now ena-lab-ttl.timer", "OnUnitActiveSec=1min"} {
		if !strings.Contains(ud, want) {
			t.Errorf("user data lacks %q", want)
		}
	}
	if len(ud) > 16384 {
		t.Errorf("user data is %d bytes; EC2 takes 16 KiB", len(ud))
	}
	f := filepath.Join(t.TempDir(), "ud.sh")
	if err := os.WriteFile(f, []byte(ud), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("bash", "-n", f).CombinedOutput(); err != nil {
		t.Errorf("user data does not parse: %v\n%s", err, out)
	}
}
