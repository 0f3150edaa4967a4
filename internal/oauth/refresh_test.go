package oauth_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestRefreshRotationAndReuse covers O10: every refresh rotates; a used
// token replayed within the grace (at most 2 s) is answered; replayed
// later it revokes the family and the session: the newest RT is
// invalid_grant, its AT inactive, and a back-channel logout token goes out.
func TestRefreshRotationAndReuse(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		tk1, ses, cookie := f.signIn(t)
		seen := map[string]bool{tk1.refresh: true}
		rt := tk1.refresh
		for i := 0; i < 3; i++ {
			f.clk.Set(f.clk.Now().Add(10 * time.Second))
			next := tokensOf(t, f.refresh(t, appBasic, rt))
			if seen[next.refresh] || next.refresh == "" {
				t.Fatalf("refresh %d did not return a new refresh token", i)
			}
			seen[next.refresh] = true
			rt = next.refresh
		}
		// RT1 -> RT2 (+AT2).
		rt1 := rt
		f.clk.Set(f.clk.Now().Add(10 * time.Second))
		tk2 := tokensOf(t, f.refresh(t, appBasic, rt1))
		// Within the grace: a concurrent double submit gets an answer.
		f.clk.Set(f.clk.Now().Add(1500 * time.Millisecond))
		twin := tokensOf(t, f.refresh(t, appBasic, rt1))
		if twin.refresh == tk2.refresh {
			t.Error("the grace answer repeated the refresh token")
		}
		if !f.active(t, tk2.access) {
			t.Fatal("AT2 inactive before any reuse")
		}
		// Past the grace: reuse.
		f.clk.Set(f.clk.Now().Add(3 * time.Second))
		wantGrantError(t, "replayed RT1", f.refresh(t, appBasic, rt1), "invalid_grant")
		wantGrantError(t, "RT2 after the replay", f.refresh(t, appBasic, tk2.refresh), "invalid_grant")
		wantGrantError(t, "the twin after the replay", f.refresh(t, appBasic, twin.refresh), "invalid_grant")
		if f.active(t, tk2.access) || f.active(t, twin.access) || f.active(t, tk1.access) {
			t.Error("an access token of the family is still active after reuse")
		}
		got, err := f.in.Server.Sessions.Get(t.Context(), ses.ID)
		if err != nil || got.RevokedAt.IsZero() || got.EndReason != sessions.ReasonRefreshReuse {
			t.Errorf("session after reuse: %+v %v, want revoked for refresh_token_reuse", got, err)
		}
		// The browser session is gone too: prompt=none asks for a login.
		a := goodAuthz()
		a.extra = map[string][]string{"prompt": {"none"}}
		wantErrorRedirect(t, f, "prompt=none after reuse", f.authorize(t, a, cookie), appCB, "st-123", "login_required")
		checkLogoutToken(t, f, f.bc.wait(t), ses.ID)
	})
}

// TestRefreshConcurrentDoubleSubmit: two refreshes with one token at the
// same instant both succeed (the grace) and neither revokes the family.
func TestRefreshConcurrentDoubleSubmit(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		tk, _, _ := f.signIn(t)
		var wg sync.WaitGroup
		out := make([]response, 2)
		for i := range out {
			wg.Add(1)
			go func() { defer wg.Done(); out[i] = f.refresh(t, appBasic, tk.refresh) }()
		}
		wg.Wait()
		for i, r := range out {
			if r.status != 200 {
				t.Errorf("submit %d: %d %s", i, r.status, r.raw)
			}
		}
		for i, r := range out {
			if next := tokensOf(t, r); !f.active(t, next.refresh) {
				t.Errorf("refresh token of submit %d inactive", i)
			}
		}
	})
}

// TestRefreshBindingAndScope covers C11 (client binding) and O12 (scope).
func TestRefreshBindingAndScope(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		tk, _, _ := f.signIn(t)
		// Client 2 presenting client 1's RT: invalid_grant, and no harm done.
		wantGrantError(t, "another client's refresh token", f.refresh(t, []string{otherID, otherSecret}, tk.refresh), "invalid_grant")
		// Wider scope: invalid_scope, and the token stays usable.
		wantGrantError(t, "wider scope", f.refresh(t, appBasic, tk.refresh, "scope", "openid admin"), "invalid_scope")
		// Narrower: only that scope in the access token.
		r := f.refresh(t, appBasic, tk.refresh, "scope", "openid email")
		narrow := tokensOf(t, r)
		if r.body["scope"] != "openid email" {
			t.Errorf("narrowed scope = %v", r.body["scope"])
		}
		if _, at := verifyJWT(t, f.in.URL, narrow.access); !slices.Equal(strList(at["scopes"]), []string{"openid", "email"}) {
			t.Errorf("narrowed access token scopes %v", at["scopes"])
		}
		if _, idt := verifyJWT(t, f.in.URL, narrow.id); idt["given_name"] != nil {
			t.Errorf("profile claims after narrowing to openid email: %v", idt)
		}
		// The family keeps the granted scope: the next refresh without scope
		// gets all of it back.
		f.clk.Set(t0.Add(10 * time.Second))
		r = f.refresh(t, appBasic, narrow.refresh)
		if r.body["scope"] != "openid profile email offline_access" {
			t.Errorf("scope after a narrowed refresh = %v", r.body["scope"])
		}
		wantGrantError(t, "garbage", f.refresh(t, appBasic, "rt_"+strings.Repeat("A", 43)), "invalid_grant")
		wantGrantError(t, "not a refresh token", f.refresh(t, appBasic, tk.access), "invalid_grant")
	})
}

