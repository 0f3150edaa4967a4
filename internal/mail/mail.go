// Package mail delivers the emails services queue in the database (in the
// same transaction as the write that caused them, so an invitation is never
// sent for a user who was not created, nor lost for one who was).
//
// With SMTP configured, a worker sends queued mail and marks it sent. In
// development without SMTP, mail stays in the queue, which is the dev
// outbox served at /_dev/outbox (outbox.go). A failed send is logged and
// retried with a doubling back-off; each message records its delivery
// state (queued, sent, failing after N attempts, given up), and a failure
// of the mail server marks the environment's mail failing until the next
// delivery, which the login pages tell the user (mailhealth.go).
package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	// MaxAttempts is how many failed sends of one message make the worker
	// give up on it (default 10: about half an hour with the default
	// back-off, by when a sign-in code has long expired).
	MaxAttempts int
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

// deliver sends the queued messages that are due. Each message's
// delivery state is kept in the database (store.EmailDelivery), so the
// back-off survives a restart and other nodes see it; a failure of the
// server itself also marks the mail system failing (store.MailHealth),
// which the login pages show.
func (w *Worker) deliver(ctx context.Context) error {
	msgs, err := w.Store.Q().ListDueEmails(ctx, w.EnvID, w.Now(), 50)
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
			if err := w.failed(ctx, m, err, true); err != nil {
				return err
			}
			continue
		}
		msg.Subject(m.Subject)
		msg.SetBodyString(gomail.TypeTextPlain, m.Body)
		if err := client.DialAndSendWithContext(ctx, msg); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err := w.failed(ctx, m, err, false); err != nil {
				return err
			}
			continue
		}
		if err := w.sent(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// sent records a delivery, and that the mail server works.
func (w *Worker) sent(ctx context.Context, m *store.DueEmail) error {
	now := w.Now()
	if err := w.Store.Q().MarkEmailSent(ctx, w.EnvID, m.ID, now); err != nil {
		return err
	}
	if m.Attempts > 0 {
		w.Log.Info("email delivered after retrying", "email_id", m.ID, "kind", m.Kind, "attempts", m.Attempts+1)
	}
	return w.Store.Q().RecordMailServerOK(ctx, w.EnvID, now)
}

// failed records a failed send of m: retried after a doubling back-off,
// or given up after MaxAttempts or at once when it can never succeed (a
// malformed address, or a recipient the server refuses for good). Only a
// failure of the server itself marks the mail system failing: one bad
// recipient must not, since the login pages would then tell an attacker
// that an email was sent to that address.
func (w *Worker) failed(ctx context.Context, m *store.DueEmail, sendErr error, badAddress bool) error {
	now := w.Now()
	attempts := m.Attempts + 1
	recipient, permanent := recipientRefused(sendErr)
	maxAttempts := w.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = 10
	}
	var retryAt, gaveUp time.Time
	if badAddress || permanent || attempts >= maxAttempts {
		gaveUp = now
		w.Log.Error("giving up on an email", "email_id", m.ID, "kind", m.Kind, "attempts", attempts, "err", sendErr)
	} else {
		wait := w.backoff(attempts)
		retryAt = now.Add(wait)
		w.Log.Warn("sending an email failed; will retry", "email_id", m.ID, "kind", m.Kind,
			"attempt", attempts, "retry_in", wait.String(), "err", sendErr)
	}
	errText := truncate(sendErr.Error(), 500)
	if err := w.Store.Q().RecordEmailFailure(ctx, w.EnvID, m.ID, attempts, errText, retryAt, gaveUp); err != nil {
		return err
	}
	if badAddress || recipient {
		return nil
	}
	return w.Store.Q().RecordMailServerFailure(ctx, w.EnvID, errText, now)
}

// recipientRefused reports whether a send failed because the server
// refused the recipient (RCPT TO), and whether that refusal is permanent
// (a 5xx reply). Every other failure is the server's.
func recipientRefused(err error) (recipient, permanent bool) {
	var se *gomail.SendError
	if !errors.As(err, &se) || se.Reason != gomail.ErrSMTPRcptTo {
		return false, false
	}
	return true, se.ErrorCode() >= 500
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
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
