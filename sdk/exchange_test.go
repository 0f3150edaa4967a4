package sdk_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

// TestExchangeToken: a user signed in to the legacy system gets Gatehouse
// tokens without signing in again; a legacy token of another audience,
// an expired one, or one of an unknown user is invalid_grant.
func TestExchangeToken(t *testing.T) {
	eachDB(t, func(t *testing.T, pg bool) {
		clk := newClock(time.Now().UTC().Truncate(time.Second))
		legacy := newIssuer(t, clk) // the old system's token issuer
		e := sdktest.Start(t, sdktest.Options{Postgres: pg, Now: clk.Now, SDKOptions: []sdk.Option{sdk.WithClock(clk.Now)},
			Configure: func(c *config.Config) {
				c.Legacy = config.LegacyIssuer{Issuer: legacy.srv.URL, JWKSURL: legacy.srv.URL + "/keys", Audience: "old-app"}
			}})
		ctx := context.Background()
		now := clk.Now().Unix()
		claims := map[string]any{"iss": legacy.srv.URL, "sub": sdktest.UserExternalID, "aud": "old-app", "exp": now + 600, "iat": now}
		res, err := e.Client.ExchangeToken(ctx, legacy.sign("k1", "JWT", claims), sdk.ExchangeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Claims.Subject != e.UserID || res.Claims.OrganizationID != e.OrgID || !res.Claims.HasRole("admin") ||
			res.RefreshToken == "" || res.User == nil || res.User.Email != sdktest.UserEmail {
			t.Fatalf("exchanged: %+v %+v %+v", res.Tokens, res.Claims, res.User)
		}
		if _, err := e.Client.RefreshToken(ctx, res.RefreshToken); err != nil {
			t.Fatalf("refreshing the exchanged session: %v", err)
		}
		for name, c := range map[string]map[string]any{
			"other audience": {"iss": legacy.srv.URL, "sub": sdktest.UserExternalID, "aud": "other", "exp": now + 600},
			"expired":        {"iss": legacy.srv.URL, "sub": sdktest.UserExternalID, "aud": "old-app", "exp": now - 600},
			"unknown user":   {"iss": legacy.srv.URL, "sub": "nobody", "aud": "old-app", "exp": now + 600},
			"untrusted":      {"iss": "https://evil.example", "sub": sdktest.UserExternalID, "aud": "old-app", "exp": now + 600},
		} {
			if _, err := e.Client.ExchangeToken(ctx, legacy.sign("k1", "JWT", c), sdk.ExchangeOptions{}); !sdk.IsInvalidGrant(err) {
				t.Errorf("%s: %v, want invalid_grant", name, err)
			}
		}
	})
}
