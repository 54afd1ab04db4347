// Package modules is the registry of everything `shop serve` can run: the
// module names, ONE table of modules with their dependencies and how each
// is built, target resolution for --only, and the lifecycle (init in
// dependency order, start, stop in reverse). It is modelled on
// grafana/dskit's modules package as used by Mimir.
//
// Adding a domain module is one entry in the table below: its name (the
// queue constant in internal/contract, which the module's store uses too),
// its dependencies, and domain(pkg.OpenStore, pkg.New).
package modules

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/shopengine/shop/internal/contract"
	"github.com/shopengine/shop/internal/modules/article"
	"github.com/shopengine/shop/internal/modules/attribute"
	"github.com/shopengine/shop/internal/modules/category"
	"github.com/shopengine/shop/internal/modules/filter"
	"github.com/shopengine/shop/internal/modules/option"
	"github.com/shopengine/shop/internal/modules/product"
	"github.com/shopengine/shop/internal/modules/seo"
)

// Modules without a queue of their own.
const (
	// Web is the storefront and gateway: HTTP in front, the bus behind.
	Web = "web"
	// Seeder fills the other modules with sample data; `shop seed` runs it.
	Seeder = "seeder"
)

// Internal modules are never named by users; they are pulled in by
// dependency.
const (
	BusConn = "bus"    // the process's bus connection
	Store   = "store"  // the process's database handle (SQLite dir or MongoDB)
	Server  = "server" // the HTTP server and probes; App adds it to every serving process (Config.NoServer)
)

// All is the default target: every runnable public module.
const All = "all"

// kind says who may name a module.
type kind int

const (
	public   kind = iota // selectable with --only, part of all
	internal             // pulled in by dependency only
	job                  // run by its own command (shop seed), not by serve
	bundle               // a name for a set of modules (all)
)

// module is one entry of the table.
type module struct {
	deps    []string
	kind    kind
	init    initFunc // nil for a bundle
	command string   // a job's command ("seed": shop seed)
}

// table is the registry: every module, what it needs started first, and
// how it is built. Domain modules reach the others over the bus at run
// time, so their only start-up dependencies are the bus and the store.
var table = map[string]module{
	BusConn: {kind: internal, init: (*App).initBus},
	Store:   {kind: internal, init: (*App).initStore},
	Server:  {kind: internal, init: (*App).initServer},

	contract.CategoryQueue:  {deps: []string{BusConn, Store}, init: domain(category.OpenStore, category.New)},
	contract.AttributeQueue: {deps: []string{BusConn, Store}, init: domain(attribute.OpenStore, attribute.New)},
	contract.OptionQueue:    {deps: []string{BusConn, Store}, init: domain(option.OpenStore, option.New)},
	contract.ProductQueue:   {deps: []string{BusConn, Store}, init: domain(product.OpenStore, product.New)},
	contract.ArticleQueue:   {deps: []string{BusConn, Store}, init: domain(article.OpenStore, article.New)},
	contract.FilterQueue:    {deps: []string{BusConn, Store}, init: domain(filter.OpenStore, filter.New)},
	contract.AuthQueue:      {deps: []string{BusConn, Store}, init: (*App).initAuth},
	contract.CartQueue:      {deps: []string{BusConn, Store}, init: (*App).initCart},
	contract.SEOQueue:       {deps: []string{BusConn, Store}, init: domain(seo.OpenStore, seo.New)},
	Web:                     {deps: []string{BusConn, Server}, init: (*App).initWeb},

	Seeder: {kind: job, command: "seed", init: (*App).initSeeder,
		deps: []string{BusConn, contract.CategoryQueue, contract.AttributeQueue, contract.OptionQueue, contract.ProductQueue}},

	All: {kind: bundle, deps: []string{contract.AuthQueue, contract.CategoryQueue, contract.AttributeQueue, contract.OptionQueue, contract.ProductQueue, contract.ArticleQueue, contract.CartQueue, contract.FilterQueue, contract.SEOQueue, Web}},
}

// Info describes a module for `shop modules`.
type Info struct {
	Name     string   `json:"name"`
	Deps     []string `json:"deps"`
	Internal bool     `json:"internal"`
	// Command names the command that runs a job module ("shop seed").
	Command string `json:"command,omitempty"`
}

// List returns every module (not All) with its direct dependencies, public
// modules first, each part sorted by name.
func List() []Info {
	var out []Info
	for name, m := range table {
		if m.kind == bundle {
			continue
		}
		info := Info{Name: name, Deps: slices.Clone(m.deps), Internal: m.kind == internal}
		if m.kind == job {
			info.Command = "shop " + m.command
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Internal != out[j].Internal {
			return !out[i].Internal
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Selectable returns the names --only accepts, sorted.
func Selectable() []string {
	var out []string
	for name, m := range table {
		if m.kind == public || m.kind == bundle {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// ParseOnly splits a --only value ("cart,seo", "" meaning all) and checks
// every name, failing with the list of valid ones.
func ParseOnly(value string) ([]string, error) {
	if strings.TrimSpace(value) == "" {
		return []string{All}, nil
	}
	var targets []string
	for _, raw := range strings.Split(value, ",") {
		name := strings.TrimSpace(raw)
		if name == "" {
			return nil, fmt.Errorf("--only %q: empty module name; valid modules: %s", value, strings.Join(Selectable(), ", "))
		}
		m, ok := table[name]
		switch {
		case ok && m.kind == job:
			return nil, fmt.Errorf("--only: %s is not served; run it with `shop %s`", name, m.command)
		case !ok || m.kind == internal:
			return nil, fmt.Errorf("--only: unknown module %q; valid modules: %s", name, strings.Join(Selectable(), ", "))
		}
		if !slices.Contains(targets, name) {
			targets = append(targets, name)
		}
	}
	return targets, nil
}

// Order returns the targets and everything they depend on, each after its
// dependencies, without bundles.
func Order(targets []string) ([]string, error) {
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		m, ok := table[name]
		if !ok {
			return fmt.Errorf("unknown module %q", name)
		}
		switch state[name] {
		case 1:
			return fmt.Errorf("dependency cycle: %s", strings.Join(append(path, name), " → "))
		case 2:
			return nil
		}
		state[name] = 1
		for _, dep := range m.deps {
			if err := visit(dep, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = 2
		if m.kind != bundle {
			order = append(order, name)
		}
		return nil
	}
	for _, t := range targets {
		if err := visit(t, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}
