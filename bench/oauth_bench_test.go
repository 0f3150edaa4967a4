package bench

// The authorization server under load, on SQLite and PostgreSQL, each
// family beside the raw cost it is bound by, measured in the same run:
//
//   BenchmarkTokenGrants   raw RSA-2048 PKCS#1 v1.5 signing (one token's
//                          worth), client_credentials grants, authorization-
//                          code exchanges (PKCE, offline_access: access, ID
//                          and refresh token), refresh rotations
//   BenchmarkKeys          a bare net/http handler serving the same JWKS
//                          bytes, and GET /keys; each with a net/http
//                          client and with a lean keep-alive client
//   BenchmarkPasswordLogin raw argon2id verification at Gatehouse's
//                          parameters, and the hosted login's password step
//                          (POST /login/password → 303 to the app with a code)
//
// Codes and refresh tokens are seeded outside the timed part: sessions are
// made with the server's Go API (Server.Sessions, as internal/oauth's tests
// do), and codes come from /oauth/authorize with their session cookie
// (single sign-on). Results and the command: docs/benchmarks.md.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/login"
	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/settings"
	"github.com/gatehouse/gatehouse/internal/signing"
)

// writerParallelism is the concurrent clients per CPU for the grants that
// write in a transaction (code exchange, refresh). At 16 per CPU these
// benchmarks once found a pool-starvation deadlock on PostgreSQL (a policy
// read through the pool inside a transaction); it is fixed, and they run at
// the same parallelism as the others so they keep guarding against it.
const writerParallelism = parallelism

const (
	benchCallback = "https://app.example/callback"
	benchVerifier = "bench-verifier-0123456789-0123456789-0123456789"
	benchPassword = "correct horse battery staple 42"
	sessionPool   = 64
)

type oauthEnv struct {
	in      *servertest.Instance
	http    *http.Client // no redirects followed
	orgID   string
	users   []string
	cookies []string // session cookie values, one per seeded session
	next    atomic.Int64
}

