package oauth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Lifetimes of user tokens (docs/oauth.md).
const (
	// DefaultUserTokenTTL is the expires_in Scalekit's docs show for user access tokens.
	DefaultUserTokenTTL = 299 * time.Second
	// DefaultIDTokenTTL is the life of ID tokens.
	DefaultIDTokenTTL = 30 * time.Minute
	// MaxRefreshGrace caps the window in which a just-used refresh token may
	// be presented again (a concurrent double submit) without counting as
	// reuse (SECURITY-BAR O10).
	MaxRefreshGrace = 2 * time.Second
)

// PermissionResolver gives the names of the permissions roles grant
// (inherited ones included), by role id. StorePermissions reads them from
// the roles-and-permissions tables; without a resolver, access tokens carry
// no permissions.
type PermissionResolver interface {
	Permissions(ctx context.Context, roleIDs []string) ([]string, error)
}

// UserClaims are the claims of a user access token, exactly as
// SCALEKIT-COMPAT section 3 lists them. aud is always an array.
type UserClaims struct {
	Issuer      string   `json:"iss"`
	Subject     string   `json:"sub"`
	Audience    []string `json:"aud"`
	ClientID    string   `json:"client_id"`
	Expiry      int64    `json:"exp"`
	IssuedAt    int64    `json:"iat"`
	NotBefore   int64    `json:"nbf"`
	ID          string   `json:"jti"`
	SessionID   string   `json:"sid"`
	OrgID       string   `json:"oid,omitempty"`
	Roles       []string `json:"roles,omitempty"`
	Permissions []string `json:"permissions,omitempty"`
	Scopes      []string `json:"scopes,omitempty"`
}

// IDClaims are the claims of an ID token; profile and email claims are
// present only when their scope was granted.
type IDClaims struct {
	Issuer          string   `json:"iss"`
	Subject         string   `json:"sub"`
	Audience        []string `json:"aud"`
	AuthorizedParty string   `json:"azp,omitempty"`
	Expiry          int64    `json:"exp"`
	IssuedAt        int64    `json:"iat"`
	AuthTime        int64    `json:"auth_time,omitempty"`
	Nonce           string   `json:"nonce,omitempty"`
	AtHash          string   `json:"at_hash,omitempty"`
	CHash           string   `json:"c_hash,omitempty"`
	AMR             []string `json:"amr,omitempty"`
	OrgID           string   `json:"oid,omitempty"`
	SessionID       string   `json:"sid,omitempty"`
	ClientID        string   `json:"client_id,omitempty"`
	Email           string   `json:"email,omitempty"`
	EmailVerified   *bool    `json:"email_verified,omitempty"`
	Name            string   `json:"name,omitempty"`
	GivenName       string   `json:"given_name,omitempty"`
	FamilyName      string   `json:"family_name,omitempty"`
	Locale          string   `json:"locale,omitempty"`
	Picture         string   `json:"picture,omitempty"`

	// Events is set only in logout tokens; an ID token with it is refused.
	Events map[string]any `json:"events,omitempty"`
}

// tokenSet is what a grant or refresh decided to issue, recorded in the
// database inside the transaction and signed after it commits.
type tokenSet struct {
	client  *Client
	ses     *store.Session
	user    *store.User
	roles   []store.RoleRef
	scopes  []string // of this access token
	nonce   string
	code    string // the code redeemed, for c_hash
	jti     string
	issued  time.Time
	ttl     time.Duration // of the access token
	refresh string        // the new refresh token, "" for none
	// perms are the access token's permissions when already read (permsRead:
	// the refresh grant reads them with the roles); otherwise respond asks
	// the PermissionResolver.
	perms     []string
	permsRead bool
	// issuedType is issued_token_type for a token exchange (RFC 8693).
	issuedType string
}

// accessTTL is the life of a user access token under a session in orgID:
// the session policy's when it sets one, else UserTokenTTL, else 299 s.
func (s *Server) accessTTL(ctx context.Context, q *store.Q, orgID string) (time.Duration, error) {
	p, err := s.Sessions.PolicyIn(ctx, q, orgID)
	if err != nil {
		return 0, err
	}
	return s.userTokenTTL(p.AccessTokenTTL), nil
}

