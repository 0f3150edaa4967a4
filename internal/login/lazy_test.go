package login_test

// Lazy migration at the hosted login (docs/lazy-migration.md), against a
// real legacy endpoint on loopback (httptest) that checks Gatehouse's
// signature with the documented scheme, on SQLite and PostgreSQL.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/settings"
	"github.com/gatehouse/gatehouse/internal/store"
)

const legacyPW = "legacy horse battery staple"

// legacySystem is the auth system being left: one user, legacyPW, and a
// mode that decides how it answers.
type legacySystem struct {
	t      *testing.T
	srv    *httptest.Server
	secret string
	key    []byte
	email  string

	mode    atomic.Value // "ok", "500", "slow", "json", "false", "redirect", "big", "novalid"
	calls   atomic.Int32
	badSigs atomic.Int32
}

func newLegacy(t *testing.T, email string, tls bool) *legacySystem {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	l := &legacySystem{t: t, key: key, secret: "whsec_" + base64.StdEncoding.EncodeToString(key), email: email}
	l.mode.Store("ok")
	h := http.HandlerFunc(l.serve)
	if tls {
		l.srv = httptest.NewTLSServer(h)
	} else {
		l.srv = httptest.NewServer(h)
	}
	t.Cleanup(l.srv.Close)
	return l
}

// serve checks the request the way docs/lazy-migration.md tells a legacy
// system to: the Standard Webhooks signature over id.timestamp.body with
// the key the secret's base64 encodes, and a fresh timestamp.
func (l *legacySystem) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/elsewhere" { // where "redirect" points: it must never be reached
		_, _ = w.Write([]byte(`{"valid":true}`))
		return
	}
	l.calls.Add(1)
	body, _ := io.ReadAll(r.Body)
	id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
	m := hmac.New(sha256.New, l.key)
	m.Write([]byte(id + "." + ts + "." + string(body)))
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	sec, err := strconv.ParseInt(ts, 10, 64)
	if r.Method != http.MethodPost || id == "" || err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute ||
		!hmac.Equal([]byte(r.Header.Get("webhook-signature")), []byte(want)) || r.Header.Get("Content-Type") != "application/json" {
		l.badSigs.Add(1)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var in struct{ Email, Password string }
	if err := json.Unmarshal(body, &in); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	valid := strings.EqualFold(in.Email, l.email) && in.Password == legacyPW
	switch l.mode.Load().(string) {
	case "500":
		http.Error(w, "down", http.StatusInternalServerError)
	case "slow":
		time.Sleep(700 * time.Millisecond)
		fmt.Fprintf(w, `{"valid":%v}`, valid)
	case "json":
		_, _ = w.Write([]byte(`{"valid":tru`))
	case "novalid":
		_, _ = w.Write([]byte(`{"first_name":"Grace"}`))
	case "false":
		_, _ = w.Write([]byte(`{"valid":false}`))
	case "redirect":
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	case "big":
		fmt.Fprintf(w, `{"valid":%v,"first_name":"%s"}`, valid, strings.Repeat("x", 20<<10))
	default:
		fmt.Fprintf(w, `{"valid":%v,"first_name":"Grace","last_name":"Hopper","email_verified":true}`, valid)
	}
}

