package infra

import (
	"fmt"
	"net/netip"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// FirewallArgs says who may reach the lab.
type FirewallArgs struct {
	VpcID   pulumi.IDInput
	SSHCidr netip.Prefix
	Naming  Naming
}

// Firewall is the lab's one security group: SSH from one CIDR, everything
// between the group's members (the two ENIs during validation).
type Firewall struct {
	pulumi.ResourceState

	Group *ec2.SecurityGroup
}

// NewFirewall declares the security group with every rule inline, egress
// included: the provider removes the default allow-all egress.
func NewFirewall(ctx *pulumi.Context, name string, args FirewallArgs, opts ...pulumi.ResourceOption) (*Firewall, error) {
	f := &Firewall{}
	if err := ctx.RegisterComponentResource("enalab:infra:Firewall", name, f, opts...); err != nil {
		return nil, err
	}
	var err error
	f.Group, err = ec2.NewSecurityGroup(ctx, name+"-sg", &ec2.SecurityGroupArgs{
		NamePrefix:  pulumi.String(args.Naming.Name("sg-")),
		Description: pulumi.String("ENA lab: SSH from the operator, all traffic between lab ENIs"),
		VpcId:       args.VpcID,
		Ingress: ec2.SecurityGroupIngressArray{
			ec2.SecurityGroupIngressArgs{
				Description: pulumi.String("SSH from the operator"),
				Protocol:    pulumi.String("tcp"),
				FromPort:    pulumi.Int(22),
				ToPort:      pulumi.Int(22),
				CidrBlocks:  pulumi.StringArray{pulumi.String(args.SSHCidr.String())},
			},
			ec2.SecurityGroupIngressArgs{
				Description: pulumi.String("all traffic between lab ENIs"),
				Protocol:    pulumi.String("-1"),
				FromPort:    pulumi.Int(0),
				ToPort:      pulumi.Int(0),
				Self:        pulumi.Bool(true),
			},
		},
		Egress: ec2.SecurityGroupEgressArray{
			ec2.SecurityGroupEgressArgs{
				Description: pulumi.String("packages, driver sources, AWS APIs"),
				Protocol:    pulumi.String("-1"),
				FromPort:    pulumi.Int(0),
				ToPort:      pulumi.Int(0),
				CidrBlocks:  pulumi.StringArray{pulumi.String("0.0.0.0/0")},
			},
		},
		Tags: pulumi.StringMap{"Name": pulumi.String(args.Naming.Name("sg"))},
	}, pulumi.Parent(f))
	if err != nil {
		return nil, fmt.Errorf("security group: %w", err)
	}
	return f, ctx.RegisterResourceOutputs(f, pulumi.Map{"securityGroupId": f.Group.ID()})
}
