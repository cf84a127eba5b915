//go:build engine

package main

// The program through the real Pulumi engine: the CLI built from the Go
// module proxy (twin/cli/build.sh; ENA_LAB_PULUMI_ROOT says where), the
// program run inline by the Automation API (no language host), a local file
// backend with a passphrase as `make up` uses, and the three providers
// served in-process by thin stand-ins (twin/standin). What the mocks cannot
// show is shown here: the plan the engine makes of a change to a running
// lab, and the order it deletes in.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	remotecmd "github.com/pulumi/pulumi-command/sdk/go/command/remote"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
	"golang.org/x/crypto/ssh"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"

	"github.com/enalab/enalab/twin/standin"
)

// engineLab is one stack on the real engine, with its stand-ins.
type engineLab struct {
	t     *testing.T
	stack auto.Stack
	aws   *standin.AWS
}

var twin = standin.Twin{
	PublicIP: "198.51.100.10", PrivateIP: "10.42.0.10",
	SecondaryMAC: "0a:1b:2c:3d:4e:5f", SecondaryIP: "10.42.0.20",
	Zones: []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}, LocalZones: []string{"eu-west-1-lax-1a"},
	Types: map[string]standin.InstanceType{
		"c6i.large":  {Hypervisor: "nitro", EnaSupport: "required", MaxInterfaces: 3, Architectures: []string{"x86_64"}},
		"c6i.xlarge": {Hypervisor: "nitro", EnaSupport: "required", MaxInterfaces: 4, Architectures: []string{"x86_64"}},
	},
	AMIs: map[string]string{
		"/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64":  "ami-0a1a1a1a1a1a1a1a1",
		"/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.12-x86_64": "ami-0a612a612a612a612",
		"/aws/service/debian/release/12/latest/amd64":                        "ami-0deb12deb12deb120",
	},
}

// pulumiCLI is the real CLI make test-engine built.
func pulumiCLI(t *testing.T) auto.PulumiCommand {
	t.Helper()
	root := os.Getenv("ENA_LAB_PULUMI_ROOT")
	if root == "" {
		t.Fatal("ENA_LAB_PULUMI_ROOT is not set: run the engine tests through make test-engine, which builds the CLI")
	}
	cli, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: root})
	if err != nil {
		t.Fatalf("the Pulumi CLI at %s: %v", root, err)
	}
	return cli
}

// engineEnv: a local file backend and a passphrase below dir, as make up
// uses them, and the providers the engine attaches to ("name:port,...").
func engineEnv(t *testing.T, dir, providers string) map[string]string {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "state"), 0o755); err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"PULUMI_BACKEND_URL":                          "file://" + filepath.Join(dir, "state"),
		"PULUMI_CONFIG_PASSPHRASE":                    "engine-test",
		"PULUMI_HOME":                                 filepath.Join(dir, "home"),
		"PULUMI_DEBUG_PROVIDERS":                      providers,
		"PULUMI_SKIP_UPDATE_CHECK":                    "true",
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
	}
}

func newEngineLab(t *testing.T, stackName string) *engineLab {
	t.Helper()
	return newEngineLabOn(t, stackName, twin, "")
}

