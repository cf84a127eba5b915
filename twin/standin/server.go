// Package standin serves the lab's three providers in-process, as thin
// stand-ins for the real plugins that cannot be installed here: aws
// (pulumi-aws v6.83.4, an EC2 that answers with a twin of its own), tls
// (pulumi-tls v5.2.1, real keys) and command (pulumi-command v1.2.0). The
// real Pulumi engine reaches them through PULUMI_DEBUG_PROVIDERS, the
// engine's own way to attach to a running provider
// (sdk/go/common/resource/plugin/provider_plugin.go). Each behaviour names
// the upstream schema or code it reproduces; nothing here knows a lab step.
package standin

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// kind is one resource type's behaviour.
type kind struct {
	// forceNew: input properties whose change replaces the resource (the
	// upstream schema's ForceNew / replaceOnChanges).
	forceNew []string
	// keepWhenOmitted: optional + computed upstream, so leaving one out of
	// the inputs keeps what the resource has: no diff.
	keepWhenOmitted []string
	// create fills the outputs a new resource computes; it returns its id.
	create func(inputs resource.PropertyMap) (string, resource.PropertyMap, error)
}

// Call is one lifecycle call the engine made, in order.
type Call struct{ Op, Type, Name string }

// Server is one provider: its resource kinds and invokes.
type Server struct {
	pulumirpc.UnimplementedResourceProviderServer
	name    string
	version string
	kinds   map[string]kind
	invokes map[string]func(args resource.PropertyMap) (resource.PropertyMap, error)

	// impl is what serves: the Server, or the stand-in embedding it where
	// that one answers some calls itself (command).
	impl pulumirpc.ResourceProviderServer

	mu    sync.Mutex
	calls []Call
	// gone: resources deleted behind the engine's back (a terminated
	// instance): Read reports them missing.
	gone map[string]bool
}

func newServer(name, version string) *Server {
	s := &Server{name: name, version: version, kinds: map[string]kind{},
		invokes: map[string]func(resource.PropertyMap) (resource.PropertyMap, error){}, gone: map[string]bool{}}
	s.impl = s
	return s
}

// serveAs makes impl (a stand-in embedding the Server) what answers.
func (s *Server) serveAs(impl pulumirpc.ResourceProviderServer) { s.impl = impl }

// Calls returns the lifecycle calls so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

func (s *Server) record(op, typ, name string) {
	s.mu.Lock()
	s.calls = append(s.calls, Call{op, typ, name})
	s.mu.Unlock()
}

// Serve listens on a loopback port and returns it: what
// PULUMI_DEBUG_PROVIDERS names as "<provider>:<port>".
func (s *Server) Serve() (int, func(), error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, nil, err
	}
	g := grpc.NewServer()
	pulumirpc.RegisterResourceProviderServer(g, s.impl)
	go func() { _ = g.Serve(lis) }()
	return lis.Addr().(*net.TCPAddr).Port, g.Stop, nil
}

var opts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true, KeepOutputValues: true}

func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	return plugin.UnmarshalProperties(s, opts)
}
func marshal(m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, opts)
}

func (s *Server) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: s.version}, nil
}

func (s *Server) Handshake(context.Context, *pulumirpc.ProviderHandshakeRequest) (*pulumirpc.ProviderHandshakeResponse, error) {
	return &pulumirpc.ProviderHandshakeResponse{AcceptSecrets: true, AcceptResources: true, AcceptOutputs: true}, nil
}

func (s *Server) CheckConfig(_ context.Context, r *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: r.GetNews()}, nil
}

func (s *Server) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (s *Server) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true, AcceptResources: true, AcceptOutputs: true}, nil
}

func (s *Server) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// Attach: the engine hands an attached provider its host's address; the
// stand-ins log nothing through it.
func (s *Server) Attach(context.Context, *pulumirpc.PluginAttach) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (s *Server) Invoke(_ context.Context, r *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	f, ok := s.invokes[r.GetTok()]
	if !ok {
		return nil, fmt.Errorf("%s stand-in: invoke %s is not served", s.name, r.GetTok())
	}
	args, err := unmarshal(r.GetArgs())
	if err != nil {
		return nil, err
	}
	out, err := f(args)
	if err != nil {
		return nil, err
	}
	ret, err := marshal(out)
	return &pulumirpc.InvokeResponse{Return: ret}, err
}