// TestRefreshAfterRevocationEvents covers O11 and S04: refresh fails after
// logout (session revocation), user deletion and membership removal, and
// past the idle and absolute timeouts; a refreshed access token carries the
// user's current roles.
func TestRefreshAfterRevocationEvents(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		mgmt := func(method, path, body string) {
			t.Helper()
			if st, out := f.in.Do(t, f.in.Token(t), method, path, body); st != http.StatusOK {
				t.Fatalf("%s %s: %d %v", method, path, st, out)
			}
		}
		// Current roles.
		tk, _, _ := f.signIn(t)
		mgmt(http.MethodPatch, "/api/v1/memberships/organizations/"+f.orgID+"/users/"+f.userID, `{"roles":[{"name":"member"}]}`)
		r := tokensOf(t, f.refresh(t, appBasic, tk.refresh))
		if _, at := verifyJWT(t, f.in.URL, r.access); !slices.Equal(strList(at["roles"]), []string{"member"}) {
			t.Errorf("roles after a role change = %v, want [member]", at["roles"])
		}

		// Session revocation through the SessionService.
		tk, ses, _ := f.signIn(t)
		mgmt(http.MethodPost, "/api/v1/sessions/"+ses.ID+"/revoke", "")
		wantGrantError(t, "after session revocation", f.refresh(t, appBasic, tk.refresh), "invalid_grant")
		if f.active(t, tk.access) {
			t.Error("access token active after session revocation")
		}

		// Membership removal ends the user's sessions for the organization:
		// tokens inactive, the client told, and single sign-on asks for a
		// login instead of issuing a code.
		tk, ses, cookie := f.signIn(t)
		mgmt(http.MethodDelete, "/api/v1/memberships/organizations/"+f.orgID+"/users/"+f.userID, "")
		if f.active(t, tk.access) {
			t.Error("access token active after membership removal")
		}
		if f.active(t, tk.refresh) {
			t.Error("refresh token active at introspection after membership removal")
		}
		wantGrantError(t, "after membership removal", f.refresh(t, appBasic, tk.refresh), "invalid_grant")
		if f.live(t, ses.ID) {
			t.Error("session still live after membership removal")
		}
		checkLogoutToken(t, f, f.bc.waitFor(t, ses.ID), ses.ID)
		f.loginRequest(t, f.authorize(t, goodAuthz(), cookie))
		silent := goodAuthz()
		silent.extra = url.Values{"prompt": {"none"}}
		wantErrorRedirect(t, f, "prompt=none after membership removal", f.authorize(t, silent, cookie), appCB, silent.state, "login_required")

		// A session the removal did not see (one that started while it ran,
		// simulated by deleting the membership row alone) is no better:
		// introspection, refresh and single sign-on all check the membership.
		f.userID = f.addUser(t, "dan@acme.example")
		tk, ses, cookie = f.signIn(t)
		if err := f.in.Server.Store().Tx(t.Context(), func(q *store.Q) error {
			return q.DeleteMembership(t.Context(), f.in.Server.Bootstrap.EnvID, f.orgID, f.userID)
		}); err != nil {
			t.Fatal(err)
		}
		if !f.live(t, ses.ID) {
			t.Fatal("the session ended: this case is meant to test the membership checks behind the revocation")
		}
		if f.active(t, tk.refresh) || f.active(t, tk.access) {
			t.Error("a token is active at introspection for a user no longer in the organization")
		}
		f.loginRequest(t, f.authorize(t, goodAuthz(), cookie))
		wantErrorRedirect(t, f, "prompt=none without a membership", f.authorize(t, silent, cookie), appCB, silent.state, "login_required")
		wantGrantError(t, "without a membership", f.refresh(t, appBasic, tk.refresh), "invalid_grant")

		// User deletion.
		f.userID = f.addUser(t, "bob@acme.example")
		tk, ses, _ = f.signIn(t)
		mgmt(http.MethodDelete, "/api/v1/users/"+f.userID, "")
		if f.active(t, tk.refresh) {
			t.Error("refresh token active at introspection after user deletion")
		}
		wantGrantError(t, "after user deletion", f.refresh(t, appBasic, tk.refresh), "invalid_grant")
		if f.active(t, tk.access) || f.userinfo(t, tk.access).status != http.StatusUnauthorized {
			t.Error("access token still good after user deletion")
		}
		checkLogoutToken(t, f, f.bc.waitFor(t, ses.ID), ses.ID)

		// Idle timeout: 7 days without use.
		f.userID = f.addUser(t, "carol@acme.example")
		tk, _, _ = f.signIn(t)
		start := f.clk.Now()
		f.clk.Set(start.Add(sessions.DefaultIdleTimeout + time.Second))
		wantGrantError(t, "past the idle timeout", f.refresh(t, appBasic, tk.refresh), "invalid_grant")

		// Absolute timeout: used every 6 days, the session still ends at 30.
		f.clk.Set(start.Add(sessions.DefaultIdleTimeout * 2))
		tk, _, _ = f.signIn(t)
		begin := f.clk.Now()
		rt := tk.refresh
		for d := 6 * 24 * time.Hour; d < sessions.DefaultAbsoluteTimeout; d += 6 * 24 * time.Hour {
			f.clk.Set(begin.Add(d))
			rt = tokensOf(t, f.refresh(t, appBasic, rt)).refresh
		}
		f.clk.Set(begin.Add(sessions.DefaultAbsoluteTimeout + time.Second))
		wantGrantError(t, "past the absolute timeout", f.refresh(t, appBasic, rt), "invalid_grant")
	})
}

