// Package rust ships the userspace driver, ena-tap, to the lab host: the
// sources of its three crates and the workspace manifest that names their
// edition and rust-version. The host's build step (remote/scripts/
// build-tap.sh) compiles them with the distribution's rustc; nothing else
// of the workspace (the model, the C reference, the tests) goes there.
package rust

import (
	"embed"
	"io/fs"
)

//go:embed Cargo.toml ena-core/src ena-pci/src ena-tap/src
var sources embed.FS

// DriverCrates are the crates ena-tap is built from, in build order.
var DriverCrates = []string{"ena-core", "ena-pci", "ena-tap"}

// DriverFiles are the files the build step needs, by path below the
// workspace root.
func DriverFiles() (map[string][]byte, error) {
	out := map[string][]byte{}
	err := fs.WalkDir(sources, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := sources.ReadFile(p)
		out[p] = b
		return err
	})
	return out, err
}
