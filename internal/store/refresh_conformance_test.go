package store_test

// Conformance of the refresh grant's combined statements (refresh.go) on
// SQLite and PostgreSQL: each must agree with the single-purpose methods
// it stands in for, and refuse what they refuse.

import (
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testdb"
)

func TestRefreshConformance(t *testing.T) {
	for _, c := range []struct {
		name string
		run  func(t *testing.T, dsn string)
	}{
		{"TouchRefreshSession", testTouchRefreshSession},
		{"ClaimRefreshToken", testClaimRefreshToken},
		{"GetRefreshState", testGetRefreshState},
	} {
		t.Run(c.name, func(t *testing.T) { testdb.Each(t, c.run) })
	}
}

func testTouchRefreshSession(t *testing.T, dsn string) {
	w := newOAuthWorld(t, dsn)
	w.grant(t, w.ses, "skc_app", "rt-1", "tkn_1")
	now := at(10 * time.Minute)
	got, err := w.q.TouchRefreshSession(w.ctx, w.e.ID, "rt-1", "skc_app", now)
	must(t, err, "TouchRefreshSession")
	stored, err := w.q.GetSession(w.ctx, w.e.ID, w.ses.ID)
	must(t, err, "GetSession")
	wantEqual(t, "the session returned is the session as stored", got, stored)
	if !got.LastSeenAt.Equal(utc(now)) || !got.IdleExpiresAt.Equal(utc(now.Add(time.Hour))) {
		t.Errorf("touched: last seen %s, idle expiry %s", got.LastSeenAt, got.IdleExpiresAt)
	}
	// The idle expiry never passes the absolute one.
	_, err = w.q.TouchRefreshSession(w.ctx, w.e.ID, "rt-1", "skc_app", at(65*time.Minute))
	must(t, err, "TouchRefreshSession again")
	late := at(121 * time.Minute)
	got, err = w.q.TouchRefreshSession(w.ctx, w.e.ID, "rt-1", "skc_app", late)
	must(t, err, "TouchRefreshSession late")
	if !got.IdleExpiresAt.Equal(utc(at(3 * time.Hour))) {
		t.Errorf("idle expiry %s, want the absolute expiry", got.IdleExpiresAt)
	}

	_, err = w.q.TouchRefreshSession(w.ctx, w.e.ID, "rt-1", "skc_other", late)
	wantNotFound(t, err, "another client's token")
	_, err = w.q.TouchRefreshSession(w.ctx, w.e.ID, "rt-none", "skc_app", late)
	wantNotFound(t, err, "an unknown token")
	_, err = w.q.TouchRefreshSession(w.ctx, "env_other", "rt-1", "skc_app", late)
	wantNotFound(t, err, "another environment")
	_, err = w.q.TouchRefreshSession(w.ctx, w.e.ID, "rt-1", "skc_app", at(4*time.Hour))
	wantNotFound(t, err, "a session past its absolute expiry")
	idle := w.session(t, w.u.ID, w.o.ID, "")
	w.grant(t, idle, "skc_app", "rt-idle", "tkn_idle")
	_, err = w.q.TouchRefreshSession(w.ctx, w.e.ID, "rt-idle", "skc_app", at(61*time.Minute))
	wantNotFound(t, err, "a session past its idle expiry")

	// A used token still finds its session (the caller decides grace or
	// reuse); a revoked token or a revoked session does not.
	must(t, w.q.UseRefreshToken(w.ctx, w.e.ID, "rt-1", "skc_app", late), "UseRefreshToken")
	_, err = w.q.TouchRefreshSession(w.ctx, w.e.ID, "rt-1", "skc_app", late)
	must(t, err, "TouchRefreshSession of a used token")
	ses2 := w.session(t, w.u.ID, w.o.ID, "")
	g2 := w.grant(t, ses2, "skc_app", "rt-2", "tkn_2")
	must(t, w.s.Tx(w.ctx, func(q *store.Q) error { return q.RevokeGrant(w.ctx, w.e.ID, g2.ID, late) }), "RevokeGrant")
	_, err = w.q.TouchRefreshSession(w.ctx, w.e.ID, "rt-2", "skc_app", late)
	wantNotFound(t, err, "a revoked token")
	must(t, w.s.Tx(w.ctx, func(q *store.Q) error { return q.RevokeSession(w.ctx, w.e.ID, w.ses.ID, late, "revoked") }), "RevokeSession")
	_, err = w.q.TouchRefreshSession(w.ctx, w.e.ID, "rt-1", "skc_app", late)
	wantNotFound(t, err, "a revoked session")
}