// userTokenTTL is the life of a user access token under a policy that
// sets policyTTL (0: none).
func (s *Server) userTokenTTL(policyTTL time.Duration) time.Duration {
	switch {
	case policyTTL > 0:
		return policyTTL
	case s.UserTokenTTL > 0:
		return s.UserTokenTTL
	}
	return DefaultUserTokenTTL
}

// storedPolicyTTL is a session policy source that can work the access-token
// lifetime out of the environment's stored session policy alone
// (settings.Service can: organizations' policies do not change it).
type storedPolicyTTL interface {
	AccessTokenTTLOf(stored *store.SessionPolicy) time.Duration
}

// accessTTLFrom is accessTTL from the stored session policy the caller
// read inside its transaction (nil: none is stored), without reading
// again; a policy source that cannot work from it is asked as accessTTL
// asks it.
func (s *Server) accessTTLFrom(ctx context.Context, q *store.Q, orgID string, stored *store.SessionPolicy) (time.Duration, error) {
	if src, ok := s.Sessions.Policies.(storedPolicyTTL); ok {
		return s.userTokenTTL(src.AccessTokenTTLOf(stored)), nil
	}
	return s.accessTTL(ctx, q, orgID)
}

func (s *Server) idTTL() time.Duration {
	if s.IDTokenTTL > 0 {
		return s.IDTokenTTL
	}
	return DefaultIDTokenTTL
}

func (s *Server) refreshGrace() time.Duration {
	if s.RefreshGrace > MaxRefreshGrace {
		return MaxRefreshGrace
	}
	if s.RefreshGrace < 0 {
		return 0
	}
	if s.RefreshGrace == 0 {
		return MaxRefreshGrace
	}
	return s.RefreshGrace
}

// errRefused carries an OAuth error out of a transaction that must still
// commit (a burned code, a revoked family).
type errRefused struct{ code, desc string }

func (e *errRefused) Error() string { return e.code + ": " + e.desc }

func refused(code, desc string) *errRefused { return &errRefused{code, desc} }

// subject reads the user and, for a session in an organization, the
// membership's roles. A missing user or a membership that is gone or not
// active refuses the grant: refresh after deletion or removal fails.
func (s *Server) subject(ctx context.Context, q *store.Q, ses *store.Session) (*store.User, []store.RoleRef, error) {
	u, err := q.GetUserProfile(ctx, s.EnvID, ses.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, refused("invalid_grant", "the user no longer exists")
	} else if err != nil {
		return nil, nil, err
	}
	if ses.OrgID == "" {
		return u, nil, nil
	}
	status, roles, err := q.MembershipRoles(ctx, s.EnvID, ses.OrgID, ses.UserID)
	if errors.Is(err, store.ErrNotFound) || err == nil && status != store.MembershipActive {
		return nil, nil, notMember()
	} else if err != nil {
		return nil, nil, err
	}
	return u, roles, nil
}

// notMember refuses a grant whose session's membership is gone or not
// active.
func notMember() error {
	return refused("invalid_grant", "the user is no longer an active member of the organization")
}

// record writes the access token (and, when wanted, a new refresh token in
// the grant's family) for ts inside q.
func (s *Server) record(ctx context.Context, q *store.Q, ts *tokenSet, g *store.Grant, withRefresh bool, parentHash string) error {
	ttl, err := s.accessTTL(ctx, q, ts.ses.OrgID) // through q: we are inside the grant's transaction
	if err != nil {
		return err
	}
	return s.recordTTL(ctx, q, ts, g, ttl, withRefresh, parentHash)
}

