package main

import (
	"strconv"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/enalab/enalab/infra"
	"github.com/enalab/enalab/kmod"
	"github.com/enalab/enalab/remote"
	"github.com/enalab/enalab/stackconfig"
)

// driverFiles is what the build step ships to the host; tests replace it to
// edit a patch.
var driverFiles = kmod.Files

// iperfStreams is the parallel streams of the multi-flow iperf3 runs.
const iperfStreams = 4

// HostSteps are the steps run on the host, in the order they run.
type HostSteps struct {
	NitroCheck, Prereqs, Build, Baseline, Bind, Netns, Validate *remote.StepRun
	// Rust is the Rust driver's steps after validate (rustDriver), else nil.
	Rust *RustSteps
}

// declareSteps adds, after readiness and each after the previous one: the
// Nitro check, prereqs, build, baseline, bind, netns and validate; then,
// with rustDriver, the Rust driver's steps.
func declareSteps(run *remote.Runner, s stackconfig.Settings, host *infra.Host) (HostSteps, error) {
	var st HostSteps
	var err error
	if st.NitroCheck, err = run.Run(remote.Step{
		Name: "nitro-check", Script: "nitro-check.sh", Sources: []string{"lib.sh"},
		Inputs:  map[string]pulumi.StringInput{"ENA_LAB_KERNEL_SERIES": pulumi.String(s.Kernel)},
		Timeout: 2 * time.Minute,
	}); err != nil {
		return st, err
	}

	mac := host.Secondary.MacAddress
	// The primary ENI, known by the MAC the instance metadata gives: the
	// steps that move a NIC refuse it (every ENI has a default route on AL2023).
	primaryMac := st.NitroCheck.Field("primaryMac")
	network := map[string]pulumi.StringInput{
		"ENA_LAB_MAC":         mac,
		"ENA_LAB_PRIMARY_MAC": primaryMac,
		"ENA_LAB_IP":          host.Secondary.PrivateIp,
		"ENA_LAB_PREFIX":      pulumi.String(strconv.Itoa(s.SubnetCidr.Bits())),
		"ENA_LAB_GATEWAY":     pulumi.String(infra.SubnetRouter(s.SubnetCidr).String()),
	}
	measure := map[string]pulumi.StringInput{
		"ENA_LAB_MAC":             mac,
		"ENA_LAB_SERVER_IP":       host.Instance.PrivateIp,
		"ENA_LAB_MEASURE":         pulumi.String(s.MeasurementsString()),
		"ENA_LAB_RUNS":            pulumi.String(strconv.Itoa(s.Runs)),
		"ENA_LAB_DURATION":        pulumi.String(strconv.Itoa(s.IperfSeconds)),
		"ENA_LAB_LATENCY_SECONDS": pulumi.String(strconv.Itoa(s.LatencySeconds)),
		"ENA_LAB_STREAMS":         pulumi.String(strconv.Itoa(iperfStreams)),
	}
	// A measuring step's deadline: its plan, plus setup and slack.
	measureTimeout := s.MeasureTime() + 5*time.Minute

	prereqs := map[string]pulumi.StringInput{
		"ENA_LAB_DISTRO":        pulumi.String(s.Distro),
		"ENA_LAB_KERNEL_SERIES": pulumi.String(s.Kernel),
	}
	// Only when asked: a stack without it keeps its prereqs step as it was.
	if s.RustDriver {
		prereqs["ENA_LAB_RUST"] = pulumi.String("1")
	}
	if st.Prereqs, err = run.Run(remote.Step{
		Name: "prereqs", Script: "prereqs.sh", Sources: []string{"lib.sh"},
		Inputs:  prereqs,
		Timeout: 15 * time.Minute,
	}); err != nil {
		return st, err
	}

	files := map[string][]byte{}
	for name, b := range driverFiles() {
		files["kmod/"+name] = b
	}
	build := remote.Step{
		Name: "build", Script: "build-driver.sh", Sources: []string{"lib.sh"}, Files: files,
		Timeout: 20 * time.Minute,
	}
	build.Inputs = map[string]pulumi.StringInput{
		"ENA_LAB_KMOD_DIR":       pulumi.String(build.Dir() + "/kmod"),
		"ENA_LAB_DRIVER_VERSION": pulumi.String(s.DriverVersion),
		"ENA_LAB_REPO":           pulumi.String(s.DriverRepo),
		"ENA_LAB_COMMIT":         pulumi.String(s.DriverCommit),
		"ENA_LAB_KERNEL_RELEASE": st.NitroCheck.Field("kernel"),
	}
	if st.Build, err = run.Run(build); err != nil {
		return st, err
	}

	if st.Baseline, err = run.Run(remote.Step{
		Name: "baseline", Script: "baseline.sh", Sources: []string{"lib.sh", "netns.sh", "validate.sh", "stats.awk", "verdict.jq", "report.sh", "report.html"},
		Inputs:  merge(network, measure, map[string]pulumi.StringInput{"ENA_LAB_STOCK_DRIVER": pulumi.String("ena")}),
		Timeout: measureTimeout,
	}); err != nil {
		return st, err
	}

	version := st.Build.Field("moduleVersion")
	if st.Bind, err = run.Run(remote.Step{
		Name: "bind", Script: "bind.sh", Sources: []string{"lib.sh"}, DeleteScript: "unbind.sh",
		Inputs: map[string]pulumi.StringInput{
			"ENA_LAB_MAC":            mac,
			"ENA_LAB_PRIMARY_MAC":    primaryMac,
			"ENA_LAB_MODULE":         st.Build.Field("modulePath"),
			"ENA_LAB_EXPECT_VERSION": version,
			"ENA_LAB_PARAMS":         pulumi.String(s.DriverParamsString()),
		},
		Timeout: 5 * time.Minute,
	}); err != nil {
		return st, err
	}

	bound := st.Bind.Field("version")
	if st.Netns, err = run.Run(remote.Step{
		Name: "netns", Script: "netns.sh", Sources: []string{"lib.sh"},
		DeleteScript: "netns.sh", DeleteArgs: []string{"down"},
		Inputs:  network,
		RerunOn: []pulumi.StringInput{bound},
		Timeout: 2 * time.Minute,
	}); err != nil {
		return st, err
	}

	// Deleted before it is replaced, and with it what holds the ENI after
	// it (the tap step re-runs on it): a new validate measures ena_custom,
	// never a TAP.
	if st.Validate, err = run.Run(validateStep(s, measure, network, st.Build, version, bound), pulumi.DeleteBeforeReplace(true)); err != nil {
		return st, err
	}
	if s.RustDriver {
		st.Rust, err = declareRustSteps(run, s, measure, network, st)
	}
	return st, err
}

