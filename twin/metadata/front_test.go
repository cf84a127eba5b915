package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

var twoENIs = &Instance{
	InstanceID: "i-0123456789abcdef0", InstanceType: "c6i.large", AMIID: "ami-0deb12deb12deb120",
	Region: "eu-west-1", AvailabilityZone: "eu-west-1a", Hostname: "ip-203-0-113-10.eu-west-1.compute.internal",
	PublicKeys: []PublicKey{{Name: "lab-key", OpenSSH: "ssh-ed25519 AAAAC3Nz lab"}},
	Interfaces: []Interface{
		{MAC: "0a:e1:ab:00:00:0a", DeviceNumber: 0, InterfaceID: "eni-0a", LocalIPv4s: []string{"203.0.113.10"},
			SubnetID: "subnet-1", SubnetCIDR: "203.0.113.0/24", VPCID: "vpc-1", VPCCIDRs: []string{"203.0.113.0/24"}},
		{MAC: "0a:e1:ab:00:00:0b", DeviceNumber: 1, InterfaceID: "eni-0b", LocalIPv4s: []string{"203.0.113.20"},
			SubnetID: "subnet-1", SubnetCIDR: "203.0.113.0/24", VPCID: "vpc-1", VPCCIDRs: []string{"203.0.113.0/24"}},
	},
}

var (
	simOnce sync.Once
	simAddr string
	simErr  error
)

// imds: the front over the real simulator (one per test binary: the
// simulator keeps its routes in package state), on a clock the test moves.
func imds(t *testing.T) (*httptest.Server, *time.Time) {
	t.Helper()
	simOnce.Do(func() { simAddr, simErr = startSimulator(twoENIs) })
	if simErr != nil {
		t.Fatal(simErr)
	}
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(newFront(twoENIs, simAddr, func() time.Time { return now }))
	t.Cleanup(srv.Close)
	return srv, &now
}

func call(t *testing.T, method, url string, hdr map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func token(t *testing.T, srv *httptest.Server, ttl string) (int, string) {
	return call(t, http.MethodPut, srv.URL+"/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": ttl})
}

func TestTokensAreRequiredOnEveryPath(t *testing.T) {
	srv, now := imds(t)
	for _, p := range []string{"/latest/meta-data/instance-id", "/latest/meta-data/", "/latest/meta-data/network/interfaces/macs/", "/latest/dynamic/instance-identity/document"} {
		if code, _ := call(t, http.MethodGet, srv.URL+p, nil); code != http.StatusUnauthorized {
			t.Errorf("GET %s without a token: %d, want 401 (IMDSv2 required)", p, code)
		}
	}
	for _, ttl := range []string{"", "0", "21601", "x"} {
		if code, _ := token(t, srv, ttl); code != http.StatusBadRequest {
			t.Errorf("a token with TTL %q: %d, want 400", ttl, code)
		}
	}
	code, tok := token(t, srv, "60")
	if code != 200 || tok == "" {
		t.Fatalf("PUT token: %d %q", code, tok)
	}
	auth := map[string]string{"X-aws-ec2-metadata-token": tok}
	if code, body := call(t, http.MethodGet, srv.URL+"/latest/meta-data/instance-id", auth); code != 200 || body != twoENIs.InstanceID {
		t.Errorf("with a token: %d %q", code, body)
	}
	*now = now.Add(61 * time.Second)
	if code, _ := call(t, http.MethodGet, srv.URL+"/latest/meta-data/instance-id", auth); code != http.StatusUnauthorized {
		t.Errorf("an expired token: %d, want 401", code)
	}
	if code, _ := call(t, http.MethodGet, srv.URL+"/latest/api/token", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("GET of the token path: %d, want 405", code)
	}
}

func TestTheInstanceIsDescribedAsConfigured(t *testing.T) {
	srv, _ := imds(t)
	_, tok := token(t, srv, "300")
	auth := map[string]string{"X-aws-ec2-metadata-token": tok}
	want := map[string]string{
		// the simulator's paths, with this instance's values
		"/latest/meta-data/instance-type":                                                    "c6i.large",
		"/latest/meta-data/ami-id":                                                           "ami-0deb12deb12deb120",
		"/latest/meta-data/mac":                                                              "0a:e1:ab:00:00:0a",
		"/latest/meta-data/local-ipv4":                                                       "203.0.113.10",
		"/latest/meta-data/placement/availability-zone":                                      "eu-west-1a",
		"/latest/meta-data/placement/region":                                                 "eu-west-1",
		"/2021-03-23/meta-data/instance-id":                                                  twoENIs.InstanceID, // cloud-init asks dated versions
		"/2016-09-02/meta-data/local-hostname":                                               twoENIs.Hostname,
		"/latest/meta-data/public-keys/":                                                     "0=lab-key",
		"/latest/meta-data/public-keys/0/":                                                   "openssh-key",
		"/latest/meta-data/public-keys/0/openssh-key":                                        "ssh-ed25519 AAAAC3Nz lab\n",
		"/latest/meta-data/network/interfaces/macs/":                                         "0a:e1:ab:00:00:0a/\n0a:e1:ab:00:00:0b/",
		"/latest/meta-data/network/interfaces/macs/0a:e1:ab:00:00:0b/device-number":          "1",
		"/latest/meta-data/network/interfaces/macs/0a:e1:ab:00:00:0b/local-ipv4s":            "203.0.113.20",
		"/latest/meta-data/network/interfaces/macs/0a:e1:ab:00:00:0b/subnet-ipv4-cidr-block": "203.0.113.0/24",
		"/latest/meta-data/network/interfaces/macs/0a:e1:ab:00:00:0a/interface-id":           "eni-0a",
	}
	for p, v := range want {
		if code, body := call(t, http.MethodGet, srv.URL+p, auth); code != 200 || body != v {
			t.Errorf("GET %s: %d %q, want %q", p, code, body, v)
		}
	}
	if _, doc := call(t, http.MethodGet, srv.URL+"/latest/dynamic/instance-identity/document", auth); !strings.Contains(doc, `"instanceId": "i-0123456789abcdef0"`) ||
		!strings.Contains(doc, `"instanceType": "c6i.large"`) || !strings.Contains(doc, `"privateIp": "203.0.113.10"`) {
		t.Errorf("the identity document must describe this instance: %s", doc)
	}
	_, mac := call(t, http.MethodGet, srv.URL+"/latest/meta-data/network/interfaces/macs/0a:e1:ab:00:00:0b/", auth)
	for _, f := range []string{"device-number", "interface-id", "local-ipv4s", "subnet-ipv4-cidr-block", "vpc-ipv4-cidr-blocks"} {
		if !strings.Contains("\n"+mac+"\n", "\n"+f+"\n") {
			t.Errorf("the MAC's listing lacks %s: %q", f, mac)
		}
	}
}

