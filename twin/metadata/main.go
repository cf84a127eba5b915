// ena-lab-imds: the EC2 twin's instance metadata service. AWS's own IMDS
// simulator (amazon-ec2-metadata-mock v1.13.0) answers on loopback with this
// instance's values; a thin front on 169.254.169.254 adds what it lacks for
// an on-demand Nitro instance with two ENIs:
//   - IMDSv2 required ("HttpTokens: required", AWS docs "Use IMDSv2"): PUT
//     /latest/api/token with a TTL of 1..21600 s, every other request with a
//     live token or 401;
//   - dated versions (/2021-03-23/... as cloud-init asks) answered as latest
//     ("Get the available versions of the instance metadata");
//   - network/interfaces/macs/ with every ENI, each MAC's subtree
//     ("Instance metadata categories": network/interfaces/macs/mac/...); the
//     simulator's schema holds one MAC;
//   - public-keys/ listed as "0=<key name>", as EC2 lists it;
//   - 404 for what this instance has not: spot, events, autoscaling, IAM,
//     elastic inference (the simulator serves its sample values there).
//
// Requests reach the simulator one at a time: its listing cache is not
// safe for concurrent use.
package main

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/amazon-ec2-metadata-mock/pkg/cmd/root"
)

func main() {
	cfgPath := flag.String("config", "", "the instance, as JSON (see Instance)")
	listen := flag.String("listen", "169.254.169.254:80", "address to serve IMDS on")
	flag.Parse()
	inst, err := load(*cfgPath)
	if err != nil {
		log.Fatalf("ena-lab-imds: %v", err)
	}
	backend, err := startSimulator(inst)
	if err != nil {
		log.Fatalf("ena-lab-imds: %v", err)
	}
	log.Printf("ena-lab-imds: serving %s for %s on %s (simulator on %s)", inst.InstanceType, inst.InstanceID, *listen, backend)
	log.Fatal(http.ListenAndServe(*listen, newFront(inst, backend, time.Now)))
}

// startSimulator runs AWS's simulator in this process on a free loopback
// port, configured with the instance, and waits until it answers.
func startSimulator(inst *Instance) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir, err := os.MkdirTemp("", "ena-lab-imds")
	if err != nil {
		return "", err
	}
	cfg := filepath.Join(dir, "aemm-config.json")
	b, err := json.Marshal(inst.simulatorConfig())
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(cfg, b, 0o600); err != nil {
		return "", err
	}
	cmd := root.NewCmd()
	cmd.SetArgs([]string{"--config-file", cfg, "--hostname", "127.0.0.1", "--port", fmt.Sprint(port)})
	go func() {
		if err := cmd.Execute(); err != nil {
			log.Fatalf("ena-lab-imds: the simulator stopped: %v", err)
		}
	}()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "", fmt.Errorf("the simulator did not listen on %s", addr)
}

const maxTokenTTL = 21600

// front is what the guest talks to.
type front struct {
	inst   *Instance
	now    func() time.Time
	proxy  *httputil.ReverseProxy
	serial sync.Mutex // the simulator serves one request at a time
	mu     sync.Mutex
	tokens map[string]time.Time // token -> expiry
}

func newFront(inst *Instance, backend string, now func() time.Time) http.Handler {
	u := &url.URL{Scheme: "http", Host: backend}
	return &front{inst: inst, now: now, proxy: httputil.NewSingleHostReverseProxy(u), tokens: map[string]time.Time{}}
}

var dated = regexp.MustCompile(`^/(\d{4}-\d{2}-\d{2})(/|$)`)

// absent: what an on-demand HVM instance without an instance profile,
// placement group, product codes, metadata tags or instance store does not
// have; the simulator answers them with its samples.
var absent = []string{"spot/", "events/", "autoscaling/", "iam/", "elastic-inference/", "elastic-gpus/",
	"tags/", "placement/group-name", "placement/host-id", "placement/partition-number",
	"product-codes", "kernel-id", "ramdisk-id",
	// an EBS-only Nitro instance maps its root and nothing else: the
	// simulator's ephemeral0 and swap would have cloud-init mount sdb
	"block-device-mapping/ebs0", "block-device-mapping/ephemeral0", "block-device-mapping/swap"}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &status{ResponseWriter: w, code: 200}
	f.serve(rec, r)
	log.Printf("%s %s %d", r.Method, r.URL.Path, rec.code)
}

