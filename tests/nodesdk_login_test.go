package tests

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// seedLogins makes the users the login suites sign in as (a login needs a
// user the SDK suites cannot create mid-flow without races with the other
// suites): oauth_e2e.test.mjs's user belongs to two organizations, so the
// picker is shown; openid_client.test.mjs's to one. Both are ACTIVE
// members without a password, so they sign in with an emailed code. The
// suites register their own callback URLs through the settings REST API.
func seedLogins(t *testing.T, in *servertest.Instance) []string {
	t.Helper()
	ctx := context.Background()
	org := func(name, ext string) string {
		o, err := in.Server.Accounts.CreateOrganization(ctx, accounts.OrgFields{DisplayName: &name, ExternalID: &ext})
		if err != nil {
			t.Fatal(err)
		}
		return o.ID
	}
	user := func(orgID, email, first string) string {
		last := "Tester"
		u, err := in.Server.Accounts.CreateUserAndMembership(ctx, orgID, accounts.UserFields{Email: &email,
			Profile: accounts.ProfileFields{FirstName: &first, LastName: &last}}, accounts.MembershipFields{}, false)
		if err != nil {
			t.Fatal(err)
		}
		return u.ID
	}
	first, second := org("SDK Login One", "node-login-one"), org("SDK Login Two", "node-login-two")
	sdkEmail := "node-sdk-login@example.com"
	uid := user(first, sdkEmail, "Ada")
	if _, err := in.Server.Accounts.CreateMembership(ctx, second, accounts.Ref{ID: uid}, accounts.MembershipFields{}, false); err != nil {
		t.Fatal(err)
	}
	oidcOrg := org("OIDC Client Co", "node-oidc-org")
	oidcEmail := "openid-client@example.com"
	user(oidcOrg, oidcEmail, "Grace")
	return []string{
		"GATEHOUSE_SEED_LOGIN_EMAIL=" + sdkEmail,
		"GATEHOUSE_SEED_LOGIN_ORG_ID=" + second,
		"GATEHOUSE_SEED_OIDC_EMAIL=" + oidcEmail,
		"GATEHOUSE_SEED_OIDC_ORG_ID=" + oidcOrg,
	}
}
