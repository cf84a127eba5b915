//go:build engine

package main

// The whole lab as a user runs it, on the EC2 twin (twin/run.sh): the real
// engine, the aws stand-in launching the twin's VM as the instance, every
// host step over real SSH into a Debian 12 guest with systemd, udev,
// networkd, cloud-init and amazon-ec2-net-utils, two emulated ENAs on a
// bridge, IMDSv2 from AWS's simulator, the driver cloned from a git server
// in the VPC. One VM for the scenarios, in the order a user meets them;
// each step's wall time is logged as a figure.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"

	"github.com/enalab/enalab/infra"
	"github.com/enalab/enalab/stackconfig"
	ec2twin "github.com/enalab/enalab/twin"
	"github.com/enalab/enalab/twin/standin"
)

const debianAMI = "ami-0deb12deb12deb120"

// onTwin: a stack whose instance is the twin's VM in a VPC of its own.
func onTwin(t *testing.T) (*engineLab, *ec2twin.VPC) {
	t.Helper()
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	vpc, err := ec2twin.NewVPC(root, filepath.Join(t.TempDir(), "twin"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			c := vpc.Console()
			if len(c) > 6000 {
				c = c[len(c)-6000:]
			}
			t.Logf("the twin's console, last lines:\n%s", c)
		}
		if err := vpc.Down(); err != nil {
			t.Errorf("twin down: %v", err)
		}
	})
	e := vpc.Env
	// The stack's VPC is the twin's: the subnet, gateway and prefix the
	// program derives for the host steps are the addresses the twin has.
	if sub := stackconfig.SubnetOf(netip.MustParsePrefix(e["VPC_CIDR"])); sub.String() != e["SUBNET"] ||
		!sub.Contains(netip.MustParseAddr(e["SECONDARY_IP"])) || infra.SubnetRouter(sub).String() != e["ROUTER"] {
		t.Fatalf("the twin's VPC %s must be laid out as the stack's (subnet %s, router %s): %v", e["VPC_CIDR"], sub, infra.SubnetRouter(sub), e)
	}
	tw := standin.Twin{
		PublicIP: e["PRIMARY_IP"], PrivateIP: e["PRIMARY_IP"],
		SecondaryMAC: e["SECONDARY_MAC"], SecondaryIP: e["SECONDARY_IP"],
		Zones: []string{"eu-west-1a", "eu-west-1b"},
		Types: map[string]standin.InstanceType{
			"c6i.large": {Hypervisor: "nitro", EnaSupport: "required", MaxInterfaces: 3, Architectures: []string{"x86_64"}},
		},
		AMIs:    map[string]string{"/aws/service/debian/release/12/latest/amd64": debianAMI},
		Machine: vpc,
	}
	l := newEngineLabOn(t, "twin", tw, vpc.Netns())
	l.config(map[string]string{
		"ena-lab:distro":       "debian-12",
		"ena-lab:vpcCidr":      e["VPC_CIDR"],
		"ena-lab:sshCidr":      e["ROUTER"] + "/32",
		"ena-lab:driverRepo":   e["DRIVER_REPO"],
		"ena-lab:driverCommit": e["DRIVER_COMMIT"],
		// Under emulation two runs of iperf3 differ by more than a driver
		// does: the verdict's ratio is reported, not judged, here.
		"ena-lab:minThroughputRatio": "0.2",
		// Short runs: the twin proves traffic moves and the figures reach
		// the outputs; how fast an emulated ENA is belongs to the benchmarks.
		"ena-lab:iperfSeconds": "1",
	})
	return l, vpc
}

// stepTimes: how long each resource took, from the engine's events.
type stepTimes struct {
	mu    sync.Mutex
	start map[string]time.Time
	took  map[string]time.Duration
	ops   map[string]string   // the last op announced
	seq   map[string][]string // every op announced, in order
	// onStart, if set, is told the name of each resource as its step begins.
	onStart func(name string)
}

