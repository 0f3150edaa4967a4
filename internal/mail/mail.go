// Package mail delivers the emails services queue in the database (in the
// same transaction as the write that caused them, so an invitation is never
// sent for a user who was not created, nor lost for one who was).
//
// With SMTP configured, a worker sends queued mail and marks it sent. In
// development without SMTP, mail stays in the queue, which is the dev
// outbox served at /dev/outbox.
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
}

// Run delivers queued mail until ctx ends. Without SMTP it only warns once
// that mail is not being delivered.
func (w *Worker) Run(ctx context.Context) {
	if w.SMTPURL == "" {
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

func (w *Worker) deliver(ctx context.Context) error {
	msgs, err := w.Store.Q().ListUnsentEmails(ctx, w.EnvID, 50)
	if err != nil || len(msgs) == 0 {
		return err
	}
	client, err := w.client()
	if err != nil {
		return err
	}
	for _, m := range msgs {
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
			return err
		}
		if err := w.Store.Q().MarkEmailSent(ctx, w.EnvID, m.ID, w.Now()); err != nil {
			return err
		}
	}
	return nil
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

// Outbox serves the queued and sent emails as JSON, for development: a
// developer (or a test) reads invitations here instead of a mailbox.
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
