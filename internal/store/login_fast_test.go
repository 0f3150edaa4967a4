package store_test

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testdb"
)

// TestPasswordLoginReads holds ReadPasswordAttempt to what the reads it
// replaces (LoginLookup, GetThrottle, GetUser) return, and
// SetLastLogin to RecordLogin's write of the time, on both databases.
func TestPasswordLoginReads(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		f := open(t, dsn)
		env, other := f.env(t), f.env(t)
		withPw := f.user(t, env.ID, "Ada@Example.com", nil)
		must(t, f.q.SetPasswordHash(f.ctx, env.ID, withPw.ID, "$argon2id$hash", t0), "SetPasswordHash")
		noPw := f.user(t, env.ID, "bob@example.com", nil)
		f.user(t, other.ID, "carol@example.com", nil)
		must(t, f.q.PutThrottle(f.ctx, env.ID, store.Throttle{Bucket: "pw:ada@example.com", WindowStart: at(1 * time.Minute), Hits: 3, NextAt: at(2 * time.Minute)}), "PutThrottle")
		must(t, f.q.PutThrottle(f.ctx, env.ID, store.Throttle{Bucket: "ip:192.0.2.1", WindowStart: at(3 * time.Minute), Hits: 7, NextAt: at(4 * time.Minute)}), "PutThrottle")
		must(t, f.q.PutThrottle(f.ctx, other.ID, store.Throttle{Bucket: "pw:bob@example.com", WindowStart: at(5 * time.Minute), Hits: 9, NextAt: at(6 * time.Minute)}), "PutThrottle")
		must(t, f.q.PutThrottle(f.ctx, other.ID, store.Throttle{Bucket: "ip:192.0.2.2", WindowStart: at(5 * time.Minute), Hits: 9, NextAt: at(6 * time.Minute)}), "PutThrottle")

		for _, c := range []struct {
			email, acct, ip string
		}{
			{"ada@example.com", "pw:ada@example.com", "ip:192.0.2.1"},
			{"bob@example.com", "pw:bob@example.com", "ip:192.0.2.2"},
			{"carol@example.com", "pw:carol@example.com", "ip:192.0.2.1"}, // another environment's user
			{"nobody@example.com", "pw:nobody@example.com", "ip:192.0.2.9"},
		} {
			got, err := f.q.ReadPasswordAttempt(f.ctx, env.ID, c.email, c.acct, c.ip)
			must(t, err, "ReadPasswordAttempt "+c.email)
			userID, hash, err := f.q.LoginLookup(f.ctx, env.ID, c.email)
			must(t, err, "LoginLookup "+c.email)
			acct, err := f.q.GetThrottle(f.ctx, env.ID, c.acct)
			must(t, err, "GetThrottle "+c.acct)
			ip, err := f.q.GetThrottle(f.ctx, env.ID, c.ip)
			must(t, err, "GetThrottle "+c.ip)
			gotID := ""
			if got.User != nil {
				gotID = got.User.ID
			}
			wantEqual(t, "ReadPasswordAttempt "+c.email, []any{gotID, got.Hash, got.Account, got.IP}, []any{userID, hash, acct, ip})
		}
		got, _ := f.q.ReadPasswordAttempt(f.ctx, env.ID, "ada@example.com", "pw:ada@example.com", "ip:192.0.2.1")
		if got.User == nil || got.User.ID != withPw.ID || got.Hash != "$argon2id$hash" || got.Account.Hits != 3 || got.IP.Hits != 7 ||
			!got.Account.WindowStart.Equal(utc(at(1*time.Minute))) || !got.IP.NextAt.Equal(utc(at(4*time.Minute))) {
			t.Fatalf("ReadPasswordAttempt(ada) = %+v", got)
		}
		if got, _ := f.q.ReadPasswordAttempt(f.ctx, env.ID, "bob@example.com", "pw:bob@example.com", "ip:x"); got.User == nil || got.User.ID != noPw.ID || got.Hash != "" {
			t.Fatalf("ReadPasswordAttempt(bob) = %+v", got)
		}

		// The user comes with memberships in GetUser's order, with status,
		// expiry and organization name, and the counters on every row;
		// none for a user without any.
		o1, o2 := f.org(t, env.ID, "Zeta", nil), f.org(t, env.ID, "Alpha", nil)
		f.member(t, env.ID, o1.ID, withPw.ID, at(10*time.Minute))
		inv := &store.Membership{EnvID: env.ID, OrgID: o2.ID, UserID: withPw.ID, Status: store.MembershipPendingInvite,
			CreatedAt: at(20 * time.Minute), UpdatedAt: at(20 * time.Minute), ExpiresAt: at(30 * time.Minute)}
		must(t, f.q.CreateMembership(f.ctx, inv), "CreateMembership invite")
		f.member(t, other.ID, f.org(t, other.ID, "Elsewhere", nil).ID, withPw.ID, at(15*time.Minute)) // another environment's row
		full, err := f.q.GetUser(f.ctx, env.ID, withPw.ID)
		must(t, err, "GetUser")
		read, err := f.q.ReadPasswordAttempt(f.ctx, env.ID, "ada@example.com", "pw:ada@example.com", "ip:192.0.2.1")
		must(t, err, "ReadPasswordAttempt")
		lean := read.User
		if lean.ID != full.ID || lean.Email != full.Email || lean.EmailVerified != full.EmailVerified || len(lean.Memberships) != len(full.Memberships) {
			t.Fatalf("ReadPasswordAttempt user = %+v, GetUser = %+v", lean, full)
		}
		for i, m := range lean.Memberships {
			w := full.Memberships[i]
			if m.OrgID != w.OrgID || m.Status != w.Status || m.OrgName != w.OrgName || !m.ExpiresAt.Equal(w.ExpiresAt) || m.UserID != w.UserID {
				t.Fatalf("membership %d: ReadPasswordAttempt %+v, GetUser %+v", i, m, w)
			}
		}
		if read.Account.Hits != 3 || read.IP.Hits != 7 || read.Hash != "$argon2id$hash" {
			t.Fatalf("ReadPasswordAttempt with memberships = %+v", read)
		}
		bob, err := f.q.ReadPasswordAttempt(f.ctx, env.ID, "bob@example.com", "pw:bob@example.com", "ip:x")
		must(t, err, "ReadPasswordAttempt bob")
		if bob.User == nil || bob.User.ID != noPw.ID || len(bob.User.Memberships) != 0 {
			t.Fatalf("ReadPasswordAttempt(bob) = %+v", bob)
		}

		// SetLastLogin writes the time and updated_at, nothing else.
		must(t, f.q.SetLastLogin(f.ctx, env.ID, withPw.ID, at(40*time.Minute)), "SetLastLogin")
		after, err := f.q.GetUser(f.ctx, env.ID, withPw.ID)
		must(t, err, "GetUser")
		if !after.LastLoginAt.Equal(utc(at(40*time.Minute))) || !after.UpdatedAt.Equal(utc(at(40*time.Minute))) || after.Email != full.Email {
			t.Fatalf("after SetLastLogin: last login %v, updated %v", after.LastLoginAt, after.UpdatedAt)
		}
		wantNotFound(t, f.q.SetLastLogin(f.ctx, other.ID, withPw.ID, at(50*time.Minute)), "SetLastLogin in another environment")
	})
}

