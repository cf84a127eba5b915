package main

import (
	"fmt"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/enalab/enalab/infra"
	"github.com/enalab/enalab/kmod"
	"github.com/enalab/enalab/remote"
	"github.com/enalab/enalab/stackconfig"
)

// detectPublicIP serves sshCidr=auto; tests replace it.
var detectPublicIP = stackconfig.HTTPDetector(stackconfig.CheckIPURL, 5*time.Second)

// rootVolumeGiB holds the OS, kernel-devel, the driver tree and builds.
const rootVolumeGiB = 16

// program builds the whole stack: exactly what `pulumi up` runs.
func program(ctx *pulumi.Context) error {
	outputs, err := buildLab(ctx)
	if err != nil {
		return err
	}
	for name, value := range outputs {
		ctx.Export(name, value)
	}
	return nil
}

// buildLab declares every resource and returns the stack outputs.
func buildLab(ctx *pulumi.Context) (map[string]pulumi.Input, error) {
	settings, err := loadSettings(ctx)
	if err != nil {
		return nil, err
	}
	naming := infra.NamingFor(ctx)
	provider, err := infra.NewProvider(ctx, naming, config.New(ctx, "aws").Get("region"))
	if err != nil {
		return nil, fmt.Errorf("aws provider: %w", err)
	}
	useProvider := pulumi.Provider(provider)
	inAWS := pulumi.Providers(provider)

	itype, err := infra.CheckInstanceType(ctx, settings.InstanceType, useProvider)
	if err != nil {
		return nil, err
	}
	ami, err := infra.ResolveAMI(ctx, itype.Architecture, settings.AmiID, useProvider)
	if err != nil {
		return nil, err
	}

	network, err := infra.NewNetwork(ctx, "lab", infra.NetworkArgs{
		VpcCidr:    settings.VpcCidr,
		SubnetCidr: settings.SubnetCidr,
		Zone:       itype.Zone,
		Naming:     naming,
	}, inAWS)
	if err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	firewall, err := infra.NewFirewall(ctx, "lab", infra.FirewallArgs{
		VpcID:   network.Vpc.ID(),
		SSHCidr: settings.SSHCidr,
		Naming:  naming,
	}, inAWS)
	if err != nil {
		return nil, fmt.Errorf("firewall: %w", err)
	}
	host, err := infra.NewHost(ctx, "lab", infra.HostArgs{
		InstanceType:    itype.Name,
		AmiID:           ami,
		AmiFromSSM:      settings.AmiID == "",
		Network:         network,
		Zones:           itype.Zones,
		SecurityGroupID: firewall.Group.ID(),
		Spot:            settings.Spot,
		TTLHours:        settings.TTLHours,
		RootVolumeGiB:   rootVolumeGiB,
		Naming:          naming,
	}, inAWS)
	if err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}

	onHost, err := remote.NewHost(ctx, "lab", remote.HostArgs{
		Address:    host.Address,
		PrivateKey: host.Key.PrivateKeyOpenssh,
		Instance:   host.Instance,
		DependsOn:  []pulumi.Resource{host.Attachment},
	})
	if err != nil {
		return nil, fmt.Errorf("host steps: %w", err)
	}
	nitro, err := onHost.Run(remote.Step{
		Name:    "nitro-check",
		Script:  "nitro-check.sh",
		Sources: []string{"lib.sh"},
		Timeout: 2 * time.Minute,
	})
	if err != nil {
		return nil, err
	}

	driver, err := driverSteps(onHost, driverLab{
		settings:  settings,
		host:      host,
		nitro:     nitro,
		primaryIP: host.Instance.PrivateIp,
	})
	if err != nil {
		return nil, err
	}

	outputs := map[string]pulumi.Input{
		"instanceId":   host.Instance.ID(),
		"instanceType": pulumi.String(itype.Name),
		"publicIp":     host.Instance.PublicIp,
		"privateKey":   pulumi.ToSecret(host.Key.PrivateKeyOpenssh),
		"sshCommand":   sshCommand(ctx.Stack(), host.Instance.PublicIp),
		"secondaryEni": pulumi.Map{
			"id":        host.Secondary.ID(),
			"mac":       host.Secondary.MacAddress,
			"privateIp": host.Secondary.PrivateIp,
		},
		"nitroCheck": remote.Result("nitro-check", nitro),
	}
	for k, v := range driver {
		outputs[k] = v
	}
	return outputs, nil
}

func loadSettings(ctx *pulumi.Context) (stackconfig.Settings, error) {
	cfg := config.New(ctx, "")
	get := func(key string) (string, bool) {
		v, err := cfg.Try(key)
		return v, err == nil
	}
	return stackconfig.Parse(get, stackconfig.Hooks{
		DetectPublicIP: detectPublicIP,
		CheckDriver: func(v string) error {
			_, err := kmod.Lookup(v)
			return err
		},
		KnownParams: kmod.KnownParams,
	})
}

// sshCommand is copy-paste ready: it takes the key out of the stack state
// into a private file, then logs in.
func sshCommand(stack string, ip pulumi.StringOutput) pulumi.StringOutput {
	key := fmt.Sprintf("~/.ssh/ena-lab-%s", stack)
	return pulumi.Sprintf("(umask 077; pulumi stack output -s %s --show-secrets privateKey > %s) && ssh -i %s ec2-user@%s",
		stack, key, key, ip)
}
