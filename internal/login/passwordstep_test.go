package login_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/settings"
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

// TestPasswordStepReadsWithTheFlow: the password step reads the account
// with the flow when the form names the flow's email (its readonly
// username field, in any case and spacing), and on its own when it names
// another or none, with the same outcome either way. The session follows
// the policy in force for the organization signed in to (its own, else
// the environment's), which the step reads with the account. A username
// naming another account changes nothing: the password is checked
// against the flow's account, and a wrong one counts against it alone.
func TestPasswordStepReadsWithTheFlow(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		if _, err := f.in.Server.Settings.UpdateSessionPolicy(f.ctx, settings.SessionPolicy{AccessTokenTTLSeconds: 300,
			AbsoluteTimeoutMinutes: 24 * 60, IdleTimeoutEnabled: true, IdleTimeoutMinutes: 60}); err != nil {
			t.Fatal(err)
		}
		custom := f.org("Custom")
		hours, minutes, on := int32(8), int32(30), true
		if _, err := f.in.Server.Settings.UpdateOrganizationSessionPolicy(f.ctx, custom, settings.OrgSessionPolicyUpdate{
			Source: settings.SourceCustom, AbsoluteTimeout: &hours, AbsoluteTimeoutUnit: settings.Hours,
			IdleTimeoutEnabled: &on, IdleTimeout: &minutes, IdleTimeoutUnit: settings.Minutes}); err != nil {
			t.Fatal(err)
		}
		ada := f.user(custom, "ada@acme.example", "correct horse battery", false)
		bob := f.user(f.orgID, "bob@acme.example", "battery staple horse", false)
		lifetimes := func(userID string) (abs, idle time.Duration) {
			t.Helper()
			newest := `(SELECT MAX(created_at) FROM sessions WHERE user_id = $1)`
			abs = time.Duration(f.count(`SELECT absolute_expires_at - created_at FROM sessions WHERE user_id = $1 AND created_at = `+newest, userID))
			idle = time.Duration(f.count(`SELECT idle_expires_at - created_at FROM sessions WHERE user_id = $1 AND created_at = `+newest, userID))
			return abs * time.Microsecond, idle * time.Microsecond
		}
		for i, username := range []*string{nil, ptr("  ADA@Acme.Example "), ptr("bob@acme.example"), ptr("")} {
			f.advance(time.Second) // each session its own created_at
			b := f.browser()
			fields := map[string]string{"password": "correct horse battery"}
			if username != nil {
				fields["username"] = *username
			}
			b.toApp(b.submit(b.toPassword("ada@acme.example"), "/login/password", fields))
			if abs, idle := lifetimes(ada); abs != 8*time.Hour || idle != 30*time.Minute {
				t.Errorf("sign-in %d: session for %v idle %v, want the organization's 8h and 30m", i, abs, idle)
			}
		}
		b := f.browser()
		b.toApp(b.submit(b.toPassword("bob@acme.example"), "/login/password", map[string]string{"password": "battery staple horse"}))
		if abs, idle := lifetimes(bob); abs != 24*time.Hour || idle != time.Hour {
			t.Errorf("bob's session for %v idle %v, want the environment's 24h and 1h", abs, idle)
		}

		// Bob's email and password on Ada's password step: refused, and
		// counted against Ada's account only.
		b = f.browser()
		p := b.submit(b.toPassword("ada@acme.example"), "/login/password", map[string]string{"username": "bob@acme.example",
			"password": "battery staple horse"})
		if p.status != http.StatusBadRequest || !strings.Contains(p.text(), "Incorrect email or password") {
			t.Fatalf("another account's email and password: %d %s", p.status, p.text())
		}
		for bucket, want := range map[string]int{"pw:ada@acme.example": 1, "pw:bob@acme.example": 0} {
			if n := f.count(`SELECT COUNT(*) FROM login_throttle WHERE bucket = $1`, bucket); n != want {
				t.Errorf("counter %s: %d rows, want %d", bucket, n, want)
			}
		}
	})
}

func ptr[T any](v T) *T { return &v }
