package login_test

// Issue 4, point 9: a failed send is retried and the user sees a clear
// message, without learning whether an account exists.

import (
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Texts of internal/login/mailhealth.go, as the user reads them.
const (
	troubleCode = "We couldn't send the email right now. We'll keep trying, so it may arrive late; you can also ask for a new code in a minute."
	troubleLink = "We couldn't send the email right now. We'll keep trying, so it may arrive late; you can also ask again in a few minutes."
)

// smtpSink is an SMTP server on loopback that turns every connection
// away with 421 while refusing is set (a mail server that is down or
// overloaded), and otherwise accepts every message.
type smtpSink struct {
	ln        net.Listener
	refusing  atomic.Bool
	delivered atomic.Int32
}

func startSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSink{ln: ln}
	s.refusing.Store(true)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpSink) serve(c net.Conn) {
	defer c.Close()
	tp := textproto.NewConn(c)
	if s.refusing.Load() {
		_ = tp.PrintfLine("421 4.3.2 service not available")
		return
	}
	_ = tp.PrintfLine("220 sink ESMTP")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		switch strings.ToUpper(strings.Fields(line + " x")[0]) {
		case "EHLO", "HELO":
			_ = tp.PrintfLine("250-sink\r\n250 8BITMIME")
		case "DATA":
			_ = tp.PrintfLine("354 go ahead")
			if _, err := tp.ReadDotLines(); err != nil {
				return
			}
			s.delivered.Add(1)
			_ = tp.PrintfLine("250 queued")
		case "QUIT":
			_ = tp.PrintfLine("221 bye")
			return
		default:
			_ = tp.PrintfLine("250 ok")
		}
	}
}

// waitMailHealth waits until the mail worker has recorded the mail
// server as failing (or, with failing false, as working).
func (f *fx) waitMailHealth(failing bool) {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		h, err := f.in.Server.Store().Q().GetMailHealth(f.ctx, f.in.Server.Bootstrap.EnvID)
		if err != nil {
			f.t.Fatal(err)
		}
		if h.FailingSince.IsZero() != failing {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.t.Fatalf("the mail worker never recorded failing=%v", failing)
}

// codeStep runs a new browser through the email step for email, to the
// page with the code form (the password step, for every email).
func (f *fx) codeStep(email string) *page {
	f.t.Helper()
	b := f.browser()
	p := b.submit(b.authorize(newAuthz()), "/login/email", map[string]string{"email": email})
	if p.status != http.StatusOK || !p.has("/login/code") {
		f.t.Fatalf("want the code step for %s, got %d: %s", email, p.status, p.text())
	}
	return p
}

// forgotAnswer runs a new browser through "forgot your password?".
func (f *fx) forgotAnswer(email string) *page {
	f.t.Helper()
	b := f.browser()
	return b.submit(b.get("/login/forgot"), "/login/forgot", map[string]string{"email": email})
}

// alert is the text of the page's role=alert element, if any.
func (p *page) alert() string {
	var s string
	walk(p.doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode && attr(n, "role") == "alert" {
			s = textOf(n)
		}
		return s == ""
	})
	return s
}

