package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-tls/sdk/v5/go/tls"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// HostArgs describes the lab instance.
type HostArgs struct {
	InstanceType    string
	AmiID           string
	AmiFromSSM      bool // resolved from the "latest" parameter: a newer release must not replace the lab
	SubnetID        pulumi.IDInput
	SecurityGroupID pulumi.IDInput
	Spot            bool
	TTLHours        int
	RootVolumeGiB   int
	Naming          Naming
}

// Host is the Nitro instance, its SSH key and the secondary ENI at device
// index 1 that the custom driver will own.
type Host struct {
	pulumi.ResourceState

	Key        *tls.PrivateKey
	KeyPair    *ec2.KeyPair
	Instance   *ec2.Instance
	Secondary  *ec2.NetworkInterface
	Attachment *ec2.NetworkInterfaceAttachment
}

// SecondaryDeviceIndex is where the custom driver's ENI is attached.
const SecondaryDeviceIndex = 1

// NewHost declares the key, the instance and the secondary ENI.
func NewHost(ctx *pulumi.Context, name string, args HostArgs, opts ...pulumi.ResourceOption) (*Host, error) {
	h := &Host{}
	if err := ctx.RegisterComponentResource("enalab:infra:Host", name, h, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(h)
	var err error

	// The key lives only in the stack state (as a secret): nothing on disk.
	h.Key, err = tls.NewPrivateKey(ctx, name+"-key", &tls.PrivateKeyArgs{
		Algorithm: pulumi.String("ED25519"),
	}, child)
	if err != nil {
		return nil, fmt.Errorf("ssh key: %w", err)
	}
	h.KeyPair, err = ec2.NewKeyPair(ctx, name+"-keypair", &ec2.KeyPairArgs{
		KeyNamePrefix: pulumi.String(args.Naming.Name("")),
		PublicKey:     h.Key.PublicKeyOpenssh,
	}, child)
	if err != nil {
		return nil, fmt.Errorf("key pair: %w", err)
	}

	instArgs := &ec2.InstanceArgs{
		Ami:                      pulumi.String(args.AmiID),
		InstanceType:             pulumi.String(args.InstanceType),
		SubnetId:                 args.SubnetID,
		VpcSecurityGroupIds:      pulumi.StringArray{args.SecurityGroupID.ToIDOutput().ToStringOutput()},
		KeyName:                  h.KeyPair.KeyName,
		AssociatePublicIpAddress: pulumi.Bool(true),
		MetadataOptions: &ec2.InstanceMetadataOptionsArgs{
			HttpEndpoint:            pulumi.String("enabled"),
			HttpTokens:              pulumi.String("required"),
			HttpPutResponseHopLimit: pulumi.Int(1),
		},
		RootBlockDevice: &ec2.InstanceRootBlockDeviceArgs{
			VolumeType:          pulumi.String("gp3"),
			VolumeSize:          pulumi.Int(args.RootVolumeGiB),
			Encrypted:           pulumi.Bool(true),
			DeleteOnTermination: pulumi.Bool(true),
		},
		// The safety TTL powers the host off; "terminate" makes that final.
		InstanceInitiatedShutdownBehavior: pulumi.String("terminate"),
		UserData:                          pulumi.String(UserData(args.TTLHours)),
		Tags:                              pulumi.StringMap{"Name": pulumi.String(args.Naming.Name("host"))},
	}
	if args.Spot {
		instArgs.InstanceMarketOptions = &ec2.InstanceInstanceMarketOptionsArgs{
			MarketType: pulumi.String("spot"),
			SpotOptions: &ec2.InstanceInstanceMarketOptionsSpotOptionsArgs{
				SpotInstanceType:             pulumi.String("one-time"),
				InstanceInterruptionBehavior: pulumi.String("terminate"),
			},
		}
	}
	// The TTL is fixed at first boot (extend it on the host), so a ttlHours
	// change must not restart or replace a running lab.
	ignore := []string{"userData"}
	if args.AmiFromSSM {
		ignore = append(ignore, "ami")
	}
	h.Instance, err = ec2.NewInstance(ctx, name+"-instance", instArgs, child, pulumi.IgnoreChanges(ignore))
	if err != nil {
		return nil, fmt.Errorf("instance: %w", err)
	}

	h.Secondary, err = ec2.NewNetworkInterface(ctx, name+"-eni", &ec2.NetworkInterfaceArgs{
		SubnetId:       args.SubnetID,
		SecurityGroups: pulumi.StringArray{args.SecurityGroupID.ToIDOutput().ToStringOutput()},
		Description:    pulumi.String("ENA lab: secondary ENI driven by ena_custom"),
		Tags:           pulumi.StringMap{"Name": pulumi.String(args.Naming.Name("eni-custom"))},
	}, child)
	if err != nil {
		return nil, fmt.Errorf("secondary ENI: %w", err)
	}
	h.Attachment, err = ec2.NewNetworkInterfaceAttachment(ctx, name+"-eni-attachment", &ec2.NetworkInterfaceAttachmentArgs{
		InstanceId:         h.Instance.ID(),
		NetworkInterfaceId: h.Secondary.ID(),
		DeviceIndex:        pulumi.Int(SecondaryDeviceIndex),
	}, child)
	if err != nil {
		return nil, fmt.Errorf("secondary ENI attachment: %w", err)
	}
	return h, ctx.RegisterResourceOutputs(h, pulumi.Map{
		"instanceId":   h.Instance.ID(),
		"publicIp":     h.Instance.PublicIp,
		"secondaryMac": h.Secondary.MacAddress,
	})
}
