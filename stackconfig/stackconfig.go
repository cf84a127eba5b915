// Package stackconfig reads and validates the lab's stack configuration.
//
// Pulumi does not apply Pulumi.yaml defaults under mocks, so the defaults
// live here too; a test keeps the two from drifting.
package stackconfig

import (
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Config keys, as written in Pulumi.yaml (project namespace).
const (
	KeyInstanceType         = "instanceType"
	KeyDistro               = "distro"
	KeyKernel               = "kernel"
	KeySSHCidr              = "sshCidr"
	KeyAllowSSHFromAnywhere = "allowSshFromAnywhere"
	KeyVpcCidr              = "vpcCidr"
	KeyAmiID                = "amiId"
	KeySpot                 = "spot"
	KeyTTLHours             = "ttlHours"
	KeyDriverVersion        = "driverVersion"
	KeyDriverRepo           = "driverRepo"
	KeyDriverCommit         = "driverCommit"
	KeyDriverParams         = "driverParams"
	KeyMinThroughputRatio   = "minThroughputRatio"
	KeyIperfSeconds         = "iperfSeconds"
	KeyRuns                 = "runs"
	KeyLatencySeconds       = "latencySeconds"
	KeyMeasurements         = "measurements"
	KeyThorough             = "thorough"
	KeyRustDriver           = "rustDriver"
)

// AutoSSHCidr asks the program to detect the caller's public IPv4.
const AutoSSHCidr = "auto"

// Defaults are the values used when a key is unset; Pulumi.yaml must agree.
var Defaults = map[string]string{
	KeyInstanceType:         "c6i.large",
	KeyDistro:               "al2023",
	KeyKernel:               "6.1",
	KeySSHCidr:              AutoSSHCidr,
	KeyAllowSSHFromAnywhere: "false",
	KeyVpcCidr:              "10.42.0.0/16",
	KeyAmiID:                "",
	KeySpot:                 "false",
	KeyTTLHours:             "4",
	KeyDriverVersion:        "2.15.0",
	KeyDriverRepo:           UpstreamRepo,
	KeyDriverCommit:         "",
	KeyDriverParams:         "",
	KeyMinThroughputRatio:   "0.9",
	KeyIperfSeconds:         "2",
	KeyRuns:                 "3",
	KeyLatencySeconds:       "1",
	KeyMeasurements:         MeasureThroughput + "," + MeasureLatency,
	KeyThorough:             "false",
	KeyRustDriver:           "false",
}

// The measurements a stack can ask for: iperf3 throughput, sockperf latency.
const (
	MeasureThroughput = "throughput"
	MeasureLatency    = "latency"
)

// UpstreamRepo is where amzn-drivers lives.
const UpstreamRepo = "https://github.com/amzn/amzn-drivers.git"

// MaxIperfSeconds bounds one iperf3 run: the measuring steps make four
// per driver inside their timeout.
const MaxIperfSeconds = 60

// MinRuns is the fewest runs that give each figure an interval; MaxRuns
// bounds a lab's patience.
const (
	MinRuns           = 3
	MaxRuns           = 20
	MaxLatencySeconds = 60
)

// MaxMeasureMinutes bounds one driver's measurement: a lab is not a soak test.
const MaxMeasureMinutes = 30

// MaxTTLHours bounds the safety TTL: a lab is for hours, not weeks.
const MaxTTLHours = 168

// Settings is the validated configuration of one stack.
type Settings struct {
	InstanceType         string
	Distro               string // al2023 or debian-12
	Kernel               string // the kernel series: 6.1 or 6.12
	SSHCidr              netip.Prefix
	AllowSSHFromAnywhere bool
	VpcCidr              netip.Prefix
	SubnetCidr           netip.Prefix
	AmiID                string // empty: the latest AMI of the distro and kernel series
	Spot                 bool
	TTLHours             int
	DriverVersion        string
	// DriverRepo and DriverCommit: the git source of the driver; an empty
	// commit means the release's tag, checked against its pinned commit.
	DriverRepo         string
	DriverCommit       string
	DriverParams       []DriverParam
	MinThroughputRatio float64
	IperfSeconds       int // the length of each iperf3 run
	Runs               int // runs per driver: each figure is their median
	LatencySeconds     int // the length of each sockperf run
	Measurements       []string
	// Thorough interleaves stock and custom runs on the ENI in validate,
	// rebinding between them, rather than comparing with the baseline.
	Thorough bool
	// RustDriver adds, after validate, the Rust userspace driver (ena-tap)
	// on the lab ENI and the same validation through it.
	RustDriver bool
}

// Measures says whether the stack asked for measurement m.
func (s Settings) Measures(m string) bool { return contains(s.Measurements, m) }

// MeasurementsString renders the measurements the way the steps take them.
func (s Settings) MeasurementsString() string { return strings.Join(s.Measurements, ",") }

// MeasureTime is how long one driver's measurement lasts at most: per run
// four iperf3 runs and a sockperf run, each with its start-up (about 2 s).
func (s Settings) MeasureTime() time.Duration {
	per := 0
	if s.Measures(MeasureThroughput) {
		per += 4 * (s.IperfSeconds + 2)
	}
	if s.Measures(MeasureLatency) {
		per += s.LatencySeconds + 2
	}
	return time.Duration(s.Runs*per) * time.Second
}

// ValidateTime is how long the validate step measures at most: in thorough
// mode both drivers, with a rebind (about 20 s) before each turn.
func (s Settings) ValidateTime() time.Duration {
	if !s.Thorough {
		return s.MeasureTime()
	}
	return 2*s.MeasureTime() + time.Duration(2*s.Runs*20)*time.Second
}

// DriverParam is one `key=value` module parameter for ena_custom.
type DriverParam struct{ Key, Value string }

// DriverParamsString renders the parameters the way insmod takes them.
func (s Settings) DriverParamsString() string {
	parts := make([]string, len(s.DriverParams))
	for i, p := range s.DriverParams {
		parts[i] = p.Key + "=" + p.Value
	}
	return strings.Join(parts, " ")
}

// Getter returns a config value and whether it was set.
type Getter func(key string) (string, bool)

// IPDetector returns the caller's public IPv4 address.
type IPDetector func() (netip.Addr, error)

// Hooks is what Parse needs from outside: the public-IP detector and the
// driver version check (kmod's table), so this package stays dependency-free.
type Hooks struct {
	DetectPublicIP IPDetector
	CheckDriver    func(version string) error
	// KnownParams lists the module parameters ena_custom accepts.
	KnownParams []string
	// KnownDistros lists the host distributions the lab runs on;
	// CheckKernel says whether one runs a kernel series.
	KnownDistros []string
	CheckKernel  func(distro, series string) error
}

// Parse reads every key through get, applies defaults and validates.
func Parse(get Getter, hooks Hooks) (Settings, error) {
	val := func(key string) string {
		if v, ok := get(key); ok {
			return strings.TrimSpace(v)
		}
		return Defaults[key]
	}
	var s Settings
	var err error

	s.InstanceType = val(KeyInstanceType)
	if !instanceTypeRe.MatchString(s.InstanceType) {
		return s, invalid(KeyInstanceType, s.InstanceType, "expected an EC2 instance type such as c6i.large")
	}
	s.Distro = val(KeyDistro)
	if hooks.KnownDistros != nil && !contains(hooks.KnownDistros, s.Distro) {
		return s, invalid(KeyDistro, s.Distro, "expected one of "+strings.Join(hooks.KnownDistros, ", "))
	}
	s.Kernel = val(KeyKernel)
	if s.Kernel != "6.1" && s.Kernel != "6.12" {
		return s, invalid(KeyKernel, s.Kernel, "expected 6.1 or 6.12 (the kernel series of the host's AMI)")
	}
	if hooks.CheckKernel != nil {
		if err := hooks.CheckKernel(s.Distro, s.Kernel); err != nil {
			return s, invalid(KeyKernel, s.Kernel, err.Error())
		}
	}
	if s.AllowSSHFromAnywhere, err = parseBool(KeyAllowSSHFromAnywhere, val(KeyAllowSSHFromAnywhere)); err != nil {
		return s, err
	}
	if s.SSHCidr, err = parseSSHCidr(val(KeySSHCidr), s.AllowSSHFromAnywhere, hooks.DetectPublicIP); err != nil {
		return s, err
	}
	if s.VpcCidr, err = parseVpcCidr(val(KeyVpcCidr)); err != nil {
		return s, err
	}
	s.SubnetCidr = SubnetOf(s.VpcCidr)
	s.AmiID = val(KeyAmiID)
	if s.AmiID != "" && !amiRe.MatchString(s.AmiID) {
		return s, invalid(KeyAmiID, s.AmiID, "expected empty (the latest AMI of distro and kernel) or an AMI id like ami-0123456789abcdef0")
	}
	if s.Spot, err = parseBool(KeySpot, val(KeySpot)); err != nil {
		return s, err
	}
	if s.RustDriver, err = parseBool(KeyRustDriver, val(KeyRustDriver)); err != nil {
		return s, err
	}
	if s.Thorough, err = parseBool(KeyThorough, val(KeyThorough)); err != nil {
		return s, err
	}
	ttl := val(KeyTTLHours)
	if s.TTLHours, err = strconv.Atoi(ttl); err != nil || s.TTLHours < 1 || s.TTLHours > MaxTTLHours {
		return s, invalid(KeyTTLHours, ttl, fmt.Sprintf("expected a whole number of hours from 1 to %d", MaxTTLHours))
	}
	s.DriverVersion = val(KeyDriverVersion)
	if hooks.CheckDriver != nil {
		if err := hooks.CheckDriver(s.DriverVersion); err != nil {
			return s, invalid(KeyDriverVersion, s.DriverVersion, err.Error())
		}
	}
	s.DriverRepo = val(KeyDriverRepo)
	if !gitURLRe.MatchString(s.DriverRepo) {
		return s, invalid(KeyDriverRepo, s.DriverRepo, "expected an https:// or git:// URL the host can clone without a key")
	}
	s.DriverCommit = val(KeyDriverCommit)
	if s.DriverCommit != "" && !commitRe.MatchString(s.DriverCommit) {
		return s, invalid(KeyDriverCommit, s.DriverCommit, "expected empty (the release's pinned commit) or a full 40-digit commit id")
	}
	if s.DriverParams, err = parseDriverParams(val(KeyDriverParams), hooks.KnownParams); err != nil {
		return s, err
	}
	ratio := val(KeyMinThroughputRatio)
	if s.MinThroughputRatio, err = strconv.ParseFloat(ratio, 64); err != nil ||
		math.IsNaN(s.MinThroughputRatio) || s.MinThroughputRatio < 0 || s.MinThroughputRatio > 2 {
		return s, invalid(KeyMinThroughputRatio, ratio, "expected a number from 0 to 2 (custom/stock throughput)")
	}
	secs := val(KeyIperfSeconds)
	if s.IperfSeconds, err = strconv.Atoi(secs); err != nil || s.IperfSeconds < 1 || s.IperfSeconds > MaxIperfSeconds {
		return s, invalid(KeyIperfSeconds, secs, fmt.Sprintf("expected a whole number of seconds from 1 to %d", MaxIperfSeconds))
	}
	if err := parseMeasurePlan(&s, val); err != nil {
		return s, err
	}
	return s, nil
}

// parseMeasurePlan: runs, latencySeconds and measurements, and a plan whose
// length stays within MaxMeasureMinutes per driver.
func parseMeasurePlan(s *Settings, val func(string) string) error {
	var err error
	runs := val(KeyRuns)
	if s.Runs, err = strconv.Atoi(runs); err != nil || s.Runs < MinRuns || s.Runs > MaxRuns {
		return invalid(KeyRuns, runs, fmt.Sprintf("expected a whole number of runs from %d (the fewest that give an interval) to %d", MinRuns, MaxRuns))
	}
	lat := val(KeyLatencySeconds)
	if s.LatencySeconds, err = strconv.Atoi(lat); err != nil || s.LatencySeconds < 1 || s.LatencySeconds > MaxLatencySeconds {
		return invalid(KeyLatencySeconds, lat, fmt.Sprintf("expected a whole number of seconds from 1 to %d", MaxLatencySeconds))
	}
	list := val(KeyMeasurements)
	s.Measurements = nil
	for _, m := range strings.Split(list, ",") {
		m = strings.TrimSpace(m)
		if m != MeasureThroughput && m != MeasureLatency {
			return invalid(KeyMeasurements, list, fmt.Sprintf("%q is not a measurement: expected %s, %s or both, comma-separated", m, MeasureThroughput, MeasureLatency))
		}
		if contains(s.Measurements, m) {
			return invalid(KeyMeasurements, list, fmt.Sprintf("%q is named twice", m))
		}
		s.Measurements = append(s.Measurements, m)
	}
	sort.Strings(s.Measurements)
	if t := s.MeasureTime(); t > MaxMeasureMinutes*time.Minute {
		return fmt.Errorf("config %s=%d, %s=%d and %s=%d measure for %s per driver, beyond %d minutes: fewer runs or shorter ones",
			KeyRuns, s.Runs, KeyIperfSeconds, s.IperfSeconds, KeyLatencySeconds, s.LatencySeconds, t, MaxMeasureMinutes)
	}
	return nil
}

var (
	instanceTypeRe = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9-]+$`)
	amiRe          = regexp.MustCompile(`^ami-[0-9a-f]{8}([0-9a-f]{9})?$`)
	paramKeyRe     = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
	// What the host can clone unattended (as root, no key, no tty): the
	// https and git protocols; kmod/build.sh itself takes more.
	gitURLRe     = regexp.MustCompile(`^(https|git)://[A-Za-z0-9._~:/@+-]+$`)
	commitRe     = regexp.MustCompile(`^[0-9a-f]{40}$`)
	paramValueRe = regexp.MustCompile(`^[A-Za-z0-9_.,:-]+$`)
)

