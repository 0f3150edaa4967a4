package main

import (
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

// The example app's tests drive it as a browser would, over HTTP, against
// a real Gatehouse on loopback (sdktest). Where Gatehouse shows its login
// page, the test completes the sign-in the way the page does once the
// user has signed in (sdktest.Complete); browser_test.go walks the real
// page in Chromium.

// clock is a settable clock, or the real one when real is set.
type clock struct {
	mu   sync.Mutex
	t    time.Time
	real bool
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.real {
		return time.Now()
	}
	return c.t
}

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

const (
	adaEmail   = sdktest.UserEmail // admin; external_id legacy-ada
	graceEmail = "grace@acme.example"
	graceExt   = "legacy-grace"
	oldEmail   = "old@acme.example" // only in the legacy system
)

var legacyUsers = []LegacyUser{
	{ID: sdktest.UserExternalID, Email: adaEmail, Roles: []string{"admin"}},
	{ID: graceExt, Email: graceEmail, Roles: []string{"member"}},
	{ID: "legacy-old", Email: oldEmail, Roles: []string{"member"}},
}

type fixture struct {
	t       testing.TB
	clk     *clock
	env     *sdktest.Env
	app     *App
	url     string // http://localhost:port
	graceID string
}

// start runs Gatehouse (trusting the app's legacy system for token
// exchange) and the app on localhost, which browsers treat as a secure
// origin, so the app's Secure cookies work over http.
func start(t testing.TB, pg bool, adjust func(*Config)) *fixture {
	t.Helper()
	return startClock(t, pg, &clock{t: time.Now().UTC().Truncate(time.Second)}, adjust)
}

func startClock(t testing.TB, pg bool, clk *clock, adjust func(*Config)) *fixture {
	t.Helper()
	f := &fixture{t: t, clk: clk}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	f.url = "http://localhost:" + port
	f.env = sdktest.Start(t, sdktest.Options{Postgres: pg, Now: f.clk.Now, SDKOptions: []sdk.Option{sdk.WithClock(f.clk.Now)},
		CallbackURLs: []string{f.url + "/callback"}, PostLogoutURLs: []string{f.url + "/bye"},
		Configure: func(c *config.Config) {
			c.Legacy = config.LegacyIssuer{Issuer: LegacyIssuer(f.url), JWKSURL: LegacyIssuer(f.url) + "/jwks", Audience: legacyAudience}
		}})
	f.graceID = f.env.AddUser(t, graceEmail, graceExt, "member")
	cfg := Config{GatehouseURL: f.env.URL, ClientID: f.env.ClientID, ClientSecret: f.env.Secret, AppURL: f.url,
		CutoverPercent: 100, LegacyUsers: legacyUsers, Now: f.clk.Now}
	if adjust != nil {
		adjust(&cfg)
	}
	if f.app, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: f.app, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return f
}

// browser is one person's browser: its cookies, and who signs in when
// Gatehouse asks.
type browser struct {
	f         *fixture
	user      string // Gatehouse user id that signs in at the login page
	hc        *http.Client
	sawLogin  bool // Gatehouse's login page was reached
	sawLegacy bool // the legacy login page was reached
}

func (f *fixture) browser(userID string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{f: f, user: userID, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	url    string
	body   string
}

// do follows redirects like a browser and returns the last page.
func (b *browser) do(method, target string, form url.Values) page {
	b.f.t.Helper()
	for range 20 {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, target, body)
		if err != nil {
			b.f.t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", b.f.url) // a browser sends it with a form POST
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		}
		resp, err := b.hc.Do(req)
		if err != nil {
			b.f.t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode > 399 || loc == "" {
			return page{status: resp.StatusCode, url: target, body: string(raw)}
		}
		next, _ := resp.Request.URL.Parse(loc)
		if strings.HasPrefix(next.Path, "/legacy/login") {
			b.sawLegacy = true
		}
		if prefix := b.f.env.URL + oauth.LoginPath + "?auth_request="; strings.HasPrefix(next.String(), prefix) {
			b.sawLogin = true
			next = b.f.env.Complete(b.f.t, strings.TrimPrefix(next.String(), prefix), b.user)
		}
		method, target, form = http.MethodGet, next.String(), nil
	}
	b.f.t.Fatal("too many redirects")
	return page{}
}

func (b *browser) get(path string) page { return b.do(http.MethodGet, b.f.url+path, nil) }

func (b *browser) post(path string, form url.Values) page {
	return b.do(http.MethodPost, b.f.url+path, form)
}

func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, to)
	return v
}

