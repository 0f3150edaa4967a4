package login_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

// TestPasswordSignInLogsEachAttemptOnce: the authentication log gets
// exactly one row per password attempt whichever way the sign-in ends: a
// success that finishAtOnce completes (the row written with the rest, in
// one write), a success whose one write fails and falls back to finish's
// steps (the row written on its own, once), and a failure.
func TestPasswordSignInLogsEachAttemptOnce(t *testing.T) {
	eachLoggedDB(t, func(t *testing.T, f *fx, logs *syncBuffer) {
		st := f.in.Server.Store()
		db := st.DB()
		attempts := func(userID, outcome string) int {
			t.Helper()
			return f.count(`SELECT COUNT(*) FROM auth_attempts WHERE user_id = $1 AND method = 'password' AND outcome = $2`, userID, outcome)
		}

		// The common case: one row, with the request's client.
		alice := f.user(f.orgID, "alice@example.com", "correct horse battery", false)
		b := f.browser()
		a := newAuthz()
		b.toApp(b.signInWithPassword(a, "alice@example.com", "correct horse battery"))
		if n := attempts(alice, "success"); n != 1 {
			t.Fatalf("a sign-in completed at once: %d success rows, want 1", n)
		}
		if n := f.count(`SELECT COUNT(*) FROM auth_attempts WHERE user_id = $1 AND client_id <> '' AND auth_request_id <> ''`, alice); n != 1 {
			t.Errorf("the success row names its client and request: %d rows", n)
		}
		if strings.Contains(logs.String(), oneWriteFailed) {
			t.Fatalf("the common case fell back to finish's steps:\n%s", logs.String())
		}

		// A failure: one failure row, no more success rows.
		b2 := f.browser()
		if p := b2.signInWithPassword(newAuthz(), "alice@example.com", "wrong"); p.status != http.StatusBadRequest {
			t.Fatalf("wrong password: %d %s", p.status, p.text())
		}
		if s, fl := attempts(alice, "success"), attempts(alice, "failure"); s != 1 || fl != 1 {
			t.Fatalf("after a failure: %d success, %d failure rows; want 1, 1", s, fl)
		}

		// The request may not be completed before its session exists: the
		// one write, which completes the request first, fails and rolls
		// back, and finish's steps (the session first) sign the user in.
		if st.Dialect() == store.Postgres {
			for _, q := range []string{
				`CREATE FUNCTION session_first() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
					IF NEW.session_id <> '' AND NOT EXISTS (SELECT 1 FROM sessions WHERE id = NEW.session_id) THEN
						RAISE EXCEPTION 'no session %', NEW.session_id;
					END IF;
					RETURN NEW;
				END $$`,
				`CREATE TRIGGER session_first BEFORE UPDATE ON oauth_auth_requests FOR EACH ROW EXECUTE FUNCTION session_first()`,
			} {
				if _, err := db.ExecContext(f.ctx, q); err != nil {
					t.Fatal(err)
				}
			}
		} else if _, err := db.ExecContext(f.ctx, `CREATE TRIGGER session_first BEFORE UPDATE ON oauth_auth_requests
			WHEN NEW.session_id <> '' AND NOT EXISTS (SELECT 1 FROM sessions WHERE id = NEW.session_id)
			BEGIN SELECT RAISE(ABORT, 'no session'); END`); err != nil {
			t.Fatal(err)
		}
		bob := f.user(f.orgID, "bob@example.com", "correct horse battery", false)
		b3 := f.browser()
		p := b3.signInWithPassword(newAuthz(), "bob@example.com", "correct horse battery")
		if n := f.count(`SELECT COUNT(*) FROM sessions WHERE user_id = $1`, bob); n != 1 {
			t.Fatalf("the fallback sign-in (answer %d %s): %d sessions, want 1", p.status, p.location, n)
		}
		if !strings.Contains(logs.String(), oneWriteFailed) {
			t.Errorf("the one write did not fail; the trigger no longer tests the fallback:\n%s", logs.String())
		}
		b3.toApp(p) // finish's steps issue the code
		if n := attempts(bob, "success"); n != 1 {
			t.Fatalf("a sign-in whose one write failed: %d success rows, want 1", n)
		}
		if n := f.count(`SELECT COUNT(*) FROM auth_attempts WHERE user_id = $1`, bob); n != 1 {
			t.Fatalf("a sign-in whose one write failed: %d rows in all, want 1", n)
		}
	})
}

// oneWriteFailed is what finishAtOnce logs when its one write fails.
const oneWriteFailed = "signing in in one write failed"
