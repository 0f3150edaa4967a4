package login_test

import (
	"testing"
	"time"
)

// TestPasswordStepWrites: a password sign-in deletes the flow, and with it
// the codes the flow emailed, records the sign-in time on the user, and
// resets the account's counter of wrong passwords; a flow that never
// emailed a code leaves other flows' codes alone.
func TestPasswordStepWrites(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		uid := f.user(f.orgID, "pat@acme.example", "correct horse battery", false)

		// A wrong password first, so the counter has a hit to reset.
		b := f.browser()
		p := b.toPassword("pat@acme.example")
		p = b.submit(p, "/login/password", map[string]string{"password": "wrong horse battery"})
		if n := f.count(`SELECT COUNT(*) FROM login_throttle WHERE bucket = $1`, "pw:pat@acme.example"); n != 1 {
			t.Fatalf("after a wrong password: %d counters for the account, want 1", n)
		}
		// "Email me a code instead", then back to the password.
		p = b.submit(p, "/login/code/send", nil)
		f.in.Server.Login.Wait() // the challenge is stored after the answer
		if n := f.count(`SELECT COUNT(*) FROM login_challenges`); n != 1 {
			t.Fatalf("after asking for a code: %d challenges, want 1", n)
		}
		p = b.submit(p, "/login/use-password", nil)
		f.advance(time.Minute)
		before := f.clk.Now()
		b.toApp(b.submit(p, "/login/password", map[string]string{"password": "correct horse battery"}))
		after := f.clk.Now()
		if n := f.count(`SELECT COUNT(*) FROM login_flows`); n != 0 {
			t.Errorf("after signing in: %d flows, want 0", n)
		}
		if n := f.count(`SELECT COUNT(*) FROM login_challenges`); n != 0 {
			t.Errorf("after signing in: %d challenges, want 0 (the flow's code goes with it)", n)
		}
		if n := f.count(`SELECT COUNT(*) FROM login_throttle WHERE bucket = $1`, "pw:pat@acme.example"); n != 0 {
			t.Errorf("after signing in: the account's counter of wrong passwords is still there")
		}
		if u := f.getUser(uid); u.LastLoginAt.Before(before) || u.LastLoginAt.After(after) || !u.UpdatedAt.Equal(u.LastLoginAt) {
			t.Errorf("last_login_at %v, updated_at %v; want the sign-in's time, between %v and %v", u.LastLoginAt, u.UpdatedAt, before, after)
		}

		// A flow without a code: signing in leaves other flows' challenges.
		other := f.browser()
		other.submit(other.toPassword("pat@acme.example"), "/login/code/send", nil)
		f.in.Server.Login.Wait()
		b2 := f.browser()
		b2.toApp(b2.submit(b2.toPassword("pat@acme.example"), "/login/password", map[string]string{"password": "correct horse battery"}))
		if n := f.count(`SELECT COUNT(*) FROM login_challenges`); n != 1 {
			t.Errorf("another browser's sign-in: %d challenges, want the other flow's 1", n)
		}
	})
}