func invalid(key, value, why string) error {
	return fmt.Errorf("config %s=%q is invalid: %s", key, value, why)
}

func parseBool(key, v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, invalid(key, v, "expected true or false")
	}
	return b, nil
}

func parseSSHCidr(v string, anywhere bool, detect IPDetector) (netip.Prefix, error) {
	if v == AutoSSHCidr {
		if detect == nil {
			return netip.Prefix{}, invalid(KeySSHCidr, v, "no public-IP detector available; set it explicitly")
		}
		ip, err := detect()
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("config %s=%q: detecting your public IPv4 failed (%v); set it explicitly, e.g. `pulumi config set %s 203.0.113.7/32`",
				KeySSHCidr, v, err, KeySSHCidr)
		}
		if !ip.Is4() {
			return netip.Prefix{}, fmt.Errorf("config %s=%q: detected address %s is not IPv4; set it explicitly", KeySSHCidr, v, ip)
		}
		return netip.PrefixFrom(ip, 32), nil
	}
	p, err := parseIPv4Prefix(KeySSHCidr, v)
	if err != nil {
		return p, err
	}
	if p.Bits() == 0 && !anywhere {
		return p, invalid(KeySSHCidr, v, "opens SSH to the whole internet; set allowSshFromAnywhere=true if you really mean it")
	}
	return p, nil
}

