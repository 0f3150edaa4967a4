// Package sdktest runs a real Gatehouse on loopback for tests of code
// that uses the SDK: a server with a fresh database (SQLite, or
// PostgreSQL when asked), an SDK client for its API client, an
// organization with a member, registered redirect URLs, and a way to
// finish a sign-in without a browser, by completing the authorization
// request the way the hosted login page does after the user signed in.
package sdktest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	gatehousev1 "github.com/gatehouse/gatehouse/gen/gatehouse/v1"
	commonsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/commons"
	organizationsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations"
	rolesv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/roles"
	usersv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/users"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/sdk"
)

// The seeded data.
const (
	OrgExternalID  = "acme"
	UserEmail      = "ada@acme.example"
	UserExternalID = "legacy-ada"
	// Permission is granted to the admin role, which the user holds.
	Permission = "projects:create"
)

// Options adjust the environment.
type Options struct {
	// Postgres selects a fresh PostgreSQL database instead of SQLite.
	Postgres bool
	// CallbackURLs and PostLogoutURLs are registered as the environment's
	// redirects.
	CallbackURLs   []string
	PostLogoutURLs []string
	// BackChannelLogoutURL is registered too when set.
	BackChannelLogoutURL string
	// Now replaces the server's clock.
	Now func() time.Time
	// Configure may change the server's configuration before it starts.
	Configure func(*config.Config)
	// SDKOptions are passed to sdk.New.
	SDKOptions []sdk.Option
}

// Env is a running Gatehouse with seeded data.
type Env struct {
	URL      string
	Instance *servertest.Instance
	// Client is an SDK client of the environment's API client.
	Client   *sdk.Client
	ClientID string
	Secret   string
	// OrgID is the organization (external_id "acme"); UserID its member
	// (UserEmail, external_id UserExternalID) with the admin role.
	OrgID  string
	UserID string
}

// Start runs a server until the test ends and seeds it.
func Start(t testing.TB, o Options) *Env {
	t.Helper()
	in := servertest.Start(t, servertest.Options{Postgres: o.Postgres, Now: o.Now, Configure: o.Configure})
	c, err := sdk.New(in.URL, servertest.ClientID, servertest.ClientSecret, o.SDKOptions...)
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{URL: in.URL, Instance: in, Client: c, ClientID: servertest.ClientID, Secret: servertest.ClientSecret}
	ctx := context.Background()
	if _, err := c.Settings().UpdateRedirects(ctx, connect.NewRequest(&gatehousev1.UpdateRedirectsRequest{
		Redirects: &gatehousev1.Redirects{CallbackUrls: o.CallbackURLs, PostLogoutUrls: o.PostLogoutURLs,
			BackchannelLogoutUrl: o.BackChannelLogoutURL}})); err != nil {
		t.Fatalf("registering redirects: %v", err)
	}
	ext := OrgExternalID
	org, err := c.Organizations().CreateOrganization(ctx, connect.NewRequest(&organizationsv1.CreateOrganizationRequest{
		Organization: &organizationsv1.CreateOrganization{DisplayName: "Acme", ExternalId: &ext}}))
	if err != nil {
		t.Fatalf("creating the organization: %v", err)
	}
	e.OrgID = org.Msg.GetOrganization().GetId()
	if _, err := c.Permissions().CreatePermission(ctx, connect.NewRequest(&rolesv1.CreatePermissionRequest{
		Permission: &rolesv1.CreatePermission{Name: Permission, Description: "create projects"}})); err != nil {
		t.Fatalf("creating a permission: %v", err)
	}
	if _, err := c.Permissions().AddPermissionsToRole(ctx, connect.NewRequest(&rolesv1.AddPermissionsToRoleRequest{
		RoleName: "admin", PermissionNames: []string{Permission}})); err != nil {
		t.Fatalf("granting a permission: %v", err)
	}
	e.UserID = e.AddUser(t, UserEmail, UserExternalID, "admin")
	return e
}

// AddUser creates an active member of the organization with roles and
// returns its id.
func (e *Env) AddUser(t testing.TB, email, externalID string, roles ...string) string {
	t.Helper()
	var rs []*commonsv1.Role
	for _, r := range roles {
		rs = append(rs, &commonsv1.Role{Name: r})
	}
	no := false
	req := &usersv1.CreateUserAndMembershipRequest{OrganizationId: e.OrgID, SendInvitationEmail: &no,
		User: &usersv1.CreateUser{Email: email, Membership: &usersv1.CreateMembership{Roles: rs}}}
	if externalID != "" {
		req.User.ExternalId = &externalID
	}
	u, err := e.Client.Memberships().CreateUserAndMembership(context.Background(), connect.NewRequest(req))
	if err != nil {
		t.Fatalf("creating user %s: %v", email, err)
	}
	return u.Msg.GetUser().GetId()
}

// noRedirects is an HTTP client that shows redirects instead of following them.
var noRedirects = &http.Client{Timeout: 30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// SignIn opens authURL (from sdk.Client.AuthorizationURL) as a browser
// would, signs the seeded user in (a new session in the organization),
// and returns the URL the browser is sent back to: the callback with code
// and state, or with an error.
func (e *Env) SignIn(t testing.TB, authURL string) *url.URL {
	t.Helper()
	return e.SignInAs(t, authURL, e.UserID)
}

// SignInAs is SignIn for another user of the organization.
func (e *Env) SignInAs(t testing.TB, authURL, userID string) *url.URL {
	t.Helper()
	resp, err := noRedirects.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	prefix := e.URL + oauth.LoginPath + "?auth_request="
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, prefix) {
		t.Fatalf("authorize: want a 303 to the login page, got %d Location %q", resp.StatusCode, loc)
	}
	return e.Complete(t, strings.TrimPrefix(loc, prefix), userID)
}

// Complete finishes a pending authorization request for userID as the
// login page does once the user signed in, and returns the redirect to
// the app.
func (e *Env) Complete(t testing.TB, authRequestID, userID string) *url.URL {
	t.Helper()
	ctx := context.Background()
	srv := e.Instance.Server
	ses, _, err := srv.Sessions.Create(ctx, sessions.NewSession{UserID: userID, OrgID: e.OrgID, AMR: []string{"pwd"},
		UserAgent: "sdktest", IP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := srv.OAuth.CompleteAuthorization(ctx, rec, httptest.NewRequest(http.MethodPost, oauth.LoginPath, nil), authRequestID, ses); err != nil {
		t.Fatalf("completing the authorization: %v", err)
	}
	u, err := url.Parse(rec.Header().Get("Location"))
	if err != nil || rec.Code != http.StatusSeeOther {
		t.Fatalf("completing the authorization: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	return u
}

// Code signs the seeded user in through authURL and returns the code,
// checking that state came back unchanged.
func (e *Env) Code(t testing.TB, authURL string) string {
	t.Helper()
	au, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	cb := e.SignIn(t, authURL)
	q := cb.Query()
	if q.Get("state") != au.Query().Get("state") {
		t.Fatalf("state %q came back as %q", au.Query().Get("state"), q.Get("state"))
	}
	if q.Get("code") == "" {
		t.Fatalf("no code in the callback %s", cb)
	}
	return q.Get("code")
}
