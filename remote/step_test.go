package remote

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func TestQuoteSurvivesTheShell(t *testing.T) {
	for _, s := range []string{"", "plain", "it's", `"$HOME" $(reboot) ; rm -rf / #`, "a\nb", `back\slash`, "'''"} {
		out, err := exec.Command("bash", "-c", "printf %s "+Quote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("Quote(%q) came back as %q (%v)", s, out, err)
		}
	}
}

func TestInputNamesStayInTheLabNamespace(t *testing.T) {
	s := Step{Name: "x", Script: "ready.sh", Timeout: time.Minute,
		Inputs: map[string]pulumi.StringInput{"PATH": pulumi.String("/tmp")}}
	if err := s.validate(); err == nil || !strings.Contains(err.Error(), `"PATH"`) {
		t.Errorf("an input named PATH must be refused, got %v", err)
	}
	s = Step{Name: "x", Script: "ready.sh"}
	if err := s.validate(); err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("a step without a timeout must be refused, got %v", err)
	}
	s = Step{Name: "x", Script: "nope.sh", Timeout: time.Minute}
	if err := s.validate(); err == nil || !strings.Contains(err.Error(), "nope.sh") {
		t.Errorf("an unknown script must be refused by name, got %v", err)
	}
	s = Step{Name: "x", Script: "ready.sh", Timeout: time.Minute, Files: map[string][]byte{"../etc/passwd": nil}}
	if err := s.validate(); err == nil || !strings.Contains(err.Error(), "../etc/passwd") {
		t.Errorf("a file escaping the step dir must be refused, got %v", err)
	}
}

func TestFingerprintFollowsScriptAndInputs(t *testing.T) {
	s := Step{Name: "nitro-check", Script: "nitro-check.sh", Timeout: time.Minute}
	p1, _ := s.Program(map[string]string{"ENA_LAB_A": "1"})
	p2, _ := s.Program(map[string]string{"ENA_LAB_A": "1"})
	p3, _ := s.Program(map[string]string{"ENA_LAB_A": "2"})
	s.Files = map[string][]byte{"kmod/0001.patch": []byte("x")}
	p4, _ := s.Program(map[string]string{"ENA_LAB_A": "1"})
	if Fingerprint(p1) != Fingerprint(p2) {
		t.Error("same script and inputs, different fingerprint: every update would re-run the step")
	}
	if Fingerprint(p1) == Fingerprint(p3) || Fingerprint(p1) == Fingerprint(p4) {
		t.Error("a changed input or file left the fingerprint unchanged: the step would not re-run")
	}
}

