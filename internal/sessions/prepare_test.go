package sessions_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/testdb"
)

// TestPrepare: Prepare builds the session Create would start (the
// policy's timeouts applied, a cookie) with its session.created event,
// and writes neither; Create writes both.
func TestPrepare(t *testing.T) {
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
		ses, cookie, ev, err := w.svc.Prepare(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if cookie == "" || ses.CookieHash == "" || ses.UserID != w.userID || ses.OrgID != w.orgID ||
			!ses.IdleExpiresAt.Equal(t0.Add(time.Hour)) || !ses.AbsoluteExpiresAt.Equal(t0.Add(8*time.Hour)) {
			t.Errorf("Prepare: session %+v, cookie %q", ses, cookie)
		}
		if ev.Type != "session.created" || ev.ObjectID != ses.ID || !strings.Contains(ev.Payload, `"session_id":"`+ses.ID+`"`) {
			t.Errorf("Prepare: event %+v", ev)
		}
		if got, e := count(`SELECT COUNT(*) FROM sessions WHERE id = $1`, ses.ID), count(`SELECT COUNT(*) FROM events WHERE id = $1`, ev.ID); got != 0 || e != 0 {
			t.Errorf("Prepare wrote %d sessions and %d events, want none", got, e)
		}
		if got, err := w.svc.Get(ctx, ses.ID); err == nil {
			t.Errorf("a prepared session is found: %+v", got)
		}

		created, _, err := w.svc.Create(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := w.svc.Get(ctx, created.ID); err != nil || !sessions.Live(got, w.clk.Now()) {
			t.Errorf("the session Create started: %+v %v", got, err)
		}
		if e := count(`SELECT COUNT(*) FROM events WHERE type = 'session.created' AND object_id = $1`, created.ID); e != 1 {
			t.Errorf("Create wrote %d session.created events, want 1", e)
		}
	})
}
