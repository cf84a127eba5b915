package main

import (
	"strings"
	"testing"
)

// stepOrder is the order the host steps must run in.
var stepOrder = []string{"ready", "nitro-check", "prereqs", "build", "baseline", "bind", "netns", "validate"}

func TestHostStepsRunInOrderEachAfterThePrevious(t *testing.T) {
	m, _ := mustRun(t, "dev", base)
	for i := 1; i < len(stepOrder); i++ {
		c := m.named(t, "command:remote:Command", stepOrder[i])
		if !hasSuffix(c.RPC.GetDependencies(), "$command:remote:Command::"+stepOrder[i-1]) {
			t.Errorf("step %s does not depend on %s: %v", stepOrder[i], stepOrder[i-1], c.RPC.GetDependencies())
		}
	}
}

func stdin(t *testing.T, m *labMocks, step string) string {
	t.Helper()
	return prop(t, m.named(t, "command:remote:Command", step).Inputs, "stdin").StringValue()
}

func trigger(t *testing.T, m *labMocks, step string) string {
	t.Helper()
	return prop(t, m.named(t, "command:remote:Command", step).Inputs, "triggers").ArrayValue()[0].StringValue()
}

func TestBuildReRunsWhenAPatchChangesAndOnlyThen(t *testing.T) {
	before, _ := mustRun(t, "dev", base)

	unrelated, _ := mustRun(t, "dev", with(map[string]string{"ttlHours": "6", "minThroughputRatio": "0.8", "spot": "true"}))
	if trigger(t, unrelated, "build") != trigger(t, before, "build") {
		t.Error("changing ttlHours, minThroughputRatio and spot re-runs the driver build")
	}
	if trigger(t, unrelated, "validate") == trigger(t, before, "validate") {
		t.Error("changing minThroughputRatio does not re-run validate")
	}

	old := driverFiles
	defer func() { driverFiles = old }()
	driverFiles = func() map[string][]byte {
		files := old()
		for name, b := range files {
			if strings.HasPrefix(name, "patches/0004") {
				files[name] = append(append([]byte(nil), b...), []byte("\n-- edited\n")...)
			}
		}
		return files
	}
	edited, _ := mustRun(t, "dev", base)
	if trigger(t, edited, "build") == trigger(t, before, "build") {
		t.Error("editing a patch does not re-run the driver build")
	}
	driverFiles = old

	fork := "0123456789abcdef0123456789abcdef01234567"
	forked, _ := mustRun(t, "dev", with(map[string]string{"driverRepo": "https://github.com/alice/amzn-drivers.git", "driverCommit": fork}))
	if trigger(t, forked, "build") == trigger(t, before, "build") {
		t.Error("building a fork at a commit does not re-run the driver build")
	}
	for _, want := range []string{"ENA_LAB_REPO='https://github.com/alice/amzn-drivers.git'", "ENA_LAB_COMMIT='" + fork + "'"} {
		if !strings.Contains(stdin(t, forked, "build"), want) {
			t.Errorf("the build step does not get %s", want)
		}
	}
	if !strings.Contains(stdin(t, before, "build"), "ENA_LAB_REPO='https://github.com/amzn/amzn-drivers.git'") ||
		!strings.Contains(stdin(t, before, "build"), "ENA_LAB_COMMIT=''") {
		t.Error("by default the build takes upstream at the release's pinned tag")
	}

	newer, _ := mustRun(t, "dev", with(map[string]string{"driverVersion": "2.17.0"}))
	if trigger(t, newer, "build") == trigger(t, before, "build") {
		t.Error("changing driverVersion does not re-run the driver build")
	}
	if !strings.Contains(stdin(t, newer, "build"), "ENA_LAB_DRIVER_VERSION='2.17.0'") {
		t.Error("the build step does not get the configured driver version")
	}
}

func TestBuildShipsTheSeriesAndChecksTheKernel(t *testing.T) {
	m, _ := mustRun(t, "dev", base)
	in := stdin(t, m, "build")
	for _, want := range []string{
		"ENA_LAB_KERNEL_RELEASE='6.1.150-1.amzn2023.x86_64'",
		"ENA_LAB_KMOD_DIR='/opt/ena-lab/steps/build/kmod'",
		"'/opt/ena-lab/steps/build/kmod/build.sh'",
		"'/opt/ena-lab/steps/build/kmod/patches/series'",
		"'/opt/ena-lab/steps/build/build-driver.sh'",
	} {
		if !strings.Contains(in, want) {
			t.Errorf("build step program lacks %s", want)
		}
	}
}