// newEngineLabOn: a stack whose aws stand-in answers with tw, its commands
// dialled inside the network namespace netns (none when "").
func newEngineLabOn(t *testing.T, stackName string, tw standin.Twin, netns string) *engineLab {
	t.Helper()
	l := &engineLab{t: t, aws: standin.NewAWS(tw)}
	cmd := standin.NewCommand()
	cmd.Netns = netns
	var debug []string
	for name, s := range map[string]*standin.Server{"aws": l.aws.Server, "tls": standin.NewTLS(), "command": cmd.Server} {
		port, stop, err := s.Serve()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		debug = append(debug, fmt.Sprintf("%s:%d", name, port))
	}
	project, err := workspace.LoadProject("Pulumi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	env := engineEnv(t, dir, strings.Join(debug, ","))
	ctx := context.Background()
	l.stack, err = auto.UpsertStackInlineSource(ctx, stackName, "ena-lab", program,
		auto.Pulumi(pulumiCLI(t)), auto.Project(*project), auto.EnvVars(env), auto.WorkDir(dir))
	if err != nil {
		t.Fatalf("stack %s: %v", stackName, err)
	}
	l.config(map[string]string{"aws:region": "eu-west-1", "ena-lab:sshCidr": "198.51.100.7/32"})
	return l
}

func (l *engineLab) config(kv map[string]string) {
	l.t.Helper()
	for k, v := range kv {
		if err := l.stack.SetConfig(context.Background(), k, auto.ConfigValue{Value: v}); err != nil {
			l.t.Fatalf("config %s: %v", k, err)
		}
	}
}

// step is one resource step of a plan, as the engine announced it.
type step struct{ Op, Type, URN string }

func (l *engineLab) preview() ([]step, error) {
	l.t.Helper()
	ch := make(chan events.EngineEvent)
	var steps []step
	done := make(chan struct{})
	go func() {
		for e := range ch {
			if e.ResourcePreEvent != nil {
				m := e.ResourcePreEvent.Metadata
				steps = append(steps, step{string(m.Op), m.Type, m.URN})
			}
		}
		close(done)
	}()
	_, err := l.stack.Preview(context.Background(), optpreview.EventStreams(ch))
	<-done
	return steps, err
}

// upInfra creates everything but the host steps, which need a host.
func (l *engineLab) upInfra() {
	l.t.Helper()
	plan, err := l.preview()
	if err != nil {
		l.t.Fatalf("preview of a new stack: %v", err)
	}
	var targets []string
	for _, s := range plan {
		if !strings.HasPrefix(s.Type, "command:") && s.Type != "pulumi:pulumi:Stack" {
			targets = append(targets, s.URN)
		}
	}
	if _, err := l.stack.Up(context.Background(), optup.Target(targets)); err != nil {
		l.t.Fatalf("up of the AWS side: %v", err)
	}
}

// ops is what the plan does to one resource, by name, in order.
func ops(plan []step, name string) []string {
	var out []string
	for _, s := range plan {
		if strings.HasSuffix(s.URN, "::"+name) {
			out = append(out, s.Op)
		}
	}
	return out
}

func TestEngineAcceptsTheProjectAndPlansTheWholeLab(t *testing.T) {
	l := newEngineLab(t, "alice")
	plan, err := l.preview()
	if err != nil {
		t.Fatalf("the real engine refuses the lab: %v", err)
	}
	want := map[string]int{"aws:ec2/instance:Instance": 1, "aws:ec2/networkInterfaceAttachment:NetworkInterfaceAttachment": 1,
		"command:remote:Command": 8, "enalab:remote:Runner": 1, "tls:index/privateKey:PrivateKey": 1}
	got := map[string]int{}
	for _, s := range plan {
		if s.Op != "create" {
			t.Errorf("a new stack plans %s for %s", s.Op, s.URN)
		}
		got[s.Type]++
	}
	for typ, n := range want {
		if got[typ] != n {
			t.Errorf("plan creates %d %s, want %d", got[typ], typ, n)
		}
	}
	if got["aws:ec2/subnet:Subnet"] != 1 {
		t.Errorf("no subnet in the plan: %v", got)
	}
}

func TestEngineReplacesTheInstanceForANewTypeAndDetachesFirst(t *testing.T) {
	l := newEngineLab(t, "dev")
	l.upInfra()
	l.config(map[string]string{"ena-lab:instanceType": "c6i.xlarge"})
	plan, err := l.preview()
	if err != nil {
		t.Fatal(err)
	}
	inst, att := ops(plan, "lab-instance"), ops(plan, "lab-eni-attachment")
	if strings.Join(inst, ",") != "create-replacement,replace,delete-replaced" {
		t.Errorf("a new instance type: instance steps %v, want a replacement created before the old is deleted", inst)
	}
	if strings.Join(att, ",") != "delete-replaced,replace,create-replacement" {
		t.Errorf("the attachment steps %v: the ENI must be detached before it is attached to the new instance", att)
	}
	if s := ops(plan, "lab-subnet"); strings.Join(s, ",") != "same" {
		t.Errorf("the subnet %v: a type change must not touch the network", s)
	}
}

// A replacement boots the AMI of the new setting, though the instance
// ignores AMI changes otherwise (a newer release must not replace a lab).
func TestEngineBootsTheNewSeriesAMIWhenTheKernelChanges(t *testing.T) {
	l := newEngineLab(t, "dev")
	l.upInfra()
	l.config(map[string]string{"ena-lab:kernel": "6.12"})
	l.upInfra()
	if n := len(l.aws.Launched); n != 2 {
		t.Fatalf("%d instances launched, want 2 (the lab, then its replacement)", n)
	}
	for i, want := range []string{"ami-0a1a1a1a1a1a1a1a1", "ami-0a612a612a612a612"} {
		if got := l.aws.Launched[i]["ami"].StringValue(); got != want {
			t.Errorf("instance %d booted %s, want %s", i+1, got, want)
		}
	}
}

func TestEngineReplacesTheInstanceForSpot(t *testing.T) {
	l := newEngineLab(t, "dev")
	l.config(map[string]string{"ena-lab:spot": "true"})
	l.upInfra()
	l.config(map[string]string{"ena-lab:spot": "false"})
	plan, err := l.preview()
	if err != nil {
		t.Fatal(err)
	}
	if inst := ops(plan, "lab-instance"); len(inst) == 0 || inst[0] != "create-replacement" {
		t.Errorf("spot true -> false: instance steps %v; without the trigger EC2 shows no diff at all", inst)
	}
}

func TestEngineKeepsTheZoneWhenTheOfferingChanges(t *testing.T) {
	l := newEngineLab(t, "dev")
	l.aws.Offer("eu-west-1b", "eu-west-1c")
	l.upInfra()
	l.aws.Offer("eu-west-1a", "eu-west-1b", "eu-west-1c") // the first zone by name is now another
	plan, err := l.preview()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"lab-subnet", "lab-instance", "lab-eni"} {
		if s := ops(plan, name); strings.Join(s, ",") != "same" {
			t.Errorf("%s: %v after the offering changed; the lab's zone is fixed once chosen", name, s)
		}
	}
}