// fakeIMDS answers like EC2's metadata service with IMDSv2 required, unless v1 is allowed.
func fakeIMDS(t *testing.T, allowV1 bool) *httptest.Server {
	const token = "tok-123"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/latest/api/token" {
			if r.Method != http.MethodPut || r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") == "" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			fmt.Fprint(w, token)
			return
		}
		if r.Header.Get("X-aws-ec2-metadata-token") != token && !allowV1 {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		answers := map[string]string{
			"/latest/meta-data/instance-id":   "i-0123456789abcdef0",
			"/latest/meta-data/instance-type": "c6i.large",
			"/latest/meta-data/mac":           "0a:00:00:00:00:01",
		}
		a, ok := answers[r.URL.Path]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		fmt.Fprint(w, a)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// fakeSysfs builds the parts of /sys the check reads.
func fakeSysfs(t *testing.T, vendor, primaryDriver, lockdown string) string {
	root := t.TempDir()
	write := func(p, s string) {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("class/dmi/id/sys_vendor", vendor+"\n")
	write("kernel/security/lockdown", lockdown+"\n")
	for name, nic := range map[string]struct{ mac, driver, bdf string }{
		"ens5": {"0a:00:00:00:00:01", primaryDriver, "0000:00:05.0"},
		"ens6": {"0a:00:00:00:00:02", "ena", "0000:00:06.0"},
	} {
		write("class/net/"+name+"/address", nic.mac+"\n")
		drv := filepath.Join(root, "bus/pci/drivers", nic.driver)
		dev := filepath.Join(root, "devices/pci0000:00", nic.bdf)
		for _, d := range []string{drv, dev} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(drv, filepath.Join(dev, "driver")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(dev, filepath.Join(root, "class/net", name, "device")); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// runStep runs a step's program the way the host does (bash -s on stdin)
// below a temporary steps root, with uname reporting kernel.
func runStep(t *testing.T, s Step, inputs map[string]string, kernel string) (map[string]interface{}, string, error) {
	t.Helper()
	old := stepsRoot
	stepsRoot = t.TempDir()
	defer func() { stepsRoot = old }()
	program, err := s.Program(inputs)
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	stub := "#!/bin/sh\necho " + kernel + "\n"
	if err := os.WriteFile(filepath.Join(bin, "uname"), []byte(stub), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-s")
	cmd.Stdin = strings.NewReader(program)
	// Logs and state below the test's directory, as the lab keeps them below /var.
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"),
		"ENA_LAB_LOG_DIR="+filepath.Join(stepsRoot, "log"), "ENA_LAB_STATE_DIR="+filepath.Join(stepsRoot, "state"))
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	if _, err := os.Stat(filepath.Join(stepsRoot, s.Name, s.Script)); err != nil {
		t.Errorf("the program did not leave its script in the step directory: %v", err)
	}
	res, perr := ParseResult(s.Name, stdout.String())
	if perr != nil {
		t.Fatalf("%v\nstderr:\n%s", perr, stderr.String())
	}
	return res, stderr.String(), runErr
}

func nitroStep() Step {
	return Step{Name: "nitro-check", Script: "nitro-check.sh", Sources: []string{"lib.sh"}, Timeout: time.Minute}
}

func TestNitroCheckPassesOnANitroHost(t *testing.T) {
	imds := fakeIMDS(t, false)
	sys := fakeSysfs(t, "Amazon EC2", "ena", "[none] integrity confidentiality")
	res, stderr, err := runStep(t, nitroStep(), map[string]string{
		"ENA_LAB_IMDS_URL": imds.URL, "ENA_LAB_SYSFS": sys,
	}, "6.1.150-1.amzn2023.x86_64")
	if err != nil {
		t.Fatalf("check failed on a good host: %v\n%s", err, stderr)
	}
	want := map[string]interface{}{
		"ok": true, "imdsv2": true, "imdsv1Disabled": true, "instanceType": "c6i.large",
		"instanceId": "i-0123456789abcdef0", "primaryInterface": "ens5", "primaryDriver": "ena",
		"dmiVendor": "Amazon EC2", "kernel": "6.1.150-1.amzn2023.x86_64", "lockdown": "none", "secureBoot": "not-uefi",
	}
	for k, v := range want {
		if res[k] != v {
			t.Errorf("%s = %v, want %v", k, res[k], v)
		}
	}
	if !strings.Contains(stderr, "[nitro-check] IMDSv2 token") {
		t.Errorf("no progress lines on stderr: %s", stderr)
	}
}

func TestNitroCheckNamesEveryFailedRequirement(t *testing.T) {
	imds := fakeIMDS(t, true)
	sys := fakeSysfs(t, "Xen", "xen-netfront", "none [integrity] confidentiality")
	res, stderr, err := runStep(t, nitroStep(), map[string]string{
		"ENA_LAB_IMDS_URL": imds.URL, "ENA_LAB_SYSFS": sys,
	}, "5.10.200-1.amzn2.x86_64")
	if err == nil {
		t.Fatal("a Xen host with IMDSv1, lockdown and kernel 5.10 passed the check")
	}
	if res["ok"] != false {
		t.Errorf("ok = %v", res["ok"])
	}
	raw, _ := json.Marshal(res["problems"])
	for _, want := range []string{"IMDSv1 answered", "driver 'xen-netfront', expected ena", "DMI vendor is 'Xen'", "kernel 5.10.200", "lockdown is 'integrity'"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("problems lack %q: %s", want, raw)
		}
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
}

func TestNitroCheckRefusesBadInputs(t *testing.T) {
	old := stepsRoot
	stepsRoot = t.TempDir()
	defer func() { stepsRoot = old }()
	program, _ := nitroStep().Program(map[string]string{"ENA_LAB_IMDS_URL": "ftp://x; reboot",
		"ENA_LAB_LOG_DIR": filepath.Join(stepsRoot, "log"), "ENA_LAB_STATE_DIR": filepath.Join(stepsRoot, "state")})
	cmd := exec.Command("bash", "-s")
	cmd.Stdin = strings.NewReader(program)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "input ENA_LAB_IMDS_URL='ftp://x; reboot'") {
		t.Errorf("a bad IMDS URL must be refused by name and value: %v\n%s", err, out)
	}
}

func TestDeleteCommandRunsTheScriptLeftByCreate(t *testing.T) {
	s := Step{Name: "bind", Script: "ready.sh", DeleteScript: "nitro-check.sh", Timeout: 90 * time.Second}
	got := s.DeleteCommand(map[string]string{"ENA_LAB_MAC": "0a:00:00:00:00:02"})
	want := "sudo env ENA_LAB_MAC='0a:00:00:00:00:02' timeout --kill-after=30 90 bash '/opt/ena-lab/steps/bind/nitro-check.sh' </dev/null" +
		" && sudo rm -rf '/opt/ena-lab/steps/bind'"
	if got != want {
		t.Errorf("delete command\n got %s\nwant %s", got, want)
	}
}

// The Go side and the scripts' headers agree, or the step is refused when
// the program is declared (at preview), not on the host.
func TestAStepMustKeepItsScriptsContract(t *testing.T) {
	good := Step{Name: "netns", Script: "netns.sh", Sources: []string{"lib.sh"}, Timeout: time.Minute,
		Inputs: map[string]pulumi.StringInput{}}
	for _, k := range []string{"ENA_LAB_MAC", "ENA_LAB_PRIMARY_MAC", "ENA_LAB_IP", "ENA_LAB_PREFIX", "ENA_LAB_GATEWAY"} {
		good.Inputs[k] = pulumi.String("x")
	}
	if err := good.validate(); err != nil {
		t.Fatalf("a step that keeps the contract is refused: %v", err)
	}
	misspelt := good
	misspelt.Inputs = map[string]pulumi.StringInput{"ENA_LAB_GATEWY": pulumi.String("x")}
	for k, v := range good.Inputs {
		if k != "ENA_LAB_GATEWAY" {
			misspelt.Inputs[k] = v
		}
	}
	err := misspelt.validate()
	if err == nil || !strings.Contains(err.Error(), "ENA_LAB_GATEWY, which no header") {
		t.Errorf("a misspelt input must be refused by name, got %v", err)
	}
	missing := good
	missing.Inputs = map[string]pulumi.StringInput{"ENA_LAB_MAC": pulumi.String("x")}
	if err := missing.validate(); err == nil || !strings.Contains(err.Error(), "ENA_LAB_PRIMARY_MAC (required by netns.sh)") {
		t.Errorf("a required input left out must be refused, naming it and its script: %v", err)
	}
	// baseline.sh runs netns.sh and validate.sh: they must be shipped with it.
	unshipped := Step{Name: "baseline", Script: "baseline.sh", Sources: []string{"lib.sh", "validate.sh"}, Timeout: time.Minute}
	if err := unshipped.validate(); err == nil || !strings.Contains(err.Error(), "baseline.sh sources or runs netns.sh, which is not in the step's Sources") {
		t.Errorf("a sibling the script runs must be in Sources: %v", err)
	}
	// validate.sh reads the statistics and the verdict beside it.
	noStats := Step{Name: "validate", Script: "validate.sh", Sources: []string{"lib.sh", "verdict.jq"}, Timeout: time.Minute}
	if err := noStats.validate(); err == nil || !strings.Contains(err.Error(), "validate.sh sources or runs stats.awk, which is not in the step's Sources") {
		t.Errorf("the statistics validate.sh reads must be in Sources: %v", err)
	}
}

func TestEveryScriptHeaderParses(t *testing.T) {
	names, err := scripts.ReadDir("scripts")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range names {
		if !strings.HasSuffix(e.Name(), ".sh") {
			continue // a program a script runs (stats.awk, verdict.jq), not a step
		}
		c, err := readContract(e.Name())
		if err != nil {
			t.Error(err)
			continue
		}
		if e.Name() != "ready.sh" && e.Name() != "lib.sh" && len(c.inputs) == 0 {
			t.Errorf("%s declares no inputs: every step script says what it reads", e.Name())
		}
	}
}

func TestNitroCheckAcceptsExactlyTheStacksKernelSeries(t *testing.T) {
	imds := fakeIMDS(t, false)
	sys := fakeSysfs(t, "Amazon EC2", "ena", "[none] integrity confidentiality")
	in := map[string]string{"ENA_LAB_IMDS_URL": imds.URL, "ENA_LAB_SYSFS": sys, "ENA_LAB_KERNEL_SERIES": "6.12"}
	if _, stderr, err := runStep(t, nitroStep(), in, "6.12.40-63.114.amzn2023.x86_64"); err != nil {
		t.Errorf("a 6.12 host for a 6.12 stack was refused: %v\n%s", err, stderr)
	}
	res, _, err := runStep(t, nitroStep(), in, "6.1.150-1.amzn2023.x86_64")
	raw, _ := json.Marshal(res["problems"])
	if err == nil || !strings.Contains(string(raw), "kernel 6.1.150-1.amzn2023.x86_64 is not in the 6.12 series this stack asks for") {
		t.Errorf("a 6.1 host for a 6.12 stack must be refused, naming both: %v %s", err, raw)
	}
}
