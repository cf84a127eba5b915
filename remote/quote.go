package remote

import (
	"fmt"
	"regexp"
	"strings"
)

// Quote makes s one shell word whatever it holds: single quotes, with each
// embedded quote closed, escaped and reopened.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

var inputNameRe = regexp.MustCompile(`^ENA_LAB_[A-Z0-9_]+$`)

// checkInputName keeps input names to the ENA_LAB_ namespace the scripts read.
func checkInputName(name string) error {
	if !inputNameRe.MatchString(name) {
		return fmt.Errorf("step input name %q: expected ENA_LAB_ followed by A-Z, 0-9 or _", name)
	}
	return nil
}
