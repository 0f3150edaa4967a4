package main

import (
	"bytes"
	"html/template"
	"net/http"
)

// The app's pages: tiny, no JavaScript, every value escaped by html/template.
var pages = template.Must(template.New("").Parse(`
{{define "top"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{.}} · Example app</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body><main>{{end}}
{{define "bottom"}}</main></body></html>{{end}}

{{define "home"}}{{template "top" "Home"}}
<h1>Example app</h1>
<p>Sign in with your work email.</p>
<form action="/login" method="get">
<label for="email">Email</label> <input id="email" name="login_hint" type="email" autocomplete="email" required>
<button type="submit">Sign in</button>
</form>
{{template "bottom"}}{{end}}

{{define "legacy"}}{{template "top" "Old sign-in"}}
<h1>Old sign-in</h1>
{{with .Error}}<p role="alert">{{.}}</p>{{end}}
<form action="/legacy/login" method="post">
<input type="hidden" name="return_to" value="{{.ReturnTo}}">
<label for="legacy-email">Email (old system)</label> <input id="legacy-email" name="email" type="email" value="{{.Email}}" required>
<button type="submit">Sign in to the old system</button>
</form>
{{template "bottom"}}{{end}}

{{define "dashboard"}}{{template "top" "Dashboard"}}
<h1>Dashboard</h1>
<dl>
<dt>User</dt><dd id="user">{{.Subject}}</dd>
<dt>Signed in through</dt><dd id="via">{{if .Legacy}}the legacy system{{else}}Gatehouse{{end}}</dd>
<dt>Organization</dt><dd id="org">{{.OrganizationID}}</dd>
<dt>Session</dt><dd id="session">{{.SessionID}}</dd>
<dt>Roles</dt><dd id="roles">{{range .Roles}}{{.}} {{end}}</dd>
<dt>Access token</dt><dd id="token">{{.ID}} until <span id="expiry">{{.Expiry.UTC.Format "15:04:05"}}</span></dd>
</dl>
<p><a href="/admin">Admin page</a></p>
<form action="/logout" method="post"><button type="submit">Sign out</button></form>
{{template "bottom"}}{{end}}

{{define "admin"}}{{template "top" "Admin"}}
<h1>Admin</h1>
<p>Only members with the admin role see this page.</p>
<form action="/admin/cutover" method="post">
<label for="percent">Share of users sent to Gatehouse (0 rolls back)</label>
<input id="percent" name="percent" type="number" min="0" max="100" value="{{.Percent}}">
<button type="submit">Apply</button>
</form>
<p><a href="/dashboard">Dashboard</a></p>
{{template "bottom"}}{{end}}

{{define "bye"}}{{template "top" "Signed out"}}
<h1>You are signed out</h1>
<p><a href="/">Home</a></p>
{{template "bottom"}}{{end}}
`))

// render writes a page, rendered into a buffer first so a template error
// never leaves half a page.
func render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "page error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
