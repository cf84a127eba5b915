package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// fakeInstanceTypes is the mocked EC2 catalogue: real types and what makes
// the unfit ones unfit.
var fakeInstanceTypes = map[string]resource.PropertyMap{
	"c6i.large":   instanceType("nitro", false, "required", 3, "x86_64"),
	"c6g.large":   instanceType("nitro", false, "required", 3, "arm64"),
	"c5.metal":    instanceType("", true, "required", 15, "x86_64"),
	"m4.large":    instanceType("xen", false, "supported", 2, "x86_64", "i386"),
	"z9.noena":    instanceType("nitro", false, "unsupported", 2, "x86_64"),
	"t3.single":   instanceType("nitro", false, "required", 1, "x86_64"),
	"mac2.metal":  instanceType("", true, "required", 8, "arm64_mac"),
	"c6i.nozones": instanceType("nitro", false, "required", 3, "x86_64"),
}

func instanceType(hv string, metal bool, ena string, enis int, archs ...string) resource.PropertyMap {
	return resource.NewPropertyMapFromMap(map[string]interface{}{
		"hypervisor":               hv,
		"bareMetal":                metal,
		"enaSupport":               ena,
		"maximumNetworkInterfaces": enis,
		"supportedArchitectures":   archs,
	})
}

const nitroJSON = `{"ok":true,"instanceType":"c6i.large","primaryMac":"0a:1b:2c:3d:4e:01","primaryDriver":"ena","kernel":"6.1.150-1.amzn2023.x86_64","problems":[]}`

// stepStdout is what each host step prints on a healthy host.
var stepStdout = map[string]string{
	"nitro-check": nitroJSON,
	"prereqs":     `{"kernel":"6.1.150-1.amzn2023.x86_64","installed":[],"changed":false}`,
	"build":       `{"driverVersion":"2.15.0","moduleVersion":"2.15.0g-custom.0badc0de","modulePath":"/opt/ena-lab/modules/6.1.150-1.amzn2023.x86_64/2.15.0/ena_custom.ko","kernelRelease":"6.1.150-1.amzn2023.x86_64"}`,
	"baseline":    `{"mode":"baseline","driver":"ena","figures":{"single":{"txGbps":4.9,"rxGbps":4.8},"multi":{"txGbps":12.4,"rxGbps":12.3}}}`,
	"bind":        `{"bdf":"0000:00:06.0","driver":"ena_custom","version":"2.15.0g-custom.0badc0de","interface":"eth1","changed":true}`,
	"netns":       `{"namespace":"ena-lab","interface":"eth1","changed":true}`,
	"validate":    `{"mode":"validate","custom":{"single":{"txGbps":4.8}},"stock":{"single":{"txGbps":4.9}},"ratio":{"min":0.97}}`,
	// rustDriver's steps.
	"tap-build":    `{"version":"src-0123456789ab","binary":"/var/lib/ena-lab/tap/src-0123456789ab/ena-tap","rustc":"1.85.0","changed":true}`,
	"tap":          `{"driver":"ena-tap","version":"src-0123456789ab","bdf":"0000:00:06.0","interface":"enatap0","namespace":"ena-lab","changed":true}`,
	"tap-validate": `{"mode":"validate","driver":"ena-tap","custom":{"single":{"txGbps":2.1}},"stock":{"single":{"txGbps":4.9}},"ratio":{"min":0.43}}`,
}

// registered is one resource as the engine saw it.
type registered struct {
	Type, Name string
	Inputs     resource.PropertyMap
	RPC        *pulumirpc.RegisterResourceRequest
	URN        string
}

// labMocks answers the program's invokes and records every resource.
type labMocks struct {
	mu        sync.Mutex
	resources []registered
	calls     []pulumi.MockCallArgs
	stdout    map[string]string // command name -> stdout
	hostGone  bool              // EC2 lists no running lab instance
	// pinnedZone, if set, is the zone an existing subnet was created in.
	pinnedZone string
	lab        *Lab // what the program declared, as typed handles
}

func (m *labMocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	out := args.Inputs.Copy()
	set := func(k string, v interface{}) { out[resource.PropertyKey(k)] = resource.NewPropertyValue(v) }
	switch args.TypeToken {
	case "aws:ec2/instance:Instance":
		set("publicIp", "198.51.100.10")
		set("privateIp", "10.42.0.10")
	case "aws:ec2/networkInterface:NetworkInterface":
		set("macAddress", "0a:1b:2c:3d:4e:5f")
		set("privateIp", "10.42.0.20")
	case "tls:index/privateKey:PrivateKey":
		set("privateKeyOpenssh", "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n")
		set("publicKeyOpenssh", "ssh-ed25519 AAAAfake")
	case "aws:ec2/keyPair:KeyPair":
		set("keyName", args.Inputs["keyNamePrefix"].StringValue()+"0001")
	case "aws:ec2/subnet:Subnet":
		m.mu.Lock()
		if m.pinnedZone != "" {
			set("availabilityZone", m.pinnedZone)
		}
		m.mu.Unlock()
	case "command:remote:Command":
		m.mu.Lock()
		stdout, ok := m.stdout[args.Name]
		m.mu.Unlock()
		if !ok {
			stdout = `{"ok":true}`
		}
		set("stdout", stdout)
		set("stderr", "")
	}
	m.mu.Lock()
	m.resources = append(m.resources, registered{args.TypeToken, args.Name, args.Inputs, args.RegisterRPC, ""})
	m.mu.Unlock()
	return args.Name + "_id", out, nil
}

