// Package web holds the hosted login's HTML templates and static assets,
// embedded in the binary. Package login parses the templates at start
// (failing fast on a missing one) and serves the assets under
// content-hash URLs.
package web

import "embed"

// Templates are the login pages: templates/layout.html plus one file per page.
//
//go:embed templates/*.html
var Templates embed.FS

// Static are the stylesheet and other assets.
//
//go:embed static
var Static embed.FS
