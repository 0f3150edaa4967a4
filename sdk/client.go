package sdk

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"connectrpc.com/connect"

	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/gatehouse/gatehouse/gen/gatehouse/v1/gatehousev1connect"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations/organizationsv1connect"
	rolesv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/roles"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/roles/rolesv1connect"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/sessions/sessionsv1connect"
	usersv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/users"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/users/usersv1connect"
)

// Version is the SDK's version, sent in the User-Agent header.
const Version = "0.1.0"

// Defaults of the options.
const (
	// DefaultLeeway is the clock skew allowed on exp, nbf and iat.
	DefaultLeeway = 30 * time.Second
	// MaxLeeway caps WithLeeway (RFC 8725 practice: at most a minute).
	MaxLeeway = time.Minute
	// DefaultJWKSRefreshInterval is the least time between two fetches of
	// the JWKS caused by tokens with an unknown key id.
	DefaultJWKSRefreshInterval = time.Minute
	// DefaultJWKSMaxAge is how long a fetched JWKS is used before it is
	// fetched again (so retired keys stop verifying).
	DefaultJWKSMaxAge = time.Hour
	// DefaultTimeout bounds each request the SDK makes itself (token
	// endpoint, JWKS) when the HTTP client has no timeout of its own.
	DefaultTimeout = 30 * time.Second
)

// Client talks to one Gatehouse environment as one API client. It is safe
// for concurrent use; make one and share it.
type Client struct {
	envURL       string
	clientID     string
	clientSecret string

	http      *http.Client // OAuth endpoints and the JWKS
	rpc       *http.Client // the management API
	protocol  connect.ClientOption
	now       func() time.Time
	leeway    time.Duration
	audiences []string

	tokens *tokenSource
	keys   *keySet

	orgs     organizationsv1connect.OrganizationServiceClient
	users    usersv1connect.UserServiceClient
	roles    rolesv1connect.RolesServiceClient
	sessions sessionsv1connect.SessionServiceClient
	settings gatehousev1connect.SettingsServiceClient
}

// Option changes how New builds a Client.
type Option func(*options)

type options struct {
	httpClient    *http.Client
	rpcClient     *http.Client
	connect       bool
	now           func() time.Time
	leeway        time.Duration
	jwksInterval  time.Duration
	jwksMaxAge    time.Duration
	audiences     []string
	renewFraction float64
}

// WithHTTPClient sets the HTTP client for every request: the OAuth
// endpoints, the JWKS and the management API. For gRPC on an http://
// environment URL it must speak cleartext HTTP/2 (see H2CTransport).
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) { o.httpClient, o.rpcClient = hc, hc }
}

// WithClock replaces time.Now, for token expiry and webhook timestamps.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithLeeway sets the clock skew allowed when checking exp, nbf and iat
// (default DefaultLeeway; at most MaxLeeway).
func WithLeeway(d time.Duration) Option { return func(o *options) { o.leeway = d } }

// WithJWKSRefreshInterval sets the least time between two JWKS fetches
// caused by tokens whose key id is not in the cache (default
// DefaultJWKSRefreshInterval), so a stream of forged key ids cannot turn
// into a stream of requests to the server.
func WithJWKSRefreshInterval(d time.Duration) Option {
	return func(o *options) { o.jwksInterval = d }
}

// WithJWKSMaxAge sets how long a fetched JWKS is trusted before it is
// fetched again (default DefaultJWKSMaxAge).
func WithJWKSMaxAge(d time.Duration) Option { return func(o *options) { o.jwksMaxAge = d } }

// WithAudience sets the audiences ValidateAccessToken accepts: a token
// must name at least one of them in aud. The default is the client id,
// which is what Gatehouse puts in the access tokens it issues to the app.
func WithAudience(aud ...string) Option {
	return func(o *options) { o.audiences = append([]string(nil), aud...) }
}

// WithConnectProtocol makes management calls with the Connect protocol
// (HTTP/1.1 or HTTP/2) instead of gRPC.
func WithConnectProtocol() Option { return func(o *options) { o.connect = true } }

