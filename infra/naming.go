// Package infra declares the lab's AWS resources as Pulumi components.
package infra

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Naming gives every AWS-visible name and tag the project and stack, so two
// stacks in one account and region never collide.
type Naming struct {
	Project string
	Stack   string
}

// NamingFor takes the project and stack from the running program.
func NamingFor(ctx *pulumi.Context) Naming {
	return Naming{Project: ctx.Project(), Stack: ctx.Stack()}
}

// Name is the Name tag or name prefix of one resource.
func (n Naming) Name(what string) string {
	return n.Project + "-" + n.Stack + "-" + what
}

// Tags are the provider's default tags: on every taggable resource.
func (n Naming) Tags() pulumi.StringMap {
	return pulumi.StringMap{
		"Project":   pulumi.String(n.Project),
		"Stack":     pulumi.String(n.Stack),
		"ManagedBy": pulumi.String("pulumi"),
	}
}

// NewProvider is the AWS provider every lab resource and lookup goes through.
// region may be empty: the provider then takes AWS_REGION from the environment.
func NewProvider(ctx *pulumi.Context, n Naming, region string) (*aws.Provider, error) {
	args := &aws.ProviderArgs{
		DefaultTags: &aws.ProviderDefaultTagsArgs{Tags: n.Tags()},
	}
	if region != "" {
		args.Region = pulumi.StringPtr(region)
	}
	return aws.NewProvider(ctx, "aws", args)
}
