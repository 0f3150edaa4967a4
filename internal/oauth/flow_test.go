package oauth_test

// Helpers for the user flows: a server on a controllable clock with
// registered clients, a user in an organization, and a way to drive the
// authorization code flow without the login UI, by starting a session
// with the sessions service and calling CompleteAuthorization directly,
// as the login UI will.

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/clients"
	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The registered clients and URLs of every flow test.
const (
	appCB      = "https://app.example/cb"
	appCBQuery = "https://app.example/cb2?tenant=acme"
	nativeCB   = "http://127.0.0.1/native"
	appBye     = "https://app.example/bye"

	spaID = "skc_public_spa_app"
	spaCB = "https://spa.example/cb"

	otherID     = "skc_other_app"
	otherSecret = "skcs_other_secret_0123456789abcdefghijklmn"

	userEmail = "ada@acme.example"
)

// bcListener is a loopback back-channel logout endpoint that records every
// logout token it receives.
type bcListener struct {
	srv    *httptest.Server
	tokens chan string
	mu     sync.Mutex
	hits   int
}

func newBCListener(t *testing.T) *bcListener {
	l := &bcListener{tokens: make(chan string, 64)}
	l.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.hits++
		l.mu.Unlock()
		if r.Method != http.MethodPost || r.ParseForm() != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		l.tokens <- r.PostForm.Get("logout_token")
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(l.srv.Close)
	return l
}

func (l *bcListener) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hits
}

// wait returns the next logout token, failing after a few seconds.
func (l *bcListener) wait(t *testing.T) string {
	t.Helper()
	select {
	case tok := <-l.tokens:
		return tok
	case <-time.After(5 * time.Second):
		t.Fatal("no back-channel logout token arrived")
		return ""
	}
}

// waitFor returns the logout token for session sid, skipping tokens for
// other sessions, and fails when none arrives within a few seconds.
func (l *bcListener) waitFor(t *testing.T, sid string) string {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case tok := <-l.tokens:
			if _, c := segments(t, tok); c["sid"] == sid {
				return tok
			}
		case <-deadline:
			t.Fatalf("no back-channel logout token arrived for session %s", sid)
			return ""
		}
	}
}

// fx is one server with its clients, user and clock.
type fx struct {
	t      *testing.T
	in     *servertest.Instance
	clk    *clock
	bc     *bcListener
	orgID  string
	userID string
	hc     *http.Client // follows no redirects
}

// eachDB runs fn against a fresh server on SQLite and on PostgreSQL.
func eachDB(t *testing.T, fn func(t *testing.T, f *fx)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newFx(t, false)) })
	t.Run("postgres", func(t *testing.T) { fn(t, newFx(t, true)) })
}