// syncBuffer collects the server's log lines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newLoggedFx is newFx with the server's logs (debug and up) kept.
func newLoggedFx(t *testing.T, pg bool) (*fx, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	clk := &clock{}
	in := servertest.Start(t, servertest.Options{Postgres: pg, Now: clk.Now,
		Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	f := &fx{t: t, in: in, clk: clk, ctx: context.Background()}
	if _, err := in.Server.Settings.UpdateRedirects(f.ctx, settings.Redirects{CallbackURLs: []string{appCB}}); err != nil {
		t.Fatal(err)
	}
	f.orgID = f.org("Acme")
	return f, logs
}

// enableLazy turns lazy migration on through the REST API.
func (f *fx) enableLazy(l *legacySystem, timeoutMS int, createUnknown bool) {
	f.t.Helper()
	body := fmt.Sprintf(`{"url":%q,"secret":%q,"timeout_ms":%d,"create_unknown_users":%v}`, l.srv.URL+"/verify", l.secret, timeoutMS, createUnknown)
	if st, out := f.in.Do(f.t, f.in.Token(f.t), http.MethodPut, "/api/v1/settings/lazy-migration", body); st != http.StatusOK {
		f.t.Fatalf("enabling lazy migration: %d %v", st, out)
	}
}

func (f *fx) storedUser(email string) *store.User {
	f.t.Helper()
	u, err := f.in.Server.Store().Q().GetUserByEmail(f.ctx, f.in.Server.Bootstrap.EnvID, strings.ToLower(email))
	if err != nil {
		f.t.Fatalf("user %s: %v", email, err)
	}
	return u
}

func eachLoggedDB(t *testing.T, fn func(t *testing.T, f *fx, logs *syncBuffer)) {
	t.Run("sqlite", func(t *testing.T) { f, logs := newLoggedFx(t, false); fn(t, f, logs) })
	t.Run("postgres", func(t *testing.T) { f, logs := newLoggedFx(t, true); fn(t, f, logs) })
}

// A user imported without a password signs in with their old password:
// the endpoint is asked once, the password is kept as argon2id, the user
// is marked lazily migrated, and the next sign-in never asks again.
func TestLazyMigrationExistingUser(t *testing.T) {
	eachLoggedDB(t, func(t *testing.T, f *fx, logs *syncBuffer) {
		const email = "grace@legacy.example"
		l := newLegacy(t, email, false)
		userID := f.user(f.orgID, email, "", false)
		f.enableLazy(l, 0, false)

		b := f.browser()
		p := b.signInWithPassword(newAuthz(), email, "not the password at all")
		if p.status != http.StatusBadRequest || !strings.Contains(p.text(), "Incorrect email or password.") {
			t.Fatalf("wrong password: %d %s", p.status, p.text())
		}
		if n := l.calls.Load(); n != 1 {
			t.Fatalf("the endpoint was called %d times for a wrong password, want 1", n)
		}
		if h, err := f.in.Server.Store().Q().PasswordHash(f.ctx, f.in.Server.Bootstrap.EnvID, userID); err == nil {
			t.Fatalf("a refused password was stored: %s", h)
		}

		p = f.browser().signInWithPassword(newAuthz(), email, legacyPW)
		f.browser().toApp(p)
		if n := l.calls.Load(); n != 2 {
			t.Fatalf("endpoint calls after the right password: %d, want 2", n)
		}
		if h := f.storedHash(userID); !strings.HasPrefix(h, "$argon2id$") {
			t.Fatalf("stored hash %q, want argon2id", h)
		}
		u := f.storedUser(email)
		if u.Origin != store.OriginLazy || u.MigratedAt.IsZero() || u.LastLoginAt.Before(u.MigratedAt) {
			t.Fatalf("after the lazy migration: origin %q migrated_at %v last_login_at %v", u.Origin, u.MigratedAt, u.LastLoginAt)
		}
		if u.GivenName != "Ada" {
			t.Errorf("an existing user's profile changed: given name %q", u.GivenName)
		}

		// The second sign-in uses the stored hash; the endpoint is not asked,
		// even when it is down.
		l.mode.Store("500")
		f.browser().toApp(f.browser().signInWithPassword(newAuthz(), email, legacyPW))
		if n := l.calls.Load(); n != 2 {
			t.Fatalf("the endpoint was asked again after the migration: %d calls", n)
		}
		if n := l.badSigs.Load(); n != 0 {
			t.Fatalf("%d requests failed the documented signature check", n)
		}
		if strings.Contains(logs.String(), legacyPW) || strings.Contains(logs.String(), "not the password at all") {
			t.Fatal("a password appears in the server log")
		}
		if !strings.Contains(logs.String(), "invalid_password") {
			t.Fatalf("the refusal was not logged with its reason:\n%s", logs.String())
		}
	})
}

// Every way the endpoint can fail answers exactly as a wrong password
// does: same status, same page text, and the same throttling counters.
func TestLazyMigrationFailuresLookLikeAWrongPassword(t *testing.T) {
	eachLoggedDB(t, func(t *testing.T, f *fx, logs *syncBuffer) {
		const email = "ada@legacy.example"
		l := newLegacy(t, email, false)
		userID := f.user(f.orgID, email, "", false)
		f.enableLazy(l, 300, false)

		l.mode.Store("false")
		want := f.browser().signInWithPassword(newAuthz(), email, legacyPW)
		if want.status != http.StatusBadRequest || !strings.Contains(want.text(), "Incorrect email or password.") {
			t.Fatalf("valid:false: %d %s", want.status, want.text())
		}
		for _, mode := range []string{"500", "slow", "json", "novalid", "redirect", "big"} {
			l.mode.Store(mode)
			f.advance(10 * time.Second) // past the throttle's growing delay
			before := l.calls.Load()
			p := f.browserFrom("127.0.0."+strconv.Itoa(10+len(mode))).signInWithPassword(newAuthz(), email, legacyPW)
			if p.status != want.status || p.text() != want.text() {
				t.Errorf("%s: %d %q, want %d %q", mode, p.status, p.text(), want.status, want.text())
			}
			if l.calls.Load() != before+1 {
				t.Errorf("%s: the endpoint was not asked", mode)
			}
		}
		if _, err := f.in.Server.Store().Q().PasswordHash(f.ctx, f.in.Server.Bootstrap.EnvID, userID); err == nil {
			t.Fatal("a password was stored although the endpoint never said valid")
		}
		if f.storedUser(email).Origin == store.OriginLazy {
			t.Fatal("the user was marked migrated")
		}
		// Failures count against the account like wrong passwords: the
		// throttle holds a hit per attempt.
		th, err := f.in.Server.Store().Q().GetThrottle(f.ctx, f.in.Server.Bootstrap.EnvID, "pw:"+email)
		if err != nil || th.Hits != 7 {
			t.Fatalf("password throttle after 7 failed attempts: %+v %v", th, err)
		}
		for _, reason := range []string{"status_500", "timeout", "malformed_answer", "status_307", "too_large"} {
			if !strings.Contains(logs.String(), "reason="+reason) {
				t.Errorf("no log line with reason=%s", reason)
			}
		}
		if strings.Contains(logs.String(), legacyPW) {
			t.Fatal("the password appears in the server log")
		}

		// Lazy migration off: no endpoint, a wrong password as ever.
		if st, _ := f.in.Do(t, f.in.Token(t), http.MethodDelete, "/api/v1/settings/lazy-migration", ""); st != http.StatusOK {
			t.Fatalf("disabling: %d", st)
		}
		l.mode.Store("ok")
		f.advance(10 * time.Second)
		before := l.calls.Load()
		b := f.browserFrom("127.0.0.40")
		mails := len(f.outbox(email))
		p := b.submit(b.authorize(newAuthz()), "/login/email", map[string]string{"email": email})
		if !p.has("/login/password") || !p.has("/login/code") || len(f.outbox(email)) != mails+1 {
			t.Fatalf("lazy migration off: a user without a password should be emailed a code at once (%d emails before, %d after): %s",
				mails, len(f.outbox(email)), p.text())
		}
		p = b.submit(p, "/login/password", map[string]string{"password": legacyPW})
		if p.status != want.status || !strings.Contains(p.text(), "Incorrect email or password.") || l.calls.Load() != before {
			t.Fatalf("lazy migration off: %d %s (endpoint calls %d -> %d)", p.status, p.text(), before, l.calls.Load())
		}
	})
}

// An endpoint whose certificate does not verify is a failure too.
func TestLazyMigrationTLSErrorIsAWrongPassword(t *testing.T) {
	f, logs := newLoggedFx(t, false)
	const email = "tls@legacy.example"
	l := newLegacy(t, email, true)
	f.user(f.orgID, email, "", false)
	f.enableLazy(l, 0, false)
	p := f.browser().signInWithPassword(newAuthz(), email, legacyPW)
	if p.status != http.StatusBadRequest || !strings.Contains(p.text(), "Incorrect email or password.") {
		t.Fatalf("TLS failure: %d %s", p.status, p.text())
	}
	if !strings.Contains(logs.String(), "reason=unreachable") || strings.Contains(logs.String(), legacyPW) {
		t.Fatalf("log:\n%s", logs.String())
	}
}

// Unknown emails: never sent to the endpoint unless create_unknown_users
// is on; then a verified one becomes a user with the endpoint's profile,
// no organization, and origin lazy.
func TestLazyMigrationUnknownEmail(t *testing.T) {
	eachLoggedDB(t, func(t *testing.T, f *fx, _ *syncBuffer) {
		const email = "Hopper@Legacy.example"
		l := newLegacy(t, email, false)
		f.enableLazy(l, 0, false)

		b := f.browser()
		p := b.submit(b.authorize(newAuthz()), "/login/email", map[string]string{"email": email})
		if !p.has("/login/password") {
			t.Fatalf("an unknown email was not offered the password form: %s", p.text())
		}
		p = b.submit(p, "/login/password", map[string]string{"password": legacyPW})
		if p.status != http.StatusBadRequest || !strings.Contains(p.text(), "Incorrect email or password.") {
			t.Fatalf("unknown email, create off: %d %s", p.status, p.text())
		}
		if n := l.calls.Load(); n != 0 {
			t.Fatalf("create_unknown_users off: the endpoint was called %d times for an unknown email", n)
		}
		if _, err := f.in.Server.Store().Q().GetUserByEmail(f.ctx, f.in.Server.Bootstrap.EnvID, strings.ToLower(email)); err == nil {
			t.Fatal("a user was created")
		}

		f.enableLazy(l, 0, true)
		p = f.browser().signInWithPassword(newAuthz(), email, "wrong password here")
		if p.status != http.StatusBadRequest || l.calls.Load() != 1 {
			t.Fatalf("unknown email, wrong password: %d, %d calls", p.status, l.calls.Load())
		}
		f.browser().toApp(f.browser().signInWithPassword(newAuthz(), email, legacyPW))
		u := f.storedUser(email)
		if u.Email != email || u.GivenName != "Grace" || u.FamilyName != "Hopper" || !u.EmailVerified ||
			u.Origin != store.OriginLazy || len(u.Memberships) != 0 {
			t.Fatalf("created user: %+v", u)
		}
		if h := f.storedHash(u.ID); !strings.HasPrefix(h, "$argon2id$") {
			t.Fatalf("hash %q", h)
		}
	})
}

// With lazy migration on, failures that do not ask the endpoint (a wrong
// password of a user who has one, an unknown email it is not asked about)
// take at least as long as asking it has been taking, so a failure's time
// does not tell which kind of account the email belongs to.
func TestLazyMigrationFailuresTakeAsLongAsTheEndpoint(t *testing.T) {
	f, _ := newLoggedFx(t, false)
	const email = "slow@legacy.example"
	l := newLegacy(t, email, false)
	f.user(f.orgID, email, "", false)
	f.user(f.orgID, "haspw@legacy.example", "a perfectly fine password", false)
	f.enableLazy(l, 5000, false)
	l.mode.Store("slow") // answers after 700 ms

	timed := func(b *browser, p *page, pw string) (*page, time.Duration) {
		start := time.Now()
		p = b.submit(p, "/login/password", map[string]string{"password": pw})
		return p, time.Since(start)
	}
	b := f.browserFrom("127.0.0.51")
	p := b.submit(b.authorize(newAuthz()), "/login/email", map[string]string{"email": email})
	if _, d := timed(b, p, "wrong"+legacyPW); d < 650*time.Millisecond || l.calls.Load() != 1 {
		t.Fatalf("the endpoint answered in 700 ms but the attempt took %v (%d calls)", d, l.calls.Load())
	}
	b = f.browserFrom("127.0.0.52")
	p = b.submit(b.authorize(newAuthz()), "/login/email", map[string]string{"email": "haspw@legacy.example"})
	p, d := timed(b, p, "not the password")
	if p.status != http.StatusBadRequest || d < 600*time.Millisecond {
		t.Errorf("wrong password of a user with one: %d in %v, want a failure taking about 700 ms", p.status, d)
	}
	b = f.browserFrom("127.0.0.53")
	p = b.submit(b.authorize(newAuthz()), "/login/email", map[string]string{"email": "nobody@legacy.example"})
	p, d = timed(b, p, "not the password")
	if p.status != http.StatusBadRequest || d < 600*time.Millisecond {
		t.Errorf("unknown email: %d in %v, want a failure taking about 700 ms", p.status, d)
	}
	if l.calls.Load() != 1 {
		t.Errorf("the endpoint was asked %d times, want once", l.calls.Load())
	}
}