// New returns a client for the environment at envURL (the issuer, such as
// https://auth.example.com), authenticating as the API client clientID
// with clientSecret. The secret may be empty for a public client, which
// can sign users in (with PKCE) but cannot call the management API.
// New makes no request: tokens and keys are fetched on first use.
func New(envURL, clientID, clientSecret string, opts ...Option) (*Client, error) {
	envURL = strings.TrimRight(envURL, "/")
	u, err := url.Parse(envURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("sdk: environment URL %q must be an absolute http(s) URL without query or fragment", envURL)
	}
	if clientID == "" {
		return nil, errors.New("sdk: the client id is required")
	}
	o := options{now: time.Now, leeway: DefaultLeeway, jwksInterval: DefaultJWKSRefreshInterval, jwksMaxAge: DefaultJWKSMaxAge}
	for _, opt := range opts {
		opt(&o)
	}
	if o.leeway < 0 || o.leeway > MaxLeeway {
		return nil, fmt.Errorf("sdk: leeway %s must be between 0 and %s", o.leeway, MaxLeeway)
	}
	if o.httpClient == nil {
		o.httpClient = &http.Client{Timeout: DefaultTimeout}
	}
	if o.rpcClient == nil {
		o.rpcClient = &http.Client{}
		if u.Scheme == "http" && !o.connect {
			o.rpcClient.Transport = H2CTransport()
		}
	}
	if len(o.audiences) == 0 {
		o.audiences = []string{clientID}
	}
	c := &Client{envURL: envURL, clientID: clientID, clientSecret: clientSecret, http: o.httpClient, rpc: o.rpcClient,
		now: o.now, leeway: o.leeway, audiences: o.audiences}
	c.tokens = &tokenSource{fetch: c.clientCredentials, now: o.now}
	c.keys = &keySet{url: envURL + "/keys", hc: o.httpClient, now: o.now, minInterval: o.jwksInterval, maxAge: o.jwksMaxAge}
	c.protocol = connect.WithGRPC()
	if o.connect {
		c.protocol = connect.WithClientOptions() // Connect is the default protocol
	}
	rpcOpts := []connect.ClientOption{c.protocol, connect.WithInterceptors(&authInterceptor{c: c})}
	c.orgs = organizationsv1connect.NewOrganizationServiceClient(c.rpc, envURL, rpcOpts...)
	c.users = usersv1connect.NewUserServiceClient(c.rpc, envURL, rpcOpts...)
	c.roles = rolesv1connect.NewRolesServiceClient(c.rpc, envURL, rpcOpts...)
	c.sessions = sessionsv1connect.NewSessionServiceClient(c.rpc, envURL, rpcOpts...)
	c.settings = gatehousev1connect.NewSettingsServiceClient(c.rpc, envURL, rpcOpts...)
	return c, nil
}

// H2CTransport returns a transport that speaks cleartext HTTP/2 with prior
// knowledge, which gRPC on an http:// URL needs (the Go counterpart of the
// Node SDK's createGrpcTransport on http://). It refuses https:// URLs.
func H2CTransport() *http.Transport {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Transport{
		Protocols:           &p,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
	}
}

// EnvironmentURL returns the environment URL, which is also the issuer of
// every token.
func (c *Client) EnvironmentURL() string { return c.envURL }

// ClientID returns the API client's id.
func (c *Client) ClientID() string { return c.clientID }

// Organizations is the OrganizationService: create, read (by id or
// external_id), update, list, search and delete organizations, and their
// session policies.
func (c *Client) Organizations() organizationsv1connect.OrganizationServiceClient { return c.orgs }

// Users is the UserService: users, their memberships and their roles.
// Memberships returns the membership part of it under its own name.
func (c *Client) Users() usersv1connect.UserServiceClient { return c.users }

// Memberships are the membership calls of the UserService.
type Memberships interface {
	CreateUserAndMembership(context.Context, *connect.Request[usersv1.CreateUserAndMembershipRequest]) (*connect.Response[usersv1.CreateUserAndMembershipResponse], error)
	CreateMembership(context.Context, *connect.Request[usersv1.CreateMembershipRequest]) (*connect.Response[usersv1.CreateMembershipResponse], error)
	UpdateMembership(context.Context, *connect.Request[usersv1.UpdateMembershipRequest]) (*connect.Response[usersv1.UpdateMembershipResponse], error)
	DeleteMembership(context.Context, *connect.Request[usersv1.DeleteMembershipRequest]) (*connect.Response[emptypb.Empty], error)
	ListOrganizationUsers(context.Context, *connect.Request[usersv1.ListOrganizationUsersRequest]) (*connect.Response[usersv1.ListOrganizationUsersResponse], error)
	ResendInvite(context.Context, *connect.Request[usersv1.ResendInviteRequest]) (*connect.Response[usersv1.ResendInviteResponse], error)
	ListUserRoles(context.Context, *connect.Request[usersv1.ListUserRolesRequest]) (*connect.Response[usersv1.ListUserRolesResponse], error)
	AssignUserRoles(context.Context, *connect.Request[usersv1.AssignUserRolesRequest]) (*connect.Response[usersv1.AssignUserRolesResponse], error)
	RemoveUserRole(context.Context, *connect.Request[usersv1.RemoveUserRoleRequest]) (*connect.Response[emptypb.Empty], error)
	ListUserPermissions(context.Context, *connect.Request[usersv1.ListUserPermissionsRequest]) (*connect.Response[usersv1.ListUserPermissionsResponse], error)
}

