package mail_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// emailID is the id of the one email queued to an address.
func emailID(t *testing.T, in *servertest.Instance, to string) string {
	t.Helper()
	var id string
	if err := in.Server.Store().DB().QueryRow(`SELECT id FROM emails WHERE to_addr = $1`, to).Scan(&id); err != nil {
		t.Fatalf("email to %s: %v", to, err)
	}
	return id
}

func delivery(t *testing.T, in *servertest.Instance, id string) *store.EmailDelivery {
	t.Helper()
	d, err := in.Server.Store().Q().GetEmailDelivery(context.Background(), in.Server.Bootstrap.EnvID, id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func health(t *testing.T, in *servertest.Instance) store.MailHealth {
	t.Helper()
	h, err := in.Server.Store().Q().GetMailHealth(context.Background(), in.Server.Bootstrap.EnvID)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func deliverOnce(t *testing.T, w *mail.Worker) {
	t.Helper()
	if err := w.DeliverOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestDeliveryStateRecorded follows one message through a refusing mail
// server on both databases: queued, failing with its attempt count, error
// and retry time (and no attempt before that time), given up after
// MaxAttempts; the mail system is failing meanwhile, and the next
// delivery through a working server marks it healthy again.
func TestDeliveryStateRecorded(t *testing.T) {
	servertest.Each(t, servertest.Options{}, func(t *testing.T, in *servertest.Instance) {
		queueInvitation(t, in, "state@example.com")
		id := emailID(t, in, "state@example.com")
		if d := delivery(t, in, id); d.State != store.EmailQueued || d.Attempts != 0 {
			t.Fatalf("before any attempt: %+v", d)
		}
		if h := health(t, in); !h.FailingSince.IsZero() {
			t.Fatalf("health before any attempt: %+v", h)
		}
		clk := &fakeClock{now: time.Now().UTC().Truncate(time.Second)}
		down, conns := startFlakySink(t, 1000)
		w := &mail.Worker{Store: in.Server.Store(), EnvID: in.Server.Bootstrap.EnvID, SMTPURL: "smtp://" + down.ln.Addr().String(),
			From: "auth@example.test", Now: clk.Now, Log: slog.New(slog.DiscardHandler), Backoff: time.Minute, MaxAttempts: 3}

		start := clk.Now()
		deliverOnce(t, w)
		d := delivery(t, in, id)
		if d.State != store.EmailFailing || d.Attempts != 1 || !strings.Contains(d.LastError, "421") || !d.RetryAt.Equal(start.Add(time.Minute)) {
			t.Fatalf("after a refused attempt: %+v", d)
		}
		if h := health(t, in); !h.FailingSince.Equal(start) || h.Failures != 1 || !strings.Contains(h.LastError, "421") {
			t.Fatalf("health after a refused attempt: %+v", h)
		}
		clk.Advance(59 * time.Second)
		deliverOnce(t, w)
		if n := conns.Load(); n != 1 {
			t.Fatalf("connections before the retry time = %d, want 1", n)
		}
		clk.Advance(time.Second)
		deliverOnce(t, w)
		if d := delivery(t, in, id); d.State != store.EmailFailing || d.Attempts != 2 || !d.RetryAt.Equal(clk.Now().Add(2*time.Minute)) {
			t.Fatalf("after the second attempt: %+v", d)
		}
		clk.Advance(2 * time.Minute)
		deliverOnce(t, w)
		d = delivery(t, in, id)
		if d.State != store.EmailGivenUp || d.Attempts != 3 || !d.GivenUpAt.Equal(clk.Now()) || !d.SentAt.IsZero() {
			t.Fatalf("after MaxAttempts: %+v", d)
		}
		if h := health(t, in); !h.FailingSince.Equal(start) || h.Failures != 3 {
			t.Fatalf("health after three refusals: %+v", h)
		}
		clk.Advance(time.Hour)
		deliverOnce(t, w)
		if n := conns.Load(); n != 3 {
			t.Fatalf("connections after giving up = %d, want 3", n)
		}

		up := startSink(t)
		w.SMTPURL = "smtp://" + up.ln.Addr().String()
		queueInvitation(t, in, "later@example.com")
		deliverOnce(t, w)
		if d := delivery(t, in, emailID(t, in, "later@example.com")); d.State != store.EmailSent || !d.SentAt.Equal(clk.Now()) {
			t.Fatalf("through a working server: %+v", d)
		}
		if h := health(t, in); !h.FailingSince.IsZero() || h.Failures != 0 {
			t.Fatalf("health after a delivery: %+v", h)
		}
		if d := delivery(t, in, id); d.State != store.EmailGivenUp {
			t.Fatalf("a given-up message was tried again: %+v", d)
		}
		if msgs := up.messages(); len(msgs) != 1 || !strings.Contains(msgs[0], "later@example.com") {
			t.Fatalf("sink got %q", msgs)
		}
	})
}

// TestRefusedRecipientIsNotAnOutage: a server that refuses one recipient
// for good (550) makes the worker give up on that message at once, while
// the others go, and the mail system is not marked failing: one address
// must not change what the login pages say.
func TestRefusedRecipientIsNotAnOutage(t *testing.T) {
	servertest.Each(t, servertest.Options{}, func(t *testing.T, in *servertest.Instance) {
		queueInvitation(t, in, "nobody@example.com")
		queueInvitation(t, in, "somebody@example.com")
		smtp := startSinkRefusing(t, "nobody@example.com")
		w := &mail.Worker{Store: in.Server.Store(), EnvID: in.Server.Bootstrap.EnvID, SMTPURL: "smtp://" + smtp.ln.Addr().String(),
			From: "auth@example.test", Now: time.Now, Log: slog.New(slog.DiscardHandler)}
		deliverOnce(t, w)
		if d := delivery(t, in, emailID(t, in, "nobody@example.com")); d.State != store.EmailGivenUp || d.Attempts != 1 || !strings.Contains(d.LastError, "550") {
			t.Errorf("refused recipient: %+v", d)
		}
		if d := delivery(t, in, emailID(t, in, "somebody@example.com")); d.State != store.EmailSent {
			t.Errorf("other recipient: %+v", d)
		}
		if h := health(t, in); !h.FailingSince.IsZero() || h.Failures != 0 {
			t.Errorf("a refused recipient marked the mail system failing: %+v", h)
		}
	})
}
