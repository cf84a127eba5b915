package standin

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
)

// InstanceType is what EC2's DescribeInstanceTypes says of a type.
type InstanceType struct {
	Hypervisor    string // nitro, or "" on bare metal
	BareMetal     bool
	EnaSupport    string // required, supported, unsupported
	MaxInterfaces int
	Architectures []string
}

// Twin is the EC2 the aws stand-in answers with: the instance it "launches"
// is a machine of the test's (its addresses are the twin's), in zones of a
// region of the test's.
type Twin struct {
	PublicIP, PrivateIP       string // the primary ENI: where the steps dial, the iperf3 server
	SecondaryMAC, SecondaryIP string // the secondary ENI
	// Zones are the region's standard availability zones; LocalZones are
	// offered for a type too (DescribeInstanceTypeOfferings lists them as
	// availability-zone locations) but are not standard zones.
	Zones, LocalZones []string
	Types             map[string]InstanceType
	// AMIs: the public SSM parameters EC2 publishes AMIs under, by name;
	// any other name is ParameterNotFound.
	AMIs map[string]string
	// Machine, when set, runs each instance created (a VM the addresses
	// above reach) and powers it off when the instance goes.
	Machine Machine
}

// Machine runs instances: what EC2 does on RunInstances and on
// TerminateInstances.
type Machine interface {
	Launch(Launch) error
	PowerOff(instanceID string) error
}

// Launch is what an instance boots with, as RunInstances gives it.
type Launch struct {
	InstanceID, Type, AMI string
	KeyName, PublicKey    string // the key pair's, for IMDS public-keys
	UserData              string // as given (cloud-init runs it at first boot)
}

// AWS is the aws stand-in, pulumi-aws v6.83.4 as far as the lab uses it.
type AWS struct {
	*Server
	twin    Twin
	ids     counter
	mu      sync.Mutex
	running map[string]bool   // instance ids EC2 lists as running
	keys    map[string]string // key pair name -> public key
	offered []string          // zones offering the types, in EC2's order
	// Launched: the inputs of every instance created, in order.
	Launched []resource.PropertyMap
	// attachedTo: attachment id -> instance id; termination detaches.
	attachedTo map[string]string
}

// NewAWS serves EC2 and SSM as the twin answers them.
func NewAWS(t Twin) *AWS {
	a := &AWS{Server: newServer("aws", "6.83.4"), twin: t, running: map[string]bool{}, keys: map[string]string{},
		attachedTo: map[string]string{}}
	a.offered = append(append([]string(nil), t.LocalZones...), t.Zones...)
	id := func(prefix string) func(resource.PropertyMap) (string, resource.PropertyMap, error) {
		return func(resource.PropertyMap) (string, resource.PropertyMap, error) { return a.ids.id(prefix), nil, nil }
	}
	// forceNew: the properties terraform-provider-aws marks ForceNew in each
	// resource's schema (internal/service/ec2/*.go); the rest update in place.
	a.kinds["aws:ec2/vpc:Vpc"] = kind{forceNew: []string{"cidrBlock"}, create: id("vpc")}
	// vpc_id is updatable: a new VPC means detach and attach.
	a.kinds["aws:ec2/internetGateway:InternetGateway"] = kind{create: id("igw")}
	a.kinds["aws:ec2/subnet:Subnet"] = kind{forceNew: []string{"availabilityZone", "cidrBlock", "vpcId"}, create: id("subnet")}
	a.kinds["aws:ec2/routeTable:RouteTable"] = kind{forceNew: []string{"vpcId"}, create: id("rtb")}
	a.kinds["aws:ec2/route:Route"] = kind{forceNew: []string{"destinationCidrBlock", "routeTableId"}, create: id("r")}
	a.kinds["aws:ec2/routeTableAssociation:RouteTableAssociation"] = kind{forceNew: []string{"subnetId"}, create: id("rtbassoc")}
	a.kinds["aws:ec2/securityGroup:SecurityGroup"] = kind{forceNew: []string{"description", "name", "namePrefix", "vpcId"},
		create: func(in resource.PropertyMap) (string, resource.PropertyMap, error) {
			return a.ids.id("sg"), props(map[string]interface{}{"name": str(in, "namePrefix") + "0001"}), nil
		}}
	a.kinds["aws:ec2/keyPair:KeyPair"] = kind{forceNew: []string{"keyName", "keyNamePrefix", "publicKey"},
		create: func(in resource.PropertyMap) (string, resource.PropertyMap, error) {
			name := str(in, "keyNamePrefix") + "0001"
			a.mu.Lock()
			a.keys[name] = str(in, "publicKey")
			a.mu.Unlock()
			return name, props(map[string]interface{}{"keyName": name}), nil
		}}
	a.kinds["aws:ec2/networkInterface:NetworkInterface"] = kind{forceNew: []string{"subnetId"},
		create: func(resource.PropertyMap) (string, resource.PropertyMap, error) {
			return a.ids.id("eni"), props(map[string]interface{}{"macAddress": t.SecondaryMAC, "privateIp": t.SecondaryIP}), nil
		}}
	// Every field of an attachment forces a new one.
	a.kinds["aws:ec2/networkInterfaceAttachment:NetworkInterfaceAttachment"] = kind{
		forceNew: []string{"deviceIndex", "instanceId", "networkInterfaceId"},
		create: func(in resource.PropertyMap) (string, resource.PropertyMap, error) {
			id := a.ids.id("eni-attach")
			a.mu.Lock()
			a.attachedTo[id] = str(in, "instanceId")
			a.mu.Unlock()
			return id, nil, nil
		}}
	a.kinds["aws:ec2/instance:Instance"] = kind{
		forceNew: []string{"ami", "associatePublicIpAddress", "availabilityZone", "instanceMarketOptions", "keyName", "subnetId"},
		// instance_market_options is optional + computed: spot -> on-demand
		// (the block left out) shows no change at all.
		keepWhenOmitted: []string{"instanceMarketOptions"},
		create: func(in resource.PropertyMap) (string, resource.PropertyMap, error) {
			id := a.ids.id("i")
			a.mu.Lock()
			key := a.keys[str(in, "keyName")]
			a.mu.Unlock()
			if t.Machine != nil {
				l := Launch{InstanceID: id, Type: str(in, "instanceType"), AMI: str(in, "ami"), KeyName: str(in, "keyName"), PublicKey: key,
					UserData: str(in, "userData")}
				if err := t.Machine.Launch(l); err != nil {
					return "", nil, fmt.Errorf("launching %s: %w", id, err)
				}
			}
			a.mu.Lock()
			a.running[id] = true
			a.Launched = append(a.Launched, in)
			a.mu.Unlock()
			return id, props(map[string]interface{}{"publicIp": t.PublicIP, "privateIp": t.PrivateIP, "instanceState": "running"}), nil
		}}
	a.invokes["aws:ec2/getInstanceType:getInstanceType"] = a.instanceType
	a.invokes["aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings"] = a.offerings
	a.invokes["aws:index/getAvailabilityZones:getAvailabilityZones"] = a.availabilityZones
	a.invokes["aws:ssm/getParameter:getParameter"] = func(args resource.PropertyMap) (resource.PropertyMap, error) {
		name := str(args, "name")
		ami, ok := t.AMIs[name]
		if !ok {
			return nil, fmt.Errorf("ParameterNotFound: %s", name)
		}
		return props(map[string]interface{}{"id": name, "name": name, "type": "String",
			"value": ami, "insecureValue": ami, "version": 1}), nil
	}
	a.invokes["aws:ec2/getInstances:getInstances"] = a.instances
	a.serveAs(a)
	return a
}

