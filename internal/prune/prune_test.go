package prune_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/store"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// seed is one row of each kind, made at the clock's time.
type seed struct {
	flow, challenge, reset, attempt, sent, queued, event string
}

var n int

func seedRows(t *testing.T, ctx context.Context, in *servertest.Instance, clk *clock, userID string) seed {
	t.Helper()
	n++
	now := clk.Now()
	env := in.Server.Bootstrap.EnvID
	q := in.Server.Store().Q()
	s := seed{flow: fmt.Sprintf("lgf_%d", n), challenge: fmt.Sprintf("lch_%d", n), reset: fmt.Sprintf("reset%d", n), attempt: fmt.Sprintf("att_%d", n),
		event: fmt.Sprintf("evt_prune%d", n)}
	if err := q.CreateLoginFlow(ctx, &store.LoginFlow{ID: s.flow, EnvID: env, CookieHash: "cookie" + s.flow, Data: "{}",
		CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(30 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := q.CreateLoginChallenge(ctx, &store.LoginChallenge{ID: s.challenge, EnvID: env, FlowID: s.flow, EmailNorm: s.flow + "@x.example",
		CodeHash: "c", LinkHash: "link" + s.challenge, CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := q.CreatePasswordReset(ctx, &store.PasswordReset{TokenHash: s.reset, EnvID: env, UserID: userID, CreatedAt: now,
		ExpiresAt: now.Add(30 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := q.AddAuthAttempt(ctx, &store.AuthAttempt{ID: s.attempt, EnvID: env, CreatedAt: now, Method: "password", Outcome: "failure"}); err != nil {
		t.Fatal(err)
	}
	if err := q.AddEvent(ctx, &store.Event{ID: s.event, EnvID: env, Type: "user.updated", ObjectID: userID, Payload: "{}", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	// An email delivered at once, and one never delivered (still queued).
	s.sent, s.queued = fmt.Sprintf("eml_sent%d", n), fmt.Sprintf("eml_queued%d", n)
	for _, m := range []*store.Email{{ID: s.sent, SentAt: now}, {ID: s.queued}} {
		m.EnvID, m.To, m.Subject, m.Body, m.Kind, m.CreatedAt = env, "p@x.example", "s", "b", "invitation", now
		if err := q.AddEmail(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func count(t *testing.T, in *servertest.Instance, table, col, id string) int {
	t.Helper()
	var c int
	if err := in.Server.Store().DB().QueryRow(`SELECT COUNT(*) FROM `+table+` WHERE `+col+` = $1`, id).Scan(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPrune: with the server's fake clock, rows past their expiry or
// retention go, in batches; live and recent rows stay.
func TestPrune(t *testing.T) {
	clk := &clock{now: time.Now().UTC().Truncate(time.Microsecond)}
	servertest.Each(t, servertest.Options{Now: clk.Now}, func(t *testing.T, in *servertest.Instance) {
		ctx := context.Background()
		name, email := "Acme", fmt.Sprintf("prune%d@example.com", time.Now().UnixNano())
		org, err := in.Server.Accounts.CreateOrganization(ctx, accounts.OrgFields{DisplayName: &name})
		if err != nil {
			t.Fatal(err)
		}
		u, err := in.Server.Accounts.CreateUserAndMembership(ctx, org.ID, accounts.UserFields{Email: &email}, accounts.MembershipFields{}, false)
		if err != nil {
			t.Fatal(err)
		}
		newSession := func() *sessions.Session {
			t.Helper()
			s, _, err := in.Server.Sessions.Create(ctx, sessions.NewSession{UserID: u.ID, OrgID: org.ID, AMR: []string{"otp"}, Cookie: true})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		// Old: 91 days ago. Several, to need more than one batch.
		var old []seed
		for i := 0; i < 5; i++ {
			old = append(old, seedRows(t, ctx, in, clk, u.ID))
		}
		oldSession := newSession()
		if _, err := in.Server.Sessions.Revoke(ctx, oldSession.ID, sessions.ReasonLogout); err != nil {
			t.Fatal(err)
		}
		clk.Advance(90 * 24 * time.Hour)
		// Recent: a session that ended yesterday (within the session
		// retention), and an entry of the log from yesterday.
		recentSession := newSession()
		if _, err := in.Server.Sessions.Revoke(ctx, recentSession.ID, sessions.ReasonLogout); err != nil {
			t.Fatal(err)
		}
		recent := seedRows(t, ctx, in, clk, u.ID)
		clk.Advance(24 * time.Hour)
		// Live now.
		live := seedRows(t, ctx, in, clk, u.ID)
		liveSession := newSession()

		p := *in.Server.Pruner
		p.Batch = 2
		deleted, err := p.Once(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if deleted < 5*6+1 {
			t.Errorf("deleted %d rows, want at least %d", deleted, 5*6+1)
		}
		for _, s := range old {
			for _, c := range [][3]string{{"login_flows", "id", s.flow}, {"login_challenges", "id", s.challenge},
				{"password_resets", "token_hash", s.reset}, {"auth_attempts", "id", s.attempt}, {"emails", "id", s.sent},
				{"events", "id", s.event}} {
				if count(t, in, c[0], c[1], c[2]) != 0 {
					t.Errorf("old %s %s survived", c[0], c[2])
				}
			}
			// Never delivered and not given up: the worker still owns it.
			if count(t, in, "emails", "id", s.queued) != 1 {
				t.Errorf("an undelivered email %s was deleted", s.queued)
			}
		}
		// Yesterday's flow and codes had expired: gone; its log entry stays.
		if count(t, in, "login_flows", "id", recent.flow) != 0 || count(t, in, "auth_attempts", "id", recent.attempt) != 1 ||
			count(t, in, "emails", "id", recent.sent) != 1 || count(t, in, "events", "id", recent.event) != 1 {
			t.Error("yesterday's rows: expired flow kept, or log entry, delivered email or event deleted")
		}
		for _, c := range [][3]string{{"login_flows", "id", live.flow}, {"login_challenges", "id", live.challenge},
			{"password_resets", "token_hash", live.reset}, {"auth_attempts", "id", live.attempt}, {"events", "id", live.event}} {
			if count(t, in, c[0], c[1], c[2]) != 1 {
				t.Errorf("live %s %s was deleted", c[0], c[2])
			}
		}
		if _, err := in.Server.Sessions.Get(ctx, oldSession.ID); !isNotFound(err) {
			t.Errorf("a session ended 91 days ago: %v", err)
		}
		for _, id := range []string{recentSession.ID, liveSession.ID} {
			if _, err := in.Server.Sessions.Get(ctx, id); err != nil {
				t.Errorf("session %s: %v", id, err)
			}
		}
		// Nothing left to do the second time.
		if again, err := p.Once(ctx); err != nil || again != 0 {
			t.Errorf("second run: %d %v", again, err)
		}
		// A shorter --event-retention (12h) takes yesterday's event and
		// leaves the one made now, and the log entry beside it.
		p.EventRetention = 12 * time.Hour
		if _, err := p.Once(ctx); err != nil {
			t.Fatal(err)
		}
		if count(t, in, "events", "id", recent.event) != 0 || count(t, in, "events", "id", live.event) != 1 ||
			count(t, in, "auth_attempts", "id", recent.attempt) != 1 {
			t.Error("event retention 12h: yesterday's event kept, or today's event or yesterday's log entry deleted")
		}
		clk.Advance(-91 * 24 * time.Hour) // the clock is shared by the sub-tests
	})
}

func isNotFound(err error) bool {
	var e *apierr.Error
	return errors.As(err, &e) && e.Code.String() == "not_found"
}

// TestRunStops: the loop prunes at once and returns when its context ends.
func TestRunStops(t *testing.T) {
	in := servertest.Start(t, servertest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	p := *in.Server.Pruner
	go func() { defer close(done); p.Run(ctx) }()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
}
