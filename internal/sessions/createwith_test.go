package sessions_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testdb"
)

// TestCreateWith: the caller's writes run in the session's transaction,
// after the session and its event, with the session as Create returns it
// (the policy's timeouts applied); an error from them leaves neither the
// session nor its event, and comes back as is.
func TestCreateWith(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		w := newWorld(t, dsn)
		w.svc.Policies = policies{w.orgID: {IdleTimeout: time.Hour, AbsoluteTimeout: 8 * time.Hour}}
		count := func(query string, args ...any) int {
			t.Helper()
			var n int
			if err := w.svc.Store.DB().QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		n := sessions.NewSession{UserID: w.userID, OrgID: w.orgID, AMR: []string{"pwd"}, Cookie: true}
		var seen *store.Session
		ses, cookie, err := w.svc.CreateWith(ctx, n, func(q *store.Q, s *sessions.Session) error {
			var err error
			seen, err = q.GetSession(ctx, s.EnvID, s.ID) // the session is there, inside the transaction
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if cookie == "" || seen == nil || seen.ID != ses.ID || !ses.IdleExpiresAt.Equal(t0.Add(time.Hour)) ||
			!ses.AbsoluteExpiresAt.Equal(t0.Add(8*time.Hour)) || !seen.AbsoluteExpiresAt.Equal(ses.AbsoluteExpiresAt) {
			t.Errorf("CreateWith: session %+v, seen inside %+v, cookie %q", ses, seen, cookie)
		}
		if got, err := w.svc.Get(ctx, ses.ID); err != nil || !sessions.Live(got, w.clk.Now()) {
			t.Errorf("the session after commit: %+v %v", got, err)
		}

		before := count(`SELECT COUNT(*) FROM sessions`)
		events := count(`SELECT COUNT(*) FROM events WHERE type = 'session.created'`)
		boom := errors.New("the code could not be issued")
		var inside string
		if _, _, err := w.svc.CreateWith(ctx, n, func(q *store.Q, s *sessions.Session) error {
			inside = s.ID
			return boom
		}); err != boom {
			t.Errorf("CreateWith returned %v, want the callback's error as is", err)
		}
		if inside == "" {
			t.Fatal("the callback did not run")
		}
		if got, e := count(`SELECT COUNT(*) FROM sessions`), count(`SELECT COUNT(*) FROM events WHERE type = 'session.created'`); got != before || e != events {
			t.Errorf("after a failed callback: %d sessions and %d events, want %d and %d", got, e, before, events)
		}
	})
}