func TestEngineGivesANewVPCANewGateway(t *testing.T) {
	l := newEngineLab(t, "dev")
	l.upInfra()
	l.config(map[string]string{"ena-lab:vpcCidr": "10.43.0.0/16"})
	plan, err := l.preview()
	if err != nil {
		t.Fatal(err)
	}
	if igw := ops(plan, "lab-igw"); len(igw) == 0 || igw[0] != "create-replacement" {
		t.Errorf("internet gateway steps %v for a new VPC: moving it in place is refused while the old host has a public IP", igw)
	}
}

func TestEngineDestroysTheInstanceBeforeTheENIAndNeverDetachesIt(t *testing.T) {
	l := newEngineLab(t, "dev")
	l.upInfra()
	before := len(l.aws.Calls())
	if _, err := l.stack.Destroy(context.Background(), optdestroy.Remove()); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	at := map[string]int{}
	for i, c := range l.aws.Calls()[before:] {
		if c.Op == "delete" {
			at[c.Name] = i + 1
		}
	}
	if at["lab-eni-attachment"] != 0 {
		t.Error("destroy detached the ENI under a running host: the attachment must go with the instance")
	}
	if at["lab-instance"] == 0 || at["lab-eni"] == 0 || at["lab-igw"] == 0 || at["lab-instance"] > at["lab-eni"] || at["lab-instance"] > at["lab-igw"] {
		t.Errorf("delete order %v: the instance goes first, then its ENI and the gateway", at)
	}
}

func TestEngineStopsBeforeAnyStepWhenTheHostIsGone(t *testing.T) {
	l := newEngineLab(t, "dev")
	l.upInfra()
	out, err := l.stack.Outputs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	id, _ := out["instanceId"].Value.(string)
	if id == "" {
		t.Fatalf("no instanceId output: %v", out)
	}
	l.aws.Terminate(id)
	_, err = l.preview()
	if err == nil || !strings.Contains(err.Error(), id+" is not running") || !strings.Contains(err.Error(), "make recover") {
		t.Errorf("a terminated host must stop the preview with what to do, got %v", err)
	}
}

