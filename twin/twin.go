// Package twin drives the EC2 twin (twin/run.sh): a VPC in a network
// namespace and a Debian 12 VM in it that the aws stand-in launches as the
// lab's instance.
package twin

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/enalab/enalab/twin/standin"
)

// VPC is one twin's VPC, its state in Dir.
type VPC struct {
	Dir    string
	script string
	// Env is what twin/run.sh wrote in twin.env: NETNS, PRIMARY_IP,
	// SECONDARY_MAC, USER, DRIVER_REPO, DRIVER_COMMIT and so on.
	Env map[string]string
}

// NewVPC makes the VPC of a twin whose state lives in dir; root is the
// project root (where twin/run.sh is).
func NewVPC(root, dir string) (*VPC, error) {
	v := &VPC{Dir: dir, script: filepath.Join(root, "twin", "run.sh")}
	if _, err := v.run("vpc"); err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(dir, "twin.env"))
	if err != nil {
		return nil, fmt.Errorf("the twin's VPC wrote no twin.env: %w", err)
	}
	defer f.Close()
	v.Env = map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, val, ok := strings.Cut(sc.Text(), "="); ok {
			v.Env[k] = val
		}
	}
	return v, sc.Err()
}

// Netns is the path a process joins to be inside the VPC.
func (v *VPC) Netns() string { return "/run/netns/" + v.Env["NETNS"] }

func (v *VPC) run(args ...string) (string, error) {
	cmd := exec.Command(v.script, append([]string{args[0], v.Dir}, args[1:]...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("twin/run.sh %s: %w: %s", args[0], err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// Launch boots the instance (standin.Machine).
func (v *VPC) Launch(l standin.Launch) error {
	key := filepath.Join(v.Dir, "launch-"+l.InstanceID+".pub")
	if err := os.WriteFile(key, []byte(l.PublicKey+"\n"), 0o644); err != nil {
		return err
	}
	userData := filepath.Join(v.Dir, "launch-"+l.InstanceID+".user-data")
	if err := os.WriteFile(userData, []byte(l.UserData), 0o644); err != nil {
		return err
	}
	_, err := v.run("launch", "--instance-id", l.InstanceID, "--type", l.Type, "--ami", l.AMI,
		"--key-name", l.KeyName, "--public-key", key, "--user-data", userData)
	return err
}

// PowerOff stops the instance at once, as termination does (standin.Machine).
func (v *VPC) PowerOff(string) error {
	_, err := v.run("stop")
	return err
}

// Down stops everything and deletes the namespace.
func (v *VPC) Down() error {
	_, err := v.run("down")
	return err
}

// Console is the instance's serial console so far.
func (v *VPC) Console() string {
	b, _ := os.ReadFile(filepath.Join(v.Dir, "console.log"))
	return string(b)
}

// UseKey is the private key `ssh` logs in with (the stack's).
func (v *VPC) UseKey(privateKey string) error {
	return os.WriteFile(filepath.Join(v.Dir, "id_ed25519"), []byte(privateKey), 0o600)
}

// SSH runs a command on the instance as its default user.
func (v *VPC) SSH(command string) (string, error) {
	return v.run("ssh", command)
}

// Session is a command on the instance over an SSH session of its own,
// not yet started: a caller holds it open as a user's shell would be, and
// stops it with Process.Kill (the session ends when the connection does,
// or 15 s after the instance stops answering keep-alives).
func (v *VPC) Session(command string) *exec.Cmd {
	return exec.Command(v.script, "ssh", v.Dir, command)
}