// TestPasswordStepRead holds ReadPasswordStep to LoginFlowByCookie and
// ReadPasswordAttempt, and the session policies both bring to
// GetSessionPolicies, on both databases: for a user with several
// memberships (one organization with a policy of its own), one without
// any, an unknown email, with and without the environment's policy; and
// nothing for an expired flow or an unknown cookie.
func TestPasswordStepRead(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		w := newOAuthWorld(t, dsn)
		must(t, w.q.SetPasswordHash(w.ctx, w.e.ID, w.u.ID, "$argon2id$hash", t0), "SetPasswordHash")
		other := w.org(t, w.e.ID, "Other", nil)
		w.member(t, w.e.ID, other.ID, w.u.ID, at(time.Minute))
		w.user(t, w.e.ID, "bob@acme.example", nil)
		must(t, w.q.PutThrottle(w.ctx, w.e.ID, store.Throttle{Bucket: "pw:ada@acme.example", WindowStart: at(time.Minute), Hits: 2, NextAt: at(2 * time.Minute)}), "PutThrottle")
		must(t, w.q.PutOrgSessionPolicy(w.ctx, &store.OrgSessionPolicy{EnvID: w.e.ID, OrgID: other.ID, AbsoluteTimeout: 8,
			AbsoluteTimeoutUnit: "HOURS", IdleTimeoutEnabled: true, IdleTimeout: 30, IdleTimeoutUnit: "MINUTES", UpdatedAt: t0}), "PutOrgSessionPolicy")
		ar := w.authRequest()
		must(t, w.q.CreateAuthRequest(w.ctx, ar), "CreateAuthRequest")
		for cookie, arID := range map[string]string{"with": ar.ID, "none": ""} {
			must(t, w.q.CreateLoginFlow(w.ctx, &store.LoginFlow{ID: w.ids.New("lgf"), EnvID: w.e.ID, CookieHash: "cookie-" + cookie,
				AuthRequestID: arID, Data: `{"step":"password"}`, CreatedAt: t0, UpdatedAt: t0, ExpiresAt: at(time.Hour)}), "CreateLoginFlow")
		}
		agree := func(when string) {
			t.Helper()
			for _, cookie := range []string{"with", "none"} {
				for _, email := range []string{"ada@acme.example", "bob@acme.example", "nobody@acme.example"} {
					acct, ip := "pw:"+email, "ip:192.0.2.1"
					f, gotAR, got, err := w.q.ReadPasswordStep(w.ctx, w.e.ID, "cookie-"+cookie, at(time.Second), email, acct, ip)
					must(t, err, "ReadPasswordStep "+cookie+" "+email)
					wantF, wantAR, err := w.q.LoginFlowByCookie(w.ctx, w.e.ID, "cookie-"+cookie, at(time.Second))
					must(t, err, "LoginFlowByCookie")
					want, err := w.q.ReadPasswordAttempt(w.ctx, w.e.ID, email, acct, ip)
					must(t, err, "ReadPasswordAttempt")
					what := when + ": ReadPasswordStep " + cookie + " " + email
					wantEqual(t, what+" flow", f, wantF)
					wantEqual(t, what+" request", gotAR, wantAR)
					wantEqual(t, what+" attempt", got, want)
					// The policies are GetSessionPolicies' for each of
					// the user's organizations.
					for _, m := range append([]*store.Membership{{OrgID: ""}}, userMemberships(got.User)...) {
						app, org, err := w.q.GetSessionPolicies(w.ctx, w.e.ID, m.OrgID)
						must(t, err, "GetSessionPolicies")
						wantEqual(t, what+" environment's policy", got.AppPolicy, app)
						if m.OrgID != "" {
							wantEqual(t, what+" policy of "+m.OrgID, got.OrgPolicies[m.OrgID], org)
						}
					}
				}
			}
		}
		agree("without the environment's policy")
		must(t, w.q.PutSessionPolicy(w.ctx, &store.SessionPolicy{EnvID: w.e.ID, AccessTokenTTLSeconds: 600, AbsoluteTimeoutMinutes: 1440,
			IdleTimeoutEnabled: true, IdleTimeoutMinutes: 60, UpdatedAt: at(2 * time.Hour)}), "PutSessionPolicy")
		agree("with the environment's policy")

		// Not merely equal: the read brings what it should.
		f, gotAR, got, err := w.q.ReadPasswordStep(w.ctx, w.e.ID, "cookie-with", at(time.Second), "ada@acme.example", "pw:ada@acme.example", "ip:x")
		must(t, err, "ReadPasswordStep")
		if f.AuthRequestID != ar.ID || gotAR == nil || gotAR.ID != ar.ID || got.User == nil || got.User.ID != w.u.ID || got.Hash != "$argon2id$hash" ||
			got.Account.Hits != 2 || len(got.User.Memberships) != 2 || got.AppPolicy == nil || got.AppPolicy.AccessTokenTTLSeconds != 600 ||
			len(got.OrgPolicies) != 1 || got.OrgPolicies[other.ID] == nil || got.OrgPolicies[other.ID].AbsoluteTimeout != 8 {
			t.Fatalf("ReadPasswordStep(ada) = %+v, %+v, %+v", f, gotAR, got)
		}
		_, _, _, err = w.q.ReadPasswordStep(w.ctx, w.e.ID, "cookie-with", at(2*time.Hour), "ada@acme.example", "pw:ada@acme.example", "ip:x")
		wantNotFound(t, err, "ReadPasswordStep of an expired flow")
		_, _, _, err = w.q.ReadPasswordStep(w.ctx, w.e.ID, "cookie-other", t0, "ada@acme.example", "pw:ada@acme.example", "ip:x")
		wantNotFound(t, err, "ReadPasswordStep of another cookie")
	})
}

func userMemberships(u *store.User) []*store.Membership {
	if u == nil {
		return nil
	}
	return u.Memberships
}
