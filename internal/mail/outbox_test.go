package mail_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

func getOutbox(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// TestDevOutbox reads two invitations at GET /_dev/outbox: exactly the
// documented fields, newest first, the HTML escaped, and the HTML view.
func TestDevOutbox(t *testing.T) {
	servertest.Each(t, servertest.Options{}, func(t *testing.T, in *servertest.Instance) {
		tok := in.Token(t)
		if code, body := in.Do(t, tok, "POST", "/api/v1/organizations", `{"display_name":"Mail <b>&Co</b>","external_id":"mail-co"}`); code != 200 {
			t.Fatalf("create org: %d %v", code, body)
		}
		for _, e := range []string{"first@example.com", "second@example.com"} {
			if code, body := in.Do(t, tok, "POST", "/api/v1/organizations/mail-co/users", `{"email":"`+e+`"}`); code != 200 {
				t.Fatalf("create user: %d %v", code, body)
			}
		}
		code, ctype, body := getOutbox(t, in.URL+"/_dev/outbox")
		if code != 200 || !strings.HasPrefix(ctype, "application/json") {
			t.Fatalf("GET /_dev/outbox = %d %s %s", code, ctype, body)
		}
		var raw []map[string]any
		if err := json.Unmarshal([]byte(body), &raw); err != nil || len(raw) != 2 {
			t.Fatalf("outbox: %v, %d messages: %s", err, len(raw), body)
		}
		for _, m := range raw {
			var keys []string
			for k := range m {
				keys = append(keys, k)
			}
			if len(m) != 6 || m["id"] == nil || m["to"] == nil || m["subject"] == nil || m["text"] == nil || m["html"] == nil || m["sent_at"] == nil {
				t.Errorf("message fields = %v, want exactly id, to, subject, text, html, sent_at", keys)
			}
		}
		var msgs []mail.OutboxMessage
		if err := json.Unmarshal([]byte(body), &msgs); err != nil {
			t.Fatal(err)
		}
		if msgs[0].To != "second@example.com" || msgs[1].To != "first@example.com" {
			t.Errorf("order = %s, %s; want newest first", msgs[0].To, msgs[1].To)
		}
		if msgs[0].SentAt.IsZero() || msgs[0].SentAt.Before(msgs[1].SentAt) || time.Since(msgs[0].SentAt) > time.Minute {
			t.Errorf("sent_at = %v, %v", msgs[0].SentAt, msgs[1].SentAt)
		}
		m := msgs[0]
		if !strings.Contains(m.Text, "Mail <b>&Co</b>") || !strings.Contains(m.Subject, "Mail <b>&Co</b>") {
			t.Errorf("text = %q", m.Text)
		}
		if strings.Contains(m.HTML, "<b>") || !strings.Contains(m.HTML, "Mail &lt;b&gt;&amp;Co&lt;/b&gt;") {
			t.Errorf("html is not escaped: %q", m.HTML)
		}
		if !strings.Contains(m.HTML, `<a href="`+in.Config.PublicURL+`/login?`) || !strings.Contains(m.HTML, "<p>") {
			t.Errorf("html has no paragraphs or link: %q", m.HTML)
		}

		code, ctype, page := getOutbox(t, in.URL+"/_dev/outbox?format=html")
		if code != 200 || !strings.HasPrefix(ctype, "text/html") {
			t.Fatalf("HTML view = %d %s", code, ctype)
		}
		if !strings.Contains(page, "second@example.com") || strings.Contains(page, "<b>&Co") || !strings.Contains(page, "&lt;b&gt;") {
			t.Errorf("HTML view does not show the escaped messages: %s", page)
		}
		if i, j := strings.Index(page, "second@example.com"), strings.Index(page, "first@example.com"); i < 0 || j < i {
			t.Errorf("HTML view is not newest first")
		}
	})
}

// TestLegacyOutboxGone: the older /dev/outbox alias is gone; in --dev
// only /_dev/outbox answers.
func TestLegacyOutboxGone(t *testing.T) {
	in := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) { c.Dev = true }})
	if code, _, body := getOutbox(t, in.URL+"/_dev/outbox"); code != http.StatusOK {
		t.Fatalf("GET /_dev/outbox in --dev = %d %s, want 200", code, body)
	}
	if code, _, body := getOutbox(t, in.URL+"/dev/outbox"); code != http.StatusNotFound {
		t.Errorf("GET /dev/outbox in --dev = %d %s, want 404", code, body)
	}
}

// TestDevOutboxOnlyInDev: outside --dev the outbox does not exist.
func TestDevOutboxOnlyInDev(t *testing.T) {
	in := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) { c.Dev = false }})
	for _, p := range []string{"/_dev/outbox", "/_dev/outbox?format=html", "/dev/outbox"} {
		if code, _, body := getOutbox(t, in.URL+p); code != http.StatusNotFound {
			t.Errorf("GET %s without --dev = %d %s, want 404", p, code, body)
		}
	}
}

func TestTextToHTML(t *testing.T) {
	got := mail.TextToHTML("Hi <you> & co\nline two https://x.test/a?b=1&c=\"2\n\n\nbye")
	want := "<p>Hi &lt;you&gt; &amp; co<br>\nline two <a href=\"https://x.test/a?b=1&amp;c=\">https://x.test/a?b=1&amp;c=</a>&#34;2</p>\n<p>bye</p>\n"
	if got != want {
		t.Errorf("TextToHTML =\n%q\nwant\n%q", got, want)
	}
}
