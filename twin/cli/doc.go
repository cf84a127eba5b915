// Package cli pins the real Pulumi CLI, built from the Go module proxy:
// `go install` of its main package is refused (its module has replace
// directives), but as a tool of this module it builds, with the one
// replace that matters (atotto/clipboard). build.sh builds it into the
// cache for the engine tests.
package cli
