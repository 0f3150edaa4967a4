package middleware_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/middleware"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// grantCounter counts token-endpoint requests by grant_type.
type grantCounter struct {
	next   http.RoundTripper
	mu     sync.Mutex
	grants map[string]int
	delay  atomic.Int64 // nanoseconds added to refresh requests, to widen races
}

func (g *grantCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == "/oauth/token" && r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		v, _ := url.ParseQuery(string(b))
		g.mu.Lock()
		g.grants[v.Get("grant_type")]++
		g.mu.Unlock()
		if v.Get("grant_type") == "refresh_token" {
			time.Sleep(time.Duration(g.delay.Load()))
		}
	}
	return g.next.RoundTrip(r)
}

func (g *grantCounter) count(grant string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.grants[grant]
}

// app is a small web app protected by the middleware, and a browser for it.
type app struct {
	t        *testing.T
	env      *sdktest.Env
	clk      *clock
	counter  *grantCounter
	client   *sdk.Client
	sessions *middleware.Sessions
	store    *middleware.MemoryStore
	srv      *httptest.Server
	url      string // http://localhost:port
	jar      http.CookieJar
	hc       *http.Client
}

func newApp(t *testing.T, pg bool) *app { t.Helper(); return newAppWith(t, pg, nil) }

// newAppWith is newApp with the server's configuration adjusted.
func newAppWith(t *testing.T, pg bool, configure func(*config.Config)) *app {
	t.Helper()
	a := &app{t: t, clk: &clock{t: time.Now().UTC().Truncate(time.Second)}}
	a.srv = httptest.NewUnstartedServer(nil)
	_, port, _ := net.SplitHostPort(a.srv.Listener.Addr().String())
	// localhost: browsers (and cookiejar) treat it as a secure origin, so
	// the Secure cookie works over http in tests.
	a.url = "http://localhost:" + port
	a.counter = &grantCounter{next: http.DefaultTransport, grants: map[string]int{}}
	a.env = sdktest.Start(t, sdktest.Options{Postgres: pg, CallbackURLs: []string{a.url + "/callback"},
		PostLogoutURLs: []string{a.url + "/bye"}, Now: a.clk.Now, SDKOptions: []sdk.Option{sdk.WithClock(a.clk.Now)},
		Configure: configure})
	var err error
	a.client, err = sdk.New(a.env.URL, a.env.ClientID, a.env.Secret, sdk.WithClock(a.clk.Now),
		sdk.WithHTTPClient(&http.Client{Transport: a.counter}), sdk.WithConnectProtocol())
	if err != nil {
		t.Fatal(err)
	}
	a.store = middleware.NewMemoryStore(a.clk.Now)
	a.sessions, err = middleware.NewSessions(a.client, middleware.SessionConfig{CallbackURL: a.url + "/callback",
		PostLogoutURL: a.url + "/bye", Store: a.store, Now: a.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	auth := middleware.RequireAuth(a.client, middleware.WithSessions(a.sessions))
	page := middleware.RequireAuth(a.client, middleware.WithSessions(a.sessions),
		middleware.WithUnauthenticated(a.sessions.RedirectToLogin("/login")))
	mux := http.NewServeMux()
	mux.Handle("GET /login", a.sessions.LoginHandler())
	mux.Handle("GET /callback", a.sessions.CallbackHandler())
	mux.Handle("/logout", a.sessions.LogoutHandler())
	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := middleware.ClaimsFrom(r.Context())
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"sub": c.Subject, "oid": c.OrganizationID, "sid": c.SessionID,
			"roles": c.Roles, "jti": c.ID, "legacy": c.Legacy, "email": c.Email})
	})
	mux.Handle("GET /api/me", auth(me))
	mux.Handle("GET /page", page(me))
	mux.Handle("GET /api/admin", auth(middleware.RequireRole("admin")(me)))
	mux.Handle("GET /api/billing", auth(middleware.RequireRole("billing")(me)))
	mux.Handle("GET /api/projects", auth(middleware.RequirePermission(sdktest.Permission)(me)))
	mux.Handle("GET /api/delete", auth(middleware.RequirePermission("projects:delete")(me)))
	mux.Handle("GET /api/norequireauth", middleware.RequireRole("admin")(me))
	mux.HandleFunc("GET /bye", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "bye") })
	a.srv.Config.Handler = mux
	a.srv.Start()
	t.Cleanup(a.srv.Close)
	a.newBrowser()
	return a
}

// newBrowser forgets every cookie.
func (a *app) newBrowser() {
	a.jar, _ = cookiejar.New(nil)
	a.hc = &http.Client{Jar: a.jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type page struct {
	status int
	body   string
	header http.Header
	url    string
}

// browse follows redirects like a browser, and signs the seeded user in
// when Gatehouse asks for its login page. It returns the last answer.
func (a *app) browse(method, target string, hdr http.Header) page {
	a.t.Helper()
	for range 20 {
		req, err := http.NewRequest(method, target, nil)
		if err != nil {
			a.t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		resp, err := a.hc.Do(req)
		if err != nil {
			a.t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode > 399 || loc == "" {
			return page{status: resp.StatusCode, body: string(b), header: resp.Header, url: target}
		}
		next, err := resp.Request.URL.Parse(loc)
		if err != nil {
			a.t.Fatal(err)
		}
		if login := a.env.URL + oauth.LoginPath + "?auth_request="; strings.HasPrefix(next.String(), login) {
			next = a.env.Complete(a.t, strings.TrimPrefix(next.String(), login), a.env.UserID)
		}
		target, method, hdr = next.String(), http.MethodGet, nil
	}
	a.t.Fatal("too many redirects")
	return page{}
}

func (a *app) get(path string) page { return a.browse(http.MethodGet, a.url+path, nil) }

func (a *app) signIn() {
	a.t.Helper()
	p := a.get("/page")
	if p.status != http.StatusOK || !strings.Contains(p.body, a.env.UserID) {
		a.t.Fatalf("signing in through /page: %d %s", p.status, p.body)
	}
}

func (a *app) me() map[string]any {
	a.t.Helper()
	p := a.get("/api/me")
	if p.status != http.StatusOK {
		a.t.Fatalf("/api/me: %d %s", p.status, p.body)
	}
	out := map[string]any{}
	if err := json.Unmarshal([]byte(p.body), &out); err != nil {
		a.t.Fatal(err)
	}
	return out
}

// bearerGet calls path with a bearer token and no cookies.
func (a *app) bearerGet(path, authorization string) page {
	a.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, a.url+path, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, body: string(b), header: resp.Header}
}
