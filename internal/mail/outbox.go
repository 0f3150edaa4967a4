package mail

import (
	"bytes"
	"encoding/json"
	"html"
	"html/template"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// DevOutboxPath is where --dev serves the outbox. It is not mounted at all
// outside --dev.
const DevOutboxPath = "/_dev/outbox"

// outboxLimit bounds one read of the outbox: a developer wants the latest
// messages, not the history of a long-running dev server.
const outboxLimit = 500

// OutboxMessage is one email as GET /_dev/outbox shows it.
type OutboxMessage struct {
	ID      string `json:"id"`
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	// HTML is the text rendered as HTML: escaped, paragraphs and line
	// breaks kept, http(s) links made clickable.
	HTML string `json:"html"`
	// SentAt is when the message was delivered by SMTP or, without SMTP,
	// when it landed in the outbox (which is its delivery in development).
	SentAt time.Time `json:"sent_at"`
}

// DevOutbox serves the emails of the environment, newest first: JSON by
// default, or a small HTML page with ?format=html (or an Accept header
// that prefers text/html, as a browser's does).
func DevOutbox(st *store.Store, envID string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		msgs, err := st.Q().ListEmailsNewest(r.Context(), envID, outboxLimit)
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		out := make([]OutboxMessage, 0, len(msgs))
		for _, m := range msgs {
			sent := m.SentAt
			if sent.IsZero() {
				sent = m.CreatedAt
			}
			out = append(out, OutboxMessage{ID: m.ID, To: m.To, Subject: m.Subject, Text: m.Body, HTML: TextToHTML(m.Body), SentAt: sent})
		}
		w.Header().Set("Cache-Control", "no-store")
		if wantsHTML(r) {
			var buf bytes.Buffer
			if err := outboxPage.Execute(&buf, out); err != nil {
				http.Error(w, "internal error", http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
			_, _ = w.Write(buf.Bytes())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
}

func wantsHTML(r *http.Request) bool {
	switch r.URL.Query().Get("format") {
	case "html":
		return true
	case "json":
		return false
	}
	return strings.HasPrefix(r.Header.Get("Accept"), "text/html")
}

var linkRE = regexp.MustCompile(`https?://[^\s<>"]+`)

// TextToHTML renders a plain-text email as HTML: every character escaped,
// blank lines as paragraphs, single newlines as <br>, and http(s) URLs as
// links.
func TextToHTML(text string) string {
	var b strings.Builder
	for _, para := range strings.Split(strings.ReplaceAll(strings.TrimSpace(text), "\r\n", "\n"), "\n\n") {
		para = strings.Trim(para, "\n")
		if strings.TrimSpace(para) == "" {
			continue
		}
		b.WriteString("<p>")
		for i, line := range strings.Split(para, "\n") {
			if i > 0 {
				b.WriteString("<br>\n")
			}
			last := 0
			for _, loc := range linkRE.FindAllStringIndex(line, -1) {
				b.WriteString(html.EscapeString(line[last:loc[0]]))
				u := html.EscapeString(line[loc[0]:loc[1]])
				b.WriteString(`<a href="` + u + `">` + u + `</a>`)
				last = loc[1]
			}
			b.WriteString(html.EscapeString(line[last:]))
		}
		b.WriteString("</p>\n")
	}
	return b.String()
}

var outboxPage = template.Must(template.New("outbox").Funcs(template.FuncMap{
	"safe": func(s string) template.HTML { return template.HTML(s) }, // TextToHTML escapes everything
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dev outbox</title>
<style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
article{border:1px solid #ccc;border-radius:6px;padding:0 1rem;margin:1rem 0}header{color:#555;font-size:.9rem;padding-top:.5rem}</style>
</head><body>
<h1>Dev outbox</h1>
<p>Emails this development server would have sent, newest first. <a href="?format=json">JSON</a></p>
{{range .}}<article id="{{.ID}}">
<header>To <strong>{{.To}}</strong> · {{.SentAt.Format "2006-01-02 15:04:05 MST"}}</header>
<h2>{{.Subject}}</h2>
{{safe .HTML}}</article>
{{else}}<p>No email yet.</p>
{{end}}</body></html>
`))
