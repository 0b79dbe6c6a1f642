package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/health"
	"github.com/shopmonolith/shop/platform/kernel"
)

// placement is where each module of the binary runs, as this process sees
// it: hosted here, reached at a URL, or neither (another process hosts it
// and nothing here calls it).
type placement struct {
	all    []kernel.Descriptor // every module of the binary, dependencies first
	hosted []string            // the modules this process builds, in start order
	urls   config.ModuleURLs   // the modules it reaches elsewhere
	none   bool                // SHOP_MODULES=none: a pure edge
}

// place checks the topology against the binary's modules: every name is
// known, and every dependency of a hosted module is hosted or addressed.
func place(t config.Topology) (placement, error) {
	g, err := kernel.NewGraph(descriptors()...)
	if err != nil {
		return placement{}, err
	}
	p := placement{all: g.Order(), urls: t.URLs}
	var names []string
	var hosted []kernel.Descriptor
	for _, d := range p.all {
		names = append(names, d.Name)
		if t.Hosts(d.Name) {
			hosted = append(hosted, d)
			p.hosted = append(p.hosted, d.Name)
		}
	}
	if err := t.CheckNames(names); err != nil {
		return placement{}, fmt.Errorf("configuration: %w", err)
	}
	if _, err := kernel.NewHostedGraph(p.remote(), hosted...); err != nil {
		return placement{}, fmt.Errorf("configuration: %w; add them to SHOP_MODULES=%s, or give their addresses in SHOP_MODULE_URLS (module=URL)",
			err, strings.Join(t.Modules, ","))
	}
	p.none = t.HostsNone()
	return p, nil
}

// checkServe refuses to serve what could not serve its routes: a process
// hosting modules but not identity must reach identity, since every module
// has routes that need a session, which only identity can check; and a
// process hosting no module must forward something. Operator commands
// serve no route and need neither.
func (p placement) checkServe() error {
	const identity = "identity"
	_, reached := p.urls[identity]
	switch {
	case p.none && len(p.urls) == 0:
		return fmt.Errorf("SHOP_MODULES=%s hosts no module, so SHOP_MODULE_URLS must address the modules whose routes it forwards", config.NoModules)
	case len(p.hosted) > 0 && !p.hosts(identity) && !reached:
		return fmt.Errorf("SHOP_MODULE_URLS must address %s: the modules hosted here (SHOP_MODULES=%s) have routes that need a session, which only %s checks",
			identity, strings.Join(p.hosted, ","), identity)
	}
	return nil
}

// hosts reports whether this process builds module.
func (p placement) hosts(module string) bool { return slices.Contains(p.hosted, module) }

// remote lists the modules this process reaches elsewhere, sorted.
func (p placement) remote() []string { return slices.Sorted(maps.Keys(p.urls)) }

// where says where module runs, for operators.
func (p placement) where(module string) string {
	if p.hosts(module) {
		return "local"
	}
	if u, ok := p.urls[module]; ok {
		return "remote " + u
	}
	return "elsewhere, no address"
}

// need refuses a command that works on modules this process does not host.
func (p placement) need(command string, modules ...string) error {
	for _, m := range modules {
		if !p.hosts(m) {
			return fmt.Errorf("%s works on module %s, which this process does not host: run it where SHOP_MODULES includes %s", command, m, m)
		}
	}
	return nil
}

// print writes the topology as comment lines under shop config's settings.
func (p placement) print(w io.Writer) error {
	var elsewhere []string
	for _, d := range p.all {
		if !p.hosts(d.Name) && p.urls[d.Name] == "" {
			elsewhere = append(elsewhere, d.Name)
		}
	}
	hosted := strings.Join(p.hosted, ", ")
	if hosted == "" {
		hosted = "none (an edge: every route is forwarded)"
	}
	lines := []string{"# hosted here: " + hosted}
	for _, m := range p.remote() {
		lines = append(lines, fmt.Sprintf("# remote: %s at %s (its routes forwarded there)", m, p.urls[m]))
	}
	if len(elsewhere) > 0 {
		lines = append(lines, "# neither hosted nor addressed (nothing here calls them): "+strings.Join(elsewhere, ", "))
	}
	_, err := fmt.Fprintln(w, strings.Join(lines, "\n"))
	return err
}

// awaited lists the modules of SHOP_MODULE_URLS that start-up waits for:
// those whose API a hosted module calls (its DependsOn), or, in a process
// that hosts no module, every one it forwards to. Identity reached only to
// check sessions, and modules whose routes are only forwarded, are not
// waited for: until they answer, those requests get 503, and waiting for
// them could make two processes wait for each other (identity hosted beside
// a module that depends on one whose process checks its sessions there).
func (p placement) awaited() []string {
	if len(p.hosted) == 0 {
		return p.remote()
	}
	var out []string
	for _, m := range p.remote() {
		for _, d := range p.all {
			if p.hosts(d.Name) && slices.Contains(d.DependsOn, m) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// awaitRemotes waits until the address of every module start-up needs
// (awaited) answers GET <url>/readyz with 200, trying again until
// SHOP_MODULE_READY_TIMEOUT has passed: a process does not start serving on
// neighbours it cannot reach. The addresses are tried at once; each one
// that never answered is named in the error.
func awaitRemotes(ctx context.Context, p placement, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	client := &http.Client{}
	var (
		mu       sync.Mutex
		problems []error
		wg       sync.WaitGroup
	)
	for _, m := range p.awaited() {
		wg.Go(func() {
			if err := health.AwaitReady(ctx, client, p.urls[m]); err != nil {
				mu.Lock()
				problems = append(problems, fmt.Errorf("SHOP_MODULE_URLS: %s=%s did not answer GET /readyz within SHOP_MODULE_READY_TIMEOUT=%s: %w", m, p.urls[m], limit, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.SortFunc(problems, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(problems...)
}
