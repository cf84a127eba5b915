package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-tls/sdk/v5/go/tls"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// HostArgs describes the lab instance.
type HostArgs struct {
	InstanceType string
	AmiID        string
	AmiFromSSM   bool // resolved from the "latest" parameter: a newer release must not replace the lab
	Network      *Network
	// Zones offering the instance type: the subnet's zone, fixed at its
	// creation, must be one of them.
	Zones           []string
	SecurityGroupID pulumi.IDInput
	Spot            bool
	Distro          string // a new distribution is a new instance
	Kernel          string // and so is a new kernel series
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
	// Address is the public IP to dial, once the instance is known to be
	// running: a host the TTL or a spot interruption took fails here, before
	// any step dials it.
	Address pulumi.StringOutput
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

	h.Secondary, err = ec2.NewNetworkInterface(ctx, name+"-eni", &ec2.NetworkInterfaceArgs{
		SubnetId:       args.Network.Subnet.ID(),
		SecurityGroups: pulumi.StringArray{args.SecurityGroupID.ToIDOutput().ToStringOutput()},
		Description:    pulumi.String("ENA lab: secondary ENI driven by ena_custom"),
		Tags:           pulumi.StringMap{"Name": pulumi.String(args.Naming.Name("eni-custom"))},
	}, child)
	if err != nil {
		return nil, fmt.Errorf("secondary ENI: %w", err)
	}
	instArgs := &ec2.InstanceArgs{
		Ami:                      pulumi.String(args.AmiID),
		InstanceType:             pulumi.String(args.InstanceType),
		SubnetId:                 args.Network.Subnet.ID(),
		AvailabilityZone:         offeredZone(args.Network.Subnet.AvailabilityZone, args.InstanceType, args.Zones),
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
	h.Instance, err = ec2.NewInstance(ctx, name+"-instance", instArgs, child, pulumi.IgnoreChanges(ignore),
		// A new type or market is a new lab: EC2 would stop, modify and start
		// the instance in place, which a one-time spot instance cannot do and
		// which costs an on-demand one its public IPv4 (none comes back while
		// two ENIs are attached); spot -> on-demand shows no diff at all. A
		// replacement takes the AMI of the new type's architecture.
		pulumi.ReplacementTrigger(pulumi.String(ReplacementKey(args.InstanceType, args.Spot, args.Distro, args.Kernel))),
		// Created after the ENI and the route, deleted before them: the ENI is
		// detached by termination, never under a running ena_custom, and the
		// gateway outlives the public IP that pins it.
		pulumi.DependsOn([]pulumi.Resource{h.Secondary, args.Network.DefaultRoute}))
	if err != nil {
		return nil, fmt.Errorf("instance: %w", err)
	}

	h.Attachment, err = ec2.NewNetworkInterfaceAttachment(ctx, name+"-eni-attachment", &ec2.NetworkInterfaceAttachmentArgs{
		InstanceId:         h.Instance.ID(),
		NetworkInterfaceId: h.Secondary.ID(),
		DeviceIndex:        pulumi.Int(SecondaryDeviceIndex),
	}, child,
		// Every field forces a replacement: detach from the old instance
		// before attaching to its successor (an ENI has one attachment).
		pulumi.DeleteBeforeReplace(true),
		// On destroy the instance's termination detaches the ENI.
		pulumi.DeletedWith(h.Instance))
	if err != nil {
		return nil, fmt.Errorf("secondary ENI attachment: %w", err)
	}
	h.Address = runningAddress(ctx, h.Instance)
	return h, ctx.RegisterResourceOutputs(h, pulumi.Map{
		"instanceId":   h.Instance.ID(),
		"publicIp":     h.Instance.PublicIp,
		"secondaryMac": h.Secondary.MacAddress,
	})
}

// ReplacementKey names what a running instance cannot change in place.
func ReplacementKey(instanceType string, spot bool, distro, kernel string) string {
	market := "on-demand"
	if spot {
		market = "spot"
	}
	return "instanceType=" + instanceType + " market=" + market + " distro=" + distro + " kernel=" + kernel
}

// offeredZone is the subnet's zone, refused when the instance type is not
// offered there (the zone stays what it was when the lab was created).
func offeredZone(zone pulumi.StringOutput, instanceType string, offered []string) pulumi.StringOutput {
	return zone.ApplyT(func(z string) (string, error) {
		for _, o := range offered {
			if o == z {
				return z, nil
			}
		}
		return "", fmt.Errorf("instance type %s is not offered in %s, the lab's availability zone (offered in: %v); "+
			"choose another type, or destroy the lab and bring it up again", instanceType, z, offered)
	}).(pulumi.StringOutput)
}

// runningAddress is the instance's public IP once EC2 says it is pending
// or running. Every step dials this address, so a host that is gone fails
// the update before any step (and any step's Delete) is tried.
func runningAddress(ctx *pulumi.Context, inst *ec2.Instance) pulumi.StringOutput {
	found := ec2.GetInstancesOutput(ctx, ec2.GetInstancesOutputArgs{
		InstanceStateNames: pulumi.StringArray{pulumi.String("pending"), pulumi.String("running")},
		Filters: ec2.GetInstancesFilterArray{ec2.GetInstancesFilterArgs{
			Name:   pulumi.String("instance-id"),
			Values: pulumi.StringArray{inst.ID().ToStringOutput()},
		}},
	}, pulumi.Parent(inst))
	return pulumi.All(inst.ID().ToStringOutput(), found.Ids(), inst.PublicIp).ApplyT(func(v []interface{}) (string, error) {
		id, ids, ip := v[0].(string), v[1].([]string), v[2].(string)
		for _, x := range ids {
			if x == id {
				return ip, nil
			}
		}
		return "", fmt.Errorf("the lab host %s is not running: the safety TTL or a spot interruption terminated it, "+
			"or it was stopped. Run `make recover` to forget it and its host steps, then `make up` builds a new one "+
			"(if you stopped it yourself, start it instead: aws ec2 start-instances --instance-ids %s)", id, id)
	}).(pulumi.StringOutput)
}
