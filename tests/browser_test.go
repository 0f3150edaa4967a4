package tests

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/settings"
	"github.com/gatehouse/gatehouse/internal/testdb"
)

// TestBrowserLogin drives the hosted login in a real headless Chromium
// (Debian's, through playwright-core; tests/browser/login.mjs): an app on
// a loopback listener sends the browser to /oauth/authorize, the user
// types an email, reads the code from the dev outbox, picks one of two
// organizations, and the app's callback receives a code that this test
// redeems for tokens whose ID token it verifies against /keys. It runs at
// 1280x720 and at 360x640, where no page may overflow horizontally.
// Screenshots of each page are kept in tests/browser/artifacts/<db>/<size>/.
func TestBrowserLogin(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		testdb.SkipOrFail(t, "node is not installed")
	}
	chromium := "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		testdb.SkipOrFail(t, "Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
	}
	if _, err := os.Stat(filepath.Join("browser", "node_modules", "playwright-core")); err != nil {
		testdb.SkipOrFail(t, "playwright-core is not installed: run npm ci --prefix tests/browser")
	}
	servertest.Each(t, servertest.Options{}, func(t *testing.T, in *servertest.Instance) {
		ctx := context.Background()
		app := newLoopbackApp(t, in.URL)
		if _, err := in.Server.Settings.UpdateRedirects(ctx, settings.Redirects{CallbackURLs: []string{app.callback}}); err != nil {
			t.Fatal(err)
		}
		acme, second := "Acme", "Globex"
		o1, err := in.Server.Accounts.CreateOrganization(ctx, accounts.OrgFields{DisplayName: &acme})
		if err != nil {
			t.Fatal(err)
		}
		o2, err := in.Server.Accounts.CreateOrganization(ctx, accounts.OrgFields{DisplayName: &second})
		if err != nil {
			t.Fatal(err)
		}
		email := "browser@acme.example"
		u, err := in.Server.Accounts.CreateUserAndMembership(ctx, o1.ID, accounts.UserFields{Email: &email}, accounts.MembershipFields{}, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := in.Server.Accounts.CreateMembership(ctx, o2.ID, accounts.Ref{ID: u.ID}, accounts.MembershipFields{}, false); err != nil {
			t.Fatal(err)
		}

		// A desktop window, then a small phone: login.mjs fails on a page
		// wider than the viewport.
		for _, viewport := range []string{"1280x720", "360x640"} {
			shots := filepath.Join("browser", "artifacts", filepath.Base(t.Name()), viewport)
			_ = os.RemoveAll(shots)
			if err := os.MkdirAll(shots, 0o755); err != nil {
				t.Fatal(err)
			}
			runCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(runCtx, node, "login.mjs")
			cmd.Dir = "browser"
			abs, _ := filepath.Abs(shots)
			cmd.Env = append(os.Environ(), "GATEHOUSE_URL="+in.URL, "START_URL="+app.base+"/start", "EMAIL="+email,
				"ORG_NAME="+second, "SCREENSHOTS="+abs, "CHROMIUM="+chromium, "VIEWPORT="+viewport)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("the browser run at %s failed: %v\n%s", viewport, err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			var res struct{ Callback string }
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
				t.Fatalf("browser output: %s", out)
			}
			cb, err := url.Parse(res.Callback)
			if err != nil {
				t.Fatal(err)
			}
			q := cb.Query()
			if q.Get("state") != app.state || q.Get("iss") != in.URL || q.Get("code") == "" {
				t.Fatalf("callback %s", res.Callback)
			}
			claims := app.redeem(t, q.Get("code"))
			if claims["sub"] != u.ID || claims["oid"] != o2.ID || claims["nonce"] != app.nonce || claims["email"] != email ||
				claims["email_verified"] != true {
				t.Fatalf("ID token claims %v", claims)
			}
		}
	})
}

// loopbackApp is the relying party: /start redirects to the authorization
// endpoint with state, nonce and PKCE; /callback answers a small page.
type loopbackApp struct {
	issuer, base, callback string
	state, nonce, verifier string
}

func newLoopbackApp(t *testing.T, issuer string) *loopbackApp {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &loopbackApp{issuer: issuer, base: "http://" + ln.Addr().String(), state: "state-browser-1", nonce: "nonce-browser-1",
		verifier: strings.Repeat("browser-verifier-", 3)}
	a.callback = a.base + "/callback"
	mux := http.NewServeMux()
	mux.HandleFunc("GET /start", func(w http.ResponseWriter, r *http.Request) {
		sum := sha256.Sum256([]byte(a.verifier))
		v := url.Values{"response_type": {"code"}, "client_id": {servertest.ClientID}, "redirect_uri": {a.callback},
			"scope": {"openid profile email"}, "state": {a.state}, "nonce": {a.nonce},
			"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
		http.Redirect(w, r, issuer+"/oauth/authorize?"+v.Encode(), http.StatusFound)
	})
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><html lang="en"><head><title>App</title></head><body><h1>Signed in</h1></body></html>`))
	})
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return a
}

// redeem exchanges the code and verifies the ID token with the server's
// published keys, returning its claims.
func (a *loopbackApp) redeem(t *testing.T, code string) map[string]any {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {a.callback}, "code_verifier": {a.verifier}}
	req, _ := http.NewRequest(http.MethodPost, a.issuer+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(servertest.ClientID, servertest.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		IDToken     string `json:"id_token"`
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token endpoint: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		t.Fatal(err)
	}
	kr, err := http.Get(a.issuer + "/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer kr.Body.Close()
	var jwks jose.JSONWebKeySet
	if err := json.NewDecoder(kr.Body).Decode(&jwks); err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.ParseSigned(tok.IDToken, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	keys := jwks.Key(parsed.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q is not in the JWKS", parsed.Headers[0].KeyID)
	}
	var std jwt.Claims
	claims := map[string]any{}
	if err := parsed.Claims(keys[0].Key, &std, &claims); err != nil {
		t.Fatalf("ID token signature: %v", err)
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: a.issuer, AnyAudience: jwt.Audience{servertest.ClientID}, Time: time.Now()}, time.Minute); err != nil {
		t.Fatalf("ID token claims: %v", err)
	}
	return claims
}
