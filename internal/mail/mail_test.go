package mail_test

import (
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// sink is a minimal SMTP server on loopback that keeps what it receives.
type sink struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs []string // "RCPT\nDATA"
	// refuseRcpt, when set, is an address the sink refuses at RCPT TO
	// with 550, as a server does for a mailbox that does not exist.
	refuseRcpt string
}

func startSink(t *testing.T) *sink { return startSinkRefusing(t, "") }

// startSinkRefusing is a sink that refuses the recipient rcpt ("" none).
func startSinkRefusing(t *testing.T, rcpt string) *sink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{ln: ln, refuseRcpt: rcpt}
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

func (s *sink) serve(c net.Conn) {
	defer c.Close()
	tp := textproto.NewConn(c)
	_ = tp.PrintfLine("220 sink ESMTP")
	var rcpt string
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.Fields(line + " x")[0])
		switch cmd {
		case "EHLO", "HELO":
			_ = tp.PrintfLine("250-sink\r\n250 8BITMIME")
		case "MAIL":
			_ = tp.PrintfLine("250 ok")
		case "RCPT":
			if s.refuseRcpt != "" && strings.Contains(strings.ToLower(line), s.refuseRcpt) {
				_ = tp.PrintfLine("550 5.1.1 no such mailbox")
				continue
			}
			rcpt = line
			_ = tp.PrintfLine("250 ok")
		case "DATA":
			_ = tp.PrintfLine("354 go ahead")
			data, err := tp.ReadDotLines()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, rcpt+"\n"+strings.Join(data, "\n"))
			s.mu.Unlock()
			_ = tp.PrintfLine("250 queued")
		case "QUIT":
			_ = tp.PrintfLine("221 bye")
			return
		default:
			_ = tp.PrintfLine("250 ok")
		}
	}
}

func (s *sink) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}

// TestInvitationGoesOutBySMTP creates an invited user on a server
// configured with SMTP and waits for the invitation at a loopback sink.
func TestInvitationGoesOutBySMTP(t *testing.T) {
	smtp := startSink(t)
	in := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) {
		c.Dev = false
		c.SMTPURL = "smtp://" + smtp.ln.Addr().String()
		c.MailFrom = "Gatehouse <auth@example.test>"
	}})
	tok := in.Token(t)
	if code, body := in.Do(t, tok, "POST", "/api/v1/organizations", `{"display_name":"Mail Co","external_id":"mail-co"}`); code != 200 {
		t.Fatalf("create org: %d %v", code, body)
	}
	if code, body := in.Do(t, tok, "POST", "/api/v1/organizations/mail-co/users", `{"email":"invitee@example.com"}`); code != 200 {
		t.Fatalf("create user: %d %v", code, body)
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range smtp.messages() {
			if strings.Contains(m, "invitee@example.com") && strings.Contains(m, "Mail Co") {
				var sentAt int64
				if err := in.Server.Store().DB().QueryRow(`SELECT COALESCE(sent_at, 0) FROM emails WHERE to_addr = $1`, "invitee@example.com").Scan(&sentAt); err != nil || sentAt == 0 {
					time.Sleep(100 * time.Millisecond) // the worker marks it sent just after delivery
					continue
				}
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no invitation reached the SMTP sink (or it was not marked sent); got %q", smtp.messages())
}

// TestNoSMTPKeepsMailQueued shows that without SMTP the invitation stays
// in the queue (the dev outbox) rather than being lost or marked sent.
func TestNoSMTPKeepsMailQueued(t *testing.T) {
	in := servertest.Start(t, servertest.Options{})
	tok := in.Token(t)
	in.Do(t, tok, "POST", "/api/v1/organizations", `{"display_name":"Queue Co","external_id":"queue-co"}`)
	if code, body := in.Do(t, tok, "POST", "/api/v1/organizations/queue-co/users", `{"email":"queued@example.com"}`); code != 200 {
		t.Fatalf("create user: %d %v", code, body)
	}
	var n int
	if err := in.Server.Store().DB().QueryRow(`SELECT COUNT(*) FROM emails WHERE to_addr = $1 AND sent_at IS NULL`, "queued@example.com").Scan(&n); err != nil || n != 1 {
		t.Fatalf("queued invitations = %d (%v), want 1", n, err)
	}
}
