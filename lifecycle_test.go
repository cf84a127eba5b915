package main

import (
	"strings"
	"testing"
)

// What a change of the stack does to a lab that already runs: each of these
// failed on a real account before the resource options said otherwise.

func TestTheSecondaryENIIsDetachedBeforeItIsAttachedElsewhere(t *testing.T) {
	m, _ := mustRun(t, "dev", base)
	att := m.one(t, "aws:ec2/networkInterfaceAttachment:NetworkInterfaceAttachment")
	if !att.RPC.GetDeleteBeforeReplace() {
		t.Error("a replaced instance gets a new attachment while the ENI is still attached to the old one: DeleteBeforeReplace is off")
	}
	if !strings.HasSuffix(att.RPC.GetDeletedWith(), "::lab-instance") {
		t.Errorf("destroy detaches the ENI under a running ena_custom; the attachment must go with the instance (DeletedWith %q)", att.RPC.GetDeletedWith())
	}
	inst := m.one(t, "aws:ec2/instance:Instance")
	if !hasSuffix(inst.RPC.GetDependencies(), "::lab-eni") {
		t.Errorf("the instance must depend on the ENI, so that destroy terminates it before deleting the ENI: %v", inst.RPC.GetDependencies())
	}
}

func TestATypeOrMarketChangeReplacesTheInstance(t *testing.T) {
	key := func(cfg map[string]string) string {
		m, _ := mustRun(t, "dev", with(cfg))
		trig := m.one(t, "aws:ec2/instance:Instance").RPC.GetReplacementTrigger()
		if trig == nil {
			t.Fatal("the instance has no replacement trigger: a type or market change would stop/modify/start it in place")
		}
		return trig.GetStringValue()
	}
	onDemand, spot, arm := key(nil), key(map[string]string{"spot": "true"}), key(map[string]string{"instanceType": "c6g.large"})
	if onDemand == spot {
		t.Error("spot true -> false changes nothing EC2 diffs (optional + computed market options): the trigger must differ")
	}
	if onDemand == arm {
		t.Error("a new instance type must replace the lab, not stop/modify/start it")
	}
	if unrelated := key(map[string]string{"ttlHours": "8", "driverVersion": "2.17.0"}); unrelated != onDemand {
		t.Errorf("ttlHours or the driver must not replace the instance: %q vs %q", unrelated, onDemand)
	}
}

func TestTheZoneIsAStandardOneChosenOnce(t *testing.T) {
	m, _ := mustRun(t, "dev", base)
	subnet := m.one(t, "aws:ec2/subnet:Subnet")
	if got := prop(t, subnet.Inputs, "availabilityZone").StringValue(); got != "eu-west-1a" {
		t.Errorf("subnet in %s: the Local Zone sorts first but a lab belongs in a standard zone (eu-west-1a)", got)
	}
	if !contains(subnet.RPC.GetIgnoreChanges(), "availabilityZone") {
		t.Error("the zone is re-chosen on every run: when the offering changes, the subnet is replaced with the same CIDR and AWS refuses")
	}
	// A lab created in eu-west-1b keeps it; a type not offered there is refused, naming both.
	_, _, err := runOn(t, &labMocks{pinnedZone: "eu-west-1b"}, "dev", base)
	if err == nil || !strings.Contains(err.Error(), "c6i.large is not offered in eu-west-1b") {
		t.Errorf("a type not offered in the lab's zone must be refused naming the type and the zone, got %v", err)
	}
	m, _, err = runOn(t, &labMocks{pinnedZone: "eu-west-1c"}, "dev", base)
	if err != nil {
		t.Fatalf("the lab's own zone, offered, must pass: %v", err)
	}
	if got := prop(t, m.one(t, "aws:ec2/instance:Instance").Inputs, "availabilityZone").StringValue(); got != "eu-west-1c" {
		t.Errorf("instance placed in %s, not in its subnet's zone eu-west-1c", got)
	}
}

func TestANewVPCGetsANewGatewayThatOutlivesTheHost(t *testing.T) {
	m, _ := mustRun(t, "dev", base)
	igw := m.one(t, "aws:ec2/internetGateway:InternetGateway")
	if !contains(igw.RPC.GetReplaceOnChanges(), "vpcId") {
		t.Error("a vpcCidr change moves the gateway in place: AWS refuses the detach while the old instance has a public IP")
	}
	inst := m.one(t, "aws:ec2/instance:Instance")
	if !hasSuffix(inst.RPC.GetDependencies(), "::lab-default-route") {
		t.Errorf("the instance must depend on the default route (so the gateway is deleted after it): %v", inst.RPC.GetDependencies())
	}
}

func TestAHostThatIsGoneFailsBeforeAnyStepDialsIt(t *testing.T) {
	m, _, err := runOn(t, &labMocks{hostGone: true}, "dev", base)
	if err == nil {
		t.Fatal("a terminated host was accepted: the steps would dial it for minutes")
	}
	for _, want := range []string{"lab-instance_id is not running", "make recover", "then `make up`"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error must say %q: %v", want, err)
		}
	}
	if n := len(m.byType("command:remote:Command")); n != 0 {
		t.Errorf("%d host steps were registered against a host that is gone", n)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
