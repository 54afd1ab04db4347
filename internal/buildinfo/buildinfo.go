// Package buildinfo tells which build of shop is running, for `shop version`
// and for the Info every module instance answers on the bus.
package buildinfo

import (
	"runtime/debug"
	"sync"
)

// version is set at link time: -ldflags "-X github.com/shopengine/shop/internal/buildinfo.version=v1.2.3".
var version string

var fromBuild = sync.OnceValue(func() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return "devel"
	}
	return "devel-" + rev + dirty
})

// Version is the release version, or "devel-<commit>" for a source build.
func Version() string {
	if version != "" {
		return version
	}
	return fromBuild()
}
