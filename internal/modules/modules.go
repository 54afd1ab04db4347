// Package modules is the registry of everything `shop serve` can run: the
// module names, ONE dependency table, target resolution for --only, and the
// lifecycle (init in dependency order, start, stop in reverse). It is
// modelled on grafana/dskit's modules package as used by Mimir.
package modules

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Domain modules: each owns its data and its queue on the bus.
const (
	Auth      = "auth"
	Product   = "product"
	Category  = "category"
	Attribute = "attribute"
	Option    = "option"
	Cart      = "cart"
	Filter    = "filter"
	Article   = "article"
	SEO       = "seo"
	Seeder    = "seeder"
	// Web is the storefront and gateway: HTTP in front, the bus behind.
	Web = "web"
)

// Internal modules are never named by users; they are pulled in by
// dependency.
const (
	BusConn = "bus"    // the process's bus connection
	Store   = "store"  // the process's database handle (SQLite dir or MongoDB)
	Server  = "server" // the HTTP server (listener, router, drain)
)

// All is the default target: every runnable public module.
const All = "all"

// deps is the dependency table: module → modules it needs started first.
// A domain name is added here when its package exists; until then --only
// refuses it like any unknown name.
var deps = map[string][]string{
	BusConn:   nil,
	Store:     nil,
	Server:    nil,
	Category:  {BusConn, Store},
	Attribute: {BusConn, Store},
	Option:    {BusConn, Store},
	Product:   {BusConn, Store}, // category, attribute, option: over the bus, at run time
	Auth:      {BusConn, Store},
	Web:       {BusConn, Server},
	All:       {Auth, Category, Attribute, Option, Product, Web},
}

// internal marks modules that users cannot select.
var internal = map[string]bool{BusConn: true, Store: true, Server: true}

// Info describes a module for `shop modules`.
type Info struct {
	Name     string   `json:"name"`
	Deps     []string `json:"deps"`
	Internal bool     `json:"internal"`
}

// List returns every module (not All) with its direct dependencies, public
// modules first, each part sorted by name.
func List() []Info {
	var out []Info
	for name, d := range deps {
		if name == All {
			continue
		}
		out = append(out, Info{Name: name, Deps: slices.Clone(d), Internal: internal[name]})
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
	for name := range deps {
		if !internal[name] {
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
		if _, ok := deps[name]; !ok || internal[name] {
			return nil, fmt.Errorf("--only: unknown module %q; valid modules: %s", name, strings.Join(Selectable(), ", "))
		}
		if !slices.Contains(targets, name) {
			targets = append(targets, name)
		}
	}
	return targets, nil
}

// Order returns the targets and everything they depend on, each after its
// dependencies, without the All bundle itself.
func Order(targets []string) ([]string, error) {
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		d, ok := deps[name]
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
		for _, dep := range d {
			if err := visit(dep, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = 2
		if name != All {
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