// TestOrganizationDeletionEndsSessions (S04): deleting an organization
// ends every session for it, whoever the user, with their refresh and
// access tokens; each client gets a back-channel logout token, and the
// browser must sign in again. A session for another organization lives on.
func TestOrganizationDeletionEndsSessions(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		ada := f.userID
		tkA, sesA, cookieA := f.signIn(t)
		f.userID = f.addUser(t, "bob@acme.example")
		tkB, sesB, _ := f.signIn(t)

		other, ext := "Other", "other"
		org, err := f.in.Server.Accounts.CreateOrganization(t.Context(), accounts.OrgFields{DisplayName: &other, ExternalID: &ext})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.in.Server.Accounts.CreateMembership(t.Context(), org.ID, accounts.Ref{ID: ada},
			accounts.MembershipFields{Roles: []string{"member"}}, false); err != nil {
			t.Fatal(err)
		}
		f.userID, f.orgID = ada, org.ID
		tkO, sesO, _ := f.signIn(t)

		if st, out := f.in.Do(t, f.in.Token(t), http.MethodDelete, "/api/v1/organizations/"+sesA.OrgID, ""); st != http.StatusOK {
			t.Fatalf("delete organization: %d %v", st, out)
		}
		for _, c := range []struct {
			name string
			tk   tokens
		}{{"ada", tkA}, {"bob", tkB}} {
			if f.active(t, c.tk.refresh) || f.active(t, c.tk.access) {
				t.Errorf("%s: a token is active after the organization was deleted", c.name)
			}
			wantGrantError(t, c.name+" after organization deletion", f.refresh(t, appBasic, c.tk.refresh), "invalid_grant")
		}
		f.userID = ada
		checkLogoutToken(t, f, f.bc.waitFor(t, sesA.ID), sesA.ID)
		if _, c := segments(t, f.bc.waitFor(t, sesB.ID)); c["sub"] != sesB.UserID {
			t.Errorf("logout token for bob's session: sub %v", c["sub"])
		}
		f.loginRequest(t, f.authorize(t, goodAuthz(), cookieA))

		if !f.live(t, sesO.ID) || !f.active(t, tkO.refresh) {
			t.Error("the session for another organization ended too")
		}
		tokensOf(t, f.refresh(t, appBasic, tkO.refresh))
	})
}

// TestRefreshRacingRevocation: refreshes racing session revocations and
// replays never fail with a server error (no deadlock on PostgreSQL), and
// the revocation always wins in the end.
func TestRefreshRacingRevocation(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		for i := 0; i < 8; i++ {
			tk, ses, _ := f.signIn(t)
			var wg sync.WaitGroup
			results := make([]response, 4)
			for j := range results {
				wg.Add(1)
				go func() { defer wg.Done(); results[j] = f.refresh(t, appBasic, tk.refresh) }()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := f.in.Server.Sessions.Revoke(t.Context(), ses.ID, sessions.ReasonRevoked); err != nil {
					t.Errorf("revoke: %v", err)
				}
			}()
			wg.Wait()
			for _, r := range results {
				if r.status != 200 && r.status != 400 {
					t.Errorf("refresh racing a revocation: %d %s", r.status, r.raw)
				}
				if r.status == 200 && f.active(t, tokensOf(t, r).access) {
					t.Error("a token issued in the race outlived the revocation")
				}
			}
		}
	})
}
