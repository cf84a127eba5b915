package infra

import (
	"fmt"
	"sort"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Architectures Amazon Linux 2023 ships AMIs for, as EC2 names them.
var supportedArchitectures = []string{"x86_64", "arm64"}

// InstanceType is what the lab needs to know about the chosen type.
type InstanceType struct {
	Name         string
	Architecture string // x86_64 or arm64
	Zone         string // an availability zone that offers the type
}

// CheckInstanceType looks the type up at preview time and refuses one that
// cannot host the lab, before anything is created.
func CheckInstanceType(ctx *pulumi.Context, name string, opts ...pulumi.InvokeOption) (InstanceType, error) {
	info, err := ec2.GetInstanceType(ctx, &ec2.GetInstanceTypeArgs{InstanceType: name}, opts...)
	if err != nil {
		return InstanceType{}, fmt.Errorf("instance type %s: lookup failed: %w", name, err)
	}
	arch, err := RequireLabCapable(name, info)
	if err != nil {
		return InstanceType{}, err
	}
	offers, err := ec2.GetInstanceTypeOfferings(ctx, &ec2.GetInstanceTypeOfferingsArgs{
		LocationType: pulumi.StringRef("availability-zone"),
		Filters: []ec2.GetInstanceTypeOfferingsFilter{
			{Name: "instance-type", Values: []string{name}},
		},
	}, opts...)
	if err != nil {
		return InstanceType{}, fmt.Errorf("instance type %s: availability zone lookup failed: %w", name, err)
	}
	zone, err := pickZone(name, offers.Locations)
	if err != nil {
		return InstanceType{}, err
	}
	return InstanceType{Name: name, Architecture: arch, Zone: zone}, nil
}

// RequireLabCapable says why a type cannot host the lab, or which AL2023
// architecture it runs.
func RequireLabCapable(name string, info *ec2.GetInstanceTypeResult) (string, error) {
	refuse := func(why string) error {
		return fmt.Errorf("instance type %s cannot host the ENA lab: %s", name, why)
	}
	if info.Hypervisor != "nitro" && !info.BareMetal {
		hv := info.Hypervisor
		if hv == "" {
			hv = "unknown"
		}
		return "", refuse(fmt.Sprintf("hypervisor is %s, the lab needs Nitro (or bare metal)", hv))
	}
	if info.EnaSupport != "required" && info.EnaSupport != "supported" {
		return "", refuse(fmt.Sprintf("ENA support is %q, the lab needs ENA", info.EnaSupport))
	}
	if info.MaximumNetworkInterfaces < 2 {
		return "", refuse(fmt.Sprintf("it takes %d network interface(s), the lab needs 2", info.MaximumNetworkInterfaces))
	}
	for _, want := range supportedArchitectures {
		for _, have := range info.SupportedArchitectures {
			if have == want {
				return want, nil
			}
		}
	}
	return "", refuse(fmt.Sprintf("architectures %v, Amazon Linux 2023 runs on %v",
		info.SupportedArchitectures, supportedArchitectures))
}

// pickZone takes the first zone by name so the choice is stable across runs.
func pickZone(name string, zones []string) (string, error) {
	if len(zones) == 0 {
		return "", fmt.Errorf("instance type %s is not offered in any availability zone of this region", name)
	}
	z := append([]string(nil), zones...)
	sort.Strings(z)
	return z[0], nil
}
