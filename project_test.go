package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	pkgworkspace "github.com/pulumi/pulumi/pkg/v3/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/common/esc"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"

	"github.com/enalab/enalab/stackconfig"
)

// loadProject reads Pulumi.yaml exactly as every pulumi command does: the
// SDK's loader validates it against the project schema and refuses it whole.
func loadProject(t *testing.T) *workspace.Project {
	t.Helper()
	p, err := workspace.LoadProject("Pulumi.yaml")
	if err != nil {
		t.Fatalf("the Pulumi CLI would refuse the project: %v", err)
	}
	return p
}

// stackConfigFor merges a stack file onto the project as `pulumi up` does
// before it starts the program (pkg/v3 ValidateStackConfigAndApplyProjectConfig:
// project defaults applied, stack values type-checked), and returns what the
// program receives.
func stackConfigFor(t *testing.T, project *workspace.Project, stack, file string) (map[string]string, error) {
	t.Helper()
	ps, err := workspace.LoadProjectStack(nil, project, file)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", file, err)
	}
	err = pkgworkspace.ValidateStackConfigAndApplyProjectConfig(context.Background(), stack, project,
		esc.Value{}, ps.Config, config.NopEncrypter, config.NopDecrypter)
	if err != nil {
		return nil, err
	}
	plain, err := ps.Config.Decrypt(config.NopDecrypter)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, v := range plain {
		out[k.String()] = v
	}
	return out, nil
}

func TestTheCLIAcceptsTheProjectFile(t *testing.T) {
	p := loadProject(t)
	if p.Name.String() != "ena-lab" || p.Runtime.Name() != "go" {
		t.Errorf("project %q on runtime %q, want ena-lab on go", p.Name, p.Runtime.Name())
	}
}

func TestProjectDefaultsAreTheProgramsDefaults(t *testing.T) {
	p := loadProject(t)
	for key, want := range stackconfig.Defaults {
		ct, ok := p.Config[key]
		if !ok {
			t.Errorf("Pulumi.yaml has no config key %s", key)
			continue
		}
		if ct.Default == nil {
			t.Errorf("Pulumi.yaml key %s has no default; Go's is %q", key, want)
		} else if got := fmt.Sprint(ct.Default); got != want {
			t.Errorf("default of %s: Pulumi.yaml says %q, Go says %q", key, got, want)
		}
		if ct.Description == "" || ct.Type == nil {
			t.Errorf("Pulumi.yaml key %s needs a type and a description", key)
		}
	}
	for key := range p.Config {
		if _, ok := stackconfig.Defaults[key]; !ok {
			t.Errorf("Pulumi.yaml declares %s, which the program does not read", key)
		}
	}
}

// The example stack file, merged as the CLI merges it, runs the real program.
func TestTheExampleStackRunsAsTheCLIWouldRunIt(t *testing.T) {
	p := loadProject(t)
	cfg, err := stackConfigFor(t, p, "dev", "Pulumi.dev.yaml")
	if err != nil {
		t.Fatalf("the Pulumi CLI would refuse stack dev: %v", err)
	}
	for key := range stackconfig.Defaults {
		if _, ok := cfg["ena-lab:"+key]; !ok {
			t.Errorf("the CLI hands the program no value for %s", key)
		}
	}
	cfg["ena-lab:sshCidr"] = "198.51.100.7/32" // auto would ask the network
	if _, _, err := run(t, "dev", cfg); err != nil {
		t.Errorf("the program refuses the config the CLI hands it: %v", err)
	}
}

// A stack value of the wrong type is refused by the CLI before the program
// runs: the declared types are what a user's `pulumi config set` meets.
func TestTheCLIRefusesStackValuesOfTheWrongType(t *testing.T) {
	p := loadProject(t)
	keys := make([]string, 0, len(p.Config))
	for k := range p.Config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	bad := map[string]string{"ttlHours": "four", "spot": "yes", "allowSshFromAnywhere": "1"}
	for key, value := range bad {
		file := filepath.Join(t.TempDir(), "Pulumi.bad.yaml")
		body := fmt.Sprintf("config:\n  ena-lab:%s: %q\n", key, value)
		if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := stackConfigFor(t, p, "bad", file)
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%q: the CLI would accept it or not name the key (%v); declared keys: %v", key, value, err, keys)
		}
	}
}
