package infra

import (
	"fmt"
	"sort"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Architectures Amazon Linux 2023 ships AMIs for, as EC2 names them.
var supportedArchitectures = []string{"x86_64", "arm64"}

// InstanceType is what the lab needs to know about the chosen type.
type InstanceType struct {
	Name         string
	Architecture string   // x86_64 or arm64
	Zone         string   // the availability zone a new lab is placed in
	Zones        []string // every standard availability zone that offers the type
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
	// Local Zones and Wavelength zones are offered as "availability-zone"
	// locations too; a lab belongs in a standard zone of the region.
	standard, err := aws.GetAvailabilityZones(ctx, &aws.GetAvailabilityZonesArgs{
		State: pulumi.StringRef("available"),
		Filters: []aws.GetAvailabilityZonesFilter{
			{Name: "zone-type", Values: []string{"availability-zone"}},
		},
	}, opts...)
	if err != nil {
		return InstanceType{}, fmt.Errorf("instance type %s: availability zone lookup failed: %w", name, err)
	}
	zones := intersect(offers.Locations, standard.Names)
	zone, err := pickZone(name, zones)
	if err != nil {
		return InstanceType{}, err
	}
	return InstanceType{Name: name, Architecture: arch, Zone: zone, Zones: zones}, nil
}

// intersect keeps the zones of offered that are also in standard, sorted.
func intersect(offered, standard []string) []string {
	var out []string
	for _, z := range offered {
		for _, s := range standard {
			if z == s {
				out = append(out, z)
				break
			}
		}
	}
	sort.Strings(out)
	return out
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

// pickZone takes the first zone by name for a new lab; the subnet keeps the
// zone it was created in (a changed offering must not move the lab).
func pickZone(name string, zones []string) (string, error) {
	if len(zones) == 0 {
		return "", fmt.Errorf("instance type %s is not offered in any standard availability zone of this region", name)
	}
	z := append([]string(nil), zones...)
	sort.Strings(z)
	return z[0], nil
}
