package stackconfig

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
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
		s.MinThroughputRatio != 0.9 || s.AmiID != "" || len(s.DriverParams) != 0 || s.IperfSeconds != 2 ||
		s.Runs != 3 || s.LatencySeconds != 1 || s.MeasurementsString() != "latency,throughput" {
		t.Errorf("defaults: %+v", s)
	}
	if s.SSHCidr.String() != "198.51.100.9/32" {
		t.Errorf("auto sshCidr: %s", s.SSHCidr)
	}
	if s.VpcCidr.String() != "10.42.0.0/16" || s.SubnetCidr.String() != "10.42.0.0/24" {
		t.Errorf("network: %s %s", s.VpcCidr, s.SubnetCidr)
	}
}

// The default plan measures a driver in under a minute, start-ups counted
// generously (2 s each; about 30 s in fact): the edit-a-patch loop (build,
// bind, validate) must stay under 90 s on the default instance.
func TestDefaultMeasurementIsQuick(t *testing.T) {
	s, err := Parse(getter(nil), fixedIP)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.MeasureTime(); got != 57*time.Second {
		t.Errorf("default plan: %s per driver, want 3 runs x (4 x (2+2) + 1+2) s = 57 s", got)
	}
	lat, _ := Parse(getter(map[string]string{KeyMeasurements: "latency"}), fixedIP)
	if got := lat.MeasureTime(); got != 9*time.Second || lat.Measures(MeasureThroughput) {
		t.Errorf("latency alone: %s, throughput measured %v", got, lat.Measures(MeasureThroughput))
	}
}

func TestThoroughValidationMeasuresBothDriversWithARebindPerTurn(t *testing.T) {
	s, err := Parse(getter(map[string]string{KeyThorough: "true"}), fixedIP)
	if err != nil || !s.Thorough {
		t.Fatalf("thorough=true: %+v, %v", s.Thorough, err)
	}
	if got := s.ValidateTime(); got != (2*57+6*20)*time.Second {
		t.Errorf("thorough validate: %s, want two drivers' 57 s and six 20 s rebinds", got)
	}
	if d, _ := Parse(getter(nil), fixedIP); d.Thorough || d.ValidateTime() != d.MeasureTime() {
		t.Errorf("by default validate measures custom only: thorough %v, %s", d.Thorough, d.ValidateTime())
	}
}

func TestMeasurePlanIsRefusedBeyondItsBounds(t *testing.T) {
	for _, c := range []struct {
		set  map[string]string
		want string
	}{
		{map[string]string{KeyRuns: "2"}, `config runs="2" is invalid: expected a whole number of runs from 3`},
		{map[string]string{KeyRuns: "21"}, `config runs="21" is invalid`},
		{map[string]string{KeyRuns: "three"}, `config runs="three" is invalid`},
		{map[string]string{KeyLatencySeconds: "0"}, `config latencySeconds="0" is invalid: expected a whole number of seconds from 1 to 60`},
		{map[string]string{KeyMeasurements: "bandwidth"}, `config measurements="bandwidth" is invalid: "bandwidth" is not a measurement`},
		{map[string]string{KeyMeasurements: "latency,latency"}, `config measurements="latency,latency" is invalid: "latency" is named twice`},
		{map[string]string{KeyMeasurements: ""}, `config measurements="" is invalid`},
		{map[string]string{KeyRuns: "20", KeyIperfSeconds: "60"}, "config runs=20, iperfSeconds=60 and latencySeconds=1 measure for 1h23m40s per driver, beyond 30 minutes"},
	} {
		_, err := Parse(getter(c.set), fixedIP)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want %q", c.set, err, c.want)
		}
	}
	s, err := Parse(getter(map[string]string{KeyRuns: "20", KeyIperfSeconds: "10", KeyMeasurements: " throughput , latency"}), fixedIP)
	if err != nil || s.MeasureTime() != 20*(4*12+3)*time.Second || s.MeasurementsString() != "latency,throughput" {
		t.Errorf("20 runs of 10 s: %v, %s, %q", err, s.MeasureTime(), s.MeasurementsString())
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