// TestSignIn: login, callback, cookie session, transparent refresh, the
// role-gated page and logout, on both databases.
func TestSignIn(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			f := start(t, pg, nil)
			ada := f.browser(f.env.UserID)
			if p := ada.get("/"); p.status != 200 || !strings.Contains(p.body, `name="login_hint"`) {
				t.Fatalf("home: %d %s", p.status, p.body)
			}
			// An anonymous visit to the dashboard goes through the login and back.
			p := ada.get("/dashboard")
			if p.status != 200 || !ada.sawLogin || !strings.HasSuffix(p.url, "/dashboard") {
				t.Fatalf("dashboard: %d at %s (login seen: %v): %s", p.status, p.url, ada.sawLogin, p.body)
			}
			if between(p.body, `<dd id="user">`, "<") != f.env.UserID || between(p.body, `<dd id="via">`, "<") != "Gatehouse" ||
				between(p.body, `<dd id="roles">`, "<") != "admin " || between(p.body, `<dd id="org">`, "<") != f.env.OrgID {
				t.Fatalf("dashboard: %s", p.body)
			}
			if p := ada.get("/admin"); p.status != 200 || !strings.Contains(p.body, "Only members with the admin role") {
				t.Fatalf("admin: %d", p.status)
			}
			// Transparent refresh: near the end of the access token's life the
			// next page gets a new one, in the same session, without a login.
			tok, ses := between(p.body, `<dd id="token">`, " "), between(p.body, `<dd id="session">`, "<")
			f.clk.Advance(250 * time.Second)
			ada.sawLogin = false
			p = ada.get("/dashboard")
			if p.status != 200 || ada.sawLogin || between(p.body, `<dd id="token">`, " ") == tok || between(p.body, `<dd id="session">`, "<") != ses {
				t.Fatalf("after 250 s: %d login=%v token %s -> %s", p.status, ada.sawLogin, tok, between(p.body, `<dd id="token">`, " "))
			}
			// A member who is not an admin is refused the admin page.
			grace := f.browser(f.graceID)
			if p := grace.get("/dashboard"); p.status != 200 || between(p.body, `<dd id="user">`, "<") != f.graceID {
				t.Fatalf("grace's dashboard: %d %s", p.status, p.body)
			}
			if p := grace.get("/admin"); p.status != http.StatusForbidden || !strings.Contains(p.body, "requires the role admin") {
				t.Fatalf("grace at /admin: %d %s", p.status, p.body)
			}
			// Logout ends the app session and the Gatehouse session, and comes back.
			if p := ada.post("/logout", url.Values{}); p.status != 200 || !strings.HasSuffix(p.url, "/bye") {
				t.Fatalf("logout: %d at %s", p.status, p.url)
			}
			resp, err := ada.hc.Get(f.url + "/dashboard")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/login?") {
				t.Fatalf("dashboard after logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			// The API answers 401 with a challenge, not a redirect.
			resp, _ = http.Get(f.url + "/api/me")
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("anonymous /api/me: %d", resp.StatusCode)
			}
		})
	}
}