func TestBindTakesTheBuiltModuleAndUndoesOnDelete(t *testing.T) {
	m, _ := mustRun(t, "dev", with(map[string]string{"driverParams": "rx_queue_size=2048"}))
	bind := m.named(t, "command:remote:Command", "bind")
	in := stdin(t, m, "bind")
	for _, want := range []string{
		"ENA_LAB_MAC='0a:1b:2c:3d:4e:5f'",
		// The primary, as the nitro check read it from the instance metadata.
		"ENA_LAB_PRIMARY_MAC='0a:1b:2c:3d:4e:01'",
		"ENA_LAB_MODULE='/opt/ena-lab/modules/6.1.150-1.amzn2023.x86_64/2.15.0/ena_custom.ko'",
		"ENA_LAB_EXPECT_VERSION='2.15.0g-custom.0badc0de'",
		"ENA_LAB_PARAMS='rx_queue_size=2048'",
	} {
		if !strings.Contains(in, want) {
			t.Errorf("bind step program lacks %s", want)
		}
	}
	del := prop(t, bind.Inputs, "delete").StringValue()
	if !strings.Contains(del, "bash '/opt/ena-lab/steps/bind/unbind.sh'") || !strings.Contains(del, "ENA_LAB_MAC='0a:1b:2c:3d:4e:5f'") {
		t.Errorf("bind's delete does not restore the stock driver for the ENI: %s", del)
	}
	if !bind.RPC.GetDeleteBeforeReplace() {
		t.Error("a rebuilt bind step would bind before the old one is undone: DeleteBeforeReplace is off")
	}
	netns := m.named(t, "command:remote:Command", "netns")
	if del := prop(t, netns.Inputs, "delete").StringValue(); !strings.Contains(del, "netns.sh' 'down'") {
		t.Errorf("netns delete does not take the namespace down: %s", del)
	}
}

func TestNetworkStepsUseTheENIsRealAddresses(t *testing.T) {
	m, _ := mustRun(t, "dev", base)
	for _, step := range []string{"baseline", "netns"} {
		in := stdin(t, m, step)
		for _, want := range []string{"ENA_LAB_MAC='0a:1b:2c:3d:4e:5f'", "ENA_LAB_IP='10.42.0.20'", "ENA_LAB_PREFIX='24'", "ENA_LAB_GATEWAY='10.42.0.1'",
			"ENA_LAB_PRIMARY_MAC='0a:1b:2c:3d:4e:01'"} {
			if !strings.Contains(in, want) {
				t.Errorf("%s lacks %s", step, want)
			}
		}
	}
	for _, step := range []string{"baseline", "validate"} {
		if !strings.Contains(stdin(t, m, step), "ENA_LAB_SERVER_IP='10.42.0.10'") {
			t.Errorf("%s does not measure against the primary ENI's IP", step)
		}
	}
	in := stdin(t, m, "validate")
	for _, want := range []string{"ENA_LAB_EXPECT_DRIVER='ena_custom'", "ENA_LAB_EXPECT_VERSION='2.15.0g-custom.0badc0de'", "ENA_LAB_MIN_RATIO='0.9'"} {
		if !strings.Contains(in, want) {
			t.Errorf("validate lacks %s", want)
		}
	}
}

func TestNetnsAndValidateReRunWhenTheBoundBuildChanges(t *testing.T) {
	m, _ := mustRun(t, "dev", base)
	for _, step := range []string{"netns", "validate"} {
		tr := prop(t, m.named(t, "command:remote:Command", step).Inputs, "triggers").ArrayValue()
		if len(tr) != 2 || tr[1].StringValue() != "2.15.0g-custom.0badc0de" {
			t.Errorf("%s triggers %v: a new bound version would not re-run it", step, tr)
		}
	}
}

func TestDriverOutputsAreTheStepsResults(t *testing.T) {
	_, outs := mustRun(t, "dev", base)
	build := outs["driverBuild"].(map[string]interface{})
	validation := outs["validation"].(map[string]interface{})
	baseline := outs["baseline"].(map[string]interface{})
	binding := outs["binding"].(map[string]interface{})
	if build["moduleVersion"] != "2.15.0g-custom.0badc0de" || binding["driver"] != "ena_custom" ||
		baseline["driver"] != "ena" || validation["ratio"].(map[string]interface{})["min"] != 0.97 {
		t.Errorf("outputs: build %v binding %v baseline %v validation %v", build, binding, baseline, validation)
	}
}

