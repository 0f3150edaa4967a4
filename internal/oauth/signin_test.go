package oauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestSignIn: a sign-in that prepares its session and writes it with its
// code at once (sessions.Service.Prepare with oauth.Server.SignIn, as the
// hosted login does) gets a code bound to the new session that
// redeems with PKCE into tokens with the request's nonce, the session's
// sid and auth_time and the member's roles; the request cannot be
// completed twice; and a request that is expired or finished, a session
// for another organization than the request's, or a user who is not an
// active member of the session's organization gets ErrAuthRequestNotFound
// or ErrLoginRequired with nothing written: no session, no code, the
// request still pending.
func TestSignIn(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		ctx := context.Background()
		db := f.in.Server.Store().DB()
		count := func(query string, args ...any) int {
			t.Helper()
			var n int
			if err := db.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		request := func(a authz) *oauth.AuthRequest {
			t.Helper()
			ar, err := f.in.Server.OAuth.GetAuthRequest(ctx, f.loginRequest(t, f.authorize(t, a, "")))
			if err != nil {
				t.Fatal(err)
			}
			return ar
		}
		signIn := func(ar *oauth.AuthRequest, userID, orgID string) (*sessions.Session, string, error) {
			ses, _, ev, err := f.in.Server.Sessions.Prepare(ctx, sessions.NewSession{UserID: userID, OrgID: orgID, AMR: []string{"pwd"},
				Cookie: true})
			if err != nil {
				return nil, "", err
			}
			target, err := f.in.Server.OAuth.SignIn(ctx, ar, &store.SignIn{Session: ses, Event: ev})
			return ses, target, err
		}

		a := goodAuthz()
		ar := request(a)
		ses, target, err := signIn(ar, f.userID, f.orgID)
		if err != nil {
			t.Fatalf("SignIn: %v", err)
		}
		rec := httptest.NewRecorder()
		oauth.Redirect(rec, target)
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("Redirect answered %d, want 303", rec.Code)
		}
		u, err := url.Parse(rec.Header().Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		code := f.callback(t, u, a.redirect, a.state).Get("code")
		if n := count(`SELECT COUNT(*) FROM oauth_auth_requests WHERE id = $1 AND status = 'completed' AND session_id = $2`, ar.ID, ses.ID); n != 1 {
			t.Errorf("the request is not completed by the new session")
		}
		wrong := a
		wrong.verifier = a.verifier[:42] + "w"
		if r := f.redeem(t, wrong, code); r.status != http.StatusBadRequest {
			t.Fatalf("redeemed with another PKCE verifier: %d %s", r.status, r.raw)
		}
		a2 := goodAuthz()
		a2.state, a2.nonce = "st-2", "n-2"
		ar2 := request(a2)
		ses2, target, err := signIn(ar2, f.userID, f.orgID)
		if err != nil {
			t.Fatalf("SignIn: %v", err)
		}
		code = f.callback(t, mustParse(t, target), a2.redirect, a2.state).Get("code")
		tok := tokensOf(t, f.redeem(t, a2, code))
		_, claims := segments(t, tok.id)
		if claims["nonce"] != "n-2" || claims["sid"] != ses2.ID || fmt.Sprint(claims["auth_time"]) != fmt.Sprint(ses2.AuthTime.Unix()) {
			t.Errorf("ID token nonce %v sid %v auth_time %v; want n-2, %s, %d", claims["nonce"], claims["sid"], claims["auth_time"],
				ses2.ID, ses2.AuthTime.Unix())
		}
		_, access := segments(t, tok.access)
		if roles, _ := access["roles"].([]any); len(roles) != 1 || roles[0] != "admin" {
			t.Errorf("access token roles %v, want [admin]", access["roles"])
		}

		sessionsNow := func() int { return count(`SELECT COUNT(*) FROM sessions`) }
		codesNow := func() int { return count(`SELECT COUNT(*) FROM oauth_codes`) }
		before, codes := sessionsNow(), codesNow()
		refused := func(what string, ar *oauth.AuthRequest, userID, orgID string, want error) {
			t.Helper()
			if _, _, err := signIn(ar, userID, orgID); !errors.Is(err, want) {
				t.Errorf("%s: %v, want %v", what, err, want)
			}
			if n, c := sessionsNow(), codesNow(); n != before || c != codes {
				t.Errorf("%s: %d sessions and %d codes, want %d and %d (nothing written)", what, n, c, before, codes)
			}
		}
		refused("the request completed already", ar2, f.userID, f.orgID, oauth.ErrAuthRequestNotFound)

		pending := request(goodAuthz())
		name := "Other"
		other, err := f.in.Server.Accounts.CreateOrganization(ctx, accounts.OrgFields{DisplayName: &name})
		if err != nil {
			t.Fatal(err)
		}
		email := "outsider@example.com"
		outsider, err := f.in.Server.Accounts.CreateUserAndMembership(ctx, other.ID, accounts.UserFields{Email: &email},
			accounts.MembershipFields{}, false)
		if err != nil {
			t.Fatal(err)
		}
		refused("not a member of the session's organization", pending, outsider.ID, f.orgID, oauth.ErrLoginRequired)
		gone := f.addUser(t, "gone@example.com")
		if err := f.in.Server.Accounts.DeleteMembership(ctx, f.orgID, accounts.Ref{ID: gone}); err != nil {
			t.Fatal(err)
		}
		refused("a member removed from the organization", pending, gone, f.orgID, oauth.ErrLoginRequired)
		forOrg := goodAuthz()
		forOrg.extra = url.Values{"organization_id": {other.ID}}
		refused("a session for another organization than the request's", request(forOrg), f.userID, f.orgID, oauth.ErrLoginRequired)
		f.clk.Set(f.clk.Now().Add(oauth.AuthRequestTTL))
		refused("an expired request", pending, f.userID, f.orgID, oauth.ErrAuthRequestNotFound)
		if n := count(`SELECT COUNT(*) FROM oauth_auth_requests WHERE id = $1 AND status = 'pending' AND COALESCE(session_id, '') = ''`, pending.ID); n != 1 {
			t.Errorf("a refused request is no longer pending")
		}
	})
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