func setupOAuth(b *testing.B, postgres bool, nUsers int) *oauthEnv {
	in := servertest.Start(b, servertest.Options{Postgres: postgres})
	ctx := context.Background()
	e := &oauthEnv{in: in, http: &http.Client{
		Transport:     &http.Transport{MaxIdleConnsPerHost: parallelism * runtime.GOMAXPROCS(0) * 2},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	if _, err := in.Server.Settings.UpdateRedirects(ctx, settings.Redirects{CallbackURLs: []string{benchCallback}}); err != nil {
		b.Fatal(err)
	}
	name := "Bench OAuth"
	org, err := in.Server.Accounts.CreateOrganization(ctx, accounts.OrgFields{DisplayName: &name})
	if err != nil {
		b.Fatal(err)
	}
	e.orgID = org.ID
	for i := 0; i < nUsers; i++ {
		email := fmt.Sprintf("bench-login-%d@example.com", i)
		u, err := in.Server.Accounts.CreateUserAndMembership(ctx, org.ID, accounts.UserFields{Email: &email},
			accounts.MembershipFields{Roles: []string{"member"}}, false)
		if err != nil {
			b.Fatal(err)
		}
		e.users = append(e.users, u.ID)
	}
	for i := 0; i < sessionPool; i++ {
		_, cookie, err := in.Server.Sessions.Create(ctx, sessions.NewSession{UserID: e.users[i%len(e.users)], OrgID: org.ID,
			AMR: []string{"pwd"}, Cookie: true, UserAgent: "bench", IP: "127.0.0.1"})
		if err != nil {
			b.Fatal(err)
		}
		e.cookies = append(e.cookies, cookie)
	}
	return e
}

// code gets an authorization code by single sign-on with a seeded session.
func (e *oauthEnv) code() (string, error) {
	sum := sha256.Sum256([]byte(benchVerifier))
	v := url.Values{"response_type": {"code"}, "client_id": {servertest.ClientID}, "redirect_uri": {benchCallback},
		"scope": {"openid profile email offline_access"}, "state": {"s"}, "nonce": {"n"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	req, _ := http.NewRequest(http.MethodGet, e.in.URL+"/oauth/authorize?"+v.Encode(), nil)
	req.AddCookie(&http.Cookie{Name: sessions.CookieName, Value: e.cookies[int(e.next.Add(1))%len(e.cookies)]})
	resp, err := e.http.Do(req)
	if err != nil {
		return "", err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusSeeOther || loc.Query().Get("code") == "" {
		return "", fmt.Errorf("authorize: %s Location %q", resp.Status, resp.Header.Get("Location"))
	}
	return loc.Query().Get("code"), nil
}

// codes makes n codes, concurrently (codes live 60 s).
func (e *oauthEnv) codes(b *testing.B, n int) chan string {
	out := make(chan string, n)
	var wg sync.WaitGroup
	var failed atomic.Value
	work := make(chan struct{}, n)
	for i := 0; i < n; i++ {
		work <- struct{}{}
	}
	close(work)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				c, err := e.code()
				if err != nil {
					failed.Store(err)
					return
				}
				out <- c
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	close(out)
	return out
}

// token posts a grant to /oauth/token as the app (HTTP Basic).
func (e *oauthEnv) token(form url.Values) (map[string]any, error) {
	req, _ := http.NewRequest(http.MethodPost, e.in.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(servertest.ClientID, servertest.ClientSecret)
	resp, err := e.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("token %s: %s %v %v", form.Get("grant_type"), resp.Status, body, err)
	}
	return body, nil
}

func (e *oauthEnv) exchange(code string) (map[string]any, error) {
	return e.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {benchCallback},
		"code_verifier": {benchVerifier}})
}

// BenchmarkTokenGrants: the token endpoint's three grants beside the raw
// RSA-2048 signing rate.
func BenchmarkTokenGrants(b *testing.B) {
	databases(b, func(b *testing.B, postgres bool) {
		e := setupOAuth(b, postgres, 8)
		b.Run("raw-rsa2048-sign", func(b *testing.B) {
			key, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				b.Fatal(err)
			}
			// The engine the server signs with (signing.Engine: crypto/rsa,
			// or libcrypto in a build tagged openssl).
			sign, err := signing.NewDigestSigner(key)
			if err != nil {
				b.Fatal(err)
			}
			// About the size of a management access token's claims.
			payload := []byte(strings.Repeat("x", 400))
			parallel(b, func() error {
				sum := sha256.Sum256(payload)
				_, err := sign(sum[:])
				return err
			})
		})
		b.Run("client-credentials", func(b *testing.B) {
			form := url.Values{"grant_type": {"client_credentials"}}
			parallel(b, func() error { _, err := e.token(form); return err })
		})
		b.Run("authorization-code-exchange", func(b *testing.B) {
			codes := e.codes(b, b.N)
			parallelN(b, writerParallelism, func() error {
				body, err := e.exchange(<-codes)
				if err == nil && (body["refresh_token"] == nil || body["id_token"] == nil) {
					err = fmt.Errorf("exchange without refresh or ID token: %v", body)
				}
				return err
			})
		})
		b.Run("refresh-rotation", func(b *testing.B) {
			// One refresh token per client goroutine, each from its own
			// code redemption (family) on one of the seeded sessions; each
			// goroutine then rotates its own token, as a client does.
			n := writerParallelism*runtime.GOMAXPROCS(0) + 1
			seeds := make(chan string, n)
			for c := range e.codes(b, n) {
				body, err := e.exchange(c)
				if err != nil {
					b.Fatal(err)
				}
				seeds <- body["refresh_token"].(string)
			}
			b.SetParallelism(writerParallelism)
			b.ReportAllocs()
			b.ResetTimer()
			cpu := e.startCPU(postgres)
			b.RunParallel(func(pb *testing.PB) {
				rt := <-seeds
				for pb.Next() {
					body, err := e.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
					if err != nil {
						b.Error(err)
						return
					}
					rt = body["refresh_token"].(string)
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
			cpu.report(b)
		})
	})
}

// BenchmarkKeys: GET /keys beside a bare net/http handler serving the same
// bytes with the same headers on its own loopback listener.
func BenchmarkKeys(b *testing.B) {
	databases(b, func(b *testing.B, postgres bool) {
		e := setupOAuth(b, postgres, 1)
		jwks := e.in.Server.OAuth.Keys.JWKS()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		raw := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "public, max-age=300")
			_, _ = w.Write(jwks)
		}), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = raw.Serve(ln) }()
		b.Cleanup(func() { _ = raw.Close() })
		get := func(u string) error {
			resp, err := e.http.Get(u)
			if err != nil {
				return err
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || int(n) != len(jwks) {
				return fmt.Errorf("GET %s: %s, %d bytes", u, resp.Status, n)
			}
			return nil
		}
		b.Run("raw-bare-handler", func(b *testing.B) {
			u := "http://" + ln.Addr().String() + "/keys"
			parallel(b, func() error { return get(u) })
		})
		b.Run("keys", func(b *testing.B) {
			u := e.in.URL + "/keys"
			parallel(b, func() error { return get(u) })
		})
		// The same pair with a lean keep-alive client (http1_test.go), so
		// that the load generator's CPU does not hide the server's rate.
		b.Run("raw-bare-handler-lean", func(b *testing.B) {
			leanParallel(b, ln.Addr().String(), "/keys", len(jwks))
		})
		b.Run("keys-lean", func(b *testing.B) {
			leanParallel(b, strings.TrimPrefix(e.in.URL, "http://"), "/keys", len(jwks))
		})
	})
}

var (
	csrfRE = regexp.MustCompile(`name="csrf" value="([^"]*)"`)
	arRE   = regexp.MustCompile(`name="auth_request" value="([^"]*)"`)
)

// loginFlow is a browser at the password step of a sign-in.
type loginFlow struct {
	client                   *http.Client
	csrf, authRequest, email string
	cookie                   *http.Cookie // the flow cookie, once walked to the password step
}

// BenchmarkPasswordLogin: the password step of the hosted login beside
// raw argon2id verification at the same parameters.
func BenchmarkPasswordLogin(b *testing.B) {
	databases(b, func(b *testing.B, postgres bool) {
		e := setupOAuth(b, postgres, 32)
		hash, err := passwords.Hash(benchPassword)
		if err != nil {
			b.Fatal(err)
		}
		st := e.in.Server.Store()
		for _, u := range e.users {
			h, _ := passwords.Hash(benchPassword)
			if err := st.Q().SetPasswordHash(context.Background(), e.in.Server.Bootstrap.EnvID, u, h, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
		// The raw rate is the best the machine does: one verification per
		// CPU at a time (more goroutines only thrash 19 MiB each; see
		// passwords.BenchmarkVerifyConcurrency), which is also how many
		// the login runs at once. It goes through a passwords.Limiter of
		// its own, as the login's hashes do, so it has every advantage
		// they have (each slot on its own CPU where the process has CPUs
		// of its own).
		lim := passwords.NewLimiter(0)
		verify := func() error {
			if ok, _, err := lim.Verify(context.Background(), hash, benchPassword); err != nil || !ok {
				return fmt.Errorf("verify: %v %v", ok, err)
			}
			return nil
		}
		b.Run("raw-argon2id-verify", func(b *testing.B) {
			b.SetParallelism(1)
			cpu := e.startCPU(postgres)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := verify(); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
			cpu.report(b)
		})
		// Flows are started from many loopback source addresses so the
		// per-IP limit on emails typed in (200 free an hour) never applies.
		transports := map[string]*http.Transport{}
		var ipSeq int
		newFlow := func(i int) (*loginFlow, error) {
			ipSeq++
			ip := fmt.Sprintf("127.0.%d.%d", 1+ipSeq/250%250, 2+ipSeq%250)
			tr := transports[ip]
			if tr == nil {
				d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
				tr = &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4}
				transports[ip] = tr
			}
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar, Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			sum := sha256.Sum256([]byte(benchVerifier))
			v := url.Values{"response_type": {"code"}, "client_id": {servertest.ClientID}, "redirect_uri": {benchCallback},
				"scope": {"openid email"}, "state": {"s"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
				"code_challenge_method": {"S256"}}
			page, err := follow(c, e.in.URL, e.in.URL+"/oauth/authorize?"+v.Encode())
			if err != nil {
				return nil, err
			}
			f := &loginFlow{client: c}
			if err := f.read(page); err != nil {
				return nil, err
			}
			email := fmt.Sprintf("bench-login-%d@example.com", i%len(e.users))
			resp, err := c.PostForm(e.in.URL+"/login/email", url.Values{"csrf": {f.csrf}, "auth_request": {f.authRequest},
				"email": {email}})
			if err != nil {
				return nil, err
			}
			resp.Body.Close()
			next, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
			if err != nil || resp.StatusCode != http.StatusSeeOther {
				return nil, fmt.Errorf("email step: %s %v", resp.Status, err)
			}
			f.email = email
			page, err = follow(c, e.in.URL, next.String())
			if err != nil {
				return nil, err
			}
			if !strings.Contains(page, `action="/login/password"`) {
				return nil, fmt.Errorf("no password step after %s: %.300s", resp.Status, page)
			}
			for _, ck := range c.Jar.Cookies(next) {
				if ck.Name == login.FlowCookie {
					f.cookie = &http.Cookie{Name: ck.Name, Value: ck.Value}
				}
			}
			if f.cookie == nil {
				return nil, fmt.Errorf("no %s cookie after the email step", login.FlowCookie)
			}
			f.client = nil // the browser's cookie jar, not needed past here
			return f, f.read(page)
		}
		// walk makes n flows at the password step and closes the walk's
		// connections: the password step goes over one pool of keep-alive
		// connections with the flow cookie set on the request, as the
		// other benchmarks' clients do (a browser's connection and cookie
		// jar are the browser's cost, not the server's), and the walk's
		// connections (one per flow, each with a goroutine on both sides
		// for every garbage collection to scan) would make what a login
		// costs grow with b.N.
		walk := func(b *testing.B, n int) chan *loginFlow {
			flows := make(chan *loginFlow, n)
			for i := 0; i < n; i++ {
				f, err := newFlow(i)
				if err != nil {
					b.Fatal(err)
				}
				flows <- f
			}
			for _, tr := range transports {
				tr.CloseIdleConnections()
			}
			return flows
		}
		signIn := func(f *loginFlow) error {
			form := url.Values{"csrf": {f.csrf}, "auth_request": {f.authRequest}, "username": {f.email}, "password": {benchPassword}}
			req, err := http.NewRequest(http.MethodPost, e.in.URL+"/login/password", strings.NewReader(form.Encode()))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(f.cookie)
			resp, err := e.http.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, benchCallback+"?") || !strings.Contains(loc, "code=") {
				return fmt.Errorf("password step: %s Location %q", resp.Status, loc)
			}
			return nil
		}
		// warm signs in warmLogins times, untimed, so that every connection
		// of the server's pool (32 on PostgreSQL) has prepared the step's
		// two statements and PostgreSQL has settled on their plans (it
		// plans a prepared statement anew for each of a connection's first
		// five executions): the steady state of a server that has been up
		// a while, which a run of a few thousand sign-ins would otherwise
		// include a few hundred milliseconds of its database's CPU short of.
		const warmLogins = 320
		warm := func(b *testing.B, flows chan *loginFlow) {
			timedRun(b, warmLogins, parallelism*runtime.GOMAXPROCS(0), func() error { return signIn(<-flows) })
		}
		b.Run("password-login", func(b *testing.B) {
			flows := walk(b, b.N+warmLogins)
			warm(b, flows)
			cpu := e.startCPU(postgres)
			defer cpu.report(b)
			parallel(b, func() error { return signIn(<-flows) })
		})
		// The two above one after the other measure each side in its own
		// few seconds, and this VM's speed drifts by 10% from one to the
		// next (its host runs other machines' work too: argon2id's own CPU
		// time per hash moves by as much within a minute). Here the same
		// number of verifications and logins alternate in rounds of about
		// a hundred each (two seconds of hashing here), at least eight,
		// each side timed on its own, so drift falls on both. ratio is
		// logins/s over verifies/s for the whole run; median-ratio is the
		// median of the rounds' own ratios, which a burst of load landing
		// on one side of one round cannot move.
		b.Run("interleaved", func(b *testing.B) {
			flows := walk(b, b.N+warmLogins)
			warm(b, flows)
			rounds := max(8, b.N/100)
			var rawTime, loginTime time.Duration
			ratios := make([]float64, 0, rounds)
			b.ResetTimer()
			for r, done := 0, 0; done < b.N; r++ {
				n := max((b.N-done)/max(rounds-r, 1), 1)
				rt := timedRun(b, n, runtime.GOMAXPROCS(0), verify)
				lt := timedRun(b, n, parallelism*runtime.GOMAXPROCS(0), func() error { return signIn(<-flows) })
				rawTime, loginTime = rawTime+rt, loginTime+lt
				ratios = append(ratios, rt.Seconds()/lt.Seconds())
				done += n
			}
			raw, logins := float64(b.N)/rawTime.Seconds(), float64(b.N)/loginTime.Seconds()
			b.ReportMetric(raw, "verifies/s")
			b.ReportMetric(logins, "logins/s")
			b.ReportMetric(logins/raw, "ratio")
			slices.Sort(ratios)
			b.ReportMetric(ratios[len(ratios)/2], "median-ratio")
		})
	})
}

// timedRun runs op n times on workers goroutines and returns the time it
// took.
func timedRun(b *testing.B, n, workers int, op func() error) time.Duration {
	var left atomic.Int64
	left.Store(int64(n))
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				if err := op(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

func (f *loginFlow) read(page string) error {
	c, a := csrfRE.FindStringSubmatch(page), arRE.FindStringSubmatch(page)
	if c == nil || a == nil {
		return fmt.Errorf("no csrf/auth_request fields: %.300s", page)
	}
	f.csrf, f.authRequest = c[1], a[1]
	return nil
}

// follow GETs u and follows redirects within base, returning the final page.
func follow(c *http.Client, base, u string) (string, error) {
	for i := 0; i < 10; i++ {
		resp, err := c.Get(u)
		if err != nil {
			return "", err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			next, err := url.Parse(resp.Header.Get("Location"))
			if err != nil {
				return "", err
			}
			u = resp.Request.URL.ResolveReference(next).String()
			if !strings.HasPrefix(u, base) {
				return "", fmt.Errorf("redirected away to %s", u)
			}
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("GET %s: %s", u, resp.Status)
		}
		return string(body), nil
	}
	return "", fmt.Errorf("too many redirects from %s", u)
}

// parallelN is parallel with p clients per CPU.
func parallelN(b *testing.B, p int, op func() error) {
	b.SetParallelism(p)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
