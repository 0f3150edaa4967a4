package login_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/login"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/settings"
)

// Passwords the fake range API knows. cleanPW's hash suffix is in the
// answer too, but as a padding line with count 0, which is no breach.
const (
	breachedPW = "correct horse battery staple"
	cleanPW    = "a garden of quiet lanterns"
)

// rangeAPI is a Have I Been Pwned-compatible range API on loopback:
// GET /range/{5 hex} answers the breached suffixes under that prefix and
// padding lines (count 0), and records what it was asked.
type rangeAPI struct {
	srv *httptest.Server

	mu       sync.Mutex
	breached map[string]int  // full upper-case SHA-1 -> count
	padding  map[string]bool // full upper-case SHA-1 answered with count 0
	asked    []string        // request paths
	padded   []string        // Add-Padding header of each request
}

func sha1Hex(pw string) string {
	s := sha1.Sum([]byte(pw))
	return strings.ToUpper(hex.EncodeToString(s[:]))
}

func newRangeAPI(t *testing.T) *rangeAPI {
	a := &rangeAPI{breached: map[string]int{sha1Hex(breachedPW): 3861493}, padding: map[string]bool{sha1Hex(cleanPW): true}}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.asked = append(a.asked, r.URL.Path)
		a.padded = append(a.padded, r.Header.Get("Add-Padding"))
		prefix, ok := strings.CutPrefix(r.URL.Path, "/range/")
		if !ok || len(prefix) != 5 {
			http.NotFound(w, r)
			return
		}
		// Fake neighbours first, as padding, then the real lines.
		for i := range 20 {
			fmt.Fprintf(w, "%035X:0\r\n", i)
		}
		for h, n := range a.breached {
			if h[:5] == prefix {
				fmt.Fprintf(w, "%s:%d\r\n", h[5:], n)
			}
		}
		for h := range a.padding {
			if h[:5] == prefix {
				fmt.Fprintf(w, "%s:0\r\n", strings.ToLower(h[5:]))
			}
		}
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *rangeAPI) requests() ([]string, []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.asked...), append([]string(nil), a.padded...)
}

// newBreachedFx is newFx with --breached-passwords-url pointing at api
// and the server's logs kept.
func newBreachedFx(t *testing.T, pg bool, api *rangeAPI) (*fx, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	clk := &clock{}
	in := servertest.Start(t, servertest.Options{Postgres: pg, Now: clk.Now,
		Configure: func(c *config.Config) { c.BreachedPasswordsURL = api.srv.URL + "/" },
		Log:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	f := &fx{t: t, in: in, clk: clk, ctx: context.Background()}
	if _, err := in.Server.Settings.UpdateRedirects(f.ctx, settings.Redirects{CallbackURLs: []string{appCB}}); err != nil {
		t.Fatal(err)
	}
	f.orgID = f.org("Acme")
	return f, logs
}

// TestA04BreachedPasswords: with --breached-passwords-url set, a password
// in the range API's answer is refused at the reset link and on the
// account page, one answered only as padding (count 0) is accepted, only
// the 5-character prefix of its SHA-1 is sent, with Add-Padding, and
// signing in with an existing password asks nothing.
func TestA04BreachedPasswords(t *testing.T) {
	for _, db := range []struct {
		name string
		pg   bool
	}{{"sqlite", false}, {"postgres", true}} {
		t.Run(db.name, func(t *testing.T) {
			api := newRangeAPI(t)
			f, logs := newBreachedFx(t, db.pg, api)
			const email = "breach@acme.example"
			uid := f.user(f.orgID, email, "the first of passwords", false)
			first := f.storedHash(uid)

			if p := f.setPassword(email, breachedPW); p.status != http.StatusBadRequest || !p.has("/login/reset") ||
				!strings.Contains(p.text(), "This password has appeared in a data breach; choose another.") {
				t.Fatalf("breached password at reset: %d %s", p.status, p.text())
			}
			if f.storedHash(uid) != first {
				t.Fatal("a refused reset changed the password")
			}
			if p := f.setPassword(email, cleanPW); p.status != http.StatusOK {
				t.Fatalf("clean password at reset: %d %s", p.status, p.text())
			}

			b, _ := f.signedIn(email, cleanPW)
			before, _ := api.requests()
			p := b.account()
			before2 := f.storedHash(uid)
			if r := b.submitRaw(p, "/account/password", map[string]string{"current_password": cleanPW, "new_password": breachedPW}); r.status != http.StatusBadRequest ||
				!strings.Contains(r.text(), "appeared in a data breach") {
				t.Errorf("breached password on the account page: %d %s", r.status, r.text())
			}
			if f.storedHash(uid) != before2 {
				t.Fatal("a refused change changed the password")
			}
			const next = "another quiet lantern garden"
			if r := b.submitRaw(p, "/account/password", map[string]string{"current_password": cleanPW, "new_password": next}); r.status != http.StatusSeeOther {
				t.Errorf("clean password on the account page: %d %s", r.status, r.text())
			}

			asked, padded := api.requests()
			if len(asked) != 4 || len(before) != 2 {
				t.Fatalf("the API was asked %d times (%d before signing in), want 4 (2): %v", len(asked), len(before), asked)
			}
			for i, path := range asked {
				want := []string{breachedPW, cleanPW, breachedPW, next}[i]
				if path != "/range/"+sha1Hex(want)[:5] || padded[i] != "true" {
					t.Errorf("request %d: %s Add-Padding=%q, want /range/%s with padding", i, path, padded[i], sha1Hex(want)[:5])
				}
			}
			if strings.Contains(logs.String(), "breached-password check failed") {
				t.Errorf("a warning with the API up:\n%s", logs.String())
			}

			// A user whose existing password is breached still signs in, and
			// signing in asks the API nothing.
			f.setHash(uid, mustHash(t, breachedPW))
			b2 := f.browser()
			a := newAuthz()
			b2.callback(b2.signInWithPassword(a, email, breachedPW), a)
			if after, _ := api.requests(); len(after) != len(asked) {
				t.Errorf("signing in asked the API: %v", after[len(asked):])
			}
		})
	}
}

// TestA04BreachedAPIDown: when the range API cannot be reached, a new
// password is accepted on the other rules, with a warning that does not
// carry the hash prefix; the common-password list still applies.
func TestA04BreachedAPIDown(t *testing.T) {
	api := newRangeAPI(t)
	f, logs := newBreachedFx(t, false, api)
	api.srv.Close()
	const email = "down@acme.example"
	f.user(f.orgID, email, "", false)
	if p := f.setPassword(email, "Pass1234"); p.status != http.StatusBadRequest || !strings.Contains(p.text(), "most common") {
		t.Errorf("a common password with the API down: %d %s", p.status, p.text())
	}
	if p := f.setPassword(email, breachedPW); p.status != http.StatusOK {
		t.Fatalf("API down: %d %s", p.status, p.text())
	}
	log := logs.String()
	if !strings.Contains(log, "level=WARN") || !strings.Contains(log, "breached-password check failed") {
		t.Fatalf("no warning logged:\n%s", log)
	}
	if strings.Contains(log, sha1Hex(breachedPW)[:5]) || strings.Contains(log, breachedPW) {
		t.Errorf("the log carries the password or its hash prefix:\n%s", log)
	}
	b := f.browser()
	a := newAuthz()
	b.callback(b.signInWithPassword(a, email, breachedPW), a)
}

// TestBreachedPasswordsAnswers: the client against answers that are no
// range: an error status, nonsense, a redirect, one that comes too late.
// Each is an error (so the caller fails open), never "breached".
func TestBreachedPasswordsAnswers(t *testing.T) {
	if login.NewBreachedPasswords("") != nil {
		t.Error(`NewBreachedPasswords("") is not nil: an unset URL would check`)
	}
	api := newRangeAPI(t)
	ctx := context.Background()
	c := login.NewBreachedPasswords(api.srv.URL)
	if found, err := c.Breached(ctx, breachedPW); !found || err != nil {
		t.Errorf("breached: %v %v", found, err)
	}
	if found, err := c.Breached(ctx, cleanPW); found || err != nil {
		t.Errorf("padding only: %v %v", found, err)
	}
	slow := make(chan struct{})
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path[:len("/x")] {
		case "/s":
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		case "/g":
			fmt.Fprintln(w, "<html>not a range</html>")
		case "/r":
			http.Redirect(w, r, api.srv.URL+"/range/"+r.URL.Path[len("/r/range/"):], http.StatusFound)
		case "/t":
			<-slow
		}
	}))
	defer bad.Close()
	defer close(slow)
	for _, base := range []string{"/s", "/g", "/r", "/t"} {
		start := time.Now()
		found, err := login.NewBreachedPasswords(bad.URL+base).Breached(ctx, breachedPW)
		if found || err == nil {
			t.Errorf("%s: %v %v, want an error", base, found, err)
		}
		if d := time.Since(start); d > login.BreachedTimeout+time.Second {
			t.Errorf("%s: took %s", base, d)
		}
	}
}