func testClaimRefreshToken(t *testing.T, dsn string) {
	w := newOAuthWorld(t, dsn)
	g := w.grant(t, w.ses, "skc_app", "rt-1", "tkn_1")
	_, err := w.q.ClaimRefreshToken(w.ctx, w.e.ID, "rt-1", "skc_other", t0)
	wantNotFound(t, err, "another client's token")

	var wins atomic.Int32
	var claimed atomic.Pointer[store.RefreshToken]
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := w.s.Tx(w.ctx, func(q *store.Q) error {
				rt, err := q.ClaimRefreshToken(w.ctx, w.e.ID, "rt-1", "skc_app", at(time.Second))
				if err == nil {
					claimed.Store(rt)
				}
				return err
			})
			if err == nil {
				wins.Add(1)
			} else if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("ClaimRefreshToken: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d concurrent claims won, want exactly 1", wins.Load())
	}
	stored, err := w.q.GetRefreshToken(w.ctx, w.e.ID, "rt-1")
	must(t, err, "GetRefreshToken")
	wantEqual(t, "the token returned is the token as stored", claimed.Load(), stored)
	if stored.FamilyID != g.ID || !stored.UsedAt.Equal(utc(at(time.Second))) {
		t.Errorf("claimed: %+v", stored)
	}
	_, err = w.q.ClaimRefreshToken(w.ctx, w.e.ID, "rt-1", "skc_app", at(time.Minute))
	wantNotFound(t, err, "a used token")

	w.grant(t, w.ses, "skc_app", "rt-2", "tkn_2")
	must(t, w.s.Tx(w.ctx, func(q *store.Q) error { return q.RevokeSession(w.ctx, w.e.ID, w.ses.ID, at(time.Minute), "revoked") }),
		"RevokeSession")
	_, err = w.q.ClaimRefreshToken(w.ctx, w.e.ID, "rt-2", "skc_app", at(time.Minute))
	wantNotFound(t, err, "a revoked token")
}

