package remote

import (
	"fmt"
	"time"

	cmd "github.com/pulumi/pulumi-command/sdk/go/command/remote"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// RunnerArgs says how to reach the instance.
type RunnerArgs struct {
	Address    pulumi.StringInput
	PrivateKey pulumi.StringInput
	// User logs in (the distribution's AMI user: ec2-user on AL2023);
	// the provider would default to root.
	User string
	// Instance owns every step: when it is deleted the steps go with it
	// without running their Delete, so destroy never waits on a dead host.
	Instance pulumi.Resource
	// DependsOn: what must exist before the host is worth dialling (the ENI
	// attachment); the readiness step waits for it, and so every step.
	DependsOn []pulumi.Resource
}

// ReadinessTimeout is how long a booting instance may take (sshd, then cloud-init).
const ReadinessTimeout = 15 * time.Minute

// Runner runs the lab's steps on one instance over SSH, each after the
// readiness step and after the step run before it.
type Runner struct {
	pulumi.ResourceState

	Ready *StepRun
	ctx   *pulumi.Context
	args  RunnerArgs
	last  pulumi.Resource
}

// StepRun is one step as declared: its command and its parsed JSON result.
type StepRun struct {
	Command *cmd.Command
	// Result is the JSON object the step printed last: a stack output.
	Result pulumi.MapOutput
	name   string
}

// Field is one string field of the step's result; a step that did not
// print it fails the update, naming the step and the field.
func (r *StepRun) Field(key string) pulumi.StringOutput {
	return r.Result.ApplyT(func(m map[string]interface{}) (string, error) {
		v, ok := m[key].(string)
		if !ok {
			return "", fmt.Errorf("step %s: its result has no string %q: %v", r.name, key, m)
		}
		return v, nil
	}).(pulumi.StringOutput)
}

// NewRunner declares the readiness step every later step depends on; opts
// apply to the runner component.
func NewRunner(ctx *pulumi.Context, name string, args RunnerArgs, opts ...pulumi.ResourceOption) (*Runner, error) {
	if args.User == "" {
		return nil, fmt.Errorf("remote runner %s: no login user", name)
	}
	r := &Runner{ctx: ctx, args: args}
	// The Go type was remote.Host: existing stacks keep their steps.
	opts = append(opts, pulumi.Aliases([]pulumi.Alias{{Type: pulumi.String("enalab:remote:Host")}}))
	if err := ctx.RegisterComponentResource("enalab:remote:Runner", name, r, opts...); err != nil {
		return nil, err
	}
	ready, err := r.command(Step{
		Name:    "ready",
		Script:  "ready.sh",
		Timeout: ReadinessTimeout,
	}, -1, args.DependsOn)
	if err != nil {
		return nil, err
	}
	r.Ready, r.last = ready, ready.Command
	return r, ctx.RegisterResourceOutputs(r, pulumi.Map{"ready": ready.Command.Stdout})
}

// Run adds a step after readiness and after the step added before it; opts
// are merged into the command's own (more dependencies, say).
func (r *Runner) Run(s Step, opts ...pulumi.ResourceOption) (*StepRun, error) {
	deps := []pulumi.Resource{r.Ready.Command}
	if r.last != r.Ready.Command {
		deps = append(deps, r.last)
	}
	c, err := r.command(s, 30, deps, opts...)
	if err != nil {
		return nil, err
	}
	r.last = c.Command
	return c, nil
}

func (r *Runner) connection(dialErrorLimit int) cmd.ConnectionArgs {
	return cmd.ConnectionArgs{
		Host:           r.args.Address,
		User:           pulumi.String(r.args.User),
		PrivateKey:     r.args.PrivateKey,
		DialErrorLimit: pulumi.Int(dialErrorLimit),
		PerDialTimeout: pulumi.Int(15),
	}
}

func (r *Runner) command(s Step, dialErrorLimit int, deps []pulumi.Resource, extra ...pulumi.ResourceOption) (*StepRun, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	program := resolveInputs(s.Inputs, s.Program)
	args := &cmd.CommandArgs{
		Connection:             r.connection(dialErrorLimit),
		Create:                 pulumi.String("sudo bash -s"),
		Stdin:                  program.ToStringPtrOutput(),
		AddPreviousOutputInEnv: pulumi.Bool(false),
		Triggers:               triggers(program, s.RerunOn),
	}
	opts := []pulumi.ResourceOption{
		pulumi.Parent(r),
		pulumi.DependsOn(deps),
		pulumi.DeletedWith(r.args.Instance),
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
	c, err := cmd.NewCommand(r.ctx, s.Name, args, append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("remote step %s: %w", s.Name, err)
	}
	return &StepRun{Command: c, Result: result(s.Name, c), name: s.Name}, nil
}

// triggers: the program's fingerprint, then every RerunOn value.
func triggers(program pulumi.StringOutput, rerunOn []pulumi.StringInput) pulumi.Array {
	t := pulumi.Array{program.ApplyT(func(p string) string { return Fingerprint(p) }).(pulumi.StringOutput)}
	for _, v := range rerunOn {
		t = append(t, v)
	}
	return t
}

// result parses a step's JSON result for a stack output.
func result(name string, c *cmd.Command) pulumi.MapOutput {
	return c.Stdout.ApplyT(func(out string) (map[string]interface{}, error) {
		return ParseResult(name, out)
	}).(pulumi.MapOutput)
}