// parseIPv4Prefix accepts a.b.c.d/n (canonical) or a bare address as /32.
func parseIPv4Prefix(key, v string) (netip.Prefix, error) {
	if !strings.Contains(v, "/") {
		ip, err := netip.ParseAddr(v)
		if err != nil || !ip.Is4() {
			return netip.Prefix{}, invalid(key, v, "expected an IPv4 CIDR such as 203.0.113.7/32")
		}
		return netip.PrefixFrom(ip, 32), nil
	}
	p, err := netip.ParsePrefix(v)
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, invalid(key, v, "expected an IPv4 CIDR such as 203.0.113.7/32")
	}
	if p.Masked() != p {
		return netip.Prefix{}, invalid(key, v, fmt.Sprintf("host bits set; did you mean %s?", p.Masked()))
	}
	return p, nil
}

var privateRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
}

func parseVpcCidr(v string) (netip.Prefix, error) {
	p, err := parseIPv4Prefix(KeyVpcCidr, v)
	if err != nil {
		return p, err
	}
	if p.Bits() < 16 || p.Bits() > 28 {
		return p, invalid(KeyVpcCidr, v, "AWS allows VPC prefixes from /16 to /28")
	}
	for _, r := range privateRanges {
		if r.Contains(p.Addr()) && r.Bits() <= p.Bits() {
			return p, nil
		}
	}
	return p, invalid(KeyVpcCidr, v, "expected a private range (10/8, 172.16/12 or 192.168/16)")
}

// SubnetOf returns the lab subnet: the first /24 of the VPC, or the whole
// VPC when it is smaller than that.
func SubnetOf(vpc netip.Prefix) netip.Prefix {
	bits := max(vpc.Bits(), 24)
	return netip.PrefixFrom(vpc.Addr(), bits).Masked()
}

func parseDriverParams(v string, known []string) ([]DriverParam, error) {
	var out []DriverParam
	seen := map[string]bool{}
	for _, field := range strings.Fields(v) {
		key, value, ok := strings.Cut(field, "=")
		if !ok || !paramKeyRe.MatchString(key) || !paramValueRe.MatchString(value) {
			return nil, invalid(KeyDriverParams, v, fmt.Sprintf("%q is not key=value (letters, digits, _ . , : -)", field))
		}
		if known != nil && !contains(known, key) {
			k := append([]string(nil), known...)
			sort.Strings(k)
			return nil, invalid(KeyDriverParams, v, fmt.Sprintf("unknown module parameter %q; ena_custom knows: %s", key, strings.Join(k, ", ")))
		}
		if seen[key] {
			return nil, invalid(KeyDriverParams, v, fmt.Sprintf("parameter %q given twice", key))
		}
		seen[key] = true
		out = append(out, DriverParam{key, value})
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