func (s *stepTimes) watch(ch <-chan events.EngineEvent, done chan<- struct{}) {
	for e := range ch {
		s.mu.Lock()
		switch {
		case e.ResourcePreEvent != nil:
			m := e.ResourcePreEvent.Metadata
			s.start[m.URN] = time.Now()
			s.ops[m.URN] = string(m.Op)
			name := m.URN[strings.LastIndex(m.URN, "::")+2:]
			s.seq[name] = append(s.seq[name], string(m.Op))
			if s.onStart != nil && m.Op != "same" {
				go s.onStart(name)
			}
		case e.ResOutputsEvent != nil:
			u := e.ResOutputsEvent.Metadata.URN
			s.took[u] = time.Since(s.start[u])
		}
		s.mu.Unlock()
	}
	close(done)
}

// changed: the resources the update did something to, by name, with
// their op.
func (s *stepTimes) changed() map[string]string {
	out := map[string]string{}
	for u, op := range s.ops {
		if op != "same" {
			out[u[strings.LastIndex(u, "::")+2:]] = op
		}
	}
	return out
}

func (s *stepTimes) report(t *testing.T, what string, total time.Duration) {
	var lines []string
	for u, d := range s.took {
		if s.ops[u] != "same" && strings.Contains(u, "command:remote:Command") {
			lines = append(lines, fmt.Sprintf("  %-12s %-8s %6.1fs", u[strings.LastIndex(u, "::")+2:], s.ops[u], d.Seconds()))
		}
	}
	sort.Strings(lines)
	t.Logf("FIGURE %s: %.1fs in all; host steps:\n%s", what, total.Seconds(), strings.Join(lines, "\n"))
}

// timedUp: an up, with what each resource took.
func (l *engineLab) timedUp(what string, opts ...optup.Option) (auto.UpResult, *stepTimes, error) {
	l.t.Helper()
	return l.timedUpWatching(what, 40*time.Minute, nil, opts...)
}

// timedUpWatching: timedUp, given up for hung after within, telling
// onStart as each resource's step begins.
func (l *engineLab) timedUpWatching(what string, within time.Duration, onStart func(string), opts ...optup.Option) (auto.UpResult, *stepTimes, error) {
	l.t.Helper()
	st := &stepTimes{start: map[string]time.Time{}, took: map[string]time.Duration{}, ops: map[string]string{},
		seq: map[string][]string{}, onStart: onStart}
	ch := make(chan events.EngineEvent)
	done := make(chan struct{})
	go st.watch(ch, done)
	begin := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	res, err := l.stack.Up(ctx, append(opts, optup.EventStreams(ch))...)
	<-done
	st.report(l.t, what, time.Since(begin))
	return res, st, err
}