func newFx(t *testing.T, pg bool) *fx {
	t.Helper()
	clk := newClock()
	in := servertest.Start(t, withMasterKey(servertest.Options{Postgres: pg, Now: clk.Now}))
	f := &fx{t: t, in: in, clk: clk, bc: newBCListener(t),
		hc: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	ctx := context.Background()
	st := in.Server.Store()
	envID := in.Server.Bootstrap.EnvID
	put := func(c *store.OAuthClient) {
		c.EnvID, c.CreatedAt, c.UpdatedAt = envID, t0, t0
		if err := st.Q().PutOAuthClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	put(&store.OAuthClient{ID: servertest.ClientID, Name: "app", RedirectURIs: []string{appCB, appCBQuery, nativeCB},
		PostLogoutRedirectURIs: []string{appBye}, BackChannelLogoutURI: f.bc.srv.URL + "/bcl"})
	put(&store.OAuthClient{ID: spaID, Name: "spa", Public: true, RedirectURIs: []string{spaCB}})
	cs := &clients.Service{Store: st, IDs: id.NewGenerator(clk.Now), Now: clk.Now, EnvID: envID}
	if _, _, err := cs.Create(ctx, st.Q(), "other", otherID, otherSecret); err != nil {
		t.Fatal(err)
	}
	put(&store.OAuthClient{ID: otherID, Name: "other", RedirectURIs: []string{appCB}})

	name, ext := "Acme", "acme"
	org, err := in.Server.Accounts.CreateOrganization(ctx, accounts.OrgFields{DisplayName: &name, ExternalID: &ext})
	if err != nil {
		t.Fatal(err)
	}
	email, first, last, locale := userEmail, "Ada", "Lovelace", "en"
	u, err := in.Server.Accounts.CreateUserAndMembership(ctx, org.ID, accounts.UserFields{Email: &email,
		Profile: accounts.ProfileFields{FirstName: &first, LastName: &last, Locale: &locale}},
		accounts.MembershipFields{Roles: []string{"admin"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	f.orgID, f.userID = org.ID, u.ID
	return f
}

// login starts a browser session for the user, as the login UI will, and
// returns it with its cookie value.
func (f *fx) login(t *testing.T) (*sessions.Session, string) {
	t.Helper()
	return f.loginAs(t, f.userID)
}

func (f *fx) loginAs(t *testing.T, userID string) (*sessions.Session, string) {
	t.Helper()
	ses, cookie, err := f.in.Server.Sessions.Create(context.Background(),
		sessions.NewSession{UserID: userID, OrgID: f.orgID, AMR: []string{"pwd"}, Cookie: true, UserAgent: "test", IP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	return ses, cookie
}

// addUser creates another active member of the organization.
func (f *fx) addUser(t *testing.T, email string) string {
	t.Helper()
	u, err := f.in.Server.Accounts.CreateUserAndMembership(context.Background(), f.orgID, accounts.UserFields{Email: &email},
		accounts.MembershipFields{Roles: []string{"member"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// authz is an authorization request.
type authz struct {
	client, redirect, scope, state, nonce, verifier string
	extra                                           url.Values
	post                                            bool
}

func (a authz) values() url.Values {
	v := url.Values{"response_type": {"code"}, "client_id": {a.client}, "redirect_uri": {a.redirect}}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("scope", a.scope)
	set("state", a.state)
	set("nonce", a.nonce)
	if a.verifier != "" {
		v.Set("code_challenge", challengeOf(a.verifier))
		v.Set("code_challenge_method", "S256")
	}
	for k, vals := range a.extra {
		v[k] = vals
	}
	return v
}

func challengeOf(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// goodAuthz is a full request of the confidential app.
func goodAuthz() authz {
	return authz{client: servertest.ClientID, redirect: appCB, scope: "openid profile email offline_access",
		state: "st-123", nonce: "n-456", verifier: strings.Repeat("v", 43)}
}

// browserResp is an answer to the browser: status, Location and body.
type browserResp struct {
	status   int
	location string
	header   http.Header
	body     string
}

// authorize sends a raw query (or form) to /oauth/authorize.
func (f *fx) authorizeRaw(t *testing.T, method, rawQuery, cookie string, hdr http.Header) browserResp {
	t.Helper()
	var req *http.Request
	var err error
	if method == http.MethodPost {
		req, err = http.NewRequest(method, f.in.URL+"/oauth/authorize", strings.NewReader(rawQuery))
		if err == nil {
			req.Header.Set("Content-Type", formCT)
		}
	} else {
		req, err = http.NewRequest(method, f.in.URL+"/oauth/authorize?"+rawQuery, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: sessions.CookieName, Value: cookie})
	}
	return f.send(t, req)
}

func (f *fx) send(t *testing.T, req *http.Request) browserResp {
	t.Helper()
	resp, err := f.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return browserResp{status: resp.StatusCode, location: resp.Header.Get("Location"), header: resp.Header, body: string(b)}
}

func (f *fx) authorize(t *testing.T, a authz, cookie string) browserResp {
	t.Helper()
	m := http.MethodGet
	if a.post {
		m = http.MethodPost
	}
	return f.authorizeRaw(t, m, a.values().Encode(), cookie, nil)
}

// loginRequest expects a redirect to the login UI and returns the id of
// the stored authorization request.
func (f *fx) loginRequest(t *testing.T, r browserResp) string {
	t.Helper()
	prefix := f.in.URL + oauth.LoginPath + "?auth_request="
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, prefix) {
		t.Fatalf("want a 303 to the login page, got %d Location %q: %.300s", r.status, r.location, r.body)
	}
	return strings.TrimPrefix(r.location, prefix)
}

// complete calls CompleteAuthorization as the login UI does and returns
// the redirect it answers with.
func (f *fx) complete(t *testing.T, arID string, ses *sessions.Session) (*url.URL, error) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/login", nil)
	if err := f.in.Server.OAuth.CompleteAuthorization(context.Background(), rec, req, arID, ses); err != nil {
		if rec.Code != http.StatusOK || rec.Header().Get("Location") != "" {
			t.Errorf("CompleteAuthorization failed (%v) but wrote %d Location %q", err, rec.Code, rec.Header().Get("Location"))
		}
		return nil, err
	}
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("CompleteAuthorization answered %d, want 303", rec.Code)
	}
	u, err := url.Parse(rec.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u, nil
}

// callback checks an authorization response for the redirect, state and
// iss, and returns its query.
func (f *fx) callback(t *testing.T, u *url.URL, redirect, state string) url.Values {
	t.Helper()
	q := u.Query()
	base := strings.SplitN(redirect, "?", 2)[0]
	if got := u.Scheme + "://" + u.Host + u.Path; got != base {
		t.Errorf("redirected to %s, want %s", got, base)
	}
	if q.Get("state") != state {
		t.Errorf("state = %q, want %q", q.Get("state"), state)
	}
	if q.Get("iss") != f.in.URL {
		t.Errorf("iss = %q, want %q (RFC 9207)", q.Get("iss"), f.in.URL)
	}
	return q
}

// code runs an authorization request through the login step with ses and
// returns the code.
func (f *fx) code(t *testing.T, a authz, ses *sessions.Session) string {
	t.Helper()
	arID := f.loginRequest(t, f.authorize(t, a, ""))
	u, err := f.complete(t, arID, ses)
	if err != nil {
		t.Fatalf("CompleteAuthorization: %v", err)
	}
	q := f.callback(t, u, a.redirect, a.state)
	if q.Get("code") == "" {
		t.Fatalf("no code in %s", u)
	}
	return q.Get("code")
}

// tokenReq posts a form to /oauth/token, authenticating with basic (user,
// password) when given.
func (f *fx) token(t *testing.T, basic []string, kv ...string) response {
	t.Helper()
	return postToken(t, f.in.URL, formCT, form(kv...), basic)
}

var appBasic = []string{servertest.ClientID, servertest.ClientSecret}

// redeem exchanges a code of the confidential app with HTTP Basic.
func (f *fx) redeem(t *testing.T, a authz, code string) response {
	t.Helper()
	kv := []string{"grant_type", "authorization_code", "code", code, "redirect_uri", a.redirect}
	if a.verifier != "" {
		kv = append(kv, "code_verifier", a.verifier)
	}
	return f.token(t, appBasic, kv...)
}

// tokens are the strings of a token response.
type tokens struct{ access, refresh, id string }

func tokensOf(t *testing.T, r response) tokens {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("token endpoint: %d %s", r.status, r.raw)
	}
	s := func(k string) string { v, _ := r.body[k].(string); return v }
	return tokens{access: s("access_token"), refresh: s("refresh_token"), id: s("id_token")}
}

// signIn runs the whole flow for the app and returns its tokens and the session.
func (f *fx) signIn(t *testing.T) (tokens, *sessions.Session, string) {
	t.Helper()
	ses, cookie := f.login(t)
	a := goodAuthz()
	return tokensOf(t, f.redeem(t, a, f.code(t, a, ses))), ses, cookie
}

func (f *fx) refresh(t *testing.T, basic []string, rt string, kv ...string) response {
	t.Helper()
	return f.token(t, basic, append([]string{"grant_type", "refresh_token", "refresh_token", rt}, kv...)...)
}

// introspect asks /oauth/introspect about tok as the app.
func (f *fx) introspect(t *testing.T, tok string) map[string]any {
	t.Helper()
	r := postForm(t, f.in.URL+"/oauth/introspect", form("token", tok), appBasic)
	if r.status != http.StatusOK {
		t.Fatalf("introspect: %d %s", r.status, r.raw)
	}
	return r.body
}

func (f *fx) active(t *testing.T, tok string) bool {
	t.Helper()
	return f.introspect(t, tok)["active"] == true
}

func postForm(t *testing.T, u, body string, basic []string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", formCT)
	if basic != nil {
		req.SetBasicAuth(basic[0], basic[1])
	}
	return do(t, req)
}

// userinfo calls GET /userinfo with a bearer token.
func (f *fx) userinfo(t *testing.T, tok string) response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.in.URL+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	return do(t, req)
}

// verifyJWT checks tok's RS256 signature against the server's JWKS and
// returns its header and claims.
func verifyJWT(t *testing.T, base, tok string) (jose.Header, map[string]any) {
	t.Helper()
	set := fetchJWKS(t, base)
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("parsing %q: %v", tok, err)
	}
	keys := set.Key(parsed.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q is not in the JWKS", parsed.Headers[0].KeyID)
	}
	var raw json.RawMessage
	if err := parsed.Claims(keys[0].Key, &raw); err != nil {
		t.Fatalf("signature: %v", err)
	}
	_, claims := segments(t, tok)
	return parsed.Headers[0], claims
}

func strList(v any) []string {
	raw, _ := v.([]any)
	out := []string{}
	for _, x := range raw {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
