package config

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Topology says which modules this process hosts and where it reaches the
// others: the split of the shop into processes is configuration, and the
// default is every module in one process.
type Topology struct {
	Modules      []string      `env:"SHOP_MODULES" envSeparator:"," help:"modules this process hosts, comma separated; empty hosts every module; none hosts no module (a pure edge: the storefront, the API description, and every route forwarded to the modules of SHOP_MODULE_URLS)"`
	URLs         ModuleURLs    `env:"SHOP_MODULE_URLS" help:"module=URL pairs, comma separated: where each module hosted elsewhere is reached (a DNS name behind a load balancer)"`
	ReadyTimeout time.Duration `env:"SHOP_MODULE_READY_TIMEOUT" envDefault:"10s" help:"how long serve waits at start for each address of SHOP_MODULE_URLS to answer GET /readyz"`
}

// NoModules is the SHOP_MODULES value of a process that hosts no module.
const NoModules = "none"

// Hosts reports whether this process hosts module.
func (t Topology) Hosts(module string) bool {
	return len(t.Modules) == 0 || module != NoModules && slices.Contains(t.Modules, module)
}

// HostsNone reports whether this process hosts no module (SHOP_MODULES=none).
func (t Topology) HostsNone() bool { return slices.Equal(t.Modules, []string{NoModules}) }

// URL returns where module is reached when another process hosts it.
func (t Topology) URL(module string) (string, bool) {
	u, ok := t.URLs[module]
	return u, ok
}

// CheckNames reports every module name of SHOP_MODULES and SHOP_MODULE_URLS
// that is not among known (the modules of the binary, which the
// configuration cannot know itself).
func (t Topology) CheckNames(known []string) error {
	var problems []error
	unknown := func(setting, name string) {
		problems = append(problems, fmt.Errorf("%s: unknown module %q; the modules are %s", setting, name, strings.Join(known, ", ")))
	}
	for _, m := range t.Modules {
		if m != NoModules && !slices.Contains(known, m) {
			unknown("SHOP_MODULES", m)
		}
	}
	for _, m := range slices.Sorted(maps.Keys(t.URLs)) {
		if !slices.Contains(known, m) {
			unknown("SHOP_MODULE_URLS", m)
		}
	}
	return errors.Join(problems...)
}

// validate checks what can be checked without knowing the modules.
func (t Topology) validate(bad func(string, string, ...any)) {
	seen := map[string]bool{}
	for _, m := range t.Modules {
		switch {
		case m == "":
			bad("SHOP_MODULES", "has an empty module name (a stray comma?)")
		case seen[m]:
			bad("SHOP_MODULES", "names %s twice", m)
		case m == NoModules && len(t.Modules) > 1:
			bad("SHOP_MODULES", "%s hosts no module and cannot be combined with module names", NoModules)
		}
		seen[m] = true
	}
	for _, m := range slices.Sorted(maps.Keys(t.URLs)) {
		if len(t.Modules) == 0 || seen[m] {
			bad("SHOP_MODULE_URLS", "addresses %s, which this process hosts (SHOP_MODULES%s): a module is either hosted here or reached elsewhere", m, hostedNote(t.Modules))
		}
		checkModuleURL(bad, m, t.URLs[m])
	}
	if t.ReadyTimeout <= 0 {
		bad("SHOP_MODULE_READY_TIMEOUT", "must be positive")
	}
}

func hostedNote(modules []string) string {
	if len(modules) == 0 {
		return " is empty: every module"
	}
	return "=" + strings.Join(modules, ",")
}

// checkModuleURL accepts an http or https URL with a host, and nothing an
// operator would not mean: credentials (printed by shop config), a query
// or a fragment.
func checkModuleURL(bad func(string, string, ...any), module, raw string) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		bad("SHOP_MODULE_URLS", "%s=%s is not a URL: %v", module, raw, errors.Unwrap(err))
	case u.Scheme != "http" && u.Scheme != "https":
		bad("SHOP_MODULE_URLS", "%s=%s must start with http:// or https://", module, raw)
	case u.Hostname() == "":
		bad("SHOP_MODULE_URLS", "%s=%s names no host", module, raw)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		bad("SHOP_MODULE_URLS", "%s=%s must be a base URL: no credentials, query or fragment", module, raw)
	}
}

// ModuleURLs maps a module to the base URL of the processes hosting it.
type ModuleURLs map[string]string

// UnmarshalText parses module=URL pairs, comma separated.
func (m *ModuleURLs) UnmarshalText(text []byte) error {
	out := ModuleURLs{}
	err := eachPair(text, "module=URL (like catalog=http://catalog.internal:8080)", "is addressed twice", func(name, u string) error {
		out[name] = u
		return nil
	})
	if err != nil {
		return err
	}
	*m = out
	return nil
}

// eachPair calls fn with each name=value pair of a comma-separated list,
// trimmed; a pair that is not one (not like form) or a name seen before
// (twice says how) is an error.
func eachPair(text []byte, form, twice string, fn func(name, value string) error) error {
	seen := map[string]bool{}
	for pair := range strings.SplitSeq(string(text), ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		name, value, ok := strings.Cut(pair, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" || value == "" {
			return fmt.Errorf("%q is not %s", pair, form)
		}
		if seen[name] {
			return fmt.Errorf("%s %s", name, twice)
		}
		seen[name] = true
		if err := fn(name, value); err != nil {
			return err
		}
	}
	return nil
}

// String writes the pairs back, sorted by module.
func (m ModuleURLs) String() string {
	pairs := make([]string, 0, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		pairs = append(pairs, name+"="+m[name])
	}
	return strings.Join(pairs, ",")
}

// Split reports whether this process takes part in a split topology: it
// calls modules elsewhere (SHOP_MODULE_URLS) or serves its own to other
// processes (SHOP_HTTP_INTERNAL_ADDR).
func (c Config) Split() bool { return len(c.Topology.URLs) > 0 || c.HTTP.InternalAddr != "" }
