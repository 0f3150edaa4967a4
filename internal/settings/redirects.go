package settings

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/redirects"
	"github.com/gatehouse/gatehouse/internal/store"
)

// MaxRedirectURLs bounds each list of redirect URLs (callback, post-logout).
const MaxRedirectURLs = 64

// Redirects are the environment's four kinds of redirect URL. Empty
// single URLs mean none.
type Redirects struct {
	CallbackURLs         []string `json:"callback_urls"`
	InitiateLoginURL     string   `json:"initiate_login_url"`
	PostLogoutURLs       []string `json:"post_logout_urls"`
	BackchannelLogoutURL string   `json:"backchannel_logout_url"`
}

// URLs returns the URLs of one kind.
func (r Redirects) URLs(k redirects.Kind) []string {
	switch k {
	case redirects.Callback:
		return r.CallbackURLs
	case redirects.PostLogout:
		return r.PostLogoutURLs
	case redirects.InitiateLogin:
		return nonEmpty(r.InitiateLoginURL)
	case redirects.BackchannelLogout:
		return nonEmpty(r.BackchannelLogoutURL)
	}
	return nil
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func redirectsFrom(r *store.Redirects) Redirects {
	return Redirects{CallbackURLs: r.CallbackURLs, InitiateLoginURL: r.InitiateLoginURL,
		PostLogoutURLs: r.PostLogoutURLs, BackchannelLogoutURL: r.BackchannelLogoutURL}
}

// Redirects reads the registered redirect URLs.
func (s *Service) Redirects(ctx context.Context) (Redirects, error) {
	return s.redirects(ctx, s.Store.Q())
}

func (s *Service) redirects(ctx context.Context, q *store.Q) (Redirects, error) {
	r, err := q.GetRedirects(ctx, s.EnvID)
	if errors.Is(err, store.ErrNotFound) {
		return Redirects{CallbackURLs: []string{}, PostLogoutURLs: []string{}}, nil
	}
	if err != nil {
		return Redirects{}, err
	}
	return redirectsFrom(r), nil
}

// UpdateRedirects replaces the registered redirect URLs. Each URL must pass
// the rules of the environment's type (internal/redirects); a refusal names
// the field (callback_urls[2]) and, as its constraint, the rule broken. A
// URL already registered under the same kind is kept as it is even if the
// rules have since tightened (the environment became production), so that
// the others can still be changed; such a URL is not honoured while the
// rules refuse it.
func (s *Service) UpdateRedirects(ctx context.Context, in Redirects) (Redirects, error) {
	var out Redirects
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		env, err := s.envType(ctx, q)
		if err != nil {
			return err
		}
		old, err := s.redirects(ctx, q)
		if err != nil {
			return err
		}
		var v apierr.Violations
		out = Redirects{
			CallbackURLs:         checkList(&v, env, redirects.Callback, in.CallbackURLs, old.CallbackURLs),
			InitiateLoginURL:     checkOne(&v, env, redirects.InitiateLogin, in.InitiateLoginURL, old.InitiateLoginURL),
			PostLogoutURLs:       checkList(&v, env, redirects.PostLogout, in.PostLogoutURLs, old.PostLogoutURLs),
			BackchannelLogoutURL: checkOne(&v, env, redirects.BackchannelLogout, in.BackchannelLogoutURL, old.BackchannelLogoutURL),
		}
		if err := v.Err(); err != nil {
			return err
		}
		if err := q.PutRedirects(ctx, &store.Redirects{EnvID: s.EnvID, CallbackURLs: out.CallbackURLs, InitiateLoginURL: out.InitiateLoginURL,
			PostLogoutURLs: out.PostLogoutURLs, BackchannelLogoutURL: out.BackchannelLogoutURL, UpdatedAt: s.Now()}); err != nil {
			return err
		}
		return s.emit(ctx, q, "settings.redirects.updated", s.EnvID, out)
	})
	if err != nil {
		return Redirects{}, err
	}
	return out, nil
}

// checkList checks a list of URLs of kind: at most MaxRedirectURLs, none
// empty, no duplicates, each new one valid for env.
func checkList(v *apierr.Violations, env redirects.EnvType, kind redirects.Kind, urls, old []string) []string {
	field := kind.Field()
	if len(urls) > MaxRedirectURLs {
		v.Add(field, fmt.Sprintf("must have at most %d URLs, not %d", MaxRedirectURLs, len(urls)))
		return nil
	}
	out := make([]string, 0, len(urls))
	seen := map[string]int{}
	for i, u := range urls {
		u = strings.TrimSpace(u)
		f := fmt.Sprintf("%s[%d]", field, i)
		if j, dup := seen[u]; dup && u != "" {
			*v = append(*v, apierr.Violation{Field: f, Description: fmt.Sprintf("%s is already %s[%d]", u, field, j), Constraint: "unique"})
			continue
		}
		seen[u] = i
		checkURL(v, env, kind, f, u, old)
		out = append(out, u)
	}
	return out
}

