package infra

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
)

func TestLabCapableTypes(t *testing.T) {
	arch, err := RequireLabCapable("c7g.large", &ec2.GetInstanceTypeResult{
		Hypervisor: "nitro", EnaSupport: "required", MaximumNetworkInterfaces: 3,
		SupportedArchitectures: []string{"arm64"},
	})
	if err != nil || arch != "arm64" {
		t.Errorf("c7g.large: %s %v", arch, err)
	}
	_, err = RequireLabCapable("x.y", &ec2.GetInstanceTypeResult{EnaSupport: "required", MaximumNetworkInterfaces: 3})
	if err == nil || !strings.Contains(err.Error(), "hypervisor is unknown") {
		t.Errorf("no hypervisor, not metal: %v", err)
	}
}

func TestZoneChoiceIsStable(t *testing.T) {
	z, err := pickZone("c6i.large", []string{"us-east-1f", "us-east-1b", "us-east-1d"})
	if err != nil || z != "us-east-1b" {
		t.Errorf("got %s %v", z, err)
	}
}

func TestSubnetRouterIsNetworkPlusOne(t *testing.T) {
	if got := SubnetRouter(mustPrefix("10.42.0.0/24")).String(); got != "10.42.0.1" {
		t.Errorf("router %s", got)
	}
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
