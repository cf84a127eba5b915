package infra

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// AmiParameter is the public SSM parameter naming the latest Amazon Linux
// 2023 AMI with the 6.1 kernel for an architecture.
func AmiParameter(arch string) string {
	return "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-" + arch
}

// ResolveAMI returns override when set, else the latest AL2023 kernel-6.1 AMI.
func ResolveAMI(ctx *pulumi.Context, arch, override string, opts ...pulumi.InvokeOption) (string, error) {
	if override != "" {
		return override, nil
	}
	p, err := ssmLookup(ctx, AmiParameter(arch), opts...)
	if err != nil {
		return "", fmt.Errorf("resolving the Amazon Linux 2023 AMI for %s (%s): %w", arch, AmiParameter(arch), err)
	}
	if !strings.HasPrefix(p, "ami-") {
		return "", fmt.Errorf("SSM parameter %s holds %q, not an AMI id", AmiParameter(arch), p)
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
