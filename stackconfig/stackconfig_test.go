package stackconfig

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func getter(m map[string]string) Getter {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

var fixedIP = Hooks{DetectPublicIP: func() (netip.Addr, error) { return netip.MustParseAddr("198.51.100.9"), nil }}

func TestDefaultsParse(t *testing.T) {
	s, err := Parse(getter(nil), fixedIP)
	if err != nil {
		t.Fatal(err)
	}
	if s.InstanceType != "c6i.large" || s.TTLHours != 4 || s.DriverVersion != "2.15.0" || s.Spot ||
		s.MinThroughputRatio != 0.9 || s.AmiID != "" || len(s.DriverParams) != 0 || s.IperfSeconds != 10 {
		t.Errorf("defaults: %+v", s)
	}
	if s.SSHCidr.String() != "198.51.100.9/32" {
		t.Errorf("auto sshCidr: %s", s.SSHCidr)
	}
	if s.VpcCidr.String() != "10.42.0.0/16" || s.SubnetCidr.String() != "10.42.0.0/24" {
		t.Errorf("network: %s %s", s.VpcCidr, s.SubnetCidr)
	}
}

func TestBareAddressIsOneHost(t *testing.T) {
	s, err := Parse(getter(map[string]string{KeySSHCidr: "203.0.113.5"}), Hooks{})
	if err != nil || s.SSHCidr.String() != "203.0.113.5/32" {
		t.Errorf("bare address: %v %v", s.SSHCidr, err)
	}
}

func TestHostBitsSuggestTheNetwork(t *testing.T) {
	_, err := Parse(getter(map[string]string{KeySSHCidr: "203.0.113.5/24"}), Hooks{})
	if err == nil || !strings.Contains(err.Error(), "did you mean 203.0.113.0/24") {
		t.Errorf("got %v", err)
	}
}

func TestSubnetOf(t *testing.T) {
	for vpc, want := range map[string]string{
		"10.42.0.0/16":   "10.42.0.0/24",
		"172.16.8.0/22":  "172.16.8.0/24",
		"192.168.5.0/24": "192.168.5.0/24",
		"10.1.2.16/28":   "10.1.2.16/28",
	} {
		if got := SubnetOf(netip.MustParsePrefix(vpc)).String(); got != want {
			t.Errorf("SubnetOf(%s) = %s, want %s", vpc, got, want)
		}
	}
}

func TestDriverVersionGoesThroughTheCheck(t *testing.T) {
	h := Hooks{CheckDriver: func(v string) error {
		if v != "2.15.0" {
			return errors.New("known: 2.15.0")
		}
		return nil
	}}
	_, err := Parse(getter(map[string]string{KeySSHCidr: "203.0.113.5", KeyDriverVersion: "2.14.9"}), h)
	if err == nil || !strings.Contains(err.Error(), `driverVersion="2.14.9"`) || !strings.Contains(err.Error(), "known: 2.15.0") {
		t.Errorf("got %v", err)
	}
}

func TestDriverParams(t *testing.T) {
	h := Hooks{KnownParams: []string{"rx_queue_size", "num_io_queues", "debug"}}
	s, err := Parse(getter(map[string]string{KeySSHCidr: "203.0.113.5", KeyDriverParams: " rx_queue_size=2048  num_io_queues=4 "}), h)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.DriverParamsString(); got != "rx_queue_size=2048 num_io_queues=4" {
		t.Errorf("params %q", got)
	}
	for in, why := range map[string]string{
		"bogus=1":         `unknown module parameter "bogus"; ena_custom knows: debug, num_io_queues, rx_queue_size`,
		"debug=1 debug=2": `"debug" given twice`,
		"debug=$(reboot)": `"debug=$(reboot)" is not key=value`,
		"rx_queue_size=":  `is not key=value`,
	} {
		_, err := Parse(getter(map[string]string{KeySSHCidr: "203.0.113.5", KeyDriverParams: in}), h)
		if err == nil || !strings.Contains(err.Error(), why) || !strings.Contains(err.Error(), "driverParams") {
			t.Errorf("%q: want error with %q, got %v", in, why, err)
		}
	}
}