// availabilityZones: DescribeAvailabilityZones lists the Local Zones an
// account opted into beside the standard ones, unless filtered by zone type.
func (a *AWS) availabilityZones(args resource.PropertyMap) (resource.PropertyMap, error) {
	names := append(append([]string(nil), a.twin.Zones...), a.twin.LocalZones...)
	if f := args["filters"]; f.IsArray() {
		for _, e := range f.ArrayValue() {
			o := e.ObjectValue()
			if o["name"].StringValue() == "zone-type" && len(o["values"].ArrayValue()) == 1 &&
				o["values"].ArrayValue()[0].StringValue() == "availability-zone" {
				names = append([]string(nil), a.twin.Zones...)
			}
		}
	}
	return props(map[string]interface{}{"id": "region", "names": names}), nil
}

// Delete: a deleted instance is no longer listed, and its machine is off.
func (a *AWS) Delete(ctx context.Context, r *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	a.mu.Lock()
	_, instance := a.running[r.GetId()]
	a.mu.Unlock()
	if instance && a.twin.Machine != nil {
		if err := a.twin.Machine.PowerOff(r.GetId()); err != nil {
			return nil, fmt.Errorf("terminating %s: %w", r.GetId(), err)
		}
	}
	a.mu.Lock()
	delete(a.running, r.GetId())
	delete(a.attachedTo, r.GetId())
	a.mu.Unlock()
	return a.Server.Delete(ctx, r)
}

func (a *AWS) instanceType(args resource.PropertyMap) (resource.PropertyMap, error) {
	name := str(args, "instanceType")
	it, ok := a.twin.Types[name]
	if !ok {
		return nil, fmt.Errorf("InvalidInstanceType: The following supplied instance types do not exist: [%s]", name)
	}
	return props(map[string]interface{}{"id": name, "instanceType": name, "hypervisor": it.Hypervisor,
		"bareMetal": it.BareMetal, "enaSupport": it.EnaSupport, "maximumNetworkInterfaces": it.MaxInterfaces,
		"supportedArchitectures": it.Architectures}), nil
}

func (a *AWS) offerings(args resource.PropertyMap) (resource.PropertyMap, error) {
	a.mu.Lock()
	zones := append([]string(nil), a.offered...)
	a.mu.Unlock()
	return props(map[string]interface{}{"id": "offerings", "locations": zones}), nil
}

func (a *AWS) instances(args resource.PropertyMap) (resource.PropertyMap, error) {
	var want []string
	if f := args["filters"]; f.IsArray() {
		for _, e := range f.ArrayValue() {
			o := e.ObjectValue()
			if o["name"].StringValue() == "instance-id" {
				for _, v := range o["values"].ArrayValue() {
					want = append(want, v.StringValue())
				}
			}
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ids := []string{}
	for _, id := range want {
		if a.running[id] {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return props(map[string]interface{}{"id": "instances", "ids": ids}), nil
}

// Terminate is EC2 terminating an instance behind the engine's back (the
// safety TTL, a spot interruption): it is no longer listed, and a refresh
// finds it gone.
func (a *AWS) Terminate(id string) {
	a.mu.Lock()
	delete(a.running, id)
	var detached []string
	for att, inst := range a.attachedTo {
		if inst == id {
			detached = append(detached, att) // termination detaches its ENIs
		}
	}
	a.mu.Unlock()
	a.Server.mu.Lock()
	a.Server.gone[id] = true
	for _, att := range detached {
		a.Server.gone[att] = true
	}
	a.Server.mu.Unlock()
}

// Offer sets the zones EC2 offers the types in from now on (capacity
// comes and goes; new zones open).
func (a *AWS) Offer(zones ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.offered = append([]string(nil), zones...)
}
