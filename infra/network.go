package infra

import (
	"fmt"
	"net/netip"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// NetworkArgs sizes the lab's VPC.
type NetworkArgs struct {
	VpcCidr    netip.Prefix
	SubnetCidr netip.Prefix
	Zone       string
	Naming     Naming
}

// Network is a VPC with one public subnet in one availability zone.
type Network struct {
	pulumi.ResourceState

	Vpc    *ec2.Vpc
	Subnet *ec2.Subnet
	// DefaultRoute reaches the internet gateway: what a host with a public
	// IP waits for, and outlives.
	DefaultRoute *ec2.Route
}

// NewNetwork declares the VPC, subnet, internet gateway and default route.
func NewNetwork(ctx *pulumi.Context, name string, args NetworkArgs, opts ...pulumi.ResourceOption) (*Network, error) {
	n := &Network{}
	if err := ctx.RegisterComponentResource("enalab:infra:Network", name, n, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(n)
	tag := func(what string) pulumi.StringMap {
		return pulumi.StringMap{"Name": pulumi.String(args.Naming.Name(what))}
	}
	var err error
	n.Vpc, err = ec2.NewVpc(ctx, name+"-vpc", &ec2.VpcArgs{
		CidrBlock:          pulumi.String(args.VpcCidr.String()),
		EnableDnsHostnames: pulumi.Bool(true),
		EnableDnsSupport:   pulumi.Bool(true),
		Tags:               tag("vpc"),
	}, child)
	if err != nil {
		return nil, fmt.Errorf("vpc: %w", err)
	}
	// A new VPC (vpcCidr changed) gets a new gateway: moving the old one is
	// a detach, which AWS refuses while the old instance holds a public IP.
	igw, err := ec2.NewInternetGateway(ctx, name+"-igw", &ec2.InternetGatewayArgs{
		VpcId: n.Vpc.ID(),
		Tags:  tag("igw"),
	}, child, pulumi.ReplaceOnChanges([]string{"vpcId"}))
	if err != nil {
		return nil, fmt.Errorf("internet gateway: %w", err)
	}
	n.Subnet, err = ec2.NewSubnet(ctx, name+"-subnet", &ec2.SubnetArgs{
		VpcId:            n.Vpc.ID(),
		CidrBlock:        pulumi.String(args.SubnetCidr.String()),
		AvailabilityZone: pulumi.String(args.Zone),
		// The instance asks for its own public IP; the secondary ENI needs none.
		MapPublicIpOnLaunch: pulumi.Bool(false),
		Tags:                tag("subnet"),
		// The zone is chosen once: when the first offering changes, a subnet
		// re-created with the same CIDR in the same VPC is refused
		// (InvalidSubnet.Conflict).
	}, child, pulumi.IgnoreChanges([]string{"availabilityZone"}))
	if err != nil {
		return nil, fmt.Errorf("subnet: %w", err)
	}
	rt, err := ec2.NewRouteTable(ctx, name+"-rt", &ec2.RouteTableArgs{
		VpcId: n.Vpc.ID(),
		Tags:  tag("rt"),
	}, child)
	if err != nil {
		return nil, fmt.Errorf("route table: %w", err)
	}
	if n.DefaultRoute, err = ec2.NewRoute(ctx, name+"-default-route", &ec2.RouteArgs{
		RouteTableId:         rt.ID(),
		DestinationCidrBlock: pulumi.String("0.0.0.0/0"),
		GatewayId:            igw.ID(),
	}, child); err != nil {
		return nil, fmt.Errorf("default route: %w", err)
	}
	if _, err = ec2.NewRouteTableAssociation(ctx, name+"-rta", &ec2.RouteTableAssociationArgs{
		SubnetId:     n.Subnet.ID(),
		RouteTableId: rt.ID(),
	}, child); err != nil {
		return nil, fmt.Errorf("route table association: %w", err)
	}
	return n, ctx.RegisterResourceOutputs(n, pulumi.Map{
		"vpcId":    n.Vpc.ID(),
		"subnetId": n.Subnet.ID(),
	})
}

// SubnetRouter is the VPC router of a subnet: its network address plus one.
func SubnetRouter(subnet netip.Prefix) netip.Addr {
	return subnet.Masked().Addr().Next()
}