// TestCutover: the dual mode against the fake legacy system. At 0% users
// sign in to the legacy system and the app accepts its sessions; an admin
// (allow-listed onto Gatehouse) raises the percentage; legacy users are
// carried over on their next request without signing in; a legacy user
// Gatehouse does not know stays on the legacy session; 0% again is the
// rollback for new logins.
func TestCutover(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			f := start(t, pg, func(c *Config) { c.CutoverPercent, c.Allow = 0, []string{adaEmail} })
			grace, old := f.browser(f.graceID), f.browser("")
			for _, b := range []struct {
				br    *browser
				email string
				user  string
			}{{grace, graceEmail, graceExt}, {old, oldEmail, "legacy-old"}} {
				p := b.br.get("/login?login_hint=" + url.QueryEscape(b.email))
				if !b.br.sawLegacy || b.br.sawLogin || !strings.Contains(p.body, "Old sign-in") {
					t.Fatalf("%s at 0%%: legacy=%v gatehouse=%v %s", b.email, b.br.sawLegacy, b.br.sawLogin, p.body)
				}
				p = b.br.post("/legacy/login", url.Values{"email": {b.email}, "return_to": {"/dashboard"}})
				if p.status != 200 || between(p.body, `<dd id="via">`, "<") != "the legacy system" || between(p.body, `<dd id="user">`, "<") != b.user {
					t.Fatalf("%s's legacy dashboard: %d %s", b.email, p.status, p.body)
				}
			}
			// Ada is allow-listed: Gatehouse even at 0%.
			ada := f.browser(f.env.UserID)
			ada.get("/login?login_hint=" + url.QueryEscape(adaEmail))
			if !ada.sawLogin || ada.sawLegacy {
				t.Fatalf("allow-listed ada: gatehouse=%v legacy=%v", ada.sawLogin, ada.sawLegacy)
			}
			if p := ada.post("/admin/cutover", url.Values{"percent": {"100"}}); p.status != 200 || !strings.Contains(p.body, `value="100"`) {
				t.Fatalf("raising the percentage: %d %s", p.status, p.body)
			}
			if f.app.Router.Percent() != 100 {
				t.Fatal("the percentage did not change")
			}
			// Grace's next request carries her over: no login page anywhere.
			grace.sawLogin, grace.sawLegacy = false, false
			p := grace.get("/dashboard")
			if p.status != 200 || grace.sawLogin || grace.sawLegacy || between(p.body, `<dd id="via">`, "<") != "Gatehouse" ||
				between(p.body, `<dd id="user">`, "<") != f.graceID {
				t.Fatalf("grace after the cut-over: %d login=%v %s", p.status, grace.sawLogin, p.body)
			}
			// A user only the legacy system knows keeps working on it.
			if p := old.get("/dashboard"); p.status != 200 || between(p.body, `<dd id="via">`, "<") != "the legacy system" {
				t.Fatalf("a legacy-only user after the cut-over: %d %s", p.status, p.body)
			}
			// Rollback: new logins go to the legacy system again; grace keeps
			// her Gatehouse session.
			ada.post("/admin/cutover", url.Values{"percent": {"0"}})
			fresh := f.browser("")
			fresh.get("/login?login_hint=" + url.QueryEscape("someone@acme.example"))
			if !fresh.sawLegacy || fresh.sawLogin {
				t.Fatalf("after rollback: legacy=%v gatehouse=%v", fresh.sawLegacy, fresh.sawLogin)
			}
			if p := grace.get("/dashboard"); between(p.body, `<dd id="via">`, "<") != "Gatehouse" {
				t.Fatalf("grace after the rollback: %s", p.body)
			}
			// A member may not move the cut-over.
			if p := grace.post("/admin/cutover", url.Values{"percent": {"100"}}); p.status != http.StatusForbidden {
				t.Fatalf("a member setting the percentage: %d", p.status)
			}
			// The counters per path.
			m := ada.get("/metrics").body
			for _, want := range []string{
				`gatehouse_cutover_carried_over_total{result="exchanged"} 1`,
				`gatehouse_cutover_carried_over_total{result="refused"} 1`,
				`gatehouse_cutover_logins_total{path="gatehouse",reason="allow_list"} 1`,
				`gatehouse_cutover_logins_total{path="legacy",reason="percentage"} 3`,
				`gatehouse_cutover_tokens_total{path="legacy",result="valid"}`,
			} {
				if !strings.Contains(m, want) {
					t.Errorf("/metrics lacks %s:\n%s", want, m)
				}
			}
		})
	}
}