// TestMailTroubleShown: while the SMTP server refuses every connection,
// the sign-in code is retried (its delivery state says failing, attempt
// after attempt), and the code step, the forgot-password answer and the
// account's email change say clearly that the email could not be sent
// yet: the same page for a known and an unknown email, and for a free and
// a taken new address. Once the server takes mail again, the pages say
// "we have emailed" again. SQLite and PostgreSQL.
func TestMailTroubleShown(t *testing.T) {
	for _, db := range []struct {
		name string
		pg   bool
	}{{"sqlite", false}, {"postgres", true}} {
		t.Run(db.name, func(t *testing.T) {
			sink := startSMTPSink(t)
			f := newFx(t, db.pg, func(c *config.Config) {
				c.SMTPURL = "smtp://" + sink.ln.Addr().String()
				c.MailFrom = "auth@example.test"
			})
			f.user(f.orgID, "known@acme.example", "", false)
			f.user(f.orgID, "taken@acme.example", "", false)
			pwUser := "with-password@acme.example"
			f.user(f.orgID, pwUser, "a fine password", false)

			first := f.codeStep("known@acme.example")
			if h, _ := f.in.Server.Store().Q().GetMailHealth(f.ctx, f.in.Server.Bootstrap.EnvID); h.FailingSince.IsZero() {
				// Rendered before any failure: the usual text.
				if first.alert() != "" || !strings.Contains(first.text(), "we have emailed it a 6-digit code") {
					t.Errorf("code step with healthy mail: %s", first.text())
				}
			}
			f.waitMailHealth(true)

			// The message is failing, and is retried.
			id := f.lastMail("known@acme.example").ID
			deadline := time.Now().Add(20 * time.Second)
			var d *store.EmailDelivery
			for time.Now().Before(deadline) {
				var err error
				if d, err = f.in.Server.Store().Q().GetEmailDelivery(f.ctx, f.in.Server.Bootstrap.EnvID, id); err != nil {
					t.Fatal(err)
				}
				if d.Attempts >= 2 {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if d.State != store.EmailFailing || d.Attempts < 2 || !strings.Contains(d.LastError, "421") || d.RetryAt.IsZero() {
				t.Errorf("delivery of the code: %+v, want failing after 2 or more attempts", d)
			}

			// The code step: the same for a known and an unknown email.
			known, unknown := f.codeStep("known@acme.example"), f.codeStep("stranger@acme.example")
			if known.alert() != troubleCode {
				t.Errorf("code step alert = %q, want %q; page: %s", known.alert(), troubleCode, known.text())
			}
			if strings.Contains(known.text(), "have emailed") {
				t.Errorf("code step still says the email was sent: %s", known.text())
			}
			samePage(t, "code step", known, "known@acme.example", unknown, "stranger@acme.example")
			samePage(t, "code step (account with a password)", f.codeStep(pwUser), pwUser, unknown, "stranger@acme.example")

			// Forgot password: the same for a known and an unknown email.
			known, unknown = f.forgotAnswer("known@acme.example"), f.forgotAnswer("stranger@acme.example")
			if known.status != http.StatusOK || known.alert() != troubleLink || strings.Contains(known.text(), "we have emailed") {
				t.Errorf("forgot answer: %d alert %q: %s", known.status, known.alert(), known.text())
			}
			samePage(t, "forgot answer", known, "known@acme.example", unknown, "stranger@acme.example")

			// The email change: a free and a taken new address alike.
			var changed []*page
			b, _ := f.signedIn(pwUser, "a fine password")
			for _, to := range []string{"free@acme.example", "taken@acme.example"} {
				r := b.submitRaw(b.account(), "/account/email", map[string]string{"new_email": to, "current_password": "a fine password"})
				if r.status != http.StatusSeeOther {
					t.Fatalf("change to %s: %d %s", to, r.status, r.text())
				}
				p := b.follow(r)
				if p.alert() != troubleCode || !p.has("/account/email/confirm") {
					t.Errorf("email change to %s: alert %q: %s", to, p.alert(), p.text())
				}
				changed = append(changed, p)
			}
			samePage(t, "email change", changed[0], "free@acme.example", changed[1], "taken@acme.example")

			// The server takes mail again: the next delivery clears it.
			sink.refusing.Store(false)
			f.waitMailHealth(false)
			if p := f.codeStep("known@acme.example"); p.alert() != "" || !strings.Contains(p.text(), "we have emailed it a 6-digit code") {
				t.Errorf("code step after recovery: alert %q: %s", p.alert(), p.text())
			}
			if p := f.forgotAnswer("known@acme.example"); p.alert() != "" || !strings.Contains(p.text(), "we have emailed it a link") {
				t.Errorf("forgot answer after recovery: alert %q: %s", p.alert(), p.text())
			}
			if sink.delivered.Load() == 0 {
				t.Error("nothing was delivered after the server came back")
			}
		})
	}
}

// samePage fails unless two answers have the same status and the same
// visible text once their email addresses are swapped for a placeholder.
func samePage(t *testing.T, what string, a *page, aEmail string, b *page, bEmail string) {
	t.Helper()
	at, bt := strings.ReplaceAll(a.text(), aEmail, "EMAIL"), strings.ReplaceAll(b.text(), bEmail, "EMAIL")
	if a.status != b.status || at != bt {
		t.Errorf("%s differs:\n%d %s\n%d %s", what, a.status, at, b.status, bt)
	}
}

// textOf is the visible text under n, spaces collapsed.
func textOf(n *html.Node) string {
	var b strings.Builder
	walk(n, func(c *html.Node) bool {
		if c.Type == html.TextNode {
			b.WriteString(c.Data + " ")
		}
		return true
	})
	return strings.Join(strings.Fields(b.String()), " ")
}