// checkOne checks a single URL of kind; empty means none.
func checkOne(v *apierr.Violations, env redirects.EnvType, kind redirects.Kind, u, old string) string {
	u = strings.TrimSpace(u)
	if u != "" {
		checkURL(v, env, kind, kind.Field(), u, nonEmpty(old))
	}
	return u
}

func checkURL(v *apierr.Violations, env redirects.EnvType, kind redirects.Kind, field, u string, old []string) {
	if u != "" && contains(old, u) {
		return // registered before, kept as it is
	}
	var rv *redirects.Violation
	if errors.As(redirects.Validate(u, env, kind), &rv) {
		*v = append(*v, apierr.Violation{Field: field, Description: rv.Message + " (rule " + string(rv.Rule) + ")", Constraint: string(rv.Rule)})
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// MatchRedirect reports whether uri is registered as kind, under the rules
// of the environment's current type: what /oauth/authorize (Callback) and
// /oidc/logout (PostLogout) check a client's redirect against.
func (s *Service) MatchRedirect(ctx context.Context, kind redirects.Kind, uri string) (bool, error) {
	return s.allow(ctx, kind, nil, uri)
}

// allow matches uri against the environment's URLs of kind and the
// client's own (extra), all judged by the environment's current rules.
func (s *Service) allow(ctx context.Context, kind redirects.Kind, extra []string, uri string) (bool, error) {
	q := s.Store.Q()
	env, err := s.envType(ctx, q)
	if err != nil {
		return false, err
	}
	r, err := s.redirects(ctx, q)
	if err != nil {
		return false, err
	}
	if _, ok := redirects.MatchAny(r.URLs(kind), uri, env, kind); ok {
		return true, nil
	}
	_, ok := redirects.MatchAny(extra, uri, env, kind)
	return ok, nil
}

// The methods below make the service the authorization server's redirect
// policy (oauth.RedirectPolicy): the environment's URLs, as Scalekit keeps
// them (Settings -> Redirects), plus any the OAuth client registered
// itself, all through the one matcher.

// AllowRedirect reports whether uri may receive c's authorization responses.
func (s *Service) AllowRedirect(ctx context.Context, c *store.OAuthClient, uri string) (bool, error) {
	var own []string
	if c != nil {
		own = c.RedirectURIs
	}
	return s.allow(ctx, redirects.Callback, own, uri)
}

// AllowPostLogoutRedirect reports whether uri may receive the browser after logout.
func (s *Service) AllowPostLogoutRedirect(ctx context.Context, c *store.OAuthClient, uri string) (bool, error) {
	var own []string
	if c != nil {
		own = c.PostLogoutRedirectURIs
	}
	return s.allow(ctx, redirects.PostLogout, own, uri)
}

// BackChannelLogoutURI returns where to POST c's logout tokens: the
// client's own URL, else the environment's, if the environment's current
// rules accept it; "" for none.
func (s *Service) BackChannelLogoutURI(ctx context.Context, c *store.OAuthClient) (string, error) {
	q := s.Store.Q()
	env, err := s.envType(ctx, q)
	if err != nil {
		return "", err
	}
	candidates := []string{}
	if c != nil && c.BackChannelLogoutURI != "" {
		candidates = append(candidates, c.BackChannelLogoutURI)
	}
	r, err := s.redirects(ctx, q)
	if err != nil {
		return "", err
	}
	for _, u := range append(candidates, r.URLs(redirects.BackchannelLogout)...) {
		if redirects.Validate(u, env, redirects.BackchannelLogout) == nil {
			return u, nil
		}
	}
	return "", nil
}

// InitiateLoginURL returns the app's login-starting URL if the
// environment's current rules accept it; "" for none.
func (s *Service) InitiateLoginURL(ctx context.Context) (string, error) {
	q := s.Store.Q()
	env, err := s.envType(ctx, q)
	if err != nil {
		return "", err
	}
	r, err := s.redirects(ctx, q)
	if err != nil || r.InitiateLoginURL == "" {
		return "", err
	}
	if redirects.Validate(r.InitiateLoginURL, env, redirects.InitiateLogin) != nil {
		return "", nil
	}
	return r.InitiateLoginURL, nil
}
