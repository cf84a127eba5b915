package kmod

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestSupportedVersionsArePinned(t *testing.T) {
	want := map[string]string{
		"2.15.0": "296d60c4ed18cac5edf3311124d39777fedb94a2",
		"2.16.1": "46e50d62",
		"2.17.0": "1e6c8e9f64d9767611afcf974178aeb6cad0cdda",
	}
	if len(Versions()) != len(want) {
		t.Fatalf("versions %v", Versions())
	}
	for v, commit := range want {
		got, err := Lookup(v)
		if err != nil || got.Commit != commit || got.Tag != "ena_linux_"+v {
			t.Errorf("Lookup(%s) = %+v, %v", v, got, err)
		}
	}
}

func TestUnknownVersionListsTheKnownOnes(t *testing.T) {
	_, err := Lookup("2.14.3")
	if err == nil || !strings.Contains(err.Error(), `"2.14.3"`) || !strings.Contains(err.Error(), "2.15.0, 2.16.1, 2.17.0") {
		t.Errorf("got %v", err)
	}
	if _, err := ModuleVersion("1.0.0"); err == nil {
		t.Error("ModuleVersion accepted an unknown release")
	}
}

func TestModuleVersionFitsEthtool(t *testing.T) {
	v, err := ModuleVersion("2.15.0")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^2\.15\.0g-custom\.[0-9a-f]{8}$`).MatchString(v) || len(v) > 31 {
		t.Errorf("module version %q: want 2.15.0g-custom.<8 hex>, at most 31 chars (ethtool -i)", v)
	}
	if !strings.HasSuffix(v, ShortHash()) || !strings.HasPrefix(SeriesHash(), ShortHash()) {
		t.Error("the version does not carry the series hash")
	}
}

// The Pulumi program and build.sh must agree on the series hash, or a host
// would never look up to date.
func TestSeriesHashAgreesWithBuildScript(t *testing.T) {
	out, err := exec.Command("bash", "-c", `source <(sed -n '/^series_hash()/,/^}/p' build.sh); PATCH_DIR=patches; die() { echo "$*"; exit 1; }; series_hash`).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != SeriesHash() {
		t.Errorf("build.sh says %s, Go says %s", got, SeriesHash())
	}
}

func TestSeriesIsEveryPatchInOrder(t *testing.T) {
	onDisk, _ := filepath.Glob("patches/*.patch")
	if len(onDisk) != len(Patches()) || len(Patches()) < 4 {
		t.Fatalf("series lists %v, patches/ holds %v", Patches(), onDisk)
	}
	for i, p := range Patches() {
		if filepath.Base(onDisk[i]) != p {
			t.Errorf("series position %d is %s, want %s", i, p, filepath.Base(onDisk[i]))
		}
		b, _ := os.ReadFile(filepath.Join("patches", p))
		if !strings.Contains(string(b), "\nSubject: [PATCH ") || !strings.Contains(string(b), "\n---\n") {
			t.Errorf("%s is not a format-patch mail with a subject and a body", p)
		}
	}
}

func TestFilesCarryWhatTheHostNeeds(t *testing.T) {
	f := Files()
	for _, name := range append([]string{"build.sh", "versions", "patches/series"}, prefixed("patches/", Patches())...) {
		disk, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if string(f[name]) != string(disk) {
			t.Errorf("Files()[%s] differs from the file", name)
		}
	}
}
