package main

import (
	"strings"
	"testing"
)

var rustSteps = []string{"tap-build", "tap", "tap-validate"}

var withRust = with(map[string]string{"rustDriver": "true"})

func hasStep(m *labMocks, name string) bool {
	for _, r := range m.byType("command:remote:Command") {
		if r.Name == name {
			return true
		}
	}
	return false
}

func TestByDefaultNoRustDriverStepRunsAndPrereqsAsksNoCompiler(t *testing.T) {
	m, outs := mustRun(t, "dev", base)
	for _, step := range rustSteps {
		if hasStep(m, step) {
			t.Errorf("rustDriver is off by default, yet step %s is declared", step)
		}
	}
	if strings.Contains(stdin(t, m, "prereqs"), "ENA_LAB_RUST") {
		t.Error("prereqs asks for the Rust compiler without rustDriver")
	}
	for _, k := range []string{"rustBuild", "rustBinding", "rustValidation"} {
		if _, ok := outs[k]; ok {
			t.Errorf("output %s without rustDriver", k)
		}
	}
}

// rustDriver: after validate, the build of ena-tap, its service on the
// lab ENI, and the validation through its TAP, in that order.
func TestRustDriverStepsFollowValidateInOrder(t *testing.T) {
	m, outs := mustRun(t, "dev", withRust)
	order := append([]string{"validate"}, rustSteps...)
	for i := 1; i < len(order); i++ {
		c := m.named(t, "command:remote:Command", order[i])
		if !hasSuffix(c.RPC.GetDependencies(), "$command:remote:Command::"+order[i-1]) {
			t.Errorf("step %s does not depend on %s: %v", order[i], order[i-1], c.RPC.GetDependencies())
		}
	}
	hasAll(t, m, "prereqs", "the compiler", "ENA_LAB_RUST='1'")
	for out, step := range map[string]string{"rustBuild": "tap-build", "rustBinding": "tap", "rustValidation": "tap-validate"} {
		got, ok := outs[out].(map[string]interface{})
		if !ok || len(got) == 0 {
			t.Errorf("output %s: %v", out, outs[out])
			continue
		}
		if step == "tap-validate" && got["driver"] != "ena-tap" {
			t.Errorf("output %s is not %s's result: %v", out, step, got)
		}
	}
}

// The build ships the three crates' sources and the manifest, nothing else
// of the workspace, and its Delete removes what it built.
func TestRustBuildShipsTheDriverCratesAndCleansUp(t *testing.T) {
	m, _ := mustRun(t, "dev", withRust)
	hasAll(t, m, "tap-build", "the sources",
		"bash '/opt/ena-lab/steps/tap-build/build-tap.sh'", "ENA_LAB_RUST_DIR='/opt/ena-lab/steps/tap-build/rust'",
		"/opt/ena-lab/steps/tap-build/rust/Cargo.toml", "/opt/ena-lab/steps/tap-build/rust/ena-core/src/lib.rs",
		"/opt/ena-lab/steps/tap-build/rust/ena-pci/src/sys.rs", "/opt/ena-lab/steps/tap-build/rust/ena-tap/src/main.rs")
	in := stdin(t, m, "tap-build")
	for _, never := range []string{"ena-model", "ena-cref", "ena-capi", "/tests/"} {
		if strings.Contains(in, never) {
			t.Errorf("tap-build ships %s", never)
		}
	}
	c := m.named(t, "command:remote:Command", "tap-build")
	if del := prop(t, c.Inputs, "delete").StringValue(); !strings.Contains(del, "build-tap.sh' 'clean'") {
		t.Errorf("tap-build's delete does not remove the builds: %s", del)
	}
}

