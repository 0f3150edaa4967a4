package sdk_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

// TestCodeFlow signs a user in through the SDK against a live server on
// both databases: AuthorizationURL with state, nonce, PKCE and
// offline_access; AuthenticateWithCode; the typed claims; refresh
// rotation with reuse detection; and RP-initiated logout.
func TestCodeFlow(t *testing.T) {
	eachDB(t, func(t *testing.T, pg bool) {
		clk := newClock(time.Now().UTC().Truncate(time.Microsecond))
		e := sdktest.Start(t, sdktest.Options{Postgres: pg, CallbackURLs: []string{appCB}, PostLogoutURLs: []string{appBye}, Now: clk.Now,
			SDKOptions: []sdk.Option{sdk.WithClock(clk.Now)}})
		c, ctx := e.Client, context.Background()
		pk, err := sdk.NewPKCE()
		if err != nil {
			t.Fatal(err)
		}
		nonce, _ := sdk.RandomString()
		authURL := c.AuthorizationURL(appCB, sdk.AuthorizationURLOptions{State: "st-1", Nonce: nonce,
			Scopes: []string{"openid", "profile", "email", "offline_access"}, CodeChallenge: pk.Challenge, CodeChallengeMethod: pk.Method})
		code := e.Code(t, authURL)

		// A wrong verifier burns the code.
		_, err = c.AuthenticateWithCode(ctx, code, appCB, sdk.AuthenticationOptions{CodeVerifier: pk.Verifier + "x"})
		if !sdk.IsInvalidGrant(err) {
			t.Fatalf("wrong verifier: %v, want invalid_grant", err)
		}
		_, err = c.AuthenticateWithCode(ctx, code, appCB, sdk.AuthenticationOptions{CodeVerifier: pk.Verifier})
		if !sdk.IsInvalidGrant(err) {
			t.Fatalf("a burned code: %v, want invalid_grant", err)
		}

		code = e.Code(t, authURL)
		// A nonce other than the one sent is caught on the ID token.
		code2 := e.Code(t, authURL)
		if _, err := c.AuthenticateWithCode(ctx, code2, appCB, sdk.AuthenticationOptions{CodeVerifier: pk.Verifier, Nonce: "other"}); !errors.Is(err, sdk.ErrInvalidToken) {
			t.Fatalf("nonce mismatch: %v, want ErrInvalidToken", err)
		}
		auth, err := c.AuthenticateWithCode(ctx, code, appCB, sdk.AuthenticationOptions{CodeVerifier: pk.Verifier, Nonce: nonce})
		if err != nil {
			t.Fatal(err)
		}
		cl := auth.Claims
		if cl.Subject != e.UserID || cl.OrganizationID != e.OrgID || cl.SessionID == "" || cl.ClientID != e.ClientID ||
			!slices.Equal(cl.Roles, []string{"admin"}) || !cl.HasPermission(sdktest.Permission) ||
			!cl.HasScope("offline_access") || cl.Issuer != e.URL || cl.ID == "" {
			t.Errorf("claims = %+v", cl)
		}
		if d := cl.Expiry.Sub(clk.Now()); d < 298*time.Second || d > 300*time.Second {
			t.Errorf("access token lives %s, want 299 s", d)
		}
		if auth.ExpiresIn != 299*time.Second || auth.RefreshToken == "" || auth.IDToken == "" {
			t.Errorf("tokens: %+v", auth.Tokens)
		}
		u := auth.User
		if u == nil || u.ID != e.UserID || u.Email != sdktest.UserEmail || !u.EmailVerified || u.OrganizationID != e.OrgID ||
			u.SessionID != cl.SessionID {
			t.Errorf("user = %+v", u)
		}
		// The access token validates on its own; the ID token is not an
		// access token.
		if again, err := c.ValidateAccessToken(ctx, auth.AccessToken); err != nil || again.Subject != e.UserID {
			t.Errorf("ValidateAccessToken: %v %v", again, err)
		}
		if _, err := c.ValidateAccessToken(ctx, auth.IDToken); !errors.Is(err, sdk.ErrInvalidToken) {
			t.Errorf("an ID token as access token: %v", err)
		}
		// Nor is a management token.
		mt, err := c.ManagementToken(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ValidateAccessToken(ctx, mt); !errors.Is(err, sdk.ErrInvalidToken) {
			t.Errorf("a management token as access token: %v", err)
		}

		// Refresh rotates; the old refresh token is spent.
		clk.Advance(time.Minute)
		ref, err := c.RefreshToken(ctx, auth.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		if ref.RefreshToken == "" || ref.RefreshToken == auth.RefreshToken || ref.AccessToken == auth.AccessToken ||
			ref.Claims.SessionID != cl.SessionID || !ref.Claims.Expiry.After(cl.Expiry) {
			t.Errorf("refresh: %+v %+v", ref.Tokens, ref.Claims)
		}
		clk.Advance(3 * time.Second) // past the 2 s grace for concurrent double submits
		if _, err := c.RefreshToken(ctx, auth.RefreshToken); !sdk.IsInvalidGrant(err) {
			t.Fatalf("reusing a refresh token: %v, want invalid_grant", err)
		}
		// Reuse revoked the family and the session: the newest refresh
		// token is dead too.
		if _, err := c.RefreshToken(ctx, ref.RefreshToken); !sdk.IsInvalidGrant(err) {
			t.Fatalf("after reuse: %v, want invalid_grant", err)
		}
	})
}

// TestLogout: LogoutURL with the ID token ends the session and returns
// to the registered post-logout URL with state.
func TestLogout(t *testing.T) {
	e := start(t, false)
	c, ctx := e.Client, context.Background()
	pk, _ := sdk.NewPKCE()
	code := e.Code(t, c.AuthorizationURL(appCB, sdk.AuthorizationURLOptions{State: "s", Scopes: []string{"openid", "offline_access"},
		CodeChallenge: pk.Challenge, CodeChallengeMethod: pk.Method}))
	auth, err := c.AuthenticateWithCode(ctx, code, appCB, sdk.AuthenticationOptions{CodeVerifier: pk.Verifier})
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(c.LogoutURL(sdk.LogoutURLOptions{IDTokenHint: auth.IDToken, PostLogoutRedirectURI: appBye, State: "bye-1"}))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Scheme+"://"+loc.Host+loc.Path != appBye || loc.Query().Get("state") != "bye-1" {
		t.Fatalf("logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, err := c.RefreshToken(ctx, auth.RefreshToken); !sdk.IsInvalidGrant(err) {
		t.Fatalf("refresh after logout: %v, want invalid_grant", err)
	}
}
