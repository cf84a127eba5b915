package infra

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ResolveAMI returns override when set, else the distribution's latest AMI
// for the architecture.
func ResolveAMI(ctx *pulumi.Context, d Distro, arch, kernel, override string, opts ...pulumi.InvokeOption) (string, error) {
	if override != "" {
		return override, nil
	}
	param := d.AmiParameter(arch, kernel)
	p, err := ssmLookup(ctx, param, opts...)
	if err != nil {
		return "", fmt.Errorf("resolving the %s (kernel %s) AMI for %s (%s): %w", d.Name, kernel, arch, param, err)
	}
	if !strings.HasPrefix(p, "ami-") {
		return "", fmt.Errorf("SSM parameter %s holds %q, not an AMI id", param, p)
	}
	return p, nil
}

func ssmLookup(ctx *pulumi.Context, name string, opts ...pulumi.InvokeOption) (string, error) {
	r, err := ssm.LookupParameter(ctx, &ssm.LookupParameterArgs{Name: name}, opts...)
	if err != nil {
		return "", err
	}
	// The AMI parameters are public Strings: Value and InsecureValue agree.
	if r.InsecureValue != "" {
		return r.InsecureValue, nil
	}
	return r.Value, nil
}