func testGetRefreshState(t *testing.T, dsn string) {
	w := newOAuthWorld(t, dsn)
	g := w.grant(t, w.ses, "skc_app", "rt-1", "tkn_1")
	check := func(what string, orgID string, wantStatus int32, wantMember bool, wantPolicy *store.SessionPolicy) *store.RefreshState {
		t.Helper()
		st, err := w.q.GetRefreshState(w.ctx, w.e.ID, g.ID, w.u.ID, orgID)
		must(t, err, "GetRefreshState: "+what)
		wantGrant, err := w.q.GetGrant(w.ctx, w.e.ID, g.ID)
		must(t, err, "GetGrant")
		wantEqual(t, what+": grant", st.Grant, wantGrant)
		wantUser, err := w.q.GetUserProfile(w.ctx, w.e.ID, w.u.ID)
		must(t, err, "GetUserProfile")
		wantEqual(t, what+": user", st.User, wantUser)
		if st.Member != wantMember || st.Member && st.MemberStatus != wantStatus {
			t.Errorf("%s: member %v status %d, want %v %d", what, st.Member, st.MemberStatus, wantMember, wantStatus)
		}
		if wantMember {
			_, roles, err := w.q.MembershipRoles(w.ctx, w.e.ID, orgID, w.u.ID)
			must(t, err, "MembershipRoles")
			wantEqual(t, what+": roles", st.Roles, roles)
			wantEqual(t, what+": permissions", st.Permissions, permissionNames(t, w, roles))
		} else if len(st.Roles) != 0 || len(st.Permissions) != 0 {
			t.Errorf("%s: roles %+v, permissions %v without a membership", what, st.Roles, st.Permissions)
		}
		wantEqual(t, what+": session policy", st.SessionPolicy, wantPolicy)
		return st
	}
	check("one role, no stored policy", w.o.ID, store.MembershipActive, true, nil)

	// Several roles come back by name, with the stored session policy and
	// the permissions of the roles and their base roles, each once.
	read, write, publish := w.perm(t, w.e.ID, "docs:read"), w.perm(t, w.e.ID, "docs:write"), w.perm(t, w.e.ID, "docs:publish")
	viewer := w.roleWithBase(t, w.e.ID, "", "viewer", nil)
	editor := w.roleWithBase(t, w.e.ID, "", "editor", viewer)
	must(t, w.q.AddRolePermissions(w.ctx, w.e.ID, viewer.ID, []string{read.ID}, t0), "grant viewer")
	must(t, w.q.AddRolePermissions(w.ctx, w.e.ID, editor.ID, []string{write.ID, read.ID}, t0), "grant editor")
	zeta := w.roleWithBase(t, w.e.ID, "", "zeta", editor)
	must(t, w.q.AddRolePermissions(w.ctx, w.e.ID, zeta.ID, []string{publish.ID}, t0), "grant zeta")
	m := &store.Membership{EnvID: w.e.ID, OrgID: w.o.ID, UserID: w.u.ID, Status: store.MembershipActive, CreatedAt: t0,
		UpdatedAt: at(time.Minute), AcceptedAt: t0,
		Roles: []store.RoleRef{{ID: zeta.ID, Name: zeta.Name}, w.role(t, w.e.ID, "", "beta"), {ID: viewer.ID, Name: viewer.Name}}}
	must(t, w.s.Tx(w.ctx, func(q *store.Q) error { return q.UpdateMembership(w.ctx, m) }), "UpdateMembership")
	p := &store.SessionPolicy{EnvID: w.e.ID, AccessTokenTTLSeconds: 600, AbsoluteTimeoutMinutes: 480, IdleTimeoutEnabled: true,
		IdleTimeoutMinutes: 30, UpdatedAt: t0}
	must(t, w.q.PutSessionPolicy(w.ctx, p), "PutSessionPolicy")
	wantP := *p
	wantP.UpdatedAt = utc(t0)
	st := check("three roles, a stored policy", w.o.ID, store.MembershipActive, true, &wantP)
	if len(st.Roles) != 3 || st.Roles[0].Name != "beta" || st.Roles[2].Name != "zeta" {
		t.Errorf("roles %+v, want three by name", st.Roles)
	}
	wantEqual(t, "permissions", st.Permissions, []string{"docs:publish", "docs:read", "docs:write"})

	// A membership that is not active says so; no organization, no membership.
	m.Status = store.MembershipInactive
	must(t, w.s.Tx(w.ctx, func(q *store.Q) error { return q.UpdateMembership(w.ctx, m) }), "UpdateMembership")
	check("inactive", w.o.ID, store.MembershipInactive, true, &wantP)
	check("no organization", "", 0, false, &wantP)
	must(t, w.s.Tx(w.ctx, func(q *store.Q) error { return q.DeleteMembership(w.ctx, w.e.ID, w.o.ID, w.u.ID) }), "DeleteMembership")
	check("membership removed", w.o.ID, 0, false, &wantP)

	// A revoked grant is returned revoked; a missing grant or user, or
	// another environment, is ErrNotFound.
	must(t, w.s.Tx(w.ctx, func(q *store.Q) error { return q.RevokeGrant(w.ctx, w.e.ID, g.ID, at(time.Hour)) }), "RevokeGrant")
	if st := check("revoked grant", "", 0, false, &wantP); !st.Grant.RevokedAt.Equal(utc(at(time.Hour))) {
		t.Errorf("grant revoked at %s", st.Grant.RevokedAt)
	}
	_, err := w.q.GetRefreshState(w.ctx, w.e.ID, "grt_none", w.u.ID, w.o.ID)
	wantNotFound(t, err, "an unknown grant")
	_, err = w.q.GetRefreshState(w.ctx, w.e.ID, g.ID, "usr_none", w.o.ID)
	wantNotFound(t, err, "an unknown user")
	_, err = w.q.GetRefreshState(w.ctx, "env_other", g.ID, w.u.ID, w.o.ID)
	wantNotFound(t, err, "another environment")
}

// permissionNames are the names EffectivePermissions gives roles, sorted
// and without repeats (what GetRefreshState must agree with); nil for none.
func permissionNames(t *testing.T, w *oauthWorld, roles []store.RoleRef) []string {
	t.Helper()
	var ids []string
	for _, r := range roles {
		ids = append(ids, r.ID)
	}
	byRole, err := w.q.EffectivePermissions(w.ctx, w.e.ID, ids)
	must(t, err, "EffectivePermissions")
	seen := map[string]bool{}
	var out []string
	for _, ps := range byRole {
		for _, p := range ps {
			if !seen[p.Name] {
				seen[p.Name] = true
				out = append(out, p.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}