func (m *labMocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	m.mu.Lock()
	m.calls = append(m.calls, args)
	m.mu.Unlock()
	switch args.Token {
	case "aws:ec2/getInstanceType:getInstanceType":
		name := args.Args["instanceType"].StringValue()
		t, ok := fakeInstanceTypes[name]
		if !ok {
			return nil, fmt.Errorf("InvalidInstanceType: %s", name)
		}
		return t, nil
	case "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings":
		filters := args.Args["filters"].ArrayValue()
		name := filters[0].ObjectValue()["values"].ArrayValue()[0].StringValue()
		zones := []string{"eu-west-1c", "eu-west-1-lax-1a", "eu-west-1a"}
		if name == "c6i.nozones" {
			zones = nil
		}
		return resource.NewPropertyMapFromMap(map[string]interface{}{"locations": zones}), nil
	case "aws:index/getAvailabilityZones:getAvailabilityZones":
		// EC2 lists the Local Zones an account opted into too, unless
		// filtered by zone type; the Local Zone is offered for the types.
		names := []string{"eu-west-1a", "eu-west-1b", "eu-west-1c", "eu-west-1-lax-1a"}
		if f := args.Args["filters"]; f.IsArray() {
			for _, e := range f.ArrayValue() {
				o := e.ObjectValue()
				if o["name"].StringValue() == "zone-type" && o["values"].ArrayValue()[0].StringValue() == "availability-zone" {
					names = names[:3]
				}
			}
		}
		return resource.NewPropertyMapFromMap(map[string]interface{}{"names": names}), nil
	case "aws:ec2/getInstances:getInstances":
		m.mu.Lock()
		gone := m.hostGone
		m.mu.Unlock()
		ids := []string{args.Args["filters"].ArrayValue()[0].ObjectValue()["values"].ArrayValue()[0].StringValue()}
		if gone {
			ids = []string{}
		}
		return resource.NewPropertyMapFromMap(map[string]interface{}{"ids": ids}), nil
	case "aws:ssm/getParameter:getParameter":
		name := args.Args["name"].StringValue()
		ami := "ami-0aaaaaaaaaaaaaaaa"
		if strings.HasSuffix(name, "arm64") {
			ami = "ami-0bbbbbbbbbbbbbbbb"
		}
		return resource.NewPropertyMapFromMap(map[string]interface{}{"name": name, "value": ami, "insecureValue": ami}), nil
	}
	return nil, fmt.Errorf("unexpected invoke %s", args.Token)
}

// byType returns the recorded resources of one type.
func (m *labMocks) byType(typ string) []registered {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []registered
	for _, r := range m.resources {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// one returns the single resource of a type, failing the test otherwise.
func (m *labMocks) one(t *testing.T, typ string) registered {
	t.Helper()
	rs := m.byType(typ)
	if len(rs) != 1 {
		t.Fatalf("want exactly one %s, got %d", typ, len(rs))
	}
	return rs[0]
}

func (m *labMocks) named(t *testing.T, typ, name string) registered {
	t.Helper()
	for _, r := range m.byType(typ) {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no %s named %q", typ, name)
	return registered{}
}

// run executes the real program under mocks with the given stack config and
// returns what it registered and its outputs, awaited.
func run(t *testing.T, stack string, cfg map[string]string) (*labMocks, map[string]internals.UnsafeAwaitOutputResult, error) {
	t.Helper()
	return runWithStdout(t, stack, cfg, stepStdout)
}

// runWithStdout is run with the steps answering the given stdout.
func runWithStdout(t *testing.T, stack string, cfg, stdout map[string]string) (*labMocks, map[string]internals.UnsafeAwaitOutputResult, error) {
	t.Helper()
	return runOn(t, &labMocks{stdout: stdout}, stack, cfg)
}

// runOn runs the program against mocks prepared by the caller (an EC2 whose
// host is gone, a subnet created in another zone).
func runOn(t *testing.T, m *labMocks, stack string, cfg map[string]string) (*labMocks, map[string]internals.UnsafeAwaitOutputResult, error) {
	t.Helper()
	if m.stdout == nil {
		m.stdout = stepStdout
	}
	full := map[string]string{}
	for k, v := range cfg {
		if !strings.Contains(k, ":") {
			k = "ena-lab:" + k
		}
		full[k] = v
	}
	withConfig := func(info *pulumi.RunInfo) { info.Config = full }
	outputs := map[string]internals.UnsafeAwaitOutputResult{}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		lab, err := buildLab(ctx)
		if err != nil {
			return err
		}
		m.lab = lab
		for name, v := range lab.Outputs() {
			r, err := internals.UnsafeAwaitOutput(ctx.Context(), pulumi.ToOutput(v))
			if err != nil {
				return fmt.Errorf("output %s: %w", name, err)
			}
			outputs[name] = r
		}
		return nil
	}, pulumi.WithMocks("ena-lab", stack, m), withConfig)
	return m, outputs, err
}