func TestWhatAnOnDemandInstanceLacksIsNotFound(t *testing.T) {
	srv, _ := imds(t)
	_, tok := token(t, srv, "300")
	auth := map[string]string{"X-aws-ec2-metadata-token": tok}
	for _, p := range []string{"spot/instance-action", "spot/termination-time", "events/maintenance/scheduled",
		"events/recommendations/rebalance", "autoscaling/target-lifecycle-state", "iam/info", "elastic-inference/associations",
		"tags/instance/Name", "placement/group-name", "network/interfaces/macs/0a:e1:ab:00:00:0b/ipv4-prefix",
		"network/interfaces/macs/0e:49:61:0f:c3:11/device-number", "block-device-mapping/ephemeral0", "block-device-mapping/swap"} {
		if code, _ := call(t, http.MethodGet, srv.URL+"/latest/meta-data/"+p, auth); code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, code)
		}
	}
	if code, _ := call(t, http.MethodGet, srv.URL+"/latest/user-data", auth); code != http.StatusNotFound {
		t.Errorf("user-data of an instance launched without: %d, want 404", code)
	}
	_, index := call(t, http.MethodGet, srv.URL+"/latest/meta-data/", auth)
	for _, e := range strings.Split(index, "\n") {
		if e == "spot/" || e == "events/" || e == "iam/" {
			t.Errorf("the meta-data index lists %s", e)
		}
	}
	if _, placement := call(t, http.MethodGet, srv.URL+"/2021-03-23/meta-data/placement/", auth); strings.Contains(placement, "group-name") ||
		!strings.Contains(placement, "availability-zone") {
		t.Errorf("a listing must not name what is absent (cloud-init fetches every entry): %q", placement)
	}
	if !strings.Contains(index, "instance-id\n") || !strings.Contains(index, "network/\n") {
		t.Errorf("the meta-data index must list the instance's categories: %q", index)
	}
}

func TestAConfigThatCannotBeAnInstanceIsRefused(t *testing.T) {
	bad := *twoENIs
	bad.Interfaces = []Interface{twoENIs.Interfaces[1]}
	if err := bad.check(); err == nil || !strings.Contains(err.Error(), "device number 1") {
		t.Errorf("interfaces out of device order: %v", err)
	}
	bad = *twoENIs
	bad.InstanceID = "instance-1"
	if err := bad.check(); err == nil || !strings.Contains(err.Error(), `"instance-1"`) {
		t.Errorf("a bad instance id must be named: %v", err)
	}
}

// cloud-init crawls meta-data/: every entry a listing names must answer.
func TestEveryListedEntryAnswers(t *testing.T) {
	srv, _ := imds(t)
	_, tok := token(t, srv, "300")
	auth := map[string]string{"X-aws-ec2-metadata-token": tok}
	var crawl func(dir string)
	seen := 0
	crawl = func(dir string) {
		code, body := call(t, http.MethodGet, srv.URL+"/2021-03-23/meta-data/"+dir, auth)
		if code != 200 {
			t.Errorf("%s is listed but answers %d", dir, code)
			return
		}
		for _, e := range strings.Split(strings.TrimSpace(body), "\n") {
			seen++
			name, _, _ := strings.Cut(e, "=") // public-keys/ lists "0=<name>"
			switch {
			case strings.HasSuffix(e, "/"):
				crawl(dir + e)
			case strings.Contains(e, "="):
				crawl(dir + name + "/")
			default:
				if code, _ := call(t, http.MethodGet, srv.URL+"/2021-03-23/meta-data/"+dir+e, auth); code != 200 {
					t.Errorf("%s%s is listed but answers %d", dir, e, code)
				}
			}
		}
	}
	crawl("")
	if seen < 30 {
		t.Errorf("the crawl saw only %d entries", seen)
	}
}