// TestA04CommonPasswordList: the embedded list has its source in its
// header, at least 10,000 entries, none shorter than the length rule, and
// every entry, in any case, is refused.
func TestA04CommonPasswordList(t *testing.T) {
	raw, err := os.ReadFile("common-passwords.txt")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	for _, want := range []string{"zxcvbn 4.4.2", "MIT", "Copyright (c) 2012-2016 Dan Wheeler and Dropbox, Inc."} {
		if !strings.Contains(text, want) {
			t.Errorf("the header does not say %q", want)
		}
	}
	p := login.NewPasswordPolicy()
	seen := map[string]bool{}
	for line := range strings.Lines(text) {
		w := strings.TrimRight(line, "\n")
		if strings.HasPrefix(w, "#") {
			continue
		}
		switch {
		case utf8.RuneCountInString(w) < login.MinPasswordLength:
			t.Errorf("%q is shorter than the length rule", w)
		case w != strings.ToLower(w) || w != strings.TrimSpace(w):
			t.Errorf("%q is not lower case and trimmed", w)
		case seen[w]:
			t.Errorf("%q twice", w)
		case !p.IsCommon(w) || !p.IsCommon(strings.ToUpper(w)):
			t.Errorf("%q or its upper case is not refused", w)
		}
		seen[w] = true
	}
	if len(seen) < 10000 {
		t.Errorf("%d common passwords, want at least 10,000", len(seen))
	}
	// From around rank 2,000 to 3,000 of zxcvbn's list, and names it moved
	// to its other lists.
	for _, w := range []string{"pass1234", "LionKing", "WOOFWOOF", "dinosaur", "Jennifer", "michelle", "basketball"} {
		if err := p.Check(w, "someone@acme.example"); err == nil || !strings.Contains(err.Error(), "most common") {
			t.Errorf("%q: %v", w, err)
		}
	}
	for _, w := range []string{"a garden of quiet lanterns", "nocapsnodigits", "  🙂 ünïcödé   spaces  "} {
		if err := p.Check(w, "someone@acme.example"); err != nil {
			t.Errorf("%q refused: %v", w, err)
		}
	}
}