func (s *Server) kind(typ string) (kind, error) {
	k, ok := s.kinds[typ]
	if !ok {
		return kind{}, fmt.Errorf("%s stand-in: resource type %s is not served", s.name, typ)
	}
	return k, nil
}

// Check accepts the inputs as given (no upstream defaults are needed here).
func (s *Server) Check(_ context.Context, r *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if _, err := s.kind(r.GetType()); err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: r.GetNews()}, nil
}

// Diff compares the old inputs with the new: a changed force-new property
// replaces, any other change updates.
func (s *Server) Diff(_ context.Context, r *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	k, err := s.kind(r.GetType())
	if err != nil {
		return nil, err
	}
	olds, err := unmarshal(r.GetOldInputs())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(r.GetNews())
	if err != nil {
		return nil, err
	}
	ignored := map[string]bool{}
	for _, p := range r.GetIgnoreChanges() {
		ignored[p] = true
	}
	keys := map[resource.PropertyKey]bool{}
	for key := range olds {
		keys[key] = true
	}
	for key := range news {
		keys[key] = true
	}
	resp := &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE, HasDetailedDiff: true,
		DetailedDiff: map[string]*pulumirpc.PropertyDiff{}}
	for key := range keys {
		o, n := olds[key], news[key]
		if ignored[string(key)] || o.DeepEquals(n) || (n.IsNull() && contains(k.keepWhenOmitted, string(key))) {
			continue
		}
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
		resp.Diffs = append(resp.Diffs, string(key))
		d := &pulumirpc.PropertyDiff{Kind: pulumirpc.PropertyDiff_UPDATE}
		for _, f := range k.forceNew {
			if f == string(key) {
				resp.Replaces = append(resp.Replaces, f)
				d.Kind = pulumirpc.PropertyDiff_UPDATE_REPLACE
			}
		}
		resp.DetailedDiff[string(key)] = d
	}
	sort.Strings(resp.Diffs)
	sort.Strings(resp.Replaces)
	return resp, nil
}

func (s *Server) Create(_ context.Context, r *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	k, err := s.kind(r.GetType())
	if err != nil {
		return nil, err
	}
	in, err := unmarshal(r.GetProperties())
	if err != nil {
		return nil, err
	}
	if r.GetPreview() {
		return &pulumirpc.CreateResponse{Properties: r.GetProperties()}, nil
	}
	s.record("create", r.GetType(), r.GetName())
	id, computed, err := k.create(in)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.GetType(), r.GetName(), err)
	}
	out := in.Copy()
	for key, v := range computed {
		out[key] = v
	}
	props, err := marshal(out)
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, err
}

// Read (refresh) returns the state as it is, or nothing for a resource that
// is gone (the engine then drops it).
func (s *Server) Read(_ context.Context, r *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	s.mu.Lock()
	gone := s.gone[r.GetId()]
	s.mu.Unlock()
	if gone {
		return &pulumirpc.ReadResponse{}, nil
	}
	return &pulumirpc.ReadResponse{Id: r.GetId(), Properties: r.GetProperties(), Inputs: r.GetInputs()}, nil
}

// Update keeps what the resource computed and takes the new inputs.
func (s *Server) Update(_ context.Context, r *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	olds, err := unmarshal(r.GetOlds())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(r.GetNews())
	if err != nil {
		return nil, err
	}
	if !r.GetPreview() {
		s.record("update", r.GetType(), r.GetName())
	}
	out := olds.Copy()
	for key, v := range news {
		out[key] = v
	}
	props, err := marshal(out)
	return &pulumirpc.UpdateResponse{Properties: props}, err
}

func (s *Server) Delete(_ context.Context, r *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	s.record("delete", r.GetType(), r.GetName())
	return &emptypb.Empty{}, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// str is a string input, or "" when absent or unknown.
func str(m resource.PropertyMap, key string) string {
	v, ok := m[resource.PropertyKey(key)]
	if !ok {
		return ""
	}
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	if !v.IsString() {
		return ""
	}
	return v.StringValue()
}

// counter makes ids like EC2's: a prefix and a number.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) id(prefix string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return fmt.Sprintf("%s-%017x", strings.TrimSuffix(prefix, "-"), c.n)
}

func props(kv map[string]interface{}) resource.PropertyMap {
	return resource.NewPropertyMapFromMap(kv)
}
