package oauth_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

func wantGrantError(t *testing.T, what string, r response, code string) {
	t.Helper()
	if r.status != http.StatusBadRequest || r.body["error"] != code {
		t.Errorf("%s: %d %s, want 400 %s", what, r.status, r.raw, code)
	}
	if _, ok := r.body["access_token"]; ok {
		t.Errorf("%s: an error carries an access token", what)
	}
	checkErrorDescription(t, what, r)
}

// TestCodeReuseRevokes covers C08: a second redemption of a code, at once
// and 30 s later, is invalid_grant, and kills the tokens of the first.
func TestCodeReuseRevokes(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		ses, _ := f.login(t)
		a := goodAuthz()
		code := f.code(t, a, ses)
		tk := tokensOf(t, f.redeem(t, a, code))
		if !f.active(t, tk.access) || !f.active(t, tk.refresh) {
			t.Fatal("fresh tokens are not active")
		}
		wantGrantError(t, "reuse at once", f.redeem(t, a, code), "invalid_grant")
		if f.active(t, tk.access) || f.active(t, tk.refresh) {
			t.Error("tokens of the first redemption still active after a reuse")
		}
		if r := f.userinfo(t, tk.access); r.status != http.StatusUnauthorized {
			t.Errorf("userinfo after reuse: %d", r.status)
		}
		wantGrantError(t, "refresh after reuse", f.refresh(t, appBasic, tk.refresh), "invalid_grant")
		f.clk.Set(t0.Add(30 * time.Second))
		wantGrantError(t, "reuse after 30 s", f.redeem(t, a, code), "invalid_grant")
		// The session itself is not ended by a code replay.
		if live, _ := f.in.Server.Sessions.Get(t.Context(), ses.ID); !live.RevokedAt.IsZero() {
			t.Error("a code replay revoked the session")
		}
	})
}

// TestCodeRedemptionRace covers O07: of 20 parallel redemptions exactly one
// succeeds, and its tokens are then revoked.
func TestCodeRedemptionRace(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		ses, _ := f.login(t)
		a := goodAuthz()
		code := f.code(t, a, ses)
		var wg sync.WaitGroup
		results := make([]response, 20)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = f.redeem(t, a, code)
			}()
		}
		wg.Wait()
		var winners []tokens
		for _, r := range results {
			switch {
			case r.status == http.StatusOK:
				winners = append(winners, tokensOf(t, r))
			case r.status != http.StatusBadRequest || r.body["error"] != "invalid_grant":
				t.Errorf("a loser got %d %s", r.status, r.raw)
			}
		}
		if len(winners) != 1 {
			t.Fatalf("%d redemptions succeeded, want exactly 1", len(winners))
		}
		if f.active(t, winners[0].access) || f.active(t, winners[0].refresh) {
			t.Error("the winner's tokens survived the replays")
		}
	})
}

