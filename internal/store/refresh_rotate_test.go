package store_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testdb"
)

// TestRotateRefresh holds RotateRefresh, one statement on PostgreSQL and a
// transaction of steps on SQLite, to the single-purpose methods it stands
// in for: what it returns is what they read, what it writes is what they
// would write, and whatever it does not handle it leaves untouched.
func TestRotateRefresh(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		w := newOAuthWorld(t, dsn)
		n := 0
		rotate := func(hash string, now time.Time, scopes ...string) (*store.Rotate, *store.Rotation, error) {
			n++
			r := &store.Rotate{EnvID: w.e.ID, TokenHash: hash, ClientID: "skc_app", Scopes: scopes, Now: now,
				JTI: fmt.Sprintf("tkn_new%d", n), NewTokenHash: fmt.Sprintf("rt-new%d", n),
				NoPolicyExpiry: now.Add(299 * time.Second), ZeroTTLExpiry: now.Add(77 * time.Second)}
			rot, err := w.s.RotateRefresh(w.ctx, r)
			return r, rot, err
		}
		// issued checks that r's tokens were written as the steps would
		// have written them, the access token expiring at wantExpiry.
		issued := func(what string, r *store.Rotate, rot *store.Rotation, wantExpiry time.Time) {
			t.Helper()
			if !rot.AccessExpiresAt.Equal(utc(wantExpiry)) {
				t.Errorf("%s: access token expires at %s, want %s", what, rot.AccessExpiresAt, utc(wantExpiry))
			}
			at, err := w.q.GetAccessTokenState(w.ctx, w.e.ID, r.JTI)
			must(t, err, what+": GetAccessTokenState")
			if at.Token.GrantID != rot.Token.FamilyID || !at.Token.ExpiresAt.Equal(utc(wantExpiry)) {
				t.Errorf("%s: access token %+v", what, at.Token)
			}
			next, err := w.q.GetRefreshToken(w.ctx, w.e.ID, r.NewTokenHash)
			must(t, err, what+": GetRefreshToken of the new token")
			g := rot.State.Grant
			want := &store.RefreshToken{TokenHash: r.NewTokenHash, EnvID: w.e.ID, FamilyID: g.ID, ParentHash: r.TokenHash,
				SessionID: g.SessionID, ClientID: g.ClientID, Scope: g.Scope, CreatedAt: utc(r.Now)}
			wantEqual(t, what+": new refresh token", next, want)
		}
		notIssued := func(what string, r *store.Rotate) {
			t.Helper()
			if _, err := w.q.GetAccessTokenState(w.ctx, w.e.ID, r.JTI); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: access token written (%v)", what, err)
			}
			if _, err := w.q.GetRefreshToken(w.ctx, w.e.ID, r.NewTokenHash); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: refresh token written (%v)", what, err)
			}
		}
		// untouched checks that a rotation that did not apply changed
		// nothing: the token unused, the session as it was.
		untouched := func(what, hash string, ses *store.Session, r *store.Rotate, err error) {
			t.Helper()
			wantNotFound(t, err, what)
			tok, err := w.q.GetRefreshToken(w.ctx, w.e.ID, hash)
			if err == nil && !tok.UsedAt.IsZero() && tok.UsedAt.Equal(utc(r.Now)) {
				t.Errorf("%s: the token was claimed", what)
			}
			if ses != nil {
				got, err := w.q.GetSession(w.ctx, w.e.ID, ses.ID)
				must(t, err, what+": GetSession")
				wantEqual(t, what+": session", got, ses)
			}
			notIssued(what, r)
		}

		// The common case, with roles and permissions, no stored policy.
		g := w.grant(t, w.ses, "skc_app", "rt-1", "tkn_1")
		perm := w.perm(t, w.e.ID, "docs:read")
		admin, err := w.q.GetRoleByName(w.ctx, w.e.ID, "", "admin")
		must(t, err, "GetRoleByName")
		must(t, w.q.AddRolePermissions(w.ctx, w.e.ID, admin.ID, []string{perm.ID}, t0), "AddRolePermissions")
		now := at(10 * time.Minute)
		r, rot, err := rotate("rt-1", now)
		must(t, err, "RotateRefresh")
		ses, err := w.q.GetSession(w.ctx, w.e.ID, w.ses.ID)
		must(t, err, "GetSession")
		wantEqual(t, "the session returned is the session as touched", rot.Session, ses)
		if !ses.LastSeenAt.Equal(utc(now)) {
			t.Errorf("session last seen %s, want %s", ses.LastSeenAt, now)
		}
		tok, err := w.q.GetRefreshToken(w.ctx, w.e.ID, "rt-1")
		must(t, err, "GetRefreshToken")
		wantEqual(t, "the token returned is the token as claimed", rot.Token, tok)
		if !tok.UsedAt.Equal(utc(now)) || tok.FamilyID != g.ID {
			t.Errorf("claimed token %+v", tok)
		}
		state, err := w.q.GetRefreshState(w.ctx, w.e.ID, g.ID, w.u.ID, w.o.ID)
		must(t, err, "GetRefreshState")
		wantEqual(t, "the state returned is GetRefreshState's", rot.State, state)
		wantEqual(t, "permissions", rot.State.Permissions, []string{"docs:read"})
		issued("no stored policy", r, rot, now.Add(299*time.Second))

		// The access token's life follows the stored policy: its own when
		// positive, else ZeroTTLExpiry.
		for _, ttl := range []int32{600, 0} {
			must(t, w.q.PutSessionPolicy(w.ctx, &store.SessionPolicy{EnvID: w.e.ID, AccessTokenTTLSeconds: ttl,
				AbsoluteTimeoutMinutes: 480, UpdatedAt: t0}), "PutSessionPolicy")
			prev := r.NewTokenHash
			now = now.Add(time.Minute)
			r, rot, err = rotate(prev, now)
			must(t, err, fmt.Sprintf("RotateRefresh under a %d s policy", ttl))
			want := now.Add(time.Duration(ttl) * time.Second)
			if ttl == 0 {
				want = r.ZeroTTLExpiry
			}
			issued(fmt.Sprintf("a %d s policy", ttl), r, rot, want)
			if rot.State.SessionPolicy == nil || rot.State.SessionPolicy.AccessTokenTTLSeconds != ttl {
				t.Errorf("state's policy %+v", rot.State.SessionPolicy)
			}
		}

		// What the common case does not handle it leaves as it was.
		live := r.NewTokenHash
		ses, err = w.q.GetSession(w.ctx, w.e.ID, w.ses.ID)
		must(t, err, "GetSession")
		now = now.Add(time.Minute)
		r, _, err = rotate("rt-1", now)
		untouched("a used token", "rt-1", ses, r, err)
		r, _, err = rotate("rt-none", now)
		untouched("an unknown token", "rt-none", ses, r, err)
		r, _, err = rotate(live, now, "openid", "admin")
		untouched("a scope the token does not hold", live, ses, r, err)
		other := &store.Rotate{EnvID: w.e.ID, TokenHash: live, ClientID: "skc_other", Now: now, JTI: "tkn_other", NewTokenHash: "rt-other"}
		_, err = w.s.RotateRefresh(w.ctx, other)
		untouched("another client's token", live, ses, other, err)
		r, _, err = rotate(live, ses.AbsoluteExpiresAt)
		untouched("a session past its absolute expiry", live, ses, r, err)

		// A scope the token holds is fine.
		r, rot, err = rotate(live, now, "offline_access")
		must(t, err, "RotateRefresh asking for a held scope")
		issued("a held scope", r, rot, now.Add(77*time.Second))

		// Claimed but not issued: a membership that is not active, a
		// revoked grant. The token stays used; the caller refuses.
		m := &store.Membership{EnvID: w.e.ID, OrgID: w.o.ID, UserID: w.u.ID, Status: store.MembershipInactive, CreatedAt: t0,
			UpdatedAt: now, AcceptedAt: t0, Roles: []store.RoleRef{}}
		must(t, w.s.Tx(w.ctx, func(q *store.Q) error { return q.UpdateMembership(w.ctx, m) }), "UpdateMembership")
		prev := r.NewTokenHash
		r, rot, err = rotate(prev, now)
		must(t, err, "RotateRefresh of an inactive member")
		if !rot.AccessExpiresAt.IsZero() || rot.State.MemberStatus != store.MembershipInactive {
			t.Errorf("inactive member: expiry %s, status %d", rot.AccessExpiresAt, rot.State.MemberStatus)
		}
		notIssued("an inactive member", r)
		if tok, _ := w.q.GetRefreshToken(w.ctx, w.e.ID, prev); tok == nil || tok.UsedAt.IsZero() {
			t.Errorf("inactive member: the token is not used: %+v", tok)
		}
		noOrg := w.session(t, w.u.ID, "", "")
		g2 := w.grant(t, noOrg, "skc_app", "rt-2", "tkn_2")
		must(t, w.s.Tx(w.ctx, func(q *store.Q) error { return q.RevokeGrant(w.ctx, w.e.ID, g2.ID, now) }), "RevokeGrant")
		must(t, w.q.CreateRefreshToken(w.ctx, &store.RefreshToken{TokenHash: "rt-3", EnvID: w.e.ID, FamilyID: g2.ID,
			SessionID: noOrg.ID, ClientID: "skc_app", Scope: g2.Scope, CreatedAt: now}), "CreateRefreshToken")
		r, rot, err = rotate("rt-3", now)
		must(t, err, "RotateRefresh in a revoked grant")
		if !rot.AccessExpiresAt.IsZero() || rot.State.Grant.RevokedAt.IsZero() || rot.State.Member || len(rot.State.Roles) != 0 {
			t.Errorf("revoked grant: %+v, state %+v", rot, rot.State)
		}
		notIssued("a revoked grant", r)

		// Of concurrent rotations of one token, exactly one applies.
		g3 := w.grant(t, noOrg, "skc_app", "rt-4", "tkn_4")
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				r := &store.Rotate{EnvID: w.e.ID, TokenHash: "rt-4", ClientID: "skc_app", Now: now, JTI: fmt.Sprintf("tkn_c%d", i),
					NewTokenHash: fmt.Sprintf("rt-c%d", i), NoPolicyExpiry: now.Add(time.Minute), ZeroTTLExpiry: now.Add(time.Minute)}
				rot, err := w.s.RotateRefresh(w.ctx, r)
				switch {
				case err == nil && rot.Token.FamilyID == g3.ID && !rot.AccessExpiresAt.IsZero():
					wins.Add(1)
				case !errors.Is(err, store.ErrNotFound):
					t.Errorf("concurrent RotateRefresh: %+v %v", rot, err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Errorf("%d concurrent rotations applied, want exactly 1", wins.Load())
		}
	})
}
