package mail_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// startFlakySink is a sink whose first `refuse` connections are turned
// away with 421 (service not available), as a busy or restarting SMTP
// server does; later ones are served normally. conns counts connections.
func startFlakySink(t *testing.T, refuse int32) (*sink, *atomic.Int32) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{ln: ln}
	var conns atomic.Int32
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if conns.Add(1) <= refuse {
				_ = textproto.NewConn(c).PrintfLine("421 sink busy, try later")
				c.Close()
				continue
			}
			go s.serve(c)
		}
	}()
	return s, &conns
}

// syncBuffer is a log destination safe for the worker's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// queueInvitation makes the server queue one email (an invitation).
func queueInvitation(t *testing.T, in *servertest.Instance, email string) {
	t.Helper()
	tok := in.Token(t)
	in.Do(t, tok, "POST", "/api/v1/organizations", `{"display_name":"Retry Co","external_id":"retry-co"}`)
	if code, body := in.Do(t, tok, "POST", "/api/v1/organizations/retry-co/users", `{"email":"`+email+`"}`); code != 200 {
		t.Fatalf("create user: %d %v", code, body)
	}
}

func runWorker(t *testing.T, w *mail.Worker) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// TestFailedSendIsRetried: an SMTP server that refuses the first two
// attempts still gets the email, each failure is logged with its attempt
// number, and the email is marked sent only once delivered.
func TestFailedSendIsRetried(t *testing.T) {
	in := servertest.Start(t, servertest.Options{}) // no SMTP: the server's own worker sends nothing
	queueInvitation(t, in, "retry@example.com")
	smtp, conns := startFlakySink(t, 2)
	var logs syncBuffer
	runWorker(t, &mail.Worker{Store: in.Server.Store(), EnvID: in.Server.Bootstrap.EnvID,
		SMTPURL: "smtp://" + smtp.ln.Addr().String(), From: "auth@example.test", Now: time.Now,
		Log: slog.New(slog.NewTextHandler(&logs, nil)), Interval: 10 * time.Millisecond,
		Backoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})

	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		var sentAt int64
		_ = in.Server.Store().DB().QueryRow(`SELECT COALESCE(sent_at, 0) FROM emails WHERE to_addr = $1`, "retry@example.com").Scan(&sentAt)
		// The worker marks the email sent, then logs the delivery.
		if sentAt != 0 && strings.Contains(logs.String(), "email delivered after retrying") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	msgs := smtp.messages()
	if len(msgs) != 1 || !strings.Contains(msgs[0], "retry@example.com") {
		t.Fatalf("sink got %d messages (after %d connections), want the invitation once; logs:\n%s", len(msgs), conns.Load(), logs.String())
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("connections = %d, want 3 (two refused, one delivered)", n)
	}
	l := logs.String()
	for _, want := range []string{"sending an email failed; will retry", "attempt=1", "attempt=2", "421", "email delivered after retrying"} {
		if !strings.Contains(l, want) {
			t.Errorf("logs lack %q:\n%s", want, l)
		}
	}
}

// TestRetryWaitsForBackoff: after a failure the message is not tried
// again on every tick, only once its back-off has passed.
func TestRetryWaitsForBackoff(t *testing.T) {
	in := servertest.Start(t, servertest.Options{})
	queueInvitation(t, in, "patient@example.com")
	smtp, conns := startFlakySink(t, 100)
	runWorker(t, &mail.Worker{Store: in.Server.Store(), EnvID: in.Server.Bootstrap.EnvID,
		SMTPURL: "smtp://" + smtp.ln.Addr().String(), From: "auth@example.test", Now: time.Now,
		Log: slog.New(slog.DiscardHandler), Interval: 5 * time.Millisecond, Backoff: time.Hour})
	time.Sleep(300 * time.Millisecond) // about 60 ticks
	if n := conns.Load(); n != 1 {
		t.Errorf("connections in 60 ticks = %d, want 1 (then wait an hour)", n)
	}
}

// TestNoSMTPWarnsOutsideDev: a server that cannot deliver mail says so at
// start, unless it is a development server whose outbox is the delivery.
func TestNoSMTPWarnsOutsideDev(t *testing.T) {
	for _, dev := range []bool{false, true} {
		var logs syncBuffer
		w := &mail.Worker{Dev: dev, Log: slog.New(slog.NewTextHandler(&logs, nil)), Now: time.Now}
		w.Run(context.Background()) // returns at once without SMTP
		if got := strings.Contains(logs.String(), "no SMTP server configured"); got == dev {
			t.Errorf("dev=%v: warning logged = %v; logs: %s", dev, got, logs.String())
		}
	}
}
