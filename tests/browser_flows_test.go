package tests

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/settings"
	"github.com/gatehouse/gatehouse/internal/testdb"
)

// TestBrowserFlows runs the hosted login's other two ways in headless
// Chromium (tests/browser/flows.mjs), on SQLite and PostgreSQL:
//
//   - magic-link: the sign-in link from the email, opened in the same
//     browser, confirmed with its button (a user in one organization, so
//     no picker);
//   - password: a user without a password sets one through "Forgot your
//     password?" and the emailed link, signs in with it, and picks one of
//     two organizations.
//
// Each run fails on a console error, a page error or an HTTP error; the
// app's callback gets a code that this test redeems, verifying the ID
// token against /keys. Screenshots of every page are kept in
// tests/browser/artifacts/<test>/<flow>/ (gitignored).
func TestBrowserFlows(t *testing.T) {
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
		org := func(name string) string {
			o, err := in.Server.Accounts.CreateOrganization(ctx, accounts.OrgFields{DisplayName: &name})
			if err != nil {
				t.Fatal(err)
			}
			return o.ID
		}
		user := func(orgID, email string) string {
			u, err := in.Server.Accounts.CreateUserAndMembership(ctx, orgID, accounts.UserFields{Email: &email}, accounts.MembershipFields{}, false)
			if err != nil {
				t.Fatal(err)
			}
			return u.ID
		}
		initech, umbrella, hooli := org("Initech"), org("Umbrella"), org("Hooli")

		run := func(t *testing.T, flow string, env ...string) (string, []string) {
			shots := filepath.Join("browser", "artifacts", strings.ReplaceAll(t.Name(), "/", "_"))
			_ = os.RemoveAll(shots)
			if err := os.MkdirAll(shots, 0o755); err != nil {
				t.Fatal(err)
			}
			abs, _ := filepath.Abs(shots)
			runCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(runCtx, node, "flows.mjs")
			cmd.Dir = "browser"
			cmd.Env = append(os.Environ(), append([]string{"FLOW=" + flow, "GATEHOUSE_URL=" + in.URL, "START_URL=" + app.base + "/start",
				"SCREENSHOTS=" + abs, "CHROMIUM=" + chromium}, env...)...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("the browser run failed: %v\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			var res struct {
				Callback string
				Pages    []string
			}
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
			shotsTaken, _ := filepath.Glob(filepath.Join(shots, "*.png"))
			if len(shotsTaken) != len(res.Pages) {
				t.Errorf("%d screenshots for %d pages", len(shotsTaken), len(res.Pages))
			}
			t.Logf("pages: %q", res.Pages)
			return q.Get("code"), res.Pages
		}

		t.Run("magic-link", func(t *testing.T) {
			email := "magic@initech.example"
			uid := user(initech, email)
			code, _ := run(t, "magic-link", "EMAIL="+email)
			claims := app.redeem(t, code)
			if claims["sub"] != uid || claims["oid"] != initech || claims["email"] != email || claims["email_verified"] != true ||
				claims["nonce"] != app.nonce {
				t.Fatalf("ID token claims %v", claims)
			}
			if amr, _ := claims["amr"].([]any); len(amr) == 0 {
				t.Errorf("no amr in %v", claims)
			}
		})

		t.Run("password", func(t *testing.T) {
			email := "password@umbrella.example"
			uid := user(umbrella, email)
			if _, err := in.Server.Accounts.CreateMembership(ctx, hooli, accounts.Ref{ID: uid}, accounts.MembershipFields{}, false); err != nil {
				t.Fatal(err)
			}
			code, pages := run(t, "password", "EMAIL="+email, "PASSWORD=correct horse battery staple 42", "ORG_NAME=Hooli")
			if !containsString(pages, "Choose an organization") {
				t.Errorf("the organization picker was not shown: %q", pages)
			}
			claims := app.redeem(t, code)
			if claims["sub"] != uid || claims["oid"] != hooli || claims["email"] != email {
				t.Fatalf("ID token claims %v", claims)
			}
			amr, _ := claims["amr"].([]any)
			if len(amr) != 1 || amr[0] != "pwd" {
				t.Errorf("amr %v, want [pwd]", claims["amr"])
			}
			hash, err := in.Server.Store().Q().PasswordHash(ctx, in.Server.Bootstrap.EnvID, uid)
			if err != nil || !strings.HasPrefix(hash, "$argon2id$") {
				t.Errorf("stored hash %.12q (%v), want argon2id", hash, err)
			}
		})
	})
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
