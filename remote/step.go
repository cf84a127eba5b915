// Package remote runs the lab's steps on the host over SSH.
//
// Every step is a script from scripts/ (embedded), shipped on the command's
// standard input with its inputs inlined and shell-quoted: no SSH setenv, no
// file copies that could outlive a failed run, nothing depending on what an
// earlier step left in the environment.
package remote

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

//go:embed scripts/*.sh scripts/*.awk scripts/*.jq scripts/*.html
var scripts embed.FS

// StepsDir is where step files live on the host, one directory per step.
const StepsDir = "/opt/ena-lab/steps"

// stepsRoot is StepsDir; tests run programs below a temporary directory.
var stepsRoot = StepsDir

// Script returns an embedded script by file name.
func Script(name string) ([]byte, error) {
	b, err := scripts.ReadFile("scripts/" + name)
	if err != nil {
		return nil, fmt.Errorf("script %q is not embedded in the remote package: %w", name, err)
	}
	return b, nil
}

// Step is one script run on the host as root.
type Step struct {
	// Name names the Pulumi resource and the step's directory on the host.
	Name string
	// Script is the file in scripts/ that Create runs.
	Script string
	// DeleteScript, if set, is the file in scripts/ that Delete runs (with the
	// same inputs); the step is then deleted before it is replaced.
	DeleteScript string
	// DeleteArgs are the arguments of the delete script.
	DeleteArgs []string
	// Sources are other scripts/ files the script sources (e.g. lib.sh).
	Sources []string
	// Files are more files written below the step's directory.
	Files map[string][]byte
	// Inputs are the ENA_LAB_* variables the script reads.
	Inputs map[string]pulumi.StringInput
	// Timeout bounds the script on the host; Pulumi's own timeout adds a margin.
	Timeout time.Duration
	// RerunOn are values that re-run the step when they change although the
	// script does not read them (e.g. the version an earlier step bound).
	RerunOn []pulumi.StringInput
}

// Dir is the step's directory on the host.
func (s Step) Dir() string { return path.Join(stepsRoot, s.Name) }

// files gathers everything shipped to the host, by path below Dir.
func (s Step) files() (map[string][]byte, error) {
	out := map[string][]byte{}
	names := append([]string{s.Script}, s.Sources...)
	if s.DeleteScript != "" {
		names = append(names, s.DeleteScript)
	}
	for _, n := range names {
		b, err := Script(n)
		if err != nil {
			return nil, fmt.Errorf("step %s: %w", s.Name, err)
		}
		out[n] = b
	}
	for p, b := range s.Files {
		if path.IsAbs(p) || strings.Contains(p, "..") || p != path.Clean(p) {
			return nil, fmt.Errorf("step %s: file path %q must be relative and clean", s.Name, p)
		}
		if _, dup := out[p]; dup {
			return nil, fmt.Errorf("step %s: file %q given twice", s.Name, p)
		}
		out[p] = b
	}
	return out, nil
}

// invocation is the line that runs one script with its inputs, as root.
func (s Step) invocation(script string, inputs map[string]string, args ...string) string {
	var b strings.Builder
	b.WriteString("env")
	for _, k := range slices.Sorted(maps.Keys(inputs)) {
		b.WriteString(" " + k + "=" + Quote(inputs[k]))
	}
	secs := int(s.Timeout.Seconds())
	fmt.Fprintf(&b, " timeout --kill-after=30 %d bash %s", secs, Quote(path.Join(s.Dir(), script)))
	for _, a := range args {
		b.WriteString(" " + Quote(a))
	}
	b.WriteString(" </dev/null")
	return b.String()
}

// Program renders what the host runs for Create: write the files, then run
// the script. It is sent on stdin to `sudo bash -s`.
func (s Step) Program(inputs map[string]string) (string, error) {
	files, err := s.files()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("set -euo pipefail\n")
	fmt.Fprintf(&b, "install -d -m 0755 %s\n", Quote(s.Dir()))
	for _, p := range slices.Sorted(maps.Keys(files)) {
		dst := path.Join(s.Dir(), p)
		fmt.Fprintf(&b, "install -d -m 0755 %s\n", Quote(path.Dir(dst)))
		fmt.Fprintf(&b, "base64 -d >%s <<'ENA_LAB_FILE'\n%s\nENA_LAB_FILE\n", Quote(dst), base64.StdEncoding.EncodeToString(files[p]))
	}
	b.WriteString(s.invocation(s.Script, inputs) + "\n")
	return b.String(), nil
}

// DeleteCommand runs the delete script left on the host by Create, then
// removes the step's directory: nothing of the step stays behind.
func (s Step) DeleteCommand(inputs map[string]string) string {
	return "sudo " + s.invocation(s.DeleteScript, inputs, s.DeleteArgs...) + " && sudo rm -rf " + Quote(s.Dir())
}

// Fingerprint is the trigger: it changes exactly when the program changes,
// i.e. when a shipped file or an input value changes.
func Fingerprint(program string) string {
	sum := sha256.Sum256([]byte(program))
	return hex.EncodeToString(sum[:])
}

func (s Step) validate() error {
	if s.Name == "" || strings.ContainsAny(s.Name, "/ '") {
		return fmt.Errorf("step name %q: expected a plain word", s.Name)
	}
	if s.Timeout < time.Second {
		return fmt.Errorf("step %s: a remote timeout is required", s.Name)
	}
	for k := range s.Inputs {
		if err := checkInputName(k); err != nil {
			return fmt.Errorf("step %s: %w", s.Name, err)
		}
	}
	if _, err := s.files(); err != nil {
		return err
	}
	return s.checkContract()
}

// resolveInputs waits for every input value and calls f with them.
func resolveInputs(in map[string]pulumi.StringInput, f func(map[string]string) (string, error)) pulumi.StringOutput {
	keys := slices.Sorted(maps.Keys(in))
	vals := make([]interface{}, len(keys))
	for i, k := range keys {
		vals[i] = in[k]
	}
	return pulumi.All(vals...).ApplyT(func(v []interface{}) (string, error) {
		m := make(map[string]string, len(keys))
		for i, k := range keys {
			m[k] = v[i].(string)
		}
		return f(m)
	}).(pulumi.StringOutput)
}

// ParseResult reads the step's result: the last line of stdout, one JSON object.
func ParseResult(step, stdout string) (map[string]interface{}, error) {
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	var m map[string]interface{}
	if err := json.Unmarshal([]byte(last), &m); err != nil {
		return nil, fmt.Errorf("step %s: last stdout line is not a JSON object (%v): %q", step, err, last)
	}
	return m, nil
}
