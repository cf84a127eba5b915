package main

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// base is a valid stack config that needs no public-IP detection.
var base = map[string]string{"sshCidr": "198.51.100.7/32"}

func with(extra map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// prop walks a dotted path through nested objects of a property map.
func prop(t *testing.T, m resource.PropertyMap, path string) resource.PropertyValue {
	t.Helper()
	parts := strings.Split(path, ".")
	v := resource.NewObjectProperty(m)
	for _, p := range parts {
		if v.IsSecret() {
			v = v.SecretValue().Element
		}
		if !v.IsObject() {
			t.Fatalf("%s: %q is not an object (%v)", path, p, v)
		}
		v = v.ObjectValue()[resource.PropertyKey(p)]
	}
	return v
}

func mustRun(t *testing.T, stack string, cfg map[string]string) (*labMocks, map[string]interface{}) {
	t.Helper()
	m, outs, err := run(t, stack, cfg)
	if err != nil {
		t.Fatalf("program failed: %v", err)
	}
	plain := map[string]interface{}{}
	for k, v := range outs {
		plain[k] = v.Value
	}
	return m, plain
}

func TestDefaultStackDeclaresTheWholeLab(t *testing.T) {
	m, _ := mustRun(t, "dev", base)
	want := map[string]int{
		"pulumi:providers:aws":                                          1,
		"enalab:infra:Network":                                          1,
		"aws:ec2/vpc:Vpc":                                               1,
		"aws:ec2/subnet:Subnet":                                         1,
		"aws:ec2/internetGateway:InternetGateway":                       1,
		"aws:ec2/routeTable:RouteTable":                                 1,
		"aws:ec2/route:Route":                                           1,
		"aws:ec2/routeTableAssociation:RouteTableAssociation":           1,
		"enalab:infra:Firewall":                                         1,
		"aws:ec2/securityGroup:SecurityGroup":                           1,
		"enalab:infra:Host":                                             1,
		"tls:index/privateKey:PrivateKey":                               1,
		"aws:ec2/keyPair:KeyPair":                                       1,
		"aws:ec2/instance:Instance":                                     1,
		"aws:ec2/networkInterface:NetworkInterface":                     1,
		"aws:ec2/networkInterfaceAttachment:NetworkInterfaceAttachment": 1,
		"enalab:remote:Runner":                                          1,
		"command:remote:Command":                                        8,
	}
	got := map[string]int{}
	for _, r := range m.resources {
		got[r.Type]++
	}
	for typ, n := range want {
		if got[typ] != n {
			t.Errorf("%s: want %d, got %d", typ, n, got[typ])
		}
	}
	for typ := range got {
		if _, ok := want[typ]; !ok {
			t.Errorf("unexpected resource type %s", typ)
		}
	}
	t.Logf("a default stack declares %d resources", len(m.resources))

	vpc := m.one(t, "aws:ec2/vpc:Vpc")
	if got := prop(t, vpc.Inputs, "cidrBlock").StringValue(); got != "10.42.0.0/16" {
		t.Errorf("VPC CIDR %s, want the default 10.42.0.0/16", got)
	}
	subnet := m.one(t, "aws:ec2/subnet:Subnet")
	if got := prop(t, subnet.Inputs, "cidrBlock").StringValue(); got != "10.42.0.0/24" {
		t.Errorf("subnet CIDR %s, want 10.42.0.0/24", got)
	}
	if got := prop(t, subnet.Inputs, "availabilityZone").StringValue(); got != "eu-west-1a" {
		t.Errorf("subnet zone %s, want eu-west-1a (first zone offering the type)", got)
	}
	route := m.one(t, "aws:ec2/route:Route")
	if prop(t, route.Inputs, "destinationCidrBlock").StringValue() != "0.0.0.0/0" ||
		prop(t, route.Inputs, "gatewayId").StringValue() != "lab-igw_id" ||
		prop(t, route.Inputs, "routeTableId").StringValue() != "lab-rt_id" {
		t.Errorf("default route is not 0.0.0.0/0 via the lab's IGW in its route table: %v", route.Inputs)
	}
	rta := m.one(t, "aws:ec2/routeTableAssociation:RouteTableAssociation")
	if prop(t, rta.Inputs, "subnetId").StringValue() != "lab-subnet_id" {
		t.Errorf("route table not associated with the lab subnet: %v", rta.Inputs)
	}
	key := m.one(t, "tls:index/privateKey:PrivateKey")
	if got := prop(t, key.Inputs, "algorithm").StringValue(); got != "ED25519" {
		t.Errorf("SSH key algorithm %s, want ED25519", got)
	}
	kp := m.one(t, "aws:ec2/keyPair:KeyPair")
	if got := prop(t, kp.Inputs, "publicKey").StringValue(); got != "ssh-ed25519 AAAAfake" {
		t.Errorf("key pair takes public key %q, not the generated one", got)
	}
}

func TestInstanceIsHardenedAndBoundedInTime(t *testing.T) {
	m, _ := mustRun(t, "dev", base)
	inst := m.one(t, "aws:ec2/instance:Instance")
	checks := map[string]string{
		"metadataOptions.httpTokens":        "required",
		"rootBlockDevice.volumeType":        "gp3",
		"instanceType":                      "c6i.large",
		"ami":                               "ami-0aaaaaaaaaaaaaaaa",
		"subnetId":                          "lab-subnet_id",
		"instanceInitiatedShutdownBehavior": "terminate",
	}
	for path, want := range checks {
		if got := prop(t, inst.Inputs, path).StringValue(); got != want {
			t.Errorf("instance %s = %q, want %q", path, got, want)
		}
	}
	if hop := prop(t, inst.Inputs, "metadataOptions.httpPutResponseHopLimit").NumberValue(); hop != 1 {
		t.Errorf("IMDS hop limit %v, want 1", hop)
	}
	if !prop(t, inst.Inputs, "rootBlockDevice.encrypted").BoolValue() {
		t.Error("root volume is not encrypted")
	}
	if !prop(t, inst.Inputs, "associatePublicIpAddress").BoolValue() {
		t.Error("instance gets no public IP: SSH could not reach it")
	}
	sgs := prop(t, inst.Inputs, "vpcSecurityGroupIds").ArrayValue()
	if len(sgs) != 1 || sgs[0].StringValue() != "lab-sg_id" {
		t.Errorf("instance security groups %v, want only the lab's", sgs)
	}
	if !prop(t, inst.Inputs, "instanceMarketOptions").IsNull() {
		t.Error("default stack asks for spot")
	}
	if ud := prop(t, inst.Inputs, "userData").StringValue(); !strings.Contains(ud, "ena-lab-ttl init 4\n") {
		t.Errorf("user data does not start the 4 h safety TTL:\n%s", ud)
	}
	ignored := inst.RPC.GetIgnoreChanges()
	sort.Strings(ignored)
	if strings.Join(ignored, ",") != "ami,userData" {
		t.Errorf("instance ignores changes to %v; a new AMI release or TTL edit would replace the lab", ignored)
	}
}

func TestExplicitAmiAndArchitectureAndSpot(t *testing.T) {
	m, _ := mustRun(t, "dev", with(map[string]string{"amiId": "ami-0123456789abcdef0", "spot": "true", "ttlHours": "2"}))
	inst := m.one(t, "aws:ec2/instance:Instance")
	if got := prop(t, inst.Inputs, "ami").StringValue(); got != "ami-0123456789abcdef0" {
		t.Errorf("amiId override ignored: %s", got)
	}
	for _, ig := range inst.RPC.GetIgnoreChanges() {
		if ig == "ami" {
			t.Error("an explicit amiId must replace the instance when changed, but ami changes are ignored")
		}
	}
	if got := prop(t, inst.Inputs, "instanceMarketOptions.marketType").StringValue(); got != "spot" {
		t.Errorf("spot=true gives market type %q", got)
	}
	if got := prop(t, inst.Inputs, "instanceMarketOptions.spotOptions.instanceInterruptionBehavior").StringValue(); got != "terminate" {
		t.Errorf("spot interruption behaviour %q, want terminate", got)
	}
	if ud := prop(t, inst.Inputs, "userData").StringValue(); !strings.Contains(ud, "ena-lab-ttl init 2\n") {
		t.Error("ttlHours=2 not in user data")
	}
	for _, c := range m.calls {
		if c.Token == "aws:ssm/getParameter:getParameter" {
			t.Error("an explicit amiId must not look up SSM")
		}
	}

	m, _ = mustRun(t, "dev", with(map[string]string{"instanceType": "c6g.large"}))
	inst = m.one(t, "aws:ec2/instance:Instance")
	if got := prop(t, inst.Inputs, "ami").StringValue(); got != "ami-0bbbbbbbbbbbbbbbb" {
		t.Errorf("arm64 type boots %s, want the arm64 AL2023 AMI", got)
	}
	asked := amiParameterAsked(m)
	if asked != "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-arm64" {
		t.Errorf("AMI parameter %q, want the AL2023 kernel-6.1 arm64 one", asked)
	}
}

func TestSecurityGroupKeepsSSHNarrow(t *testing.T) {
	m, _ := mustRun(t, "dev", base)
	sg := m.one(t, "aws:ec2/securityGroup:SecurityGroup")
	ingress := prop(t, sg.Inputs, "ingress").ArrayValue()
	var ssh, self int
	for _, r := range ingress {
		o := r.ObjectValue()
		cidrs := o["cidrBlocks"]
		if cidrs.IsArray() {
			for _, c := range cidrs.ArrayValue() {
				if c.StringValue() == "0.0.0.0/0" {
					t.Errorf("ingress open to the world: %v", o)
				}
			}
		}
		if o["fromPort"].NumberValue() == 22 && o["toPort"].NumberValue() == 22 {
			ssh++
			if got := cidrs.ArrayValue(); len(got) != 1 || got[0].StringValue() != "198.51.100.7/32" {
				t.Errorf("SSH allowed from %v, want only 198.51.100.7/32", got)
			}
		}
		if o["self"].IsBool() && o["self"].BoolValue() && o["protocol"].StringValue() == "-1" {
			self++
		}
	}
	if ssh != 1 || self != 1 || len(ingress) != 2 {
		t.Errorf("want exactly one SSH rule and one all-traffic self rule, got %d rules: %v", len(ingress), ingress)
	}
	egress := prop(t, sg.Inputs, "egress").ArrayValue()
	if len(egress) != 1 || egress[0].ObjectValue()["protocol"].StringValue() != "-1" {
		t.Errorf("egress must be declared explicitly (the provider drops the default): %v", egress)
	}
	if got := prop(t, sg.Inputs, "vpcId").StringValue(); got != "lab-vpc_id" {
		t.Errorf("security group in VPC %s", got)
	}
}

func TestSSHCidrAutoDetectsTheCaller(t *testing.T) {
	old := detectPublicIP
	defer func() { detectPublicIP = old }()

	detectPublicIP = func() (netip.Addr, error) { return netip.MustParseAddr("203.0.113.44"), nil }
	m, _ := mustRun(t, "dev", nil) // sshCidr unset: the default is auto
	sg := m.one(t, "aws:ec2/securityGroup:SecurityGroup")
	got := prop(t, sg.Inputs, "ingress").ArrayValue()[0].ObjectValue()["cidrBlocks"].ArrayValue()[0].StringValue()
	if got != "203.0.113.44/32" {
		t.Errorf("auto sshCidr gave %s, want the detected 203.0.113.44/32", got)
	}

	detectPublicIP = func() (netip.Addr, error) { return netip.Addr{}, errors.New("no route to checkip") }
	_, _, err := run(t, "dev", nil)
	if err == nil || !strings.Contains(err.Error(), "sshCidr") || !strings.Contains(err.Error(), "no route to checkip") ||
		!strings.Contains(err.Error(), "set it explicitly") {
		t.Errorf("failed detection must say which key, why, and what to do; got %v", err)
	}
}

func TestSSHFromAnywhereNeedsExplicitConsent(t *testing.T) {
	_, _, err := run(t, "dev", map[string]string{"sshCidr": "0.0.0.0/0"})
	if err == nil || !strings.Contains(err.Error(), "allowSshFromAnywhere") {
		t.Fatalf("0.0.0.0/0 without consent must fail naming allowSshFromAnywhere, got %v", err)
	}
	m, _ := mustRun(t, "dev", map[string]string{"sshCidr": "0.0.0.0/0", "allowSshFromAnywhere": "true"})
	sg := m.one(t, "aws:ec2/securityGroup:SecurityGroup")
	if got := prop(t, sg.Inputs, "ingress").ArrayValue()[0].ObjectValue()["cidrBlocks"].ArrayValue()[0].StringValue(); got != "0.0.0.0/0" {
		t.Errorf("with consent, SSH CIDR %s", got)
	}
}

func TestSecondaryENIIsAttachedAtIndexOneOfTheLabInstance(t *testing.T) {
	m, outs := mustRun(t, "dev", base)
	eni := m.one(t, "aws:ec2/networkInterface:NetworkInterface")
	if got := prop(t, eni.Inputs, "subnetId").StringValue(); got != "lab-subnet_id" {
		t.Errorf("ENI in subnet %s", got)
	}
	if sgs := prop(t, eni.Inputs, "securityGroups").ArrayValue(); len(sgs) != 1 || sgs[0].StringValue() != "lab-sg_id" {
		t.Errorf("ENI security groups %v, want the lab's (validation traffic flows between members)", sgs)
	}
	att := m.one(t, "aws:ec2/networkInterfaceAttachment:NetworkInterfaceAttachment")
	if prop(t, att.Inputs, "instanceId").StringValue() != "lab-instance_id" ||
		prop(t, att.Inputs, "networkInterfaceId").StringValue() != "lab-eni_id" ||
		prop(t, att.Inputs, "deviceIndex").NumberValue() != 1 {
		t.Errorf("attachment does not tie lab-eni to lab-instance at index 1: %v", att.Inputs)
	}
	sec := outs["secondaryEni"].(map[string]interface{})
	if sec["mac"] != "0a:1b:2c:3d:4e:5f" || sec["privateIp"] != "10.42.0.20" || fmt.Sprint(sec["id"]) != "lab-eni_id" {
		t.Errorf("secondaryEni output %v", sec)
	}
}

func TestEveryRemoteStepWaitsForReadinessAndGoesWithTheInstance(t *testing.T) {
	m, _ := mustRun(t, "dev", base)
	cmds := m.byType("command:remote:Command")
	var ready registered
	for _, c := range cmds {
		if c.Name == "ready" {
			ready = c
		}
	}
	if ready.RPC == nil {
		t.Fatal("no readiness step")
	}
	if !hasSuffix(ready.RPC.GetDependencies(), "::lab-eni-attachment") {
		t.Errorf("readiness does not wait for the ENI attachment: %v", ready.RPC.GetDependencies())
	}
	if got := prop(t, ready.Inputs, "connection.dialErrorLimit").NumberValue(); got != -1 {
		t.Errorf("readiness gives up after %v dial errors; a booting host needs unlimited, bounded by the timeout", got)
	}
	if ready.RPC.GetCustomTimeouts().GetCreate() == "" {
		t.Error("readiness has no overall create timeout")
	}
	for _, c := range cmds {
		if !strings.HasSuffix(c.RPC.GetDeletedWith(), "::lab-instance") {
			t.Errorf("step %s is not DeletedWith the instance (%q): destroy could hang on a dead host", c.Name, c.RPC.GetDeletedWith())
		}
		if c.Name != "ready" && !hasSuffix(c.RPC.GetDependencies(), "$command:remote:Command::ready") {
			t.Errorf("step %s does not depend on readiness: %v", c.Name, c.RPC.GetDependencies())
		}
		if prop(t, c.Inputs, "addPreviousOutputInEnv").BoolValue() {
			t.Errorf("step %s passes previous output through SSH setenv", c.Name)
		}
		if !prop(t, c.Inputs, "environment").IsNull() {
			t.Errorf("step %s uses SSH setenv for its inputs", c.Name)
		}
		if got := prop(t, c.Inputs, "connection.user").StringValue(); got != "ec2-user" {
			t.Errorf("step %s logs in as %q", c.Name, got)
		}
		if got := prop(t, c.Inputs, "connection.host").StringValue(); got != "198.51.100.10" {
			t.Errorf("step %s dials %q, not the instance's public IP", c.Name, got)
		}
		stdin := prop(t, c.Inputs, "stdin").StringValue()
		if !strings.Contains(stdin, "timeout --kill-after=30 ") {
			t.Errorf("step %s has no remote timeout", c.Name)
		}
		if tr := prop(t, c.Inputs, "triggers").ArrayValue(); len(tr) < 1 || len(tr[0].StringValue()) != 64 {
			t.Errorf("step %s triggers %v, want the sha256 of its program first", c.Name, tr)
		}
		if c.RPC.GetParent() == "" || !strings.Contains(c.RPC.GetParent(), "enalab:remote:Runner") {
			t.Errorf("step %s is not grouped under the remote Runner component", c.Name)
		}
	}
}

func TestAwsResourcesGoThroughTheTaggedProvider(t *testing.T) {
	m, _ := mustRun(t, "alice", base)
	p := m.one(t, "pulumi:providers:aws")
	tags := prop(t, p.Inputs, "defaultTags.tags").ObjectValue()
	if tags["Project"].StringValue() != "ena-lab" || tags["Stack"].StringValue() != "alice" || tags["ManagedBy"].StringValue() != "pulumi" {
		t.Errorf("provider default tags %v", tags)
	}
	for _, r := range m.resources {
		if strings.HasPrefix(r.Type, "aws:") && !strings.Contains(r.RPC.GetProvider(), "pulumi:providers:aws::aws::") {
			t.Errorf("%s %s does not use the tagged provider (%q)", r.Type, r.Name, r.RPC.GetProvider())
		}
	}
	for _, c := range m.calls {
		if strings.HasPrefix(c.Token, "aws:") && !strings.Contains(c.Provider, "pulumi:providers:aws::aws::") {
			t.Errorf("invoke %s does not use the lab provider (%q)", c.Token, c.Provider)
		}
	}
}

// awsNames collects every name a stack puts into the AWS account.
func awsNames(t *testing.T, m *labMocks) []string {
	var names []string
	for _, r := range m.resources {
		if !strings.HasPrefix(r.Type, "aws:") {
			continue
		}
		for _, k := range []string{"keyNamePrefix", "namePrefix", "keyName", "name"} {
			if v, ok := r.Inputs[resource.PropertyKey(k)]; ok && v.IsString() {
				names = append(names, v.StringValue())
			}
		}
		if tags, ok := r.Inputs["tags"]; ok && tags.IsObject() {
			if n, ok := tags.ObjectValue()["Name"]; ok {
				names = append(names, n.StringValue())
			}
		}
	}
	return names
}

func TestTwoStacksNeverCollide(t *testing.T) {
	alice, _ := mustRun(t, "alice", base)
	bob, _ := mustRun(t, "bob", base)
	a, b := awsNames(t, alice), awsNames(t, bob)
	if len(a) < 8 {
		t.Fatalf("expected names on every named resource, got %v", a)
	}
	seen := map[string]bool{}
	for _, n := range a {
		seen[n] = true
		if !strings.Contains(n, "alice") {
			t.Errorf("name %q of stack alice does not carry the stack", n)
		}
	}
	for _, n := range b {
		if seen[n] {
			t.Errorf("stacks alice and bob both use the name %q", n)
		}
	}
}

func TestUnfitInstanceTypesFailBeforeAnythingIsCreated(t *testing.T) {
	cases := map[string]string{
		"m4.large":    "hypervisor is xen",
		"z9.noena":    "ENA support is \"unsupported\"",
		"t3.single":   "1 network interface",
		"mac2.metal":  "Amazon Linux 2023 runs on",
		"c6i.nozones": "not offered in any standard availability zone",
		"q1.nosuch":   "lookup failed",
	}
	for typ, why := range cases {
		t.Run(typ, func(t *testing.T) {
			m, _, err := run(t, "dev", with(map[string]string{"instanceType": typ}))
			if err == nil {
				t.Fatalf("instance type %s accepted", typ)
			}
			if !strings.Contains(err.Error(), typ) || !strings.Contains(err.Error(), why) {
				t.Errorf("error must name %s and say %q; got %v", typ, why, err)
			}
			for _, r := range m.resources {
				if strings.HasPrefix(r.Type, "aws:") || strings.HasPrefix(r.Type, "command:") {
					t.Errorf("%s %s was declared although the type is unfit", r.Type, r.Name)
				}
			}
		})
	}
	m, _ := mustRun(t, "dev", with(map[string]string{"instanceType": "c5.metal"}))
	if len(m.byType("aws:ec2/instance:Instance")) != 1 {
		t.Error("bare metal (no hypervisor) must be accepted")
	}
}

func TestInvalidConfigIsRefusedWithKeyAndValue(t *testing.T) {
	cases := []struct{ key, value string }{
		{"vpcCidr", "10.42.0.0/33"},
		{"vpcCidr", "8.8.0.0/16"},
		{"vpcCidr", "10.42.0.1/16"},
		{"vpcCidr", "10.0.0.0/8"},
		{"sshCidr", "my-laptop"},
		{"sshCidr", "2001:db8::/32"},
		{"ttlHours", "0"},
		{"ttlHours", "four"},
		{"ttlHours", "1000"},
		{"spot", "yes please"},
		{"allowSshFromAnywhere", "maybe"},
		{"instanceType", "C6I LARGE"},
		{"amiId", "ami-xyz"},
		{"driverVersion", "9.9.9"},
		{"minThroughputRatio", "-1"},
		{"minThroughputRatio", "fast"},
		{"iperfSeconds", "0"},
		{"iperfSeconds", "61"},
		{"iperfSeconds", "2.5"},
		{"runs", "1"},
		{"latencySeconds", "61"},
		{"measurements", "jitter"},
		{"thorough", "twice"},
		{"rustDriver", "sometimes"},
		{"driverParams", "rx_queue_size"},
		{"driverRepo", "ftp://example.com/amzn-drivers"},
		{"driverRepo", "https://example.com/x y"},
		{"driverRepo", "git@github.com:alice/amzn-drivers.git"},
		{"driverCommit", "296d60c4"},
		{"driverCommit", "HEAD"},
	}
	for _, c := range cases {
		t.Run(c.key+"="+c.value, func(t *testing.T) {
			_, _, err := run(t, "dev", with(map[string]string{c.key: c.value}))
			if err == nil {
				t.Fatalf("%s=%q accepted", c.key, c.value)
			}
			if !strings.Contains(err.Error(), c.key) || !strings.Contains(err.Error(), c.value) {
				t.Errorf("error must name %s and %q: %v", c.key, c.value, err)
			}
		})
	}
}

func TestOutputs(t *testing.T) {
	_, outs, err := run(t, "alice", base)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(outs["instanceId"].Value) != "lab-instance_id" || outs["publicIp"].Value != "198.51.100.10" {
		t.Errorf("instanceId/publicIp outputs: %v %v", outs["instanceId"].Value, outs["publicIp"].Value)
	}
	ssh, _ := outs["sshCommand"].Value.(string)
	for _, want := range []string{"pulumi stack output -s alice --show-secrets privateKey", "umask 077", "ssh -i ~/.ssh/ena-lab-alice ec2-user@198.51.100.10"} {
		if !strings.Contains(ssh, want) {
			t.Errorf("sshCommand %q lacks %q", ssh, want)
		}
	}
	if !outs["privateKey"].Secret {
		t.Error("privateKey output is not a secret")
	}
	nitro, ok := outs["nitroCheck"].Value.(map[string]interface{})
	if !ok || nitro["ok"] != true || nitro["primaryDriver"] != "ena" {
		t.Errorf("nitroCheck output is not the step's parsed JSON: %#v", outs["nitroCheck"].Value)
	}
}

func TestNitroCheckWithoutJSONFailsTheUpdate(t *testing.T) {
	_, _, err := runWithStdout(t, "dev", base, map[string]string{"nitro-check": "sshd: something went wrong"})
	// (the other steps answer nothing: the nitro-check output fails first)
	if err == nil || !strings.Contains(err.Error(), "nitro-check") || !strings.Contains(err.Error(), "something went wrong") {
		t.Errorf("unparsable nitro-check output must fail naming the step and quoting it, got %v", err)
	}
}

func hasSuffix(list []string, suffix string) bool {
	for _, s := range list {
		if strings.HasSuffix(s, suffix) {
			return true
		}
	}
	return false
}

// remote.Runner was remote.Host: an existing stack's steps keep their URNs.
func TestTheRunnerAnswersToItsOldName(t *testing.T) {
	m, _ := mustRun(t, "dev", base)
	r := m.one(t, "enalab:remote:Runner")
	found := false
	for _, a := range r.RPC.GetAliases() {
		if spec := a.GetSpec(); spec != nil && spec.GetType() == "enalab:remote:Host" {
			found = true
		}
	}
	if !found {
		t.Errorf("the runner has no alias to enalab:remote:Host: every step of an existing stack would be replaced (%v)", r.RPC.GetAliases())
	}
}

func TestDebian12IsAHostDistributionToo(t *testing.T) {
	m, outs := mustRun(t, "dev", with(map[string]string{"distro": "debian-12"}))
	asked := amiParameterAsked(m)
	if asked != "/aws/service/debian/release/12/latest/amd64" {
		t.Errorf("debian-12 on x86_64 asks SSM for %q, want Debian's own amd64 parameter", asked)
	}
	for _, c := range m.byType("command:remote:Command") {
		if got := prop(t, c.Inputs, "connection.user").StringValue(); got != "admin" {
			t.Errorf("step %s logs in as %q; Debian's AMIs log in as admin", c.Name, got)
		}
	}
	if !strings.Contains(stdin(t, m, "prereqs"), "ENA_LAB_DISTRO='debian-12'") {
		t.Error("prereqs is not told the host runs Debian 12")
	}
	if ssh, _ := outs["sshCommand"].(string); !strings.Contains(ssh, "ssh -i ~/.ssh/ena-lab-dev admin@") || outs["sshUser"] != "admin" {
		t.Errorf("sshCommand %q, sshUser %v: want the admin user", ssh, outs["sshUser"])
	}
	al, _ := mustRun(t, "dev", base)
	a := al.one(t, "aws:ec2/instance:Instance").RPC.GetReplacementTrigger().GetStringValue()
	d := m.one(t, "aws:ec2/instance:Instance").RPC.GetReplacementTrigger().GetStringValue()
	if a == d {
		t.Error("a new distro leaves the instance (its AMI change is ignored): it must replace it")
	}
	_, _, err := run(t, "dev", with(map[string]string{"distro": "ubuntu"}))
	if err == nil || !strings.Contains(err.Error(), `distro="ubuntu"`) || !strings.Contains(err.Error(), "al2023, debian-12") {
		t.Errorf("an unknown distro must be refused naming the known ones: %v", err)
	}
}

func TestKernel612IsAChoiceOnAL2023(t *testing.T) {
	m, _ := mustRun(t, "dev", with(map[string]string{"kernel": "6.12"}))
	asked := amiParameterAsked(m)
	if asked != "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.12-x86_64" {
		t.Errorf("kernel 6.12 asks SSM for %q, want AL2023's kernel-6.12 parameter", asked)
	}
	for _, step := range []string{"nitro-check", "prereqs"} {
		if !strings.Contains(stdin(t, m, step), "ENA_LAB_KERNEL_SERIES='6.12'") {
			t.Errorf("%s is not told the stack's kernel series", step)
		}
	}
	def, _ := mustRun(t, "dev", base)
	if !strings.Contains(stdin(t, def, "nitro-check"), "ENA_LAB_KERNEL_SERIES='6.1'") {
		t.Error("by default the Nitro check accepts 6.1 only")
	}
	a := def.one(t, "aws:ec2/instance:Instance").RPC.GetReplacementTrigger().GetStringValue()
	b := m.one(t, "aws:ec2/instance:Instance").RPC.GetReplacementTrigger().GetStringValue()
	if a == b {
		t.Error("a new kernel series leaves the instance (its AMI change is ignored): it must replace it")
	}
	for _, c := range []struct {
		cfg  map[string]string
		want string
	}{
		{map[string]string{"kernel": "6.6"}, "expected 6.1 or 6.12"},
		{map[string]string{"kernel": "6.12", "distro": "debian-12"}, "debian-12 AMIs run kernel [6.1], not 6.12"},
	} {
		_, _, err := run(t, "dev", with(c.cfg))
		if err == nil || !strings.Contains(err.Error(), "kernel") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: want a refusal saying %q, got %v", c.cfg, c.want, err)
		}
	}
}

// amiParameterAsked is the SSM parameter the program looked the AMI up in.
func amiParameterAsked(m *labMocks) string {
	var asked string
	for _, c := range m.calls {
		if c.Token == "aws:ssm/getParameter:getParameter" {
			asked = c.Args["name"].StringValue()
		}
	}
	return asked
}