func (f *front) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if m := dated.FindStringSubmatch(p); m != nil {
		p = "/latest" + strings.TrimPrefix(p, "/"+m[1])
	}
	if p == "/latest/api/token" {
		f.token(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !f.valid(r.Header.Get("X-aws-ec2-metadata-token")) {
		http.Error(w, "401 - Unauthorized", http.StatusUnauthorized)
		return
	}
	if p == "/" {
		fmt.Fprint(w, "latest\n")
		return
	}
	if rest, ok := strings.CutPrefix(p, "/latest/meta-data/"); ok {
		if isAbsent(rest) {
			http.NotFound(w, r)
			return
		}
		if body, ok := f.inst.answer(rest); ok {
			fmt.Fprint(w, body)
			return
		}
		if strings.HasPrefix(rest, "network/") || strings.HasPrefix(rest, "public-keys/") {
			http.NotFound(w, r) // the front alone serves these trees
			return
		}
		f.listing(w, r, p, rest)
		return
	}
	if p == "/latest/user-data" && f.inst.UserData == "" {
		http.NotFound(w, r) // EC2 answers 404 when no user data was given
		return
	}
	f.serial.Lock()
	defer f.serial.Unlock()
	r.URL.Path = p
	r.Header.Del("X-aws-ec2-metadata-token")
	f.proxy.ServeHTTP(w, r)
}

func isAbsent(rest string) bool {
	for _, a := range absent {
		if rest == strings.TrimSuffix(a, "/") || strings.HasPrefix(rest, a) {
			return true
		}
	}
	return false
}

// listing: the simulator's answer below meta-data/, without the entries of
// a directory that are absent (a crawler such as cloud-init's fetches every
// entry listed and fails on a 404).
func (f *front) listing(w http.ResponseWriter, r *http.Request, p, rest string) {
	rec := &capture{header: http.Header{}, code: http.StatusOK}
	f.serial.Lock()
	r.URL.Path = p
	r.Header.Del("X-aws-ec2-metadata-token")
	f.proxy.ServeHTTP(rec, r)
	f.serial.Unlock()
	if rec.code != http.StatusOK {
		http.Error(w, rec.body.String(), rec.code)
		return
	}
	dir := strings.TrimSuffix(rest, "/")
	if dir != "" {
		dir += "/"
	}
	body := rec.body.String()
	var keep []string
	for _, e := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		if !isAbsent(dir + e) {
			keep = append(keep, e)
		}
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	out := strings.Join(keep, "\n")
	if strings.HasSuffix(body, "\n") {
		out += "\n"
	}
	fmt.Fprint(w, out)
}

func (f *front) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var ttl int
	if _, err := fmt.Sscanf(r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds"), "%d", &ttl); err != nil || ttl < 1 || ttl > maxTokenTTL {
		http.Error(w, "400 - Bad Request", http.StatusBadRequest)
		return
	}
	tok := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d-%d", f.now().UnixNano(), len(f.tokens))))
	f.mu.Lock()
	f.tokens[tok] = f.now().Add(time.Duration(ttl) * time.Second)
	f.mu.Unlock()
	w.Header().Set("X-aws-ec2-metadata-token-ttl-seconds", fmt.Sprint(ttl))
	fmt.Fprint(w, tok)
}

func (f *front) valid(tok string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	exp, ok := f.tokens[tok]
	return ok && f.now().Before(exp)
}

type status struct {
	http.ResponseWriter
	code int
}

func (s *status) WriteHeader(c int) { s.code = c; s.ResponseWriter.WriteHeader(c) }

type capture struct {
	header http.Header
	body   strings.Builder
	code   int
}

func (c *capture) Header() http.Header         { return c.header }
func (c *capture) Write(b []byte) (int, error) { return c.body.Write(b) }
func (c *capture) WriteHeader(code int)        { c.code = code }