// tap takes the ENI the bind step bound, with the binary the build made,
// and gives it back before it is replaced or removed.
func TestTapTakesTheBoundENIWithTheBuiltBinaryAndUndoesOnDelete(t *testing.T) {
	m, _ := mustRun(t, "dev", withRust)
	hasAll(t, m, "tap", "the ENI and the binary",
		"ENA_LAB_MAC='0a:1b:2c:3d:4e:5f'", "ENA_LAB_PRIMARY_MAC='0a:1b:2c:3d:4e:01'", "ENA_LAB_IP='10.42.0.20'",
		"ENA_LAB_PREFIX='24'", "ENA_LAB_GATEWAY='10.42.0.1'", "ENA_LAB_SERVER_IP='10.42.0.10'",
		"ENA_LAB_TAP_BIN='/var/lib/ena-lab/tap/src-0123456789ab/ena-tap'", "ENA_LAB_EXPECT_VERSION='src-0123456789ab'",
		"ENA_LAB_TAP_QUEUES='2'", "/opt/ena-lab/steps/tap/netns.sh")
	tap := m.named(t, "command:remote:Command", "tap")
	if del := prop(t, tap.Inputs, "delete").StringValue(); !strings.Contains(del, "tap.sh' 'down'") || !strings.Contains(del, "ENA_LAB_MAC='0a:1b:2c:3d:4e:5f'") {
		t.Errorf("tap's delete does not stop ena-tap on the ENI: %s", del)
	}
	if !tap.RPC.GetDeleteBeforeReplace() {
		t.Error("a new tap step would start before the old ena-tap gave the ENI back: DeleteBeforeReplace is off")
	}
	// A new bound module, a new namespace under it or a new validate re-runs tap.
	var got []string
	for _, v := range prop(t, tap.Inputs, "triggers").ArrayValue() {
		got = append(got, v.StringValue())
	}
	if len(got) != 4 || got[1] != "2.15.0g-custom.0badc0de" || got[2] != "netns_id" || got[3] != "validate_id" {
		t.Errorf("tap triggers %v: want the program, the bound version, the netns and the validate step", got)
	}
	// validate deleted first takes tap (and tap-validate) down with it, so
	// a validate re-run never finds the ENI under ena-tap.
	if v := m.named(t, "command:remote:Command", "validate"); !v.RPC.GetDeleteBeforeReplace() {
		t.Error("a new validate would run while ena-tap holds the ENI: validate's DeleteBeforeReplace is off")
	}
}

// tap-validate measures the TAP like validate measures ena_custom, against
// the stock baseline, and fails only when traffic does not flow.
func TestTapValidateMeasuresTheTAPAgainstStock(t *testing.T) {
	m, _ := mustRun(t, "dev", withRust)
	hasAll(t, m, "tap-validate", "the driver and plan",
		"bash '/opt/ena-lab/steps/tap-validate/validate.sh'", "ENA_LAB_EXPECT_DRIVER='ena-tap'",
		"ENA_LAB_EXPECT_VERSION='src-0123456789ab'", "ENA_LAB_MIN_RATIO='0'", "ENA_LAB_SERVER_IP='10.42.0.10'",
		"ENA_LAB_RUNS='3'", "ENA_LAB_MEASURE='latency,throughput'", "timeout --kill-after=30 357 bash")
	tv := m.named(t, "command:remote:Command", "tap-validate")
	tr := prop(t, tv.Inputs, "triggers").ArrayValue()
	if len(tr) != 2 || tr[1].StringValue() != "tap_id" {
		t.Errorf("tap-validate triggers %v: a new tap step would not re-measure", tr)
	}
}

// Turning rustDriver on adds steps and asks prereqs for the compiler; the
// kernel driver's steps stay as they are.
func TestTurningRustDriverOnRerunsNoKernelDriverStep(t *testing.T) {
	before, _ := mustRun(t, "dev", base)
	after, _ := mustRun(t, "dev", withRust)
	reruns(t, before, after, "rustDriver=true", []string{"prereqs"}, []string{"build", "baseline", "bind", "netns", "validate"})
}

// Editing a Rust source rebuilds ena-tap, and nothing of the kernel driver.
func TestEditingARustSourceRebuildsOnlyTheRustDriver(t *testing.T) {
	before, _ := mustRun(t, "dev", withRust)
	old := rustFiles
	defer func() { rustFiles = old }()
	rustFiles = func() (map[string][]byte, error) {
		files, err := old()
		files["ena-tap/src/bridge.rs"] = append(append([]byte(nil), files["ena-tap/src/bridge.rs"]...), "\n// edited\n"...)
		return files, err
	}
	edited, _ := mustRun(t, "dev", withRust)
	reruns(t, before, edited, "a Rust source edit", []string{"tap-build"}, []string{"prereqs", "build", "bind", "netns", "validate"})
}
