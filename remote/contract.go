package remote

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// contract is what a script's header promises: the ENA_LAB_* inputs it
// reads ("# input NAME required|optional[(default)]  what"), and the sibling
// files it sources, runs or reads ("$HERE/x.sh", "$(dirname ...)/x.sh", and
// the programs and templates they read, "$HERE/stats.awk", "$HERE/report.html").
type contract struct {
	inputs   map[string]bool // name -> required
	siblings []string
}

var (
	inputLineRe = regexp.MustCompile(`^# input (ENA_LAB_[A-Z0-9_]+) (required|optional(\([^)]*\))?)(\s|$)`)
	siblingRe   = regexp.MustCompile(`(?:\$HERE|\$\(dirname "\$\{BASH_SOURCE\[0\]\}"\))/([a-z0-9-]+\.(?:sh|awk|jq|html))`)
)

// readContract parses an embedded script's header and body.
func readContract(name string) (contract, error) {
	b, err := Script(name)
	if err != nil {
		return contract{}, err
	}
	c := contract{inputs: map[string]bool{}}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "# input ") {
			m := inputLineRe.FindStringSubmatch(line)
			if m == nil {
				return c, fmt.Errorf("script %s: header line %q is not `# input ENA_LAB_NAME required|optional(default)  what`", name, line)
			}
			c.inputs[m[1]] = m[2] == "required"
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, m := range siblingRe.FindAllStringSubmatch(line, -1) {
			if !slices.Contains(c.siblings, m[1]) {
				c.siblings = append(c.siblings, m[1])
			}
		}
	}
	return c, nil
}

// checkContract: the step passes only inputs its scripts declare, every
// input one of them requires (a sibling it runs sees the same environment),
// and ships every sibling they source or run. Each mismatch would otherwise
// fail only on the host.
func (s Step) checkContract() error {
	declared := map[string]bool{}
	required := map[string]string{} // input -> a script that requires it
	shipped := append([]string{s.Script}, s.Sources...)
	if s.DeleteScript != "" {
		shipped = append(shipped, s.DeleteScript)
	}
	for _, f := range shipped {
		c, err := readContract(f)
		if err != nil {
			return fmt.Errorf("step %s: %w", s.Name, err)
		}
		for k, req := range c.inputs {
			declared[k] = true
			if req {
				required[k] = f
			}
		}
		for _, sib := range c.siblings {
			if !slices.Contains(shipped, sib) {
				return fmt.Errorf("step %s: %s sources or runs %s, which is not in the step's Sources", s.Name, f, sib)
			}
		}
	}
	var unknown, missing []string
	for k := range s.Inputs {
		if !declared[k] {
			unknown = append(unknown, k)
		}
	}
	for k, f := range required {
		if _, ok := s.Inputs[k]; !ok {
			missing = append(missing, k+" (required by "+f+")")
		}
	}
	sort.Strings(unknown)
	sort.Strings(missing)
	if len(unknown) > 0 {
		return fmt.Errorf("step %s passes %s, which no header of %s declares (a misspelt name?)", s.Name, strings.Join(unknown, ", "), strings.Join(shipped, ", "))
	}
	if len(missing) > 0 {
		return fmt.Errorf("step %s does not pass %s", s.Name, strings.Join(missing, ", "))
	}
	return nil
}
