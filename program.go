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
	lab, err := buildLab(ctx)
	if err != nil {
		return err
	}
	for name, value := range lab.Outputs() {
		ctx.Export(name, value)
	}
	return nil
}

// Lab is what one stack declares, as typed handles: the AWS side, the
// runner on the host and each step run there.
type Lab struct {
	Stack    string
	User     string // who logs in to the host
	Type     infra.InstanceType
	Network  *infra.Network
	Firewall *infra.Firewall
	Host     *infra.Host
	Runner   *remote.Runner
	Steps    HostSteps
}

// buildLab declares every resource.
func buildLab(ctx *pulumi.Context) (*Lab, error) {
	settings, err := loadSettings(ctx)
	if err != nil {
		return nil, err
	}
	lab := &Lab{Stack: ctx.Stack()}
	naming := infra.NamingFor(ctx)
	provider, err := infra.NewProvider(ctx, naming, config.New(ctx, "aws").Get("region"))
	if err != nil {
		return nil, fmt.Errorf("aws provider: %w", err)
	}
	useProvider := pulumi.Provider(provider)
	inAWS := pulumi.Providers(provider)

	if lab.Type, err = infra.CheckInstanceType(ctx, settings.InstanceType, useProvider); err != nil {
		return nil, err
	}
	distro, err := infra.LookupDistro(settings.Distro)
	if err != nil {
		return nil, err
	}
	lab.User = distro.User
	ami, err := infra.ResolveAMI(ctx, distro, lab.Type.Architecture, settings.Kernel, settings.AmiID, useProvider)
	if err != nil {
		return nil, err
	}

	lab.Network, err = infra.NewNetwork(ctx, "lab", infra.NetworkArgs{
		VpcCidr:    settings.VpcCidr,
		SubnetCidr: settings.SubnetCidr,
		Zone:       lab.Type.Zone,
		Naming:     naming,
	}, inAWS)
	if err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	lab.Firewall, err = infra.NewFirewall(ctx, "lab", infra.FirewallArgs{
		VpcID:   lab.Network.Vpc.ID(),
		SSHCidr: settings.SSHCidr,
		Naming:  naming,
	}, inAWS)
	if err != nil {
		return nil, fmt.Errorf("firewall: %w", err)
	}
	lab.Host, err = infra.NewHost(ctx, "lab", infra.HostArgs{
		InstanceType:    lab.Type.Name,
		AmiID:           ami,
		AmiFromSSM:      settings.AmiID == "",
		Network:         lab.Network,
		Zones:           lab.Type.Zones,
		SecurityGroupID: lab.Firewall.Group.ID(),
		Spot:            settings.Spot,
		Distro:          distro.Name,
		Kernel:          settings.Kernel,
		TTLHours:        settings.TTLHours,
		RootVolumeGiB:   rootVolumeGiB,
		Naming:          naming,
	}, inAWS)
	if err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}

	lab.Runner, err = remote.NewRunner(ctx, "lab", remote.RunnerArgs{
		Address:    lab.Host.Address,
		User:       lab.User,
		PrivateKey: lab.Host.Key.PrivateKeyOpenssh,
		Instance:   lab.Host.Instance,
		DependsOn:  []pulumi.Resource{lab.Host.Attachment},
	})
	if err != nil {
		return nil, fmt.Errorf("host steps: %w", err)
	}
	if lab.Steps, err = declareSteps(lab.Runner, settings, lab.Host); err != nil {
		return nil, err
	}
	return lab, nil
}

// Outputs are the stack outputs: how to reach the host, the secondary ENI
// and each step's result.
func (l *Lab) Outputs() map[string]pulumi.Input {
	h, s := l.Host, l.Steps
	out := map[string]pulumi.Input{
		"instanceId":   h.Instance.ID(),
		"instanceType": pulumi.String(l.Type.Name),
		"publicIp":     h.Instance.PublicIp,
		"privateKey":   pulumi.ToSecret(h.Key.PrivateKeyOpenssh),
		"sshCommand":   sshCommand(l.Stack, l.User, h.Instance.PublicIp),
		"sshUser":      pulumi.String(l.User),
		"secondaryEni": pulumi.Map{
			"id":        h.Secondary.ID(),
			"mac":       h.Secondary.MacAddress,
			"privateIp": h.Secondary.PrivateIp,
		},
	}
	for k, v := range s.Outputs() {
		out[k] = v
	}
	return out
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
		KnownParams:  kmod.KnownParams,
		KnownDistros: infra.DistroNames(),
		CheckKernel:  infra.CheckKernel,
	})
}

// sshCommand is copy-paste ready: it takes the key out of the stack state
// into a private file, then logs in.
func sshCommand(stack, user string, ip pulumi.StringOutput) pulumi.StringOutput {
	key := fmt.Sprintf("~/.ssh/ena-lab-%s", stack)
	return pulumi.Sprintf("(umask 077; pulumi stack output -s %s --show-secrets privateKey > %s) && ssh -i %s %s@%s",
		stack, key, key, user, ip)
}
