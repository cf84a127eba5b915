package rust

import (
	"strings"
	"testing"
)

// The build step compiles each crate from its root file and reads the
// edition and rust-version from the manifest: all must be shipped, and
// nothing of the crates' tests or of the other crates.
func TestDriverFilesAreTheThreeCratesSourcesAndTheManifest(t *testing.T) {
	files, err := DriverFiles()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Cargo.toml", "ena-core/src/lib.rs", "ena-pci/src/lib.rs", "ena-pci/src/sys.rs", "ena-tap/src/main.rs"} {
		if len(files[want]) == 0 {
			t.Errorf("%s is not shipped (or empty)", want)
		}
	}
	for p := range files {
		crate, _, _ := strings.Cut(p, "/")
		if p != "Cargo.toml" && !strings.HasPrefix(p, crate+"/src/") {
			t.Errorf("%s is not a crate source", p)
		}
		if p != "Cargo.toml" && crate != DriverCrates[0] && crate != DriverCrates[1] && crate != DriverCrates[2] {
			t.Errorf("%s belongs to no driver crate", p)
		}
	}
	if m := string(files["Cargo.toml"]); !strings.Contains(m, "\nrust-version = \"") || !strings.Contains(m, "\nedition = \"") {
		t.Errorf("the manifest names no rust-version or edition:\n%s", m)
	}
}
