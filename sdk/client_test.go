package sdk_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	organizationsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations"
	rolesv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/roles"
	sessionsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/sessions"
	usersv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/users"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

const (
	appCB  = "https://app.example/callback"
	appBye = "https://app.example/bye"
)

func eachDB(t *testing.T, fn func(t *testing.T, pg bool)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, false) })
	t.Run("postgres", func(t *testing.T) { fn(t, true) })
}

func start(t *testing.T, pg bool, opts ...sdk.Option) *sdktest.Env {
	return sdktest.Start(t, sdktest.Options{Postgres: pg, CallbackURLs: []string{appCB}, PostLogoutURLs: []string{appBye},
		SDKOptions: opts})
}

// TestManagementAPI drives every service the SDK exposes over gRPC (h2c)
// against a live server on both databases; sdktest.Start already created
// the redirects, the organization, a permission granted to admin and a
// member through the SDK.
func TestManagementAPI(t *testing.T) {
	eachDB(t, func(t *testing.T, pg bool) {
		e := start(t, pg)
		c, ctx := e.Client, context.Background()

		org, err := c.Organizations().GetOrganizationByExternalId(ctx, connect.NewRequest(
			&organizationsv1.GetOrganizationRequest{Identities: &organizationsv1.GetOrganizationRequest_ExternalId{ExternalId: sdktest.OrgExternalID}}))
		if err != nil || org.Msg.GetOrganization().GetId() != e.OrgID {
			t.Fatalf("GetOrganizationByExternalId: %v %v", org, err)
		}
		u, err := c.Users().GetUser(ctx, connect.NewRequest(&usersv1.GetUserRequest{Identities: &usersv1.GetUserRequest_Id{Id: e.UserID}}))
		if err != nil || u.Msg.GetUser().GetEmail() != sdktest.UserEmail {
			t.Fatalf("GetUser: %v %v", u, err)
		}
		perms, err := c.Memberships().ListUserPermissions(ctx, connect.NewRequest(&usersv1.ListUserPermissionsRequest{
			OrganizationId: e.OrgID, UserId: e.UserID}))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range perms.Msg.GetPermissions() {
			names = append(names, p.GetName())
		}
		mustHave(t, names, sdktest.Permission)
		p, err := c.Permissions().GetPermission(ctx, connect.NewRequest(&rolesv1.GetPermissionRequest{PermissionName: sdktest.Permission}))
		if err != nil || p.Msg.GetPermission().GetDescription() != "create projects" {
			t.Fatalf("GetPermission: %v %v", p, err)
		}
		desc := "edits things"
		if _, err := c.Roles().CreateRole(ctx, connect.NewRequest(&rolesv1.CreateRoleRequest{
			Role: &rolesv1.CreateRole{Name: "editor", DisplayName: "Editor", Description: &desc, Permissions: []string{sdktest.Permission}}})); err != nil {
			t.Fatalf("CreateRole: %v", err)
		}
		if _, err := c.Memberships().AssignUserRoles(ctx, connect.NewRequest(&usersv1.AssignUserRolesRequest{
			OrganizationId: e.OrgID, UserId: e.UserID, Roles: []*usersv1.AssignRoleRequest{{RoleName: "editor"}}})); err != nil {
			t.Fatalf("AssignUserRoles: %v", err)
		}
		roles, err := c.Memberships().ListUserRoles(ctx, connect.NewRequest(&usersv1.ListUserRolesRequest{OrganizationId: e.OrgID, UserId: e.UserID}))
		if err != nil {
			t.Fatal(err)
		}
		names = nil
		for _, r := range roles.Msg.GetRoles() {
			names = append(names, r.GetName())
		}
		mustHave(t, names, "admin", "editor")

		// Sessions: a sign-in makes one, the SDK lists and revokes it.
		pk, _ := sdk.NewPKCE()
		code := e.Code(t, c.AuthorizationURL(appCB, sdk.AuthorizationURLOptions{State: "s", CodeChallenge: pk.Challenge, CodeChallengeMethod: pk.Method}))
		auth, err := c.AuthenticateWithCode(ctx, code, appCB, sdk.AuthenticationOptions{CodeVerifier: pk.Verifier})
		if err != nil {
			t.Fatal(err)
		}
		list, err := c.Sessions().GetUserSessions(ctx, connect.NewRequest(&sessionsv1.UserSessionDetailsRequest{UserId: e.UserID}))
		if err != nil || len(list.Msg.GetSessions()) != 1 || list.Msg.GetSessions()[0].GetSessionId() != auth.Claims.SessionID {
			t.Fatalf("GetUserSessions: %v %v, want the session %s", list, err, auth.Claims.SessionID)
		}
		if _, err := c.Sessions().RevokeSession(ctx, connect.NewRequest(&sessionsv1.RevokeSessionRequest{SessionId: auth.Claims.SessionID})); err != nil {
			t.Fatal(err)
		}
		got, err := c.Sessions().GetSession(ctx, connect.NewRequest(&sessionsv1.SessionDetailsRequest{SessionId: auth.Claims.SessionID}))
		if err != nil || got.Msg.GetStatus() != "REVOKED" {
			t.Fatalf("GetSession after revoke: %v %v", got, err)
		}

		// Errors come through as connect errors with their codes.
		_, err = c.Organizations().GetOrganization(ctx, connect.NewRequest(&organizationsv1.GetOrganizationRequest{
			Identities: &organizationsv1.GetOrganizationRequest_Id{Id: "org_missing"}}))
		if connect.CodeOf(err) != connect.CodeNotFound {
			t.Fatalf("a missing organization: %v, want NotFound", err)
		}
		if _, err := c.Organizations().DeleteOrganization(ctx, connect.NewRequest(&organizationsv1.DeleteOrganizationRequest{
			Identities: &organizationsv1.DeleteOrganizationRequest_Id{Id: e.OrgID}})); err != nil {
			t.Fatal(err)
		}
	})
}

