package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"regexp"
	"sort"
	"strings"
)

// Instance is the instance IMDS describes; the twin writes it at launch.
type Instance struct {
	InstanceID       string      `json:"instanceId"`
	InstanceType     string      `json:"instanceType"`
	AMIID            string      `json:"amiId"`
	Region           string      `json:"region"`
	AvailabilityZone string      `json:"availabilityZone"`
	Hostname         string      `json:"hostname"`
	PublicKeys       []PublicKey `json:"publicKeys"`
	UserData         string      `json:"userData,omitempty"`
	Interfaces       []Interface `json:"interfaces"` // device 0 first: the primary
}

type PublicKey struct {
	Name    string `json:"name"`
	OpenSSH string `json:"openssh"`
}

// Interface is one ENI, as network/interfaces/macs/<mac>/ gives it.
type Interface struct {
	MAC              string   `json:"mac"`
	DeviceNumber     int      `json:"deviceNumber"`
	InterfaceID      string   `json:"interfaceId"`
	LocalIPv4s       []string `json:"localIpv4s"`
	SubnetID         string   `json:"subnetId"`
	SubnetCIDR       string   `json:"subnetCidr"`
	VPCID            string   `json:"vpcId"`
	VPCCIDRs         []string `json:"vpcCidrs"`
	SecurityGroupIDs []string `json:"securityGroupIds"`
}

var (
	idRe   = regexp.MustCompile(`^i-[0-9a-f]{8,17}$`)
	macRe  = regexp.MustCompile(`^[0-9a-f]{2}(:[0-9a-f]{2}){5}$`)
	typeRe = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9]+$`)
)

func load(path string) (*Instance, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var in Instance
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if err := in.check(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &in, nil
}

func (in *Instance) check() error {
	switch {
	case !idRe.MatchString(in.InstanceID):
		return fmt.Errorf("instanceId %q is not an instance id (i-<hex>)", in.InstanceID)
	case !typeRe.MatchString(in.InstanceType):
		return fmt.Errorf("instanceType %q is not an instance type", in.InstanceType)
	case len(in.Interfaces) == 0:
		return fmt.Errorf("no interfaces: an instance has at least its primary ENI")
	case len(in.PublicKeys) > 1:
		return fmt.Errorf("%d public keys: EC2 gives an instance at most one key pair", len(in.PublicKeys))
	}
	for i, e := range in.Interfaces {
		if e.DeviceNumber != i {
			return fmt.Errorf("interface %d has device number %d: list them in device order from 0", i, e.DeviceNumber)
		}
		if !macRe.MatchString(e.MAC) {
			return fmt.Errorf("interface %d: mac %q is not a lower-case MAC address", i, e.MAC)
		}
		if _, err := netip.ParsePrefix(e.SubnetCIDR); err != nil {
			return fmt.Errorf("interface %d: subnetCidr: %w", i, err)
		}
		if len(e.VPCCIDRs) == 0 {
			return fmt.Errorf("interface %d: no vpcCidrs", i)
		}
		if len(e.LocalIPv4s) == 0 || net.ParseIP(e.LocalIPv4s[0]) == nil {
			return fmt.Errorf("interface %d: localIpv4s %v has no primary address", i, e.LocalIPv4s)
		}
	}
	return nil
}

func (in *Instance) primary() Interface { return in.Interfaces[0] }

// simulatorConfig: the simulator's configuration file (its
// aemm-metadata-default-values.json keys) with this instance's values.
func (in *Instance) simulatorConfig() map[string]interface{} {
	p := in.primary()
	key := ""
	if len(in.PublicKeys) == 1 {
		key = in.PublicKeys[0].OpenSSH
	}
	return map[string]interface{}{
		"imdsv2": false, // the front requires tokens on every path
		"metadata": map[string]interface{}{"values": map[string]interface{}{
			"ami-id": in.AMIID, "instance-id": in.InstanceID, "instance-type": in.InstanceType,
			"hostname": in.Hostname, "local-hostname": in.Hostname, "local-ipv4": p.LocalIPv4s[0],
			"mac": p.MAC, "placement-availability-zone": in.AvailabilityZone, "placement-region": in.Region,
			"public-key": key, "instance-life-cycle": "on-demand", "public-ipv4": p.LocalIPv4s[0],
			"public-hostname": in.Hostname, "security-groups": strings.Join(p.SecurityGroupIDs, "\n"),
		}},
		"dynamic": map[string]interface{}{"values": map[string]interface{}{
			"instance-identity-document": map[string]interface{}{
				"accountId": "000000000000", "architecture": "x86_64", "availabilityZone": in.AvailabilityZone,
				"imageId": in.AMIID, "instanceId": in.InstanceID, "instanceType": in.InstanceType,
				"privateIp": p.LocalIPv4s[0], "region": in.Region, "version": "2017-09-30",
				"pendingTime": "2026-01-01T00:00:00Z",
			}}},
		"userdata": map[string]interface{}{"values": map[string]interface{}{
			"userdata": base64.StdEncoding.EncodeToString([]byte(in.UserData))}},
	}
}

// answer: the paths the front serves itself (below meta-data/), or false.
func (in *Instance) answer(rest string) (string, bool) {
	rest = strings.TrimSuffix(rest, "/")
	switch {
	case rest == "public-keys":
		if len(in.PublicKeys) == 0 {
			return "", false
		}
		return "0=" + in.PublicKeys[0].Name, true
	case rest == "public-keys/0" && len(in.PublicKeys) == 1:
		return "openssh-key", true
	case rest == "public-keys/0/openssh-key" && len(in.PublicKeys) == 1:
		return in.PublicKeys[0].OpenSSH + "\n", true
	case rest == "network":
		return "interfaces/", true
	case rest == "network/interfaces":
		return "macs/", true
	case rest == "network/interfaces/macs":
		var macs []string
		for _, e := range in.Interfaces {
			macs = append(macs, e.MAC+"/")
		}
		return strings.Join(macs, "\n"), true
	}
	mac, field, ok := strings.Cut(strings.TrimPrefix(rest, "network/interfaces/macs/"), "/")
	if !strings.HasPrefix(rest, "network/interfaces/macs/") {
		return "", false
	}
	for _, e := range in.Interfaces {
		if e.MAC != mac {
			continue
		}
		fields := e.fields(in.Hostname)
		if !ok || field == "" {
			var names []string
			for n := range fields {
				names = append(names, n)
			}
			sort.Strings(names)
			return strings.Join(names, "\n"), true
		}
		v, found := fields[field]
		return v, found
	}
	return "", false
}

// fields: what EC2 lists under network/interfaces/macs/<mac>/ for an ENI
// without public addresses or IPv6.
func (e Interface) fields(hostname string) map[string]string {
	return map[string]string{
		"device-number":          fmt.Sprint(e.DeviceNumber),
		"interface-id":           e.InterfaceID,
		"local-hostname":         hostname,
		"local-ipv4s":            strings.Join(e.LocalIPv4s, "\n"),
		"mac":                    e.MAC,
		"network-card-index":     "0",
		"owner-id":               "000000000000",
		"security-group-ids":     strings.Join(e.SecurityGroupIDs, "\n"),
		"subnet-id":              e.SubnetID,
		"subnet-ipv4-cidr-block": e.SubnetCIDR,
		"vpc-id":                 e.VPCID,
		"vpc-ipv4-cidr-block":    e.VPCCIDRs[0],
		"vpc-ipv4-cidr-blocks":   strings.Join(e.VPCCIDRs, "\n"),
	}
}
