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