// stepStderr: what a host step wrote on stderr, from the stack's state.
func (l *engineLab) stepStderr(name string) string {
	l.t.Helper()
	dep, err := l.stack.Export(context.Background())
	if err != nil {
		l.t.Fatalf("export: %v", err)
	}
	var d struct {
		Resources []struct {
			URN     string                 `json:"urn"`
			Outputs map[string]interface{} `json:"outputs"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(dep.Deployment, &d); err != nil {
		l.t.Fatalf("the exported state: %v", err)
	}
	for _, r := range d.Resources {
		if strings.HasSuffix(r.URN, "command:remote:Command::"+name) {
			s, _ := r.Outputs["stderr"].(string)
			return s
		}
	}
	l.t.Fatalf("no step %s in the state", name)
	return ""
}

// heldSession is an SSH session to the instance's primary ENI, opened
// before a change and held through it as a developer's shell would be.
// Every 2 s the host prints the primary interface's ifindex, its carrier
// changes and its driver: a rebind gives a new ifindex, a link drop one
// more carrier change, and a lost session or a vanished interface ends it.
type heldSession struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	ended  chan struct{}
	mu     sync.Mutex
	lines  []string
	maxGap time.Duration
}

func holdSession(t *testing.T, vpc *ec2twin.VPC, mac string) *heldSession {
	t.Helper()
	script := `set -eu
dev=""
for d in /sys/class/net/*; do [ "$(cat "$d/address")" = "` + strings.ToLower(mac) + `" ] && dev=$d; done
[ -n "$dev" ] || { echo "no interface has ` + mac + `" >&2; exit 1; }
while :; do
	echo "$(cat "$dev/ifindex") $(cat "$dev/carrier_changes") $(basename "$(readlink "$dev/device/driver")")"
	sleep 2
done`
	h := &heldSession{cmd: vpc.Session(script), ended: make(chan struct{})}
	h.cmd.Stderr = &h.stderr
	out, err := h.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.cmd.Start(); err != nil {
		t.Fatalf("holding a session: %v", err)
	}
	go func() {
		last := time.Now()
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			h.mu.Lock()
			h.lines = append(h.lines, sc.Text())
			h.maxGap = max(h.maxGap, time.Since(last))
			last = time.Now()
			h.mu.Unlock()
		}
		_ = h.cmd.Wait()
		close(h.ended)
	}()
	return h
}

// release ends the session, failing t if it had ended by itself or if the
// primary interface changed while it was held.
func (h *heldSession) release(t *testing.T) {
	t.Helper()
	select {
	case <-h.ended:
		t.Errorf("the SSH session to the primary ENI dropped during the change (%s)", strings.TrimSpace(h.stderr.String()))
	default:
		_ = h.cmd.Process.Kill()
		<-h.ended
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.lines) < 3 {
		t.Fatalf("the held session printed %d lines: %q (%s)", len(h.lines), h.lines, strings.TrimSpace(h.stderr.String()))
	}
	first := h.lines[0]
	if f := strings.Fields(first); len(f) != 3 || f[2] != "ena" {
		t.Errorf("the primary ENI must be on the stock ena (ifindex carrier-changes driver): %q", first)
	}
	for i, l := range h.lines {
		if l != first {
			t.Errorf("the primary ENI changed during the change: line %d is %q, was %q", i, l, first)
			break
		}
	}
	t.Logf("FIGURE held session: %d samples, longest silence %.1fs", len(h.lines), h.maxGap.Seconds())
}

func output(res auto.UpResult, name string) map[string]interface{} {
	return outputMap(res.Outputs, name)
}

func outputMap(outs auto.OutputMap, name string) map[string]interface{} {
	m, _ := outs[name].Value.(map[string]interface{})
	return m
}

// editPatch: the program ships patch N of the series with old replaced by
// new (as a developer's edit would), until restore.
func editPatch(t *testing.T, n, old, new string) (restore func()) {
	t.Helper()
	orig := driverFiles
	found := false
	for name, b := range orig() {
		if strings.HasPrefix(name, "patches/"+n) && strings.Contains(string(b), old) {
			found = true
		}
	}
	if !found {
		t.Fatalf("patch %s has no %q to edit", n, old)
	}
	driverFiles = func() map[string][]byte {
		files := orig()
		for name, b := range files {
			if strings.HasPrefix(name, "patches/"+n) {
				files[name] = []byte(strings.Replace(string(b), old, new, 1))
			}
		}
		return files
	}
	return func() { driverFiles = orig }
}

func TestTwinLab(t *testing.T) {
	l, vpc := onTwin(t)
	e := vpc.Env

	t.Run("up on a new stack validates the lab", func(t *testing.T) {
		res, _, err := l.timedUp("up to a validated lab")
		if err != nil {
			t.Fatalf("up: %v", err)
		}
		nitro := output(res, "nitroCheck")
		if nitro["ok"] != true || nitro["imdsv2"] != true || nitro["instanceType"] != "c6i.large" {
			t.Errorf("the Nitro check must pass on the twin with IMDSv2 and see its type: %v", nitro)
		}
		bind := output(res, "binding")
		if bind["driver"] != "ena_custom" || !strings.EqualFold(fmt.Sprint(bind["mac"]), e["SECONDARY_MAC"]) {
			t.Errorf("ena_custom must hold the secondary ENI (%s): %v", e["SECONDARY_MAC"], bind)
		}
		v := output(res, "validation")
		custom, _ := v["custom"].(map[string]interface{})
		stock, _ := v["stock"].(map[string]interface{})
		if v["driver"] != "ena_custom" || v["stockDriver"] != "ena" || custom == nil || stock == nil {
			t.Fatalf("validation must compare ena_custom with the stock ena on the same ENI: %v", v)
		}
		for _, side := range []map[string]interface{}{custom, stock} {
			for _, mode := range []string{"single", "multi"} {
				f, _ := side[mode].(map[string]interface{})
				tx, _ := f["txGbps"].(float64)
				rx, _ := f["rxGbps"].(float64)
				if tx <= 0 || rx <= 0 {
					t.Errorf("traffic both ways (%s): %v", mode, f)
				}
			}
		}
		// Latency percentiles, an interval and a verdict per figure, and the
		// report page the host kept.
		cmp, _ := v["comparison"].(map[string]interface{})
		lat, _ := custom["latency"].(map[string]interface{})
		p50, _ := lat["p50Us"].(float64)
		report, _ := v["report"].(string)
		if len(cmp) != 8 || p50 <= 0 || !strings.HasPrefix(report, "/var/lib/ena-lab/reports/") || !strings.HasSuffix(report, ".html") {
			t.Errorf("validation must compare 8 figures, give latency and keep a report: comparison %v, latency %v, report %q", cmp, lat, report)
		}
		t.Logf("FIGURE twin throughput: %v (verdict %v)", v["ratio"], v["verdict"])
	})
	if t.Failed() {
		return
	}

	t.Run("a second up changes nothing", func(t *testing.T) {
		_, st, err := l.timedUp("second up")
		if err != nil {
			t.Fatalf("second up: %v", err)
		}
		if did := st.changed(); len(did) > 0 {
			t.Errorf("a second up with nothing changed must do nothing, did %v", did)
		}
	})

	ctx := context.Background()
	outs, err := l.stack.Outputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := outs["privateKey"].Value.(string)
	if err := vpc.UseKey(key); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(l.stepStderr("build"), "\n") {
		if strings.Contains(l, "built in") {
			t.Logf("FIGURE cold driver build on the twin: %s", l)
		}
	}
	if boot, err := vpc.SSH("systemd-analyze && systemd-analyze blame --no-pager | head -n 8"); err == nil {
		t.Logf("FIGURE the twin's boot:\n%s", boot)
	}
	bdf := fmt.Sprint(outputMap(outs, "binding")["bdf"])
	driverOf := func() (string, error) {
		out, err := vpc.SSH("basename \"$(readlink /sys/bus/pci/devices/" + bdf + "/driver)\"")
		return strings.TrimSpace(out), err
	}

	t.Run("a bad patch fails the build with the rejected hunk and leaves the lab as it was", func(t *testing.T) {
		restore := editPatch(t, "0004", "\n endif\n+\n", "\n endif # not upstream's line\n+\n")
		defer restore()
		_, st, err := l.timedUp("bad patch")
		if err == nil || !strings.Contains(err.Error(), "does not apply") || !strings.Contains(err.Error(), "rejected hunk in") {
			t.Fatalf("a patch that does not apply must fail the build naming the rejected hunk, got %v", err)
		}
		if did := st.changed(); did["bind"] != "" || did["validate"] != "" {
			t.Errorf("nothing may be rebound after a failed build: %v", did)
		}
		if drv, err := driverOf(); err != nil || drv != "ena_custom" {
			t.Errorf("the lab must stay usable with ena_custom bound: driver %q, ssh %v", drv, err)
		}
	})

	// The edited series stays until after the reboot: that is the program
	// the lab was last brought up with.
	restoreEdit := func() {}
	defer func() { restoreEdit() }()
	t.Run("a patch edit rebuilds, rebinds and revalidates, and nothing else", func(t *testing.T) {
		restoreEdit = editPatch(t, "0004", " * a consistent view.\n", " * a consistent one.\n")
		before := fmt.Sprint(outputMap(outs, "binding")["version"])
		held := holdSession(t, vpc, e["PRIMARY_MAC"])
		res, st, err := l.timedUp("patch edit to validated lab")
		held.release(t)
		if err != nil {
			t.Fatalf("up after a patch edit: %v", err)
		}
		did := st.changed()
		for _, must := range []string{"build", "bind", "validate"} {
			if did[must] == "" {
				t.Errorf("%s must run after a patch edit: %v", must, did)
			}
		}
		for name := range did {
			switch name {
			case "build", "bind", "netns", "validate", "ena-lab-twin":
			default:
				t.Errorf("a patch edit must not touch %s (%s)", name, did[name])
			}
		}
		// The old module is unbound (unbind.sh) before the new one binds.
		if seq := strings.Join(st.seq["bind"], ","); !strings.Contains(seq, "delete-replaced") || !strings.Contains(seq, "create-replacement") ||
			strings.Index(seq, "delete-replaced") > strings.Index(seq, "create-replacement") {
			t.Errorf("bind must be deleted (unbind.sh) before its replacement binds, ops were %s", seq)
		}
		after := fmt.Sprint(output(res, "binding")["version"])
		if after == before || !strings.HasPrefix(after, "2.15.0g-custom.") {
			t.Errorf("the rebound module must carry the edited series' hash: %s, then %s", before, after)
		}
		if v := output(res, "validation"); v["version"] != after {
			t.Errorf("validate must measure the new module %s: %v", after, v["version"])
		}
	})

	t.Run("after a reboot the boot unit rebinds ena_custom and a refresh is clean", func(t *testing.T) {
		_, _ = vpc.SSH("sudo systemctl reboot") // the session ends with the reboot
		begin := time.Now()
		var drv string
		for time.Since(begin) < 8*time.Minute {
			time.Sleep(10 * time.Second)
			if d, err := driverOf(); err == nil && d != "" {
				drv = d
				if d == "ena_custom" {
					break
				}
			}
		}
		t.Logf("FIGURE reboot to ena_custom bound: %.0fs", time.Since(begin).Seconds())
		if drv != "ena_custom" {
			t.Fatalf("after a reboot the secondary ENI must be on ena_custom again, is on %q", drv)
		}
		if _, err := l.stack.Refresh(ctx); err != nil {
			t.Fatalf("refresh after a reboot: %v", err)
		}
		plan, err := l.preview()
		if err != nil {
			t.Fatalf("preview after a reboot: %v", err)
		}
		for _, s := range plan {
			if s.Op != "same" {
				t.Errorf("after a reboot nothing is to be done, the plan has %s %s", s.Op, s.URN)
			}
		}
	})

	t.Run("rustDriver: ena-tap takes the lab ENI as a service and validates through its TAP, then goes", func(t *testing.T) {
		rust := []string{"tap-build", "tap", "tap-validate"}
		l.config(map[string]string{"ena-lab:rustDriver": "true"})
		held := holdSession(t, vpc, e["PRIMARY_MAC"])
		res, st, err := l.timedUp("rustDriver on to a validated ena-tap")
		held.release(t)
		if err != nil {
			t.Fatalf("up with rustDriver: %v", err)
		}
		did := st.changed()
		for _, must := range rust {
			if did[must] != "create" {
				t.Errorf("rustDriver must create step %s: %v", must, did)
			}
		}
		for name := range did {
			switch name {
			case "prereqs", "tap-build", "tap", "tap-validate", "ena-lab-twin":
			default:
				t.Errorf("rustDriver must not touch %s (%s)", name, did[name])
			}
		}
		b := output(res, "rustBinding")
		if b["driver"] != "ena-tap" || b["previousDriver"] != "ena_custom" || b["bdf"] != bdf ||
			!strings.EqualFold(fmt.Sprint(b["mac"]), e["SECONDARY_MAC"]) {
			t.Errorf("ena-tap must take the secondary ENI (%s, %s) from ena_custom: %v", e["SECONDARY_MAC"], bdf, b)
		}
		v := output(res, "rustValidation")
		custom, _ := v["custom"].(map[string]interface{})
		if v["driver"] != "ena-tap" || v["version"] != output(res, "rustBuild")["version"] || custom == nil {
			t.Fatalf("tap-validate must measure the ena-tap that was built: %v", v)
		}
		for _, mode := range []string{"single", "multi"} {
			f, _ := custom[mode].(map[string]interface{})
			tx, _ := f["txGbps"].(float64)
			rx, _ := f["rxGbps"].(float64)
			if tx <= 0 || rx <= 0 {
				t.Errorf("traffic both ways through ena-tap (%s): %v", mode, f)
			}
		}
		t.Logf("FIGURE ena-tap on the twin: built in %vs by rustc %v; throughput vs stock ena %v",
			output(res, "rustBuild")["seconds"], output(res, "rustBuild")["rustc"], v["ratio"])
		host, err := vpc.SSH("systemctl is-active ena-lab-tap.service; cat /sys/bus/pci/devices/" + bdf + "/driver_override; " +
			"[ -e /sys/bus/pci/devices/" + bdf + "/driver ] && echo bound || echo unbound; " +
			"sudo ip netns exec ena-lab udevadm test-builtin net_setup_link /sys/class/net/enatap0 2>/dev/null | sed -n 's/^ID_NET_LINK_FILE=//p'")
		if f := strings.Fields(host); err != nil || len(f) != 4 || f[0] != "active" || f[1] != "ena-tap" || f[2] != "unbound" {
			t.Errorf("the ENI must be ena-tap's (service active, override ena-tap, no kernel driver): %q %v", host, err)
		} else if f[3] != "/etc/systemd/network/10-ena-lab-tap.link" {
			// 99-default.link's MACAddressPolicy=persistent would race ena-tap's MAC.
			t.Errorf("udev must apply the lab's .link to the TAP, keeping its MAC: it applies %s", f[3])
		}

		// Killed outright, ena-tap cannot hand the ENI back itself: the
		// unit's stop hook does, pinned to ena_custom in ena-lab; a start
		// of the unit alone takes it again.
		begin := time.Now()
		back, err := vpc.SSH("sudo systemctl kill -s KILL ena-lab-tap.service; for i in $(seq 300); do " +
			"case $(systemctl show -p ActiveState --value ena-lab-tap.service) in failed|inactive) break;; esac; sleep 0.2; done; " +
			"cat /sys/bus/pci/devices/" + bdf + "/driver_override; readlink /sys/bus/pci/devices/" + bdf + "/driver | xargs -r basename; " +
			"sudo ip -n ena-lab -br link | grep -ci '" + e["SECONDARY_MAC"] + "'")
		if f := strings.Fields(back); err != nil || len(f) != 3 || f[0] != "ena_custom" || f[1] != "ena_custom" || f[2] != "1" {
			t.Errorf("after a SIGKILL of ena-tap the ENI must be back on ena_custom (pinned) in ena-lab: %q %v", back, err)
		}
		t.Logf("FIGURE SIGKILL of ena-tap to the ENI back on ena_custom in ena-lab: %.1fs", time.Since(begin).Seconds())
		if again, err := vpc.SSH("sudo systemctl start ena-lab-tap.service && systemctl is-active ena-lab-tap.service && " +
			"cat /sys/bus/pci/devices/" + bdf + "/driver_override"); err != nil || strings.Join(strings.Fields(again), " ") != "active ena-tap" {
			t.Errorf("a start of the unit must give the ENI to ena-tap again: %q %v", again, err)
		}

		// A new validate (here a new threshold) takes ena-tap down first:
		// the plan deletes tap-validate and tap before validate runs again.
		ratio, err := l.stack.GetConfig(ctx, "ena-lab:minThroughputRatio")
		if err != nil {
			t.Fatal(err)
		}
		l.config(map[string]string{"ena-lab:minThroughputRatio": ratio.Value + "1"})
		plan, err := l.preview()
		l.config(map[string]string{"ena-lab:minThroughputRatio": ratio.Value})
		if err != nil {
			t.Fatalf("preview of a new validate: %v", err)
		}
		at := map[string]int{}
		for i, s := range plan {
			at[s.Op+" "+s.URN[strings.LastIndex(s.URN, "::")+2:]] = i + 1
		}
		order := []string{"delete-replaced tap-validate", "delete-replaced tap", "delete-replaced validate",
			"create-replacement validate", "create-replacement tap", "create-replacement tap-validate"}
		for i := 1; i < len(order); i++ {
			if at[order[i-1]] == 0 || at[order[i]] == 0 || at[order[i-1]] > at[order[i]] {
				t.Errorf("a new validate: %q must come before %q in the plan: %v", order[i-1], order[i], plan)
			}
		}

		l.config(map[string]string{"ena-lab:rustDriver": "false"})
		_, st, err = l.timedUp("rustDriver off")
		if err != nil {
			t.Fatalf("up with rustDriver off: %v", err)
		}
		did = st.changed()
		for _, must := range rust {
			if did[must] != "delete" {
				t.Errorf("rustDriver off must delete step %s: %v", must, did)
			}
		}
		if drv, err := driverOf(); err != nil || drv != "ena_custom" {
			t.Errorf("the ENI must be back on ena_custom: %q %v", drv, err)
		}
		left, err := vpc.SSH("ls /etc/systemd/system/ena-lab-tap.service /etc/systemd/network/10-ena-lab-tap.link /var/lib/ena-lab/tap /var/lib/ena-lab/tap.env 2>/dev/null; " +
			"cat /sys/bus/pci/devices/" + bdf + "/driver_override; sudo ip -n ena-lab -br link | grep -ci '" + e["SECONDARY_MAC"] + "'")
		if f := strings.Fields(left); err != nil || len(f) != 2 || f[0] != "ena_custom" || f[1] != "1" {
			t.Errorf("nothing of ena-tap may stay, and the ENI must be in ena-lab pinned to ena_custom: %q %v", left, err)
		}
	})

	restoreEdit()
	restoreEdit = func() {}

	t.Run("the host dies mid-way through an up: the up fails, destroy completes", func(t *testing.T) {
		// Back to the shipped series: this up rebuilds. The instance is
		// killed without a shutdown (a termination, a host failure) once
		// the build runs on it; the step's SSH session then only learns
		// of it from TCP keep-alives, as pulumi-command's would.
		var once sync.Once
		killed := make(chan error, 1)
		var killedAt time.Time
		kill := func(name string) {
			if name != "build" {
				return
			}
			once.Do(func() {
				time.Sleep(15 * time.Second)
				killedAt = time.Now()
				killed <- vpc.PowerOff("")
			})
		}
		_, st, err := l.timedUpWatching("up cut by the host's death", 10*time.Minute, kill)
		select {
		case kerr := <-killed:
			if kerr != nil {
				t.Fatalf("killing the instance: %v", kerr)
			}
		case <-time.After(time.Minute):
			t.Fatalf("the up ended (%v) before the host was killed; steps %v", err, st.changed())
		}
		if err == nil {
			t.Fatal("an up whose host died mid-way must fail")
		}
		if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "context deadline exceeded") {
			t.Fatalf("the up hung after its host died: %v", err)
		}
		t.Logf("FIGURE host death to a failed up: %.0fs", time.Since(killedAt).Seconds())
		if !strings.Contains(err.Error(), "build: ") {
			t.Errorf("the failed up must name the step that lost its host (build): %v", err)
		}
		t.Logf("the error the user sees:\n%s", stepErrors(err.Error()))

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		begin := time.Now()
		if _, err := l.stack.Destroy(ctx, optdestroy.Remove()); err != nil {
			t.Fatalf("destroy after the host died: %v", err)
		}
		t.Logf("FIGURE destroy of a dead host: %.1fs", time.Since(begin).Seconds())
		if pid, err := os.ReadFile(filepath.Join(vpc.Dir, "qemu.pid")); err == nil {
			t.Errorf("the instance's VM still runs after destroy (pid %s)", strings.TrimSpace(string(pid)))
		}
	})
}

// stepErrors: the lines of an engine error that carry a step's failure.
func stepErrors(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "error:") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return strings.Join(out, "\n")
}
