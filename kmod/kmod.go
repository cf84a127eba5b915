// Package kmod carries the ena_custom patch series and its build script, and
// knows which upstream driver releases the series is built on.
package kmod

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"path"
	"strings"
)

//go:embed build.sh versions patches/series patches/*.patch
var files embed.FS

// ModuleName is the module and pci_driver name of our build.
const ModuleName = "ena_custom"

// Version is one supported amzn-drivers release.
type Version struct {
	Version string // e.g. 2.15.0
	Tag     string // upstream git tag
	Commit  string // pinned commit id, or its known prefix
}

// Versions lists the supported releases, oldest first.
func Versions() []Version { return versions }

// Lookup returns a supported release or an error listing the known ones.
func Lookup(v string) (Version, error) {
	for _, x := range versions {
		if x.Version == v {
			return x, nil
		}
	}
	known := make([]string, len(versions))
	for i, x := range versions {
		known[i] = x.Version
	}
	return Version{}, fmt.Errorf("driver version %q is not supported; known: %s", v, strings.Join(known, ", "))
}

// Patches returns the series' patch file names in order.
func Patches() []string { return patches }

// SeriesHash is the sha256 of the "sha256  name" lines of the patches in
// series order: exactly what build.sh computes.
func SeriesHash() string { return seriesHash }

// ShortHash is the part of SeriesHash the module's version string carries.
func ShortHash() string { return seriesHash[:8] }

// ModuleVersion is the version string ena_custom reports (modinfo, ethtool -i)
// when built from release v with this series.
func ModuleVersion(v string) (string, error) {
	if _, err := Lookup(v); err != nil {
		return "", err
	}
	return v + "g-custom." + ShortHash(), nil
}

// Files returns everything build.sh needs on a host, by path relative to the
// kmod directory.
func Files() map[string][]byte {
	out := map[string][]byte{}
	for _, name := range append([]string{"build.sh", "versions", "patches/series"}, prefixed("patches/", patches)...) {
		out[name] = mustRead(name)
	}
	return out
}

// Known module parameters of ena_custom (those of the upstream release,
// without the PHC one that needs ENA_PHC_INCLUDE at build time).
var KnownParams = []string{
	"debug", "rx_queue_size", "force_large_llq_header", "num_io_queues",
	"enable_bql", "enable_frag_bypass", "lpc_size",
}

var (
	versions   = parseVersions(mustRead("versions"))
	patches    = parseSeries(mustRead("patches/series"))
	seriesHash = hashSeries(patches)
)

func mustRead(name string) []byte {
	b, err := files.ReadFile(name)
	if err != nil {
		panic(fmt.Sprintf("kmod: %s is not embedded: %v", name, err))
	}
	return b
}

func lines(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func parseVersions(b []byte) []Version {
	var out []Version
	for _, l := range lines(b) {
		f := strings.Fields(l)
		if len(f) != 3 {
			panic(fmt.Sprintf("kmod/versions: line %q is not: version tag commit", l))
		}
		out = append(out, Version{Version: f[0], Tag: f[1], Commit: f[2]})
	}
	return out
}

func parseSeries(b []byte) []string { return lines(b) }

func hashSeries(names []string) string {
	var listing strings.Builder
	for _, n := range names {
		sum := sha256.Sum256(mustRead(path.Join("patches", n)))
		fmt.Fprintf(&listing, "%s  %s\n", hex.EncodeToString(sum[:]), n)
	}
	sum := sha256.Sum256([]byte(listing.String()))
	return hex.EncodeToString(sum[:])
}

func prefixed(prefix string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return out
}
