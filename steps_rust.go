package main

import (
	"strconv"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/enalab/enalab/remote"
	"github.com/enalab/enalab/rust"
	"github.com/enalab/enalab/stackconfig"
)

// rustFiles is what the Rust driver's build step ships; tests replace it
// to edit a source.
var rustFiles = rust.DriverFiles

// tapQueues is the queue pairs ena-tap brings up on the lab ENI: RSS
// spreads the multi-stream runs over them, as over the kernel drivers'.
const tapQueues = 2

// RustSteps are the Rust driver's steps, after validate: build ena-tap on
// the host, hand it the lab ENI, validate through its TAP.
type RustSteps struct {
	Build, Tap, Validate *remote.StepRun
}

// declareRustSteps adds the Rust driver's steps. The ENI it takes is the
// one bind and netns prepared and validate measured: a new bound build,
// a new namespace or a new validate re-runs them (tap's Delete gives the
// ENI back first), and so does a new ena-tap.
func declareRustSteps(run *remote.Runner, s stackconfig.Settings, measure, network map[string]pulumi.StringInput, st HostSteps) (*RustSteps, error) {
	var rs RustSteps
	sources, err := rustFiles()
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for name, b := range sources {
		files["rust/"+name] = b
	}
	build := remote.Step{
		Name: "tap-build", Script: "build-tap.sh", Sources: []string{"lib.sh"}, Files: files,
		DeleteScript: "build-tap.sh", DeleteArgs: []string{"clean"},
		Timeout: 20 * time.Minute,
	}
	build.Inputs = map[string]pulumi.StringInput{"ENA_LAB_RUST_DIR": pulumi.String(build.Dir() + "/rust")}
	if rs.Build, err = run.Run(build); err != nil {
		return nil, err
	}

	version := rs.Build.Field("version")
	if rs.Tap, err = run.Run(remote.Step{
		Name: "tap", Script: "tap.sh", Sources: []string{"lib.sh", "netns.sh"},
		DeleteScript: "tap.sh", DeleteArgs: []string{"down"},
		Inputs: merge(network, map[string]pulumi.StringInput{
			"ENA_LAB_SERVER_IP":      measure["ENA_LAB_SERVER_IP"],
			"ENA_LAB_TAP_BIN":        rs.Build.Field("binary"),
			"ENA_LAB_EXPECT_VERSION": version,
			"ENA_LAB_TAP_QUEUES":     pulumi.String(strconv.Itoa(tapQueues)),
		}),
		RerunOn: []pulumi.StringInput{st.Bind.Field("version"), st.Netns.Command.ID().ToStringOutput(), st.Validate.Command.ID().ToStringOutput()},
		// A restart: the old service's stop and the new one's start, each
		// bounded by the unit's timeouts (2 x 60 s + 30 s).
		Timeout: 10 * time.Minute,
	}); err != nil {
		return nil, err
	}

	// The same measurement as validate's, compared with the same stock
	// baseline. It proves traffic both ways and reports the ratio; it does
	// not hold a userspace driver behind a TAP to minThroughputRatio.
	rs.Validate, err = run.Run(remote.Step{
		Name: "tap-validate", Script: "validate.sh", Sources: []string{"lib.sh", "stats.awk", "verdict.jq", "report.sh", "report.html"},
		Inputs: merge(measure, map[string]pulumi.StringInput{
			"ENA_LAB_EXPECT_DRIVER":  pulumi.String("ena-tap"),
			"ENA_LAB_EXPECT_VERSION": version,
			"ENA_LAB_MIN_RATIO":      pulumi.String("0"),
		}),
		RerunOn: []pulumi.StringInput{rs.Tap.Command.ID().ToStringOutput()},
		Timeout: s.MeasureTime() + 5*time.Minute,
	})
	return &rs, err
}