// The command stand-in against a real sshd in a network namespace the test
// makes (dialled inside it, as the twin will be), through the real engine,
// on a program of its own: the semantics the lab relies on.
func TestEngineRunsCommandsOverSSHAsPulumiCommandDoes(t *testing.T) {
	dir := t.TempDir()
	ns := fmt.Sprintf("elab-ssh-%d", os.Getpid())
	port, key := startSSHD(t, dir, ns)
	log := filepath.Join(dir, "host.log")
	cmdServer := standin.NewCommand()
	cmdServer.Netns = "/run/netns/" + ns
	p, stop, err := cmdServer.Serve()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	prog := func(ctx *pulumi.Context) error {
		c := config.New(ctx, "")
		word, trigger := c.Require("word"), c.Require("trigger")
		res, err := remotecmd.NewCommand(ctx, "step", &remotecmd.CommandArgs{
			Connection: remotecmd.ConnectionArgs{Host: pulumi.String("127.0.0.1"), Port: pulumi.Float64(float64(port)),
				User: pulumi.String("root"), PrivateKey: pulumi.String(key), DialErrorLimit: pulumi.Int(3)},
			Create:   pulumi.String(fmt.Sprintf("echo created-%s >>%s; cat", word, log)),
			Delete:   pulumi.String(fmt.Sprintf("echo deleted >>%s", log)),
			Stdin:    pulumi.String("from stdin " + word),
			Triggers: pulumi.Array{pulumi.String(trigger)},
		})
		if err != nil {
			return err
		}
		ctx.Export("stdout", res.Stdout)
		return nil
	}
	env := engineEnv(t, dir, fmt.Sprintf("command:%d", p))
	ctx := context.Background()
	stack, err := auto.UpsertStackInlineSource(ctx, "ssh", "command-semantics", prog, auto.Pulumi(pulumiCLI(t)), auto.EnvVars(env),
		auto.Project(workspace.Project{Name: "command-semantics", Runtime: workspace.NewProjectRuntimeInfo("go", nil)}))
	if err != nil {
		t.Fatal(err)
	}
	up := func(word, trigger string) string {
		t.Helper()
		for k, v := range map[string]string{"word": word, "trigger": trigger} {
			if err := stack.SetConfig(ctx, k, auto.ConfigValue{Value: v}); err != nil {
				t.Fatal(err)
			}
		}
		res, err := stack.Up(ctx)
		if err != nil {
			t.Fatalf("up (%s, %s): %v", word, trigger, err)
		}
		got, _ := res.Outputs["stdout"].Value.(string)
		return got
	}
	hostLog := func() string {
		b, _ := os.ReadFile(log)
		return strings.TrimSpace(string(b))
	}
	if got := up("1", "a"); got != "from stdin 1" || hostLog() != "created-1" {
		t.Errorf("create: stdout %q (want its stdin back), host saw %q", got, hostLog())
	}
	if up("1", "a"); hostLog() != "created-1" {
		t.Errorf("an up with nothing changed ran something: %q", hostLog())
	}
	if got := up("2", "a"); got != "from stdin 2" || hostLog() != "created-1\ncreated-2" {
		t.Errorf("a changed create is an update that runs create again, not a replacement: stdout %q, host saw %q", got, hostLog())
	}
	if up("2", "b"); hostLog() != "created-1\ncreated-2\ncreated-2\ndeleted" {
		t.Errorf("a changed trigger replaces: the new one created, then the old one's delete; host saw %q", hostLog())
	}
	if _, err := stack.Destroy(ctx); err != nil || hostLog() != "created-1\ncreated-2\ncreated-2\ndeleted\ndeleted" {
		t.Errorf("destroy runs delete: %v, host saw %q", err, hostLog())
	}
}

// startSSHD runs Debian's sshd in a new network namespace ns, on its
// loopback, for root with a key made here; it returns the port and the
// private key.
func startSSHD(t *testing.T, dir, ns string) (int, string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	sshPub, _ := ssh.NewPublicKey(pub)
	write := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keys := write("authorized_keys", string(ssh.MarshalAuthorizedKey(sshPub)), 0o600)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, "hostkey")).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	for _, args := range [][]string{{"netns", "add", ns}, {"-n", ns, "link", "set", "lo", "up"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "delete", ns).Run() })
	const port = 2222 // the namespace is new: nothing else listens in it
	cfg := write("sshd_config", fmt.Sprintf("Port %d\nListenAddress 127.0.0.1\nHostKey %s\nAuthorizedKeysFile %s\n"+
		"PermitRootLogin prohibit-password\nPasswordAuthentication no\nStrictModes no\nUsePAM no\nPidFile %s\n",
		port, filepath.Join(dir, "hostkey"), keys, filepath.Join(dir, "sshd.pid")), 0o600)
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	sshdLog, err := os.Create(filepath.Join(dir, "sshd.log"))
	if err != nil {
		t.Fatal(err)
	}
	sshd := exec.Command("ip", "netns", "exec", ns, "/usr/sbin/sshd", "-D", "-e", "-f", cfg)
	sshd.Stderr = sshdLog
	if err := sshd.Start(); err != nil {
		t.Fatalf("sshd: %v", err)
	}
	t.Cleanup(func() { _ = sshd.Process.Kill(); _ = sshd.Wait() })
	for i := 0; ; i++ {
		b, _ := os.ReadFile(sshdLog.Name())
		if strings.Contains(string(b), "Server listening") {
			break
		}
		if i == 50 {
			t.Fatalf("sshd did not start in 5s (is openssh-server installed? make test-engine installs it): %s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return port, string(pem.EncodeToMemory(block))
}
