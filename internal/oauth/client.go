package oauth

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/clients"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Client is an OAuth client: the environment's API clients (confidential,
// as in Scalekit) and the public clients registered beside them.
type Client = store.OAuthClient

// RedirectPolicy decides where the authorization server may send a
// browser, and where it posts back-channel logout tokens. Scalekit keeps
// these URLs per environment (Settings -> Redirects); the server wires the
// settings' matcher here. ClientRedirects, the default, uses the URLs
// registered on the client itself.
type RedirectPolicy interface {
	// AllowRedirect reports whether uri may receive c's authorization responses.
	AllowRedirect(ctx context.Context, c *Client, uri string) (bool, error)
	// AllowPostLogoutRedirect reports whether uri may receive the browser after logout.
	AllowPostLogoutRedirect(ctx context.Context, c *Client, uri string) (bool, error)
	// BackChannelLogoutURI returns where to POST c's logout tokens, or "".
	BackChannelLogoutURI(ctx context.Context, c *Client) (string, error)
}

// ClientRedirects matches against the client's own registered URLs:
// byte-exact string comparison (no case folding, no normalization), except
// that a loopback redirect registered as http://127.0.0.1/... or
// http://[::1]/... accepts any port (RFC 8252 section 7.3).
type ClientRedirects struct{}

// AllowRedirect implements RedirectPolicy.
func (ClientRedirects) AllowRedirect(_ context.Context, c *Client, uri string) (bool, error) {
	return matchAny(c.RedirectURIs, uri), nil
}

// AllowPostLogoutRedirect implements RedirectPolicy.
func (ClientRedirects) AllowPostLogoutRedirect(_ context.Context, c *Client, uri string) (bool, error) {
	return matchAny(c.PostLogoutRedirectURIs, uri), nil
}

// BackChannelLogoutURI implements RedirectPolicy.
func (ClientRedirects) BackChannelLogoutURI(_ context.Context, c *Client) (string, error) {
	return c.BackChannelLogoutURI, nil
}

func matchAny(registered []string, uri string) bool {
	if uri == "" || strings.ContainsAny(uri, "#\\") {
		return false
	}
	for _, reg := range registered {
		if reg == uri || loopbackMatch(reg, uri) {
			return true
		}
	}
	return false
}

// loopbackMatch compares a loopback redirect ignoring the port only.
func loopbackMatch(reg, got string) bool {
	for _, host := range []string{"http://127.0.0.1", "http://[::1]"} {
		rr, ok := strings.CutPrefix(reg, host)
		if !ok {
			continue
		}
		gr, ok := strings.CutPrefix(got, host)
		if !ok {
			return false
		}
		rr, ok1 := stripPort(rr)
		gr, ok2 := stripPort(gr)
		return ok1 && ok2 && rr == gr
	}
	return false
}

// stripPort removes a leading ":digits" and checks that what follows is a
// path or nothing, so "http://127.0.0.1:80@evil/" cannot pass.
func stripPort(rest string) (string, bool) {
	if strings.HasPrefix(rest, ":") {
		i := 1
		for i < len(rest) && i <= 6 && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 1 {
			return "", false
		}
		rest = rest[i:]
	}
	return rest, rest == "" || rest[0] == '/'
}

func (s *Server) redirects() RedirectPolicy {
	if s.Redirects != nil {
		return s.Redirects
	}
	return ClientRedirects{}
}

// client reads a client by id; store.ErrNotFound when there is none.
func (s *Server) client(ctx context.Context, clientID string) (*Client, error) {
	if clientID == "" || len(clientID) > 255 {
		return nil, store.ErrNotFound
	}
	return s.Store.Q().GetOAuthClient(ctx, s.EnvID, clientID)
}

// authenticateClient identifies the calling client at the token,
// revocation and introspection endpoints: HTTP Basic or the form body,
// never both. A confidential client must prove its secret; a public client
// names itself with client_id alone, and only where publicOK. On failure
// it has written the error and returns nil.
//
// The client and its secrets' hashes are read in one statement
// (GetClientCredentials): every token request authenticates, so this is a
// round trip saved on each, or two for an API client without OAuth
// settings. A confidential client is an API client: its secrets are the
// API client's, so a deleted client (its secrets gone with it) fails at
// once, even where its OAuth settings remain.
func (s *Server) authenticateClient(w http.ResponseWriter, r *http.Request, publicOK bool) *Client {
	ctx := r.Context()
	clientID, secret, basic := r.BasicAuth()
	if formID := r.PostForm.Get("client_id"); !basic {
		clientID, secret = formID, r.PostForm.Get("client_secret")
	} else if r.PostForm.Get("client_secret") != "" || (formID != "" && formID != clientID) {
		tokenError(w, http.StatusBadRequest, "invalid_request", "use one client authentication method, not both")
		return nil
	}
	fail := func() *Client {
		if basic || r.Header.Get("Authorization") != "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="gatehouse"`)
		}
		tokenError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return nil
	}
	c, hashes, err := s.clientWithSecrets(ctx, clientID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.serverError(w, r, "reading a client", err)
		return nil
	}
	if c != nil && c.Public {
		if secret != "" || basic || !publicOK {
			return fail()
		}
		return c
	}
	// Unknown clients are checked too, so timing says nothing.
	if err := clients.Verify(hashes, secret); err != nil || c == nil {
		return fail()
	}
	return c
}

// clientWithSecrets reads a client with its secrets' hashes;
// store.ErrNotFound when there is no such client.
func (s *Server) clientWithSecrets(ctx context.Context, clientID string) (*Client, []string, error) {
	if clientID == "" || len(clientID) > 255 {
		return nil, nil, store.ErrNotFound
	}
	return s.Store.Q().GetClientCredentials(ctx, s.EnvID, clientID)
}

func (s *Server) serverError(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.Log.ErrorContext(r.Context(), what+" failed", "request_id", httpx.RequestID(r.Context()), "err", err)
	tokenError(w, http.StatusInternalServerError, "server_error", "try again later")
}