// recordTTL is record with the access token's life already worked out.
func (s *Server) recordTTL(ctx context.Context, q *store.Q, ts *tokenSet, g *store.Grant, ttl time.Duration, withRefresh bool,
	parentHash string) error {
	ts.jti, ts.issued, ts.ttl = s.IDs.New(id.Token), s.Now(), ttl
	if err := q.CreateAccessToken(ctx, &store.AccessToken{JTI: ts.jti, EnvID: s.EnvID, GrantID: g.ID,
		ExpiresAt: ts.issued.Add(ttl)}); err != nil {
		return err
	}
	if !withRefresh {
		return nil
	}
	rt, err := randomToken("rt_")
	if err != nil {
		return err
	}
	ts.refresh = rt
	return q.CreateRefreshToken(ctx, &store.RefreshToken{TokenHash: secretHash(rt), EnvID: s.EnvID, FamilyID: g.ID,
		ParentHash: parentHash, SessionID: g.SessionID, ClientID: g.ClientID, Scope: g.Scope, CreatedAt: ts.issued})
}

// respond signs the tokens of ts and writes the token response.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, ts *tokenSet) {
	ctx := r.Context()
	var roles, roleIDs []string
	for _, role := range ts.roles {
		roles, roleIDs = append(roles, role.Name), append(roleIDs, role.ID)
	}
	perms := ts.perms
	if !ts.permsRead && s.Permissions != nil && len(roleIDs) > 0 {
		var err error
		if perms, err = s.Permissions.Permissions(ctx, roleIDs); err != nil {
			s.serverError(w, r, "reading permissions", err)
			return
		}
	}
	at, err := s.Keys.SignAs(signing.TypeAccessToken, UserClaims{
		Issuer: s.Issuer, Subject: ts.user.ID, Audience: []string{ts.client.ID}, ClientID: ts.client.ID,
		Expiry: ts.issued.Add(ts.ttl).Unix(), IssuedAt: ts.issued.Unix(), NotBefore: ts.issued.Unix(), ID: ts.jti,
		SessionID: ts.ses.ID, OrgID: ts.ses.OrgID, Roles: roles, Permissions: perms, Scopes: ts.scopes,
	})
	if err != nil {
		s.serverError(w, r, "signing an access token", err)
		return
	}
	body := map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": int(ts.ttl / time.Second),
		"scope": strings.Join(ts.scopes, " ")}
	if ts.refresh != "" {
		body["refresh_token"] = ts.refresh
	}
	if ts.issuedType != "" {
		body["issued_token_type"] = ts.issuedType
	}
	if hasScope(ts.scopes, ScopeOpenID) {
		c := s.idClaims(ts.user, ts.ses, ts.client.ID, ts.scopes, ts.issued)
		c.Nonce, c.AtHash = ts.nonce, halfHash(at)
		if ts.code != "" {
			c.CHash = halfHash(ts.code)
		}
		idt, err := s.Keys.SignAs(signing.TypeJWT, c)
		if err != nil {
			s.serverError(w, r, "signing an ID token", err)
			return
		}
		body["id_token"] = idt
	}
	writeJSON(w, http.StatusOK, body)
}

// idClaims are an ID token's claims, releasing profile and email claims by
// scope (OIDC Core 5.4).
func (s *Server) idClaims(u *store.User, ses *store.Session, clientID string, scopes []string, now time.Time) IDClaims {
	c := IDClaims{Issuer: s.Issuer, Subject: u.ID, Audience: []string{clientID}, AuthorizedParty: clientID,
		Expiry: now.Add(s.idTTL()).Unix(), IssuedAt: now.Unix(), AuthTime: ses.AuthTime.Unix(), AMR: ses.AMR,
		OrgID: ses.OrgID, SessionID: ses.ID, ClientID: clientID}
	releaseClaims(&c, u, scopes)
	return c
}

func releaseClaims(c *IDClaims, u *store.User, scopes []string) {
	if hasScope(scopes, ScopeEmail) {
		v := u.EmailVerified
		c.Email, c.EmailVerified = u.Email, &v
	}
	if hasScope(scopes, ScopeProfile) {
		c.Name, c.GivenName, c.FamilyName, c.Locale, c.Picture = u.Name, u.GivenName, u.FamilyName, u.Locale, u.Picture
		if c.Name == "" {
			c.Name = strings.TrimSpace(u.GivenName + " " + u.FamilyName)
		}
	}
}
