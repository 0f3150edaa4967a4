package oauth

import (
	"bytes"
	"html/template"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/httpx"
)

// The authorization server's own pages: an error page (for requests that
// must not be redirected, SECURITY-BAR C09/O01), the logout confirmation
// and the signed-out page. The hosted login UI has its own templates.
var pages = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>{{.Title}}</title></head>
<body>
<main>
<h1>{{.Title}}</h1>
{{if .Message}}<p>{{.Message}}</p>{{end}}
{{if .Form}}<form method="post" action="{{.Action}}">
{{range $k, $v := .Form}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<button type="submit">Sign out</button>
</form>{{end}}
{{if .Code}}<p><small>Error: {{.Code}}</small></p>{{end}}
</main>
</body>
</html>
`))

type page struct {
	Title, Message, Code, Action string
	Form                         map[string]string
}

// setPageHeaders is applied to every browser-facing response of the
// authorization server: never framed, never cached, never leaking the URL
// (with its code or state) in a Referer, and no CORS (SECURITY-BAR O15, W01).
func setPageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
}

func (s *Server) renderPage(w http.ResponseWriter, status int, p page) {
	var buf bytes.Buffer
	if err := pages.Execute(&buf, p); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	setPageHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorPage shows an error to the user and sends the browser nowhere.
func (s *Server) errorPage(w http.ResponseWriter, status int, code, message string) {
	s.renderPage(w, status, page{Title: "This request cannot be completed", Message: message, Code: code})
}

// redirect sends the browser to target with 303 See Other, so a POST is
// never replayed at the destination (RFC 9700 section 4.11).
func redirect(w http.ResponseWriter, target string) {
	setPageHeaders(w)
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusSeeOther)
}

func requestID(r *http.Request) string { return httpx.RequestID(r.Context()) }
