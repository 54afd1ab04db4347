// Package web holds the storefront's templates and static assets, embedded
// into the binary so that one file deploys the whole shop. The web module
// (internal/modules/web) renders the templates; --dev-assets reads the same
// tree from disk instead, for live editing.
package web

import (
	"embed"
	"io/fs"
)

//go:embed templates static
var files embed.FS

// FS is the storefront tree: templates/ (html/template: layout.html,
// partials/*.html, pages/*.html) and static/ (served under /static/).
func FS() fs.FS { return files }