// TestConnectProtocol: the same client over the Connect protocol.
func TestConnectProtocol(t *testing.T) {
	e := start(t, false)
	c, err := sdk.New(e.URL, e.ClientID, e.Secret, sdk.WithConnectProtocol())
	if err != nil {
		t.Fatal(err)
	}
	org, err := c.Organizations().GetOrganization(context.Background(), connect.NewRequest(&organizationsv1.GetOrganizationRequest{
		Identities: &organizationsv1.GetOrganizationRequest_Id{Id: e.OrgID}}))
	if err != nil || org.Msg.GetOrganization().GetExternalId() != sdktest.OrgExternalID {
		t.Fatalf("over Connect: %v %v", org, err)
	}
}

// countingTransport counts token requests on the way to an h2c transport.
type countingTransport struct {
	next   http.RoundTripper
	tokens atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == "/oauth/token" {
		c.tokens.Add(1)
	}
	return c.next.RoundTrip(r)
}

// TestManagementTokenCache: one token serves many concurrent calls, it is
// renewed before it expires (by one request however many calls need it),
// and a token the server refuses is replaced and the call retried.
func TestManagementTokenCache(t *testing.T) {
	serverClock := newClock(time.Now().UTC().Truncate(time.Second))
	in := servertest.Start(t, servertest.Options{Now: serverClock.Now, Configure: func(c *config.Config) { c.TokenTTL = 10 * time.Minute }})
	sdkClock := newClock(serverClock.Now())
	ct := &countingTransport{next: sdk.H2CTransport()}
	c, err := sdk.New(in.URL, servertest.ClientID, servertest.ClientSecret, sdk.WithHTTPClient(&http.Client{Transport: ct}),
		sdk.WithClock(sdkClock.Now))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ext := "cache-org"
	org, err := c.Organizations().CreateOrganization(ctx, connect.NewRequest(&organizationsv1.CreateOrganizationRequest{
		Organization: &organizationsv1.CreateOrganization{DisplayName: "Cache", ExternalId: &ext}}))
	if err != nil {
		t.Fatal(err)
	}
	get := func() error {
		_, err := c.Organizations().GetOrganization(ctx, connect.NewRequest(&organizationsv1.GetOrganizationRequest{
			Identities: &organizationsv1.GetOrganizationRequest_Id{Id: org.Msg.GetOrganization().GetId()}}))
		return err
	}
	burst := func() {
		var wg sync.WaitGroup
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := get(); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	burst()
	if n := ct.tokens.Load(); n != 1 {
		t.Fatalf("51 calls fetched %d tokens, want 1", n)
	}
	// 10-minute tokens are renewed when 2 minutes are left: at 7m59s not yet.
	sdkClock.Advance(7*time.Minute + 59*time.Second)
	serverClock.Advance(7*time.Minute + 59*time.Second)
	burst()
	if n := ct.tokens.Load(); n != 1 {
		t.Fatalf("before the renewal point: %d token fetches, want 1", n)
	}
	// At 8m01s the first of 50 concurrent calls renews it, the others wait.
	sdkClock.Advance(2 * time.Second)
	serverClock.Advance(2 * time.Second)
	burst()
	if n := ct.tokens.Load(); n != 2 {
		t.Fatalf("after the renewal point: %d token fetches, want 2", n)
	}
	// The server's clock runs past the token's expiry while the SDK thinks
	// it is good: the refused call is retried once with a new token.
	serverClock.Advance(11 * time.Minute)
	if err := get(); err != nil {
		t.Fatalf("after a refused token: %v", err)
	}
	if n := ct.tokens.Load(); n != 3 {
		t.Fatalf("after a refused token: %d token fetches, want 3", n)
	}
	tok, err := c.ManagementToken(ctx)
	if err != nil || tok == "" {
		t.Fatalf("ManagementToken: %q %v", tok, err)
	}

	// Wrong credentials: the call fails as unauthenticated, naming invalid_client.
	bad, _ := sdk.New(in.URL, servertest.ClientID, "skcs_wrong_secret_0123456789abcdefghijk")
	_, err = bad.Organizations().GetOrganization(ctx, connect.NewRequest(&organizationsv1.GetOrganizationRequest{
		Identities: &organizationsv1.GetOrganizationRequest_Id{Id: org.Msg.GetOrganization().GetId()}}))
	var oe *sdk.OAuthError
	if connect.CodeOf(err) != connect.CodeUnauthenticated || !errors.As(err, &oe) || oe.Code != "invalid_client" {
		t.Fatalf("wrong secret: %v", err)
	}
}

func TestNewRefusesBadInput(t *testing.T) {
	for _, u := range []string{"", "auth.example.com", "ftp://auth.example.com", "https://auth.example.com?x=1", "https://auth.example.com#f"} {
		if _, err := sdk.New(u, "skc_1", "s"); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
	if _, err := sdk.New("https://auth.example.com", "", "s"); err == nil {
		t.Error("New without a client id accepted")
	}
	c, err := sdk.New("https://auth.example.com/", "skc_1", "s")
	if err != nil || c.EnvironmentURL() != "https://auth.example.com" || c.ClientID() != "skc_1" {
		t.Errorf("trailing slash: %v %v", c, err)
	}
}

// TestAuthorizationURL: every option of the Node SDK's getAuthorizationUrl
// lands in its parameter, the way Node sends it.
func TestAuthorizationURL(t *testing.T) {
	c, err := sdk.New("https://auth.example.com", "skc_1", "s")
	if err != nil {
		t.Fatal(err)
	}
	got, err := url.Parse(c.AuthorizationURL("https://app.example/cb", sdk.AuthorizationURLOptions{
		Scopes: []string{"openid", "offline_access"}, State: "st", Nonce: "nn", LoginHint: "ada@acme.example",
		DomainHint: "acme.example", ConnectionID: "conn_1", OrganizationID: "org_1", Provider: "google",
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", CodeChallengeMethod: "S256", Prompt: "login",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got.Scheme+"://"+got.Host+got.Path != "https://auth.example.com/oauth/authorize" {
		t.Errorf("endpoint %s", got)
	}
	want := url.Values{"response_type": {"code"}, "client_id": {"skc_1"}, "redirect_uri": {"https://app.example/cb"},
		"scope": {"openid offline_access"}, "state": {"st"}, "nonce": {"nn"}, "login_hint": {"ada@acme.example"},
		"domain_hint": {"acme.example"}, "domain": {"acme.example"}, "connection_id": {"conn_1"}, "organization_id": {"org_1"},
		"provider": {"google"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
		"code_challenge_method": {"S256"}, "prompt": {"login"}}
	if got.Query().Encode() != want.Encode() {
		t.Errorf("query\n got %s\nwant %s", got.Query().Encode(), want.Encode())
	}
	// Defaults: the three default scopes and nothing unset.
	def, _ := url.Parse(c.AuthorizationURL("https://app.example/cb", sdk.AuthorizationURLOptions{}))
	if q := def.Query(); q.Get("scope") != "openid profile email" || len(q) != 4 {
		t.Errorf("defaults: %s", def.RawQuery)
	}
	if got := c.LogoutURL(sdk.LogoutURLOptions{}); got != "https://auth.example.com/oidc/logout" {
		t.Errorf("LogoutURL() = %s", got)
	}
	lo, _ := url.Parse(c.LogoutURL(sdk.LogoutURLOptions{IDTokenHint: "eyJ", PostLogoutRedirectURI: "https://app.example/bye", State: "x"}))
	if lo.Path != "/oidc/logout" || lo.Query().Get("id_token_hint") != "eyJ" || lo.Query().Get("post_logout_redirect_uri") != "https://app.example/bye" ||
		lo.Query().Get("state") != "x" {
		t.Errorf("LogoutURL = %s", lo)
	}
}

func TestPKCE(t *testing.T) {
	// RFC 7636 appendix B.
	if got := sdk.CodeChallengeS256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); got != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Errorf("S256 = %s", got)
	}
	a, err1 := sdk.NewPKCE()
	b, err2 := sdk.NewPKCE()
	if err1 != nil || err2 != nil || a.Verifier == b.Verifier || len(a.Verifier) != 43 || a.Method != "S256" ||
		a.Challenge != sdk.CodeChallengeS256(a.Verifier) || strings.ContainsAny(a.Verifier, "+/=") {
		t.Errorf("NewPKCE: %+v %+v", a, b)
	}
}
