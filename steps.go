package main

import (
	"fmt"
	"strconv"
	"time"

	cmd "github.com/pulumi/pulumi-command/sdk/go/command/remote"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/enalab/enalab/infra"
	"github.com/enalab/enalab/kmod"
	"github.com/enalab/enalab/remote"
	"github.com/enalab/enalab/stackconfig"
)

// driverFiles is what the build step ships to the host; tests replace it to
// edit a patch.
var driverFiles = kmod.Files

// iperf3 settings of the baseline and validate steps: long enough for a
// stable figure, short enough to keep the edit-rebuild-revalidate loop quick.
const (
	iperfSeconds = 10
	iperfStreams = 4
)

// driverLab is what the driver steps need from the rest of the stack.
type driverLab struct {
	settings  stackconfig.Settings
	host      *infra.Host
	nitro     *cmd.Command
	primaryIP pulumi.StringOutput
}

// driverSteps adds, after the Nitro check and each after the previous one:
// prereqs, build, baseline, bind, netns and validate.
func driverSteps(onHost *remote.Host, lab driverLab) (map[string]pulumi.Input, error) {
	s := lab.settings
	mac := lab.host.Secondary.MacAddress
	ip := lab.host.Secondary.PrivateIp
	nitro := remote.Result("nitro-check", lab.nitro)
	// The primary ENI, known by the MAC the instance metadata gives: the
	// steps that move a NIC refuse it (every ENI has a default route on AL2023).
	primaryMac := field(nitro, "primaryMac")
	network := map[string]pulumi.StringInput{
		"ENA_LAB_MAC":         mac,
		"ENA_LAB_PRIMARY_MAC": primaryMac,
		"ENA_LAB_IP":          ip,
		"ENA_LAB_PREFIX":      pulumi.String(strconv.Itoa(s.SubnetCidr.Bits())),
		"ENA_LAB_GATEWAY":     pulumi.String(infra.SubnetRouter(s.SubnetCidr).String()),
	}
	measure := map[string]pulumi.StringInput{
		"ENA_LAB_MAC":       mac,
		"ENA_LAB_SERVER_IP": lab.primaryIP,
		"ENA_LAB_DURATION":  pulumi.String(strconv.Itoa(iperfSeconds)),
		"ENA_LAB_STREAMS":   pulumi.String(strconv.Itoa(iperfStreams)),
	}

	if _, err := onHost.Run(remote.Step{
		Name: "prereqs", Script: "prereqs.sh", Sources: []string{"lib.sh"},
		Timeout: 15 * time.Minute,
	}); err != nil {
		return nil, err
	}

	files := map[string][]byte{}
	for name, b := range driverFiles() {
		files["kmod/"+name] = b
	}
	buildStep := remote.Step{
		Name: "build", Script: "build-driver.sh", Sources: []string{"lib.sh"}, Files: files,
		Timeout: 20 * time.Minute,
	}
	buildStep.Inputs = map[string]pulumi.StringInput{
		"ENA_LAB_KMOD_DIR":       pulumi.String(buildStep.Dir() + "/kmod"),
		"ENA_LAB_DRIVER_VERSION": pulumi.String(s.DriverVersion),
		"ENA_LAB_KERNEL_RELEASE": field(nitro, "kernel"),
	}
	build, err := onHost.Run(buildStep)
	if err != nil {
		return nil, err
	}
	manifest := remote.Result("build", build)

	baseline, err := onHost.Run(remote.Step{
		Name: "baseline", Script: "baseline.sh", Sources: []string{"lib.sh", "netns.sh", "validate.sh"},
		Inputs:  merge(network, measure, map[string]pulumi.StringInput{"ENA_LAB_STOCK_DRIVER": pulumi.String("ena")}),
		Timeout: 10 * time.Minute,
	})
	if err != nil {
		return nil, err
	}

	version := field(manifest, "moduleVersion")
	bind, err := onHost.Run(remote.Step{
		Name: "bind", Script: "bind.sh", Sources: []string{"lib.sh"}, DeleteScript: "unbind.sh",
		Inputs: map[string]pulumi.StringInput{
			"ENA_LAB_MAC":            mac,
			"ENA_LAB_PRIMARY_MAC":    primaryMac,
			"ENA_LAB_MODULE":         field(manifest, "modulePath"),
			"ENA_LAB_EXPECT_VERSION": version,
			"ENA_LAB_PARAMS":         pulumi.String(s.DriverParamsString()),
		},
		Timeout: 5 * time.Minute,
	})
	if err != nil {
		return nil, err
	}
	bound := remote.Result("bind", bind)

	if _, err := onHost.Run(remote.Step{
		Name: "netns", Script: "netns.sh", Sources: []string{"lib.sh"},
		DeleteScript: "netns.sh", DeleteArgs: []string{"down"},
		Inputs:  network,
		RerunOn: []pulumi.StringInput{field(bound, "version")},
		Timeout: 2 * time.Minute,
	}); err != nil {
		return nil, err
	}

	validate, err := onHost.Run(remote.Step{
		Name: "validate", Script: "validate.sh", Sources: []string{"lib.sh"},
		Inputs: merge(measure, map[string]pulumi.StringInput{
			"ENA_LAB_EXPECT_DRIVER":  pulumi.String(kmod.ModuleName),
			"ENA_LAB_EXPECT_VERSION": version,
			"ENA_LAB_MIN_RATIO":      pulumi.String(strconv.FormatFloat(s.MinThroughputRatio, 'f', -1, 64)),
		}),
		RerunOn: []pulumi.StringInput{field(bound, "version")},
		Timeout: 10 * time.Minute,
	})
	if err != nil {
		return nil, err
	}

	return map[string]pulumi.Input{
		"driverBuild": manifest,
		"baseline":    remote.Result("baseline", baseline),
		"binding":     bound,
		"validation":  remote.Result("validate", validate),
	}, nil
}

// field is one string field of a step's JSON result.
func field(result pulumi.MapOutput, key string) pulumi.StringOutput {
	return result.ApplyT(func(m map[string]interface{}) (string, error) {
		v, ok := m[key].(string)
		if !ok {
			return "", fmt.Errorf("step result has no string %q: %v", key, m)
		}
		return v, nil
	}).(pulumi.StringOutput)
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