// validateStep measures ena_custom and compares it with stock: with the
// baseline step's runs, or in thorough mode with stock runs it interleaves
// with its own on the ENI (interleave.sh rebinds between them).
func validateStep(s stackconfig.Settings, measure, network map[string]pulumi.StringInput,
	build *remote.StepRun, version, bound pulumi.StringInput) remote.Step {
	check := map[string]pulumi.StringInput{
		"ENA_LAB_EXPECT_VERSION": version,
		"ENA_LAB_MIN_RATIO":      pulumi.String(strconv.FormatFloat(s.MinThroughputRatio, 'f', -1, 64)),
	}
	step := remote.Step{
		Name: "validate", Script: "validate.sh", Sources: []string{"lib.sh", "stats.awk", "verdict.jq", "report.sh", "report.html"},
		Inputs:  merge(measure, check, map[string]pulumi.StringInput{"ENA_LAB_EXPECT_DRIVER": pulumi.String(kmod.ModuleName)}),
		RerunOn: []pulumi.StringInput{bound},
		Timeout: s.ValidateTime() + 5*time.Minute,
	}
	if s.Thorough {
		step.Script = "interleave.sh"
		step.Sources = append([]string{"bind.sh", "unbind.sh", "netns.sh", "validate.sh"}, step.Sources...)
		step.Inputs = merge(measure, check, network, map[string]pulumi.StringInput{
			"ENA_LAB_MODULE": build.Field("modulePath"),
			"ENA_LAB_PARAMS": pulumi.String(s.DriverParamsString()),
		})
	}
	return step
}

// Outputs are the steps' results as stack outputs.
func (st HostSteps) Outputs() map[string]pulumi.Input {
	out := map[string]pulumi.Input{
		"nitroCheck":  st.NitroCheck.Result,
		"driverBuild": st.Build.Result,
		"baseline":    st.Baseline.Result,
		"binding":     st.Bind.Result,
		"validation":  st.Validate.Result,
	}
	if st.Rust != nil {
		out["rustBuild"] = st.Rust.Build.Result
		out["rustBinding"] = st.Rust.Tap.Result
		out["rustValidation"] = st.Rust.Validate.Result
	}
	return out
}

func merge(maps ...map[string]pulumi.StringInput) map[string]pulumi.StringInput {
	out := map[string]pulumi.StringInput{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}