// hasAll reports, for the step's command, each wanted text it lacks.
func hasAll(t *testing.T, m *labMocks, step, what string, wants ...string) {
	t.Helper()
	in := stdin(t, m, step)
	for _, want := range wants {
		if !strings.Contains(in, want) {
			t.Errorf("%s (%s) lacks %s", step, what, want)
		}
	}
}

// reruns checks which steps a config change re-runs: exactly those named.
func reruns(t *testing.T, before, after *labMocks, change string, rerun, keep []string) {
	t.Helper()
	for _, step := range rerun {
		if trigger(t, after, step) == trigger(t, before, step) {
			t.Errorf("%s must re-run %s", change, step)
		}
	}
	for _, step := range keep {
		if trigger(t, after, step) != trigger(t, before, step) {
			t.Errorf("%s must not re-run %s", change, step)
		}
	}
}

func TestIperfSecondsSetsEachRunAndRemeasuresOnly(t *testing.T) {
	before, _ := mustRun(t, "dev", base)
	short, _ := mustRun(t, "dev", with(map[string]string{"iperfSeconds": "7"}))
	for _, step := range []string{"baseline", "validate"} {
		hasAll(t, before, step, "defaults", "ENA_LAB_DURATION='2'")
		hasAll(t, short, step, "iperfSeconds=7", "ENA_LAB_DURATION='7'")
	}
	reruns(t, before, short, "a new iperfSeconds", []string{"baseline", "validate"}, []string{"build", "bind", "netns"})
}

// Both measuring steps take the same plan (runs, lengths, measurements),
// ship the statistics beside their scripts, and get a deadline that grows
// with the plan; a new plan re-measures and rebuilds nothing.
func TestMeasurePlanReachesBothMeasuringSteps(t *testing.T) {
	before, _ := mustRun(t, "dev", base)
	long, _ := mustRun(t, "dev", with(map[string]string{"runs": "10", "latencySeconds": "30", "measurements": "latency"}))
	for _, step := range []string{"baseline", "validate"} {
		hasAll(t, before, step, "defaults", "ENA_LAB_RUNS='3'", "ENA_LAB_LATENCY_SECONDS='1'", "ENA_LAB_MEASURE='latency,throughput'",
			"stats.awk", "verdict.jq", "timeout --kill-after=30 357 bash")
		// 10 runs x (30 + 2) s of latency alone, plus 5 min of setup.
		hasAll(t, long, step, "10 latency runs of 30 s", "ENA_LAB_RUNS='10'", "ENA_LAB_LATENCY_SECONDS='30'", "ENA_LAB_MEASURE='latency'",
			"timeout --kill-after=30 620 bash")
	}
	reruns(t, before, long, "a new plan", []string{"baseline", "validate"}, []string{"build", "bind", "netns"})
}

// thorough: validate runs interleave.sh with what it rebinds with, and a
// deadline for both drivers; nothing else re-runs.
func TestThoroughValidateInterleavesBothDriversOnTheENI(t *testing.T) {
	before, _ := mustRun(t, "dev", base)
	thorough, _ := mustRun(t, "dev", with(map[string]string{"thorough": "true"}))
	if in := stdin(t, before, "validate"); strings.Contains(in, "interleave.sh") || strings.Contains(in, "unbind.sh") {
		t.Error("by default validate compares with the baseline: it must not ship interleave.sh or unbind.sh")
	}
	// Both drivers' 3 runs of 57 s, a 20 s rebind before each of the 6
	// turns, plus 5 min of setup.
	hasAll(t, thorough, "validate", "thorough", "bash '/opt/ena-lab/steps/validate/interleave.sh'", "timeout --kill-after=30 534 bash",
		"bind.sh", "unbind.sh", "netns.sh", "validate.sh", "stats.awk",
		"ENA_LAB_MODULE='/opt/ena-lab/modules/6.1.150-1.amzn2023.x86_64/2.15.0/ena_custom.ko'", "ENA_LAB_IP='10.42.0.20'",
		"ENA_LAB_PREFIX='24'", "ENA_LAB_GATEWAY='10.42.0.1'", "ENA_LAB_PRIMARY_MAC=", "ENA_LAB_EXPECT_VERSION=",
		"ENA_LAB_MIN_RATIO='0.9'", "ENA_LAB_RUNS='3'")
	reruns(t, before, thorough, "turning thorough on", []string{"validate"}, []string{"baseline", "build", "bind", "netns"})
}
