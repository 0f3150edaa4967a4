package login_test

import (
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

// TestPasswordSignInLogsEachAttemptOnce: the authentication log gets
// exactly one row per password attempt whichever way the sign-in ends: a
// success that finishAtOnce completes (the row written in its
// transaction), a success whose transaction rolls back and falls back to
// finish's steps (the row written on its own, once), and a failure.
func TestPasswordSignInLogsEachAttemptOnce(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
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

		// A failure: one failure row, no more success rows.
		b2 := f.browser()
		if p := b2.signInWithPassword(newAuthz(), "alice@example.com", "wrong"); p.status != http.StatusBadRequest {
			t.Fatalf("wrong password: %d %s", p.status, p.text())
		}
		if s, fl := attempts(alice, "success"), attempts(alice, "failure"); s != 1 || fl != 1 {
			t.Fatalf("after a failure: %d success, %d failure rows; want 1, 1", s, fl)
		}

		// No code can be inserted: finishAtOnce's transaction rolls back
		// (the code's INSERT affects no row, ErrLoginRequired) and
		// finish's steps sign the user in the old way.
		if st.Dialect() == store.Postgres {
			for _, q := range []string{
				`CREATE FUNCTION skip_auth_code() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`,
				`CREATE TRIGGER skip_auth_code BEFORE INSERT ON oauth_codes FOR EACH ROW EXECUTE FUNCTION skip_auth_code()`,
			} {
				if _, err := db.ExecContext(f.ctx, q); err != nil {
					t.Fatal(err)
				}
			}
		} else if _, err := db.ExecContext(f.ctx, `CREATE TRIGGER skip_auth_code BEFORE INSERT ON oauth_codes BEGIN SELECT RAISE(IGNORE); END`); err != nil {
			t.Fatal(err)
		}
		bob := f.user(f.orgID, "bob@example.com", "correct horse battery", false)
		b3 := f.browser()
		p := b3.signInWithPassword(newAuthz(), "bob@example.com", "correct horse battery")
		if n := f.count(`SELECT COUNT(*) FROM sessions WHERE user_id = $1`, bob); n != 1 {
			t.Fatalf("the fallback sign-in (answer %d %s): %d sessions, want 1", p.status, p.location, n)
		}
		if n := attempts(bob, "success"); n != 1 {
			t.Fatalf("a sign-in whose transaction rolled back: %d success rows, want 1", n)
		}
		if n := f.count(`SELECT COUNT(*) FROM auth_attempts WHERE user_id = $1`, bob); n != 1 {
			t.Fatalf("a sign-in whose transaction rolled back: %d rows in all, want 1", n)
		}
	})
}
