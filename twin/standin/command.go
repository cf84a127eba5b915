package standin

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Command is the command stand-in: pulumi-command v1.2.0's remote.Command
// (provider/pkg/provider/remote): create runs over SSH with its stdin;
// only triggers replace; any other change is an update that runs `update`,
// else `create` again, on the new connection; Delete runs `delete` from the
// old state with the old connection, and nothing at all when there is none.
// No tty is requested. Dialling retries dialErrorLimit times (-1: without
// end) with a back-off from 100 ms growing by half up to 5 s, each dial
// bounded by perDialTimeout (connection.go).
type Command struct {
	*Server
	// Netns, when set, is a network namespace (/run/netns/NAME) every dial
	// is made in: the EC2 twin is reachable only inside the namespace the
	// test made for it.
	Netns string
}

// NewCommand serves command:remote:Command.
func NewCommand() *Command {
	c := &Command{Server: newServer("command", "1.2.0")}
	c.kinds["command:remote:Command"] = kind{forceNew: []string{"triggers"}}
	c.serveAs(c)
	return c
}

func (c *Command) Create(ctx context.Context, r *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if r.GetPreview() {
		return &pulumirpc.CreateResponse{Properties: r.GetProperties()}, nil
	}
	c.record("create", r.GetType(), r.GetName())
	in, err := unmarshal(r.GetProperties())
	if err != nil {
		return nil, err
	}
	out, err := c.run(ctx, in, "create")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.GetName(), err)
	}
	p, err := marshal(out)
	return &pulumirpc.CreateResponse{Id: r.GetName() + "-" + strconv.FormatInt(time.Now().UnixNano(), 36), Properties: p}, err
}

func (c *Command) Update(ctx context.Context, r *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	if r.GetPreview() {
		return &pulumirpc.UpdateResponse{Properties: r.GetNews()}, nil
	}
	c.record("update", r.GetType(), r.GetName())
	in, err := unmarshal(r.GetNews())
	if err != nil {
		return nil, err
	}
	which := "create"
	if str(in, "update") != "" {
		which = "update"
	}
	out, err := c.run(ctx, in, which)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.GetName(), err)
	}
	p, err := marshal(out)
	return &pulumirpc.UpdateResponse{Properties: p}, err
}

func (c *Command) Delete(ctx context.Context, r *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	c.record("delete", r.GetType(), r.GetName())
	old, err := unmarshal(r.GetProperties())
	if err != nil {
		return nil, err
	}
	if str(old, "delete") == "" {
		return &emptypb.Empty{}, nil // nothing to run: no dial at all
	}
	if _, err := c.run(ctx, old, "delete"); err != nil {
		return nil, fmt.Errorf("%s: %w", r.GetName(), err)
	}
	return &emptypb.Empty{}, nil
}

// run runs one of the command's scripts over its connection; the outputs
// are the inputs with stdout and stderr.
func (c *Command) run(ctx context.Context, in resource.PropertyMap, which string) (resource.PropertyMap, error) {
	conn := in["connection"]
	if conn.IsSecret() {
		conn = conn.SecretValue().Element
	}
	if !conn.IsObject() {
		return nil, fmt.Errorf("no connection")
	}
	client, err := dial(ctx, conn.ObjectValue(), c.Netns)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	var stdout, stderr bytes.Buffer
	sess.Stdout, sess.Stderr = &stdout, &stderr
	if stdin := str(in, "stdin"); stdin != "" {
		sess.Stdin = bytes.NewBufferString(stdin)
	}
	runErr := sess.Run(str(in, which))
	out := in.Copy()
	out["stdout"] = resource.NewStringProperty(trimNL(stdout.String()))
	out["stderr"] = resource.NewStringProperty(trimNL(stderr.String()))
	out["connection"] = resource.MakeSecret(in["connection"])
	if runErr != nil {
		return nil, fmt.Errorf("%w: running %q:\n%s\n%s", runErr, which, stdout.String(), stderr.String())
	}
	return out, nil
}

// trimNL: the provider trims the final newline of each stream.
func trimNL(s string) string {
	if len(s) > 0 && s[len(s)-1] == '\n' {
		return s[:len(s)-1]
	}
	return s
}

func dial(ctx context.Context, c resource.PropertyMap, netns string) (*ssh.Client, error) {
	num := func(key string, def int) int {
		if v := c[resource.PropertyKey(key)]; v.IsNumber() {
			return int(v.NumberValue())
		}
		return def
	}
	user, host := str(c, "user"), str(c, "host")
	if user == "" {
		user = "root"
	}
	port, limit, perDial := num("port", 22), num("dialErrorLimit", 10), num("perDialTimeout", 15)
	signer, err := ssh.ParsePrivateKey([]byte(str(c, "privateKey")))
	if err != nil {
		return nil, fmt.Errorf("connection.privateKey: %w", err)
	}
	cfg := &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: time.Duration(perDial) * time.Second}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	delay := 100 * time.Millisecond
	for dials := 0; ; dials++ {
		client, err := sshDial(netns, addr, cfg)
		if err == nil {
			return client, nil
		}
		if limit >= 0 && dials >= limit {
			return nil, fmt.Errorf("dial %s: %w (after %d tries)", addr, err, dials+1)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*3/2, 5*time.Second)
	}
}

// sshDial is ssh.Dial, with the TCP connection made inside netns if set.
func sshDial(netns, addr string, cfg *ssh.ClientConfig) (*ssh.Client, error) {
	if netns == "" {
		return ssh.Dial("tcp", addr, cfg)
	}
	conn, err := dialInNetns(netns, addr, cfg.Timeout)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(cfg.Timeout))
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

// dialInNetns opens a TCP connection from inside a network namespace: on
// an OS thread of its own that enters the namespace and is never given
// back to Go's scheduler (it ends with the goroutine), so no other
// goroutine ever runs in that namespace. The socket stays in it.
func dialInNetns(netns, addr string, timeout time.Duration) (net.Conn, error) {
	type result struct {
		conn net.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with us
		fd, err := unix.Open(netns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- result{nil, fmt.Errorf("network namespace %s: %w", netns, err)}
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			done <- result{nil, fmt.Errorf("entering %s: %w", netns, err)}
			return
		}
		conn, err := net.DialTimeout("tcp", addr, timeout)
		done <- result{conn, err}
	}()
	r := <-done
	return r.conn, r.err
}