// Memberships returns the membership calls of the UserService: adding
// users to organizations, changing or removing a membership, invitations,
// and the roles and permissions a membership holds.
func (c *Client) Memberships() Memberships { return c.users }

// Roles is the RolesService: environment and organization roles, their
// bases and defaults, and (see Permissions) permissions.
func (c *Client) Roles() rolesv1connect.RolesServiceClient { return c.roles }

// Permissions are the permission calls of the RolesService.
type Permissions interface {
	CreatePermission(context.Context, *connect.Request[rolesv1.CreatePermissionRequest]) (*connect.Response[rolesv1.CreatePermissionResponse], error)
	GetPermission(context.Context, *connect.Request[rolesv1.GetPermissionRequest]) (*connect.Response[rolesv1.GetPermissionResponse], error)
	UpdatePermission(context.Context, *connect.Request[rolesv1.UpdatePermissionRequest]) (*connect.Response[rolesv1.UpdatePermissionResponse], error)
	ListPermissions(context.Context, *connect.Request[rolesv1.ListPermissionsRequest]) (*connect.Response[rolesv1.ListPermissionsResponse], error)
	DeletePermission(context.Context, *connect.Request[rolesv1.DeletePermissionRequest]) (*connect.Response[emptypb.Empty], error)
	ListRolePermissions(context.Context, *connect.Request[rolesv1.ListRolePermissionsRequest]) (*connect.Response[rolesv1.ListRolePermissionsResponse], error)
	AddPermissionsToRole(context.Context, *connect.Request[rolesv1.AddPermissionsToRoleRequest]) (*connect.Response[rolesv1.AddPermissionsToRoleResponse], error)
	RemovePermissionFromRole(context.Context, *connect.Request[rolesv1.RemovePermissionFromRoleRequest]) (*connect.Response[emptypb.Empty], error)
	ListEffectiveRolePermissions(context.Context, *connect.Request[rolesv1.ListEffectiveRolePermissionsRequest]) (*connect.Response[rolesv1.ListEffectiveRolePermissionsResponse], error)
}

// Permissions returns the permission calls of the RolesService: creating,
// reading and deleting permissions and granting them to roles.
func (c *Client) Permissions() Permissions { return c.roles }

// Sessions is the SessionService: read a session, list a user's sessions,
// revoke one or all of them.
func (c *Client) Sessions() sessionsv1connect.SessionServiceClient { return c.sessions }

// Settings is Gatehouse's own SettingsService: the environment's redirect
// URLs, login-page branding and session policy.
func (c *Client) Settings() gatehousev1connect.SettingsServiceClient { return c.settings }

// ManagementToken returns the current client-credentials token, fetching
// or renewing it when needed, for callers that reach the API another way
// (REST). Calls through the SDK's clients attach it themselves.
func (c *Client) ManagementToken(ctx context.Context) (string, error) { return c.tokens.token(ctx) }

// authInterceptor attaches the management token to every call, and
// retries a unary call once with a new token when the server says the
// token is no good (it expired early, or keys rotated).
type authInterceptor struct{ c *Client }

// WrapUnary implements connect.Interceptor.
func (a *authInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		tok, err := a.c.tokens.token(ctx)
		if err != nil {
			return nil, connect.NewError(connect.CodeUnauthenticated, err)
		}
		a.setHeaders(req.Header(), tok)
		resp, err := next(ctx, req)
		if connect.CodeOf(err) != connect.CodeUnauthenticated {
			return resp, err
		}
		// The server refused the token before doing anything, so the call
		// is safe to send again.
		a.c.tokens.invalidate(tok)
		if tok, err = a.c.tokens.token(ctx); err != nil {
			return nil, connect.NewError(connect.CodeUnauthenticated, err)
		}
		a.setHeaders(req.Header(), tok)
		return next(ctx, req)
	}
}

// WrapStreamingClient implements connect.Interceptor.
func (a *authInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		if tok, err := a.c.tokens.token(ctx); err == nil {
			a.setHeaders(conn.RequestHeader(), tok)
		}
		return conn
	}
}

// WrapStreamingHandler implements connect.Interceptor (nothing to do on
// the client side).
func (a *authInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

func (a *authInterceptor) setHeaders(h http.Header, tok string) {
	h.Set("Authorization", "Bearer "+tok)
	h.Set("User-Agent", userAgent)
	h.Set("X-Sdk-Version", "gatehouse-go/"+Version)
}

var userAgent = "gatehouse-sdk-go/" + Version
