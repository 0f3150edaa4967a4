// Package mail delivers the emails services queue in the database (in the
// same transaction as the write that caused them, so an invitation is never
// sent for a user who was not created, nor lost for one who was).
//
// With SMTP configured, a worker sends queued mail and marks it sent. In
// development without SMTP, mail stays in the queue, which is the dev
// outbox served at /_dev/outbox (outbox.go). A failed send is logged and
// retried with a doubling back-off.
package mail

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Worker sends queued email.
type Worker struct {
	Store    *store.Store
	EnvID    string
	SMTPURL  string // empty: no delivery
	From     string
	Now      func() time.Time
	Log      *slog.Logger
	Interval time.Duration
	// Dev marks a development server, whose outbox is the delivery: no
	// warning that mail goes nowhere.
	Dev bool
	// Backoff is the wait before retrying a message whose send failed,
	// doubled at each further failure up to MaxBackoff (defaults 5 s and
	// 10 min).
	Backoff, MaxBackoff time.Duration

	retries map[string]retry // email id -> its failed attempts
}

// retry is the back-off state of one message whose send failed. It lives
// in memory: after a restart every queued message is tried at once.
type retry struct {
	attempts int
	next     time.Time
}

// Run delivers queued mail until ctx ends. Without SMTP it only warns, at
// start and outside development, that mail is not being delivered.
func (w *Worker) Run(ctx context.Context) {
	if w.SMTPURL == "" {
		if !w.Dev {
			w.Log.Warn("no SMTP server configured (--smtp-url, GATEHOUSE_SMTP_URL): sign-in codes, magic links, password resets and invitations are queued but never delivered")
		}
		return
	}
	interval := w.Interval
	if interval == 0 {
		interval = 2 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := w.deliver(ctx); err != nil && ctx.Err() == nil {
			w.Log.Warn("email delivery failed; will retry", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// deliver sends the queued messages that are due. A failed send is logged
// and retried later with a doubling back-off; other messages still go.
func (w *Worker) deliver(ctx context.Context) error {
	msgs, err := w.Store.Q().ListUnsentEmails(ctx, w.EnvID, 50)
	if err != nil || len(msgs) == 0 {
		return err
	}
	client, err := w.client()
	if err != nil {
		return err
	}
	if w.retries == nil {
		w.retries = map[string]retry{}
	}
	now := w.Now()
	for _, m := range msgs {
		rt := w.retries[m.ID]
		if now.Before(rt.next) {
			continue
		}
		msg := gomail.NewMsg()
		if err := msg.From(w.From); err != nil {
			return fmt.Errorf("mail from %q: %w", w.From, err)
		}
		if err := msg.To(m.To); err != nil {
			w.Log.Warn("skipping email with a bad recipient", "email_id", m.ID, "err", err)
			continue
		}
		msg.Subject(m.Subject)
		msg.SetBodyString(gomail.TypeTextPlain, m.Body)
		if err := client.DialAndSendWithContext(ctx, msg); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			rt.attempts++
			wait := w.backoff(rt.attempts)
			rt.next = now.Add(wait)
			w.retries[m.ID] = rt
			w.Log.Warn("sending an email failed; will retry", "email_id", m.ID, "kind", m.Kind,
				"attempt", rt.attempts, "retry_in", wait.String(), "err", err)
			continue
		}
		if err := w.Store.Q().MarkEmailSent(ctx, w.EnvID, m.ID, w.Now()); err != nil {
			return err
		}
		if rt.attempts > 0 {
			w.Log.Info("email delivered after retrying", "email_id", m.ID, "kind", m.Kind, "attempts", rt.attempts+1)
		}
		delete(w.retries, m.ID)
	}
	return nil
}

// backoff is the wait after the n-th failed attempt (n >= 1).
func (w *Worker) backoff(n int) time.Duration {
	base, max := w.Backoff, w.MaxBackoff
	if base <= 0 {
		base = 5 * time.Second
	}
	if max <= 0 {
		max = 10 * time.Minute
	}
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

func (w *Worker) client() (*gomail.Client, error) {
	u, err := url.Parse(w.SMTPURL)
	if err != nil {
		return nil, err
	}
	opts := []gomail.Option{gomail.WithTLSPolicy(gomail.TLSOpportunistic)}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, err
		}
		opts = append(opts, gomail.WithPort(n))
	}
	if u.Scheme == "smtps" {
		opts = append(opts, gomail.WithSSL())
	}
	if u.User != nil {
		pw, _ := u.User.Password()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain), gomail.WithUsername(u.User.Username()), gomail.WithPassword(pw))
	}
	return gomail.NewClient(u.Hostname(), opts...)
}

// Outbox is the older dev outbox at /dev/outbox, oldest first with the
// fields body, kind and created_at; kept for the tests and scripts that
// read it. New code reads DevOutbox at /_dev/outbox.
func Outbox(st *store.Store, envID string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		msgs, err := st.Q().ListEmails(r.Context(), envID, store.Page{Limit: 1000})
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		type item struct {
			ID        string    `json:"id"`
			To        string    `json:"to"`
			Subject   string    `json:"subject"`
			Body      string    `json:"body"`
			Kind      string    `json:"kind"`
			CreatedAt time.Time `json:"created_at"`
		}
		out := []item{}
		for _, m := range msgs {
			out = append(out, item{m.ID, m.To, m.Subject, m.Body, m.Kind, m.CreatedAt})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
}