// TestCodeBinding covers O03-O06 and C03 at the token endpoint: the code
// is bound to its client, redirect_uri and PKCE challenge, expires after
// 60 s, and a failed redemption burns it.
func TestCodeBinding(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		ses, _ := f.login(t)
		a := goodAuthz()
		redeemAs := func(basic []string, code, redirect, verifier string) response {
			kv := []string{"grant_type", "authorization_code", "code", code, "redirect_uri", redirect}
			if verifier != "" {
				kv = append(kv, "code_verifier", verifier)
			}
			return f.token(t, basic, kv...)
		}
		type tcase struct {
			name     string
			basic    []string
			redirect string
			verifier string
		}
		for _, c := range []tcase{
			{"another client's credentials", []string{otherID, otherSecret}, appCB, a.verifier},
			{"another redirect_uri", appBasic, nativeCB, a.verifier},
			{"no redirect_uri", appBasic, "", a.verifier},
			{"no verifier", appBasic, appCB, ""},
			{"wrong verifier", appBasic, appCB, strings.Repeat("w", 43)},
			{"42-character verifier", appBasic, appCB, strings.Repeat("v", 42)},
			{"129-character verifier", appBasic, appCB, strings.Repeat("v", 129)},
			{"verifier with illegal characters", appBasic, appCB, strings.Repeat("v", 42) + "!"},
		} {
			code := f.code(t, a, ses)
			wantGrantError(t, c.name, redeemAs(c.basic, code, c.redirect, c.verifier), "invalid_grant")
			// Burned: even the right request fails now (O05).
			wantGrantError(t, c.name+", then the right request", f.redeem(t, a, code), "invalid_grant")
		}

		// PKCE downgrade (O04): no challenge at authorize, a verifier at the token endpoint.
		noPKCE := goodAuthz()
		noPKCE.verifier = ""
		code := f.code(t, noPKCE, ses)
		wantGrantError(t, "PKCE downgrade", redeemAs(appBasic, code, appCB, strings.Repeat("v", 43)), "invalid_grant")
		// Without PKCE at either end, a confidential client may redeem.
		code = f.code(t, noPKCE, ses)
		if r := redeemAs(appBasic, code, appCB, ""); r.status != 200 {
			t.Errorf("confidential client without PKCE: %d %s", r.status, r.raw)
		}

		// Expiry (O06): 60 s.
		code = f.code(t, a, ses)
		f.clk.Set(f.clk.Now().Add(oauth.CodeTTL + time.Second))
		wantGrantError(t, "expired code", f.redeem(t, a, code), "invalid_grant")
		code = f.code(t, a, ses)
		f.clk.Set(f.clk.Now().Add(oauth.CodeTTL - time.Second))
		if r := f.redeem(t, a, code); r.status != 200 {
			t.Errorf("a code 59 s old: %d %s", r.status, r.raw)
		}

		// Client authentication comes first: a wrong secret leaves the code alone (C03).
		code = f.code(t, a, ses)
		wrong := []string{servertest.ClientID, servertest.ClientSecret + "x"}
		r := redeemAs(wrong, code, appCB, a.verifier)
		if r.status != 401 || r.body["error"] != "invalid_client" || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("wrong secret: %d %s WWW-Authenticate %q", r.status, r.raw, r.header.Get("WWW-Authenticate"))
		}
		if r := f.redeem(t, a, code); r.status != 200 {
			t.Errorf("the code after a failed client authentication: %d %s", r.status, r.raw)
		}
		wantGrantError(t, "unknown code", f.redeem(t, a, "no-such-code"), "invalid_grant")
		if r := f.token(t, appBasic, "grant_type", "authorization_code", "redirect_uri", appCB); r.status != 400 || r.body["error"] != "invalid_request" {
			t.Errorf("no code: %d %s", r.status, r.raw)
		}
		// The password grant stays off (O08).
		if r := f.token(t, appBasic, "grant_type", "password", "username", userEmail, "password", "x"); r.body["error"] != "unsupported_grant_type" {
			t.Errorf("password grant: %d %s", r.status, r.raw)
		}
	})
}

// TestCodeAfterSessionEnds: a code whose session was revoked, or whose user
// left the organization, cannot be redeemed.
func TestCodeAfterSessionEnds(t *testing.T) {
	f := newFx(t, false)
	ses, _ := f.login(t)
	a := goodAuthz()
	code := f.code(t, a, ses)
	if _, err := f.in.Server.Sessions.Revoke(t.Context(), ses.ID, "revoked"); err != nil {
		t.Fatal(err)
	}
	wantGrantError(t, "code of a revoked session", f.redeem(t, a, code), "invalid_grant")
	ses, _ = f.login(t)
	code = f.code(t, a, ses)
	if st, body := f.in.Do(t, f.in.Token(t), http.MethodDelete, "/api/v1/memberships/organizations/"+f.orgID+"/users/"+f.userID, ""); st != 200 {
		t.Fatalf("delete membership: %d %v", st, body)
	}
	wantGrantError(t, "code after membership removal", f.redeem(t, a, code), "invalid_grant")
}
