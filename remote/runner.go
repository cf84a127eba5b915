package remote

import (
	"fmt"
	"time"

	cmd "github.com/pulumi/pulumi-command/sdk/go/command/remote"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// HostArgs says how to reach the instance.
type HostArgs struct {
	Address    pulumi.StringInput
	PrivateKey pulumi.StringInput
	// Instance owns every step: when it is deleted the steps go with it
	// without running their Delete, so destroy never waits on a dead host.
	Instance pulumi.Resource
	// DependsOn: what must exist before the host is worth dialling (the ENI attachment).
	DependsOn []pulumi.Resource
}

// User is the Amazon Linux 2023 login user (the provider defaults to root).
const User = "ec2-user"

// Readiness waits this long for a booting instance (sshd, then cloud-init).
const ReadinessTimeout = 15 * time.Minute

// Host groups the steps run on one instance; each runs after the previous.
type Host struct {
	pulumi.ResourceState

	Ready *cmd.Command
	ctx   *pulumi.Context
	args  HostArgs
	last  pulumi.Resource
}

// NewHost declares the readiness step every later step depends on.
func NewHost(ctx *pulumi.Context, name string, args HostArgs, opts ...pulumi.ResourceOption) (*Host, error) {
	h := &Host{ctx: ctx, args: args}
	if err := ctx.RegisterComponentResource("enalab:remote:Host", name, h, opts...); err != nil {
		return nil, err
	}
	ready, err := h.command(Step{
		Name:    "ready",
		Script:  "ready.sh",
		Timeout: ReadinessTimeout,
	}, -1, args.DependsOn)
	if err != nil {
		return nil, err
	}
	h.Ready, h.last = ready, ready
	return h, ctx.RegisterResourceOutputs(h, pulumi.Map{"ready": ready.Stdout})
}

// Run adds a step after readiness and after the step added before it.
func (h *Host) Run(s Step) (*cmd.Command, error) {
	deps := []pulumi.Resource{h.Ready}
	if h.last != h.Ready {
		deps = append(deps, h.last)
	}
	c, err := h.command(s, 30, deps)
	if err != nil {
		return nil, err
	}
	h.last = c
	return c, nil
}

func (h *Host) connection(dialErrorLimit int) cmd.ConnectionArgs {
	return cmd.ConnectionArgs{
		Host:           h.args.Address,
		User:           pulumi.String(User),
		PrivateKey:     h.args.PrivateKey,
		DialErrorLimit: pulumi.Int(dialErrorLimit),
		PerDialTimeout: pulumi.Int(15),
	}
}

func (h *Host) command(s Step, dialErrorLimit int, deps []pulumi.Resource) (*cmd.Command, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	program := resolveInputs(s.Inputs, s.Program)
	args := &cmd.CommandArgs{
		Connection:             h.connection(dialErrorLimit),
		Create:                 pulumi.String("sudo bash -s"),
		Stdin:                  program.ToStringPtrOutput(),
		AddPreviousOutputInEnv: pulumi.Bool(false),
		Triggers:               triggers(program, s.RerunOn),
	}
	opts := []pulumi.ResourceOption{
		pulumi.Parent(h),
		pulumi.DependsOn(append(deps, s.DependsOn...)),
		pulumi.DeletedWith(h.args.Instance),
		pulumi.Timeouts(&pulumi.CustomTimeouts{
			Create: (s.Timeout + 2*time.Minute).String(),
			Update: (s.Timeout + 2*time.Minute).String(),
			Delete: "10m",
		}),
	}
	if s.DeleteScript != "" {
		args.Delete = resolveInputs(s.Inputs, func(in map[string]string) (string, error) {
			return s.DeleteCommand(in), nil
		}).ToStringPtrOutput()
		// The old step's Delete must undo it before the new one runs.
		opts = append(opts, pulumi.DeleteBeforeReplace(true))
	}
	c, err := cmd.NewCommand(h.ctx, s.Name, args, opts...)
	if err != nil {
		return nil, fmt.Errorf("remote step %s: %w", s.Name, err)
	}
	return c, nil
}

// triggers: the program's fingerprint, then every RerunOn value.
func triggers(program pulumi.StringOutput, rerunOn []pulumi.StringInput) pulumi.Array {
	t := pulumi.Array{program.ApplyT(func(p string) string { return Fingerprint(p) }).(pulumi.StringOutput)}
	for _, v := range rerunOn {
		t = append(t, v)
	}
	return t
}

// Result parses a step's JSON result for a stack output.
func Result(name string, c *cmd.Command) pulumi.MapOutput {
	return c.Stdout.ApplyT(func(out string) (map[string]interface{}, error) {
		return ParseResult(name, out)
	}).(pulumi.MapOutput)
}
