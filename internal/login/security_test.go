package login_test

// SECURITY-BAR sections 3 and 4 (A01-A12, S01-S05) and O15, as they apply
// to the hosted login: each row is its own test.

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/gatehouse/gatehouse/internal/login"
	"github.com/gatehouse/gatehouse/internal/sessions"
)

// toStep starts a sign-in for email and returns the page after the email
// step (password or code).
func (b *browser) toStep(email string) *page {
	b.t.Helper()
	return b.submit(b.authorize(newAuthz()), "/login/email", map[string]string{"email": email})
}

// toPassword reaches the password step for any email (through "sign in
// with a password instead" when the email has none).
func (b *browser) toPassword(email string) *page {
	b.t.Helper()
	p := b.toStep(email)
	if p.has("/login/use-password") {
		p = b.submit(p, "/login/use-password", nil)
	}
	if !p.has("/login/password") {
		b.t.Fatalf("no password step for %s: %d %s", email, p.status, p.text())
	}
	return p
}

var waitRE = regexp.MustCompile(`(?:Wait|in) (a|\d+) (second|seconds|minutes)`)

// waitOf reads the wait a throttled page announces.
func waitOf(t *testing.T, p *page) time.Duration {
	t.Helper()
	m := waitRE.FindStringSubmatch(p.text())
	if m == nil {
		t.Fatalf("a throttled page without a wait: %s", p.text())
	}
	n := 1
	if m[1] != "a" {
		n, _ = strconv.Atoi(m[1])
	}
	if m[2] == "minutes" {
		return time.Duration(n) * time.Minute
	}
	return time.Duration(n) * time.Second
}

// TestA01LoginThrottling: (a) an attacker rotating addresses gets at most
// 100 password checks an hour on one account, with growing delays; (b) one
// address trying many usernames is throttled; (c) after the cooldown the
// right password works: no permanent lockout.
func TestA01LoginThrottling(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		f.user(f.orgID, "victim@acme.example", "the right password", false)
		var bs []*browser
		var ps []*page
		for i := range 5 {
			b := f.browserFrom(fmt.Sprintf("127.0.1.%d", i+1))
			bs, ps = append(bs, b), append(ps, b.toPassword("victim@acme.example"))
		}
		start := f.clk.Now()
		checks, throttled := 0, 0
		var waits []time.Duration
		for i := 0; i < 300 && f.clk.Now().Sub(start) < time.Hour; i++ {
			k := i % len(bs)
			p := bs[k].submit(ps[k], "/login/password", map[string]string{"password": fmt.Sprintf("guess %d", i)})
			if p.status == http.StatusForbidden { // the sign-in page expired while waiting: start again
				ps[k] = bs[k].toPassword("victim@acme.example")
				p = bs[k].submit(ps[k], "/login/password", map[string]string{"password": fmt.Sprintf("guess %d", i)})
			}
			switch p.status {
			case http.StatusBadRequest:
				checks++
			case http.StatusTooManyRequests:
				throttled++
				w := waitOf(t, p)
				waits = append(waits, w)
				f.advance(w + time.Second)
			default:
				t.Fatalf("attempt %d: %d %s", i, p.status, p.text())
			}
		}
		if checks > 100 || checks < 5 || throttled == 0 {
			t.Fatalf("in one hour: %d password checks, %d throttled answers; want 5..100 checks and throttling", checks, throttled)
		}
		if !sort.SliceIsSorted(waits, func(i, j int) bool { return waits[i] < waits[j] }) && waits[len(waits)-1] <= waits[0] {
			t.Errorf("delays do not grow: %v", waits)
		}
		if waits[len(waits)-1] <= waits[0] {
			t.Errorf("delays do not grow: %v", waits)
		}
		t.Logf("one hour of guessing: %d checks, delays %v", checks, waits)

		// (c) after the cooldown the owner gets in.
		f.advance(16 * time.Minute)
		b := f.browserFrom("127.0.1.9")
		a := newAuthz()
		b.callback(b.signInWithPassword(a, "victim@acme.example", "the right password"), a)

		// (b) one address, many usernames.
		b = f.browserFrom("127.0.2.1")
		limited := false
		for i := 0; i < 80 && !limited; i++ {
			p := b.toPassword(fmt.Sprintf("user%d@spray.example", i))
			p = b.submit(p, "/login/password", map[string]string{"password": "Spring2024!"})
			limited = p.status == http.StatusTooManyRequests
		}
		if !limited {
			t.Fatal("80 usernames from one address were never throttled")
		}
		// Other addresses are not affected.
		p := f.browserFrom("127.0.2.2").toPassword("someone@spray.example")
		if p = f.browserFrom("127.0.2.2").submit(p, "/login/password", map[string]string{"password": "x"}); p.status == http.StatusTooManyRequests {
			t.Error("the per-address limit hit another address")
		}
	})
}

// normalize removes what legitimately differs between two answers: the
// email typed, CSRF tokens, nonces and ids.
var volatile = []*regexp.Regexp{
	regexp.MustCompile(`name="csrf" value="[^"]*"`),
	regexp.MustCompile(`name="auth_request" value="[^"]*"`),
	regexp.MustCompile(`nonce="[^"]*"`),
	regexp.MustCompile(`auth_request=[A-Za-z0-9_]+`),
}

func normalize(s, email string) string {
	s = strings.ReplaceAll(s, email, "EMAIL")
	for _, re := range volatile {
		s = re.ReplaceAllString(s, "X")
	}
	return s
}

func headersOf(p *page) string {
	var keys []string
	for k := range p.header {
		switch k {
		case "Date", "X-Request-Id", "Content-Length", "Location":
			continue
		case "Set-Cookie": // the names and attributes, not the random values
			var cs []string
			for _, c := range p.header[k] {
				cs = append(cs, regexp.MustCompile(`^([^=]*)=[^;]*`).ReplaceAllString(c, "$1=X"))
			}
			keys = append(keys, k+": "+strings.Join(cs, ","))
			continue
		case "Content-Security-Policy":
			keys = append(keys, k+": "+regexp.MustCompile(`'nonce-[^']*'`).ReplaceAllString(p.header.Get(k), "N"))
			continue
		}
		keys = append(keys, k+": "+strings.Join(p.header[k], ","))
	}
	sort.Strings(keys)
	return strings.Join(keys, "\n")
}

// same fails unless two answers are identical apart from the email and
// the volatile values.
func same(t *testing.T, what string, p1 *page, e1 string, p2 *page, e2 string) {
	t.Helper()
	if p1.status != p2.status {
		t.Errorf("%s: status %d vs %d", what, p1.status, p2.status)
	}
	if p1.framing != p2.framing {
		t.Errorf("%s: Transfer-Encoding %q vs %q", what, p1.framing, p2.framing)
	}
	if normalize(p1.location, e1) != normalize(p2.location, e2) {
		t.Errorf("%s: Location %q vs %q", what, p1.location, p2.location)
	}
	if h1, h2 := headersOf(p1), headersOf(p2); h1 != h2 {
		t.Errorf("%s: headers differ:\n%s\n--\n%s", what, h1, h2)
	}
	if b1, b2 := normalize(p1.body, e1), normalize(p2.body, e2); b1 != b2 {
		t.Errorf("%s: bodies differ:\n%s\n--\n%s", what, b1, b2)
	}
}

// TestA02NoEnumeration: the answers for an existing and an unknown email
// are identical on every page that takes an email: the email step (for
// an account with a password and one without: the redirect, its headers
// and cookies, and the page after it), a password attempt, "email me a
// code", forgot-password, and sign-up.
func TestA02NoEnumeration(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		f.user(f.orgID, "known@acme.example", "", false)
		f.user(f.orgID, "haspw@acme.example", "a good password", false)
		const unknown = "nobody@acme.example"
		step := func(email string, signup bool) (*page, *page) {
			b := f.browser()
			p := b.authorize(newAuthz())
			fields := map[string]string{"email": email}
			if signup {
				fields["intent"] = "signup"
			}
			raw := b.submitRaw(p, "/login/email", fields)
			return raw, b.follow(raw)
		}
		rk, pk := step("known@acme.example", false)
		rp, pp := step("haspw@acme.example", false)
		ru, pu := step(unknown, false)
		same(t, "email step, no password (redirect)", rk, "known@acme.example", ru, unknown)
		same(t, "email step, no password (page)", pk, "known@acme.example", pu, unknown)
		same(t, "email step, a password (redirect)", rp, "haspw@acme.example", ru, unknown)
		same(t, "email step, a password (page)", pp, "haspw@acme.example", pu, unknown)
		if !pp.has("/login/password") || !pp.has("/login/code") || !pp.has("/login/code/send") {
			t.Errorf("the step after the email lacks the password or the code form: %s", pp.text())
		}
		// Same pages, different emails: the comparison is about something.
		if got := len(f.outbox("known@acme.example")); got != 1 {
			t.Errorf("the account without a password got %d emails, want its code", got)
		}
		if got := len(f.outbox("haspw@acme.example")); got != 0 {
			t.Errorf("the account with a password got %d emails before asking for a code", got)
		}
		r1, p1 := step("haspw@acme.example", true)
		r2, p2 := step(unknown+".signup", true)
		same(t, "sign-up (redirect)", r1, "haspw@acme.example", r2, unknown+".signup")
		same(t, "sign-up (page)", p1, "haspw@acme.example", p2, unknown+".signup")

		pw := func(email string) *page {
			b := f.browser()
			return b.submit(b.toPassword(email), "/login/password", map[string]string{"password": "wrong password"})
		}
		same(t, "password attempt", pw("haspw@acme.example"), "haspw@acme.example", pw(unknown), unknown)
		same(t, "password attempt (account without a password)", pw("known@acme.example"), "known@acme.example", pw(unknown), unknown)

		sendCode := func(email string) *page {
			b := f.browser()
			return b.submitRaw(b.toPassword(email), "/login/code/send", nil)
		}
		same(t, "email me a code", sendCode("haspw@acme.example"), "haspw@acme.example", sendCode(unknown), unknown)

		forgot := func(email string) *page {
			b := f.browser()
			p := b.get("/login/forgot")
			return b.submitRaw(p, "/login/forgot", map[string]string{"email": email})
		}
		same(t, "forgot password", forgot("haspw@acme.example"), "haspw@acme.example", forgot(unknown), unknown)
		if len(f.outbox("haspw@acme.example")) == 0 {
			t.Error("the known account got no email: the comparison proves nothing")
		}
	})
}

// setPassword sets a user's password through the emailed link and
// returns the answer.
func (f *fx) setPassword(email, pw string) *page {
	f.t.Helper()
	f.advance(time.Hour) // past the hourly limit of emails to one address
	b := f.browser()
	p := b.get("/login/forgot")
	b.submit(p, "/login/forgot", map[string]string{"email": email})
	p = b.get(f.lastLink(email, resetRE))
	return b.submitRaw(p, "/login/reset", map[string]string{"new_password": pw})
}

// TestA04PasswordPolicy: at least 8 characters, 64 and 128 accepted, any
// Unicode, no composition rules, common passwords refused; the field is
// type=password and paste is not blocked.
func TestA04PasswordPolicy(t *testing.T) {
	f := newFx(t, false, nil)
	f.user(f.orgID, "policy@acme.example", "", false)
	// pass1234 and lionking rank 2,117 and 2,133 in zxcvbn's password list;
	// jennifer was moved out of it to its list of names.
	for _, pw := range []string{"seven77", "password1", "Password1", "iloveyou", "1qaz2wsx", "policy@acme.example",
		"pass1234", "PASS1234", "LionKing", "Jennifer"} {
		if p := f.setPassword("policy@acme.example", pw); p.status != http.StatusBadRequest || p.has("/login/reset") == false {
			t.Errorf("%q accepted: %d %s", pw, p.status, p.text())
		}
	}
	for _, pw := range []string{"eight8x8", strings.Repeat("abcdefgh", 8), strings.Repeat("0123456789abcdef", 8),
		"  🙂 ünïcödé   spaces  ", "nocapsnodigits"} {
		p := f.setPassword("policy@acme.example", pw)
		if p.status != http.StatusOK {
			t.Errorf("%q (%d chars) refused: %s", pw, len([]rune(pw)), p.text())
			continue
		}
		b := f.browser()
		a := newAuthz()
		b.callback(b.signInWithPassword(a, "policy@acme.example", pw), a)
	}
	b := f.browser()
	for _, p := range []*page{b.toPassword("policy@acme.example"), b.get(f.lastLink("policy@acme.example", resetRE))} {
		for _, name := range []string{"password", "new_password"} {
			if in := p.input(name); in != nil {
				if attr(in, "type") != "password" || strings.Contains(p.body, "onpaste") || attr(in, "autocomplete") == "off" {
					t.Errorf("%s field: %v", name, in.Attr)
				}
			}
		}
	}
}

// TestA05PasswordExact: a 100-byte password; its first 72 bytes, another
// case, a trailing space and another Unicode normal form all fail.
func TestA05PasswordExact(t *testing.T) {
	f := newFx(t, false, nil)
	f.user(f.orgID, "exact@acme.example", "", false)
	pw := "Crème brûlée " + strings.Repeat("x", 100-len("Crème brûlée "))
	pw = norm.NFC.String(pw)
	if len(pw) != 100 {
		t.Fatalf("test password is %d bytes", len(pw))
	}
	if p := f.setPassword("exact@acme.example", pw); p.status != http.StatusOK {
		t.Fatalf("set: %s", p.text())
	}
	for _, bad := range []string{pw[:72], strings.ToUpper(pw), pw + " ", norm.NFD.String(pw)} {
		b := f.browser()
		if p := b.submit(b.toPassword("exact@acme.example"), "/login/password", map[string]string{"password": bad}); p.status != http.StatusBadRequest {
			t.Errorf("variant %q accepted: %d", bad, p.status)
		}
	}
	b := f.browser()
	a := newAuthz()
	b.callback(b.signInWithPassword(a, "exact@acme.example", pw), a)
}

// TestA06PasswordHashParameters: the same password for two users gives
// two argon2id hashes with their own salts, at OWASP's parameters.
func TestA06PasswordHashParameters(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		u1 := f.user(f.orgID, "one@acme.example", "", false)
		u2 := f.user(f.orgID, "two@acme.example", "", false)
		for _, e := range []string{"one@acme.example", "two@acme.example"} {
			if p := f.setPassword(e, "shared passphrase"); p.status != http.StatusOK {
				t.Fatal(p.text())
			}
		}
		h1, h2 := f.storedHash(u1), f.storedHash(u2)
		if h1 == h2 {
			t.Fatal("two users with one password have one hash")
		}
		for _, h := range []string{h1, h2} {
			parts := strings.Split(h, "$")
			if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v=19" || parts[3] != "m=19456,t=2,p=1" {
				t.Fatalf("hash %s", h)
			}
			if salt, err := base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(salt) < 16 {
				t.Fatalf("salt of %s: %d bytes", h, len(salt))
			}
		}
	})
}

// TestA08EmailOTP: 6 CSPRNG digits, stored hashed, single use, ended by a
// newer code, dead after 10 minutes, refused in another browser's flow.
func TestA08EmailOTP(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		f.user(f.orgID, "otp@acme.example", "", false)
		const email = "otp@acme.example"

		// Stored hashed.
		b := f.browser()
		p := b.toStep(email)
		code := f.lastCode(email)
		rows, err := f.in.Server.Store().DB().QueryContext(context.Background(), `SELECT code_hash, link_hash FROM login_challenges`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var ch, lh string
			_ = rows.Scan(&ch, &lh)
			if strings.Contains(ch, code) && len(ch) < 64 || len(ch) != 64 || len(lh) != 64 {
				t.Errorf("stored code %q, link %q", ch, lh)
			}
		}
		rows.Close()

		// Single use: the same code again (replayed form) is refused.
		v := p.form(t, "/login/code")
		v.Set("code", code)
		ok := b.post("/login/code", v)
		b.toApp(b.follow(ok))
		if again := b.post("/login/code", v); again.status != http.StatusForbidden {
			t.Errorf("replayed code: %d", again.status)
		}

		// A newer code ends the older one.
		b = f.browser()
		p = b.toStep(email)
		old := f.lastCode(email)
		p = b.submit(p, "/login/code/send", nil)
		newer := f.lastCode(email)
		if old == newer {
			t.Skip("two codes in a row were equal (one chance in a million)")
		}
		if r := b.submit(p, "/login/code", map[string]string{"code": old}); r.status != http.StatusBadRequest {
			t.Errorf("the old code still works: %d", r.status)
		}
		b.toApp(b.submitRaw(p, "/login/code", map[string]string{"code": newer}))

		// Expiry.
		b = f.browser()
		p = b.toStep(email)
		f.advance(10*time.Minute + time.Second)
		if r := b.submit(p, "/login/code", map[string]string{"code": f.lastCode(email)}); r.status != http.StatusBadRequest {
			t.Errorf("a code older than 10 minutes works: %d", r.status)
		}

		// Bound to its flow: browser B cannot use A's code.
		f.advance(time.Hour) // past the hourly limit of codes sent to one address
		bb := f.browser()
		pb := bb.toStep(email)
		f.in.Server.Login.Wait() // B's code is stored (after the answer) before A asks for one
		ba := f.browser()
		pa := ba.toStep(email) // A's code (B's is superseded: only one code lives)
		codeA := f.lastCode(email)
		if r := bb.submit(pb, "/login/code", map[string]string{"code": codeA}); r.status != http.StatusBadRequest {
			t.Errorf("another browser's code works: %d", r.status)
		}
		ba.toApp(ba.submitRaw(pa, "/login/code", map[string]string{"code": codeA}))
	})
}

// TestA09OTPBruteForce: five wrong codes kill a code; asking for new codes
// does not reset the account's budget of wrong codes (20 an hour).
func TestA09OTPBruteForce(t *testing.T) {
	f := newFx(t, false, nil)
	const email = "brute@acme.example"
	f.user(f.orgID, email, "", false)
	b := f.browser()
	p := b.toStep(email)
	code := f.lastCode(email)
	wrong := func(c string) string { n, _ := strconv.Atoi(c); return fmt.Sprintf("%06d", (n+1)%1000000) }
	for i := 0; i < login.MaxCodeTries; i++ {
		if r := b.submit(p, "/login/code", map[string]string{"code": wrong(code)}); r.status != http.StatusBadRequest {
			t.Fatalf("wrong code %d: %d", i, r.status)
		}
	}
	if r := b.submit(p, "/login/code", map[string]string{"code": code}); r.status != http.StatusBadRequest {
		t.Fatalf("the right code works after 5 wrong ones: %d", r.status)
	}

	start := f.clk.Now()
	checked := login.MaxCodeTries
	for i := 0; i < 200 && f.clk.Now().Sub(start) < time.Hour; i++ {
		r := b.submit(p, "/login/code/send", nil)
		if strings.Contains(r.text(), "several codes recently") {
			f.advance(waitOf(t, r) + time.Second)
			continue
		}
		code = f.lastCode(email)
		for j := 0; j < login.MaxCodeTries; j++ {
			r := b.submit(p, "/login/code", map[string]string{"code": wrong(code)})
			if r.status == http.StatusTooManyRequests {
				f.advance(waitOf(t, r) + time.Second)
				break
			}
			if strings.Contains(r.text(), "not right") {
				checked++
			}
			if strings.Contains(r.text(), "can no longer be used") {
				break
			}
		}
	}
	if checked > 20 {
		t.Fatalf("%d wrong codes were checked for one account within an hour; want at most 20", checked)
	}
	t.Logf("wrong codes checked in an hour: %d (success chance %.0e)", checked, float64(checked)/1e6)
}

// TestA10MagicLink: a 256-bit token; GET only confirms; another browser,
// a second use and an expired link are refused.
func TestA10MagicLink(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		const email = "ml@acme.example"
		f.user(f.orgID, email, "", false)
		b := f.browser()
		b.toStep(email)
		link := f.lastLink(email, linkRE)
		token := mustURL(t, link).Query().Get("token")
		if raw, err := base64.RawURLEncoding.DecodeString(token); err != nil || len(raw) < 16 {
			t.Fatalf("token %q: %d bytes", token, len(raw))
		}
		if p := f.browser().get(link); p.status != http.StatusBadRequest || !strings.Contains(p.text(), "where you started") {
			t.Errorf("another browser: %d %s", p.status, p.text())
		}
		p := b.get(link)
		v := p.form(t, "/login/link")
		b.toApp(b.post("/login/link", v))
		if again := b.get(link); again.status != http.StatusBadRequest {
			t.Errorf("a used link shows its form again: %d", again.status)
		}
		if again := b.post("/login/link", v); again.status != http.StatusForbidden && again.status != http.StatusBadRequest {
			t.Errorf("a used link works again: %d", again.status)
		}

		b = f.browser()
		b.toStep(email)
		link = f.lastLink(email, linkRE)
		f.advance(login.CodeTTL + time.Second)
		if p := b.get(link); p.status != http.StatusBadRequest {
			t.Errorf("an expired link: %d", p.status)
		}
	})
}

// TestA11EmailedLinksUsePublicURL: links in emails never come from the
// request's Host or forwarded headers.
func TestA11EmailedLinksUsePublicURL(t *testing.T) {
	f := newFx(t, false, nil)
	const email = "host@acme.example"
	f.user(f.orgID, email, "a fine password", false)
	b := f.browser()
	b.header.Set("X-Forwarded-Host", "evil.test")
	b.header.Set("X-Forwarded-Proto", "https")
	b.header.Set("Forwarded", "host=evil.test;proto=https")
	p := b.toPassword(email)
	b.submit(p, "/login/code/send", nil)
	p = b.get("/login/forgot")
	b.submit(p, "/login/forgot", map[string]string{"email": email})
	// And with Host itself replaced (the flow cookie sent by hand: a cookie
	// jar would file it under evil.test).
	flowCookie := &http.Cookie{Name: login.FlowCookie, Value: cookieOf(b, login.FlowCookie)}
	plain := &http.Client{CheckRedirect: b.hc.CheckRedirect}
	req, _ := http.NewRequest(http.MethodGet, f.in.URL+"/login/forgot", nil)
	req.Host = "evil.test"
	req.AddCookie(flowCookie)
	resp, err := plain.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	v := b.get("/login/forgot").form(t, "/login/forgot")
	v.Set("email", email)
	req, _ = http.NewRequest(http.MethodPost, f.in.URL+"/login/forgot", strings.NewReader(v.Encode()))
	req.Host = "evil.test"
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Host", "evil.test")
	req.AddCookie(flowCookie)
	if resp, err = plain.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("forgot with Host evil.test: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	ms := f.outbox(email)
	if len(ms) < 3 {
		t.Fatalf("%d emails", len(ms))
	}
	for _, m := range ms {
		if strings.Contains(m.Body, "evil.test") || !strings.Contains(m.Body, f.in.URL+"/login/") {
			t.Errorf("email %s: %s", m.Kind, m.Body)
		}
	}
}

// TestA12ResetAndCredentialChange: reset links are single use and short
// lived; a reset ends every session; there are no default credentials.
func TestA12ResetAndCredentialChange(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		const email = "a12@acme.example"
		uid := f.user(f.orgID, email, "first password", false)
		signedIn := f.browser()
		a := newAuthz()
		signedIn.callback(signedIn.signInWithPassword(a, email, "first password"), a)
		ses := liveSessions(t, f, uid)
		if len(ses) != 1 {
			t.Fatalf("%d sessions", len(ses))
		}

		if p := f.setPassword(email, "second password"); p.status != http.StatusOK {
			t.Fatal(p.text())
		}
		if n := len(liveSessions(t, f, uid)); n != 0 {
			t.Errorf("%d sessions survive a password reset", n)
		}
		if p := signedIn.authorize(newAuthz()); !p.has("/login/email") {
			t.Errorf("the old browser session still signs in: %d %s", p.status, p.location)
		}

		// Used twice, and expired.
		b := f.browser()
		b.submit(b.get("/login/forgot"), "/login/forgot", map[string]string{"email": email})
		link := f.lastLink(email, resetRE)
		p := b.get(link)
		if r := b.submitRaw(p, "/login/reset", map[string]string{"new_password": "third password"}); r.status != http.StatusOK {
			t.Fatal(r.text())
		}
		if r := b.submitRaw(p, "/login/reset", map[string]string{"new_password": "fourth password"}); r.status != http.StatusBadRequest {
			t.Errorf("a reset link used twice: %d", r.status)
		}
		b.submit(b.get("/login/forgot"), "/login/forgot", map[string]string{"email": email})
		link = f.lastLink(email, resetRE)
		f.advance(login.ResetTTL + time.Second)
		if r := b.get(link); r.status != http.StatusBadRequest {
			t.Errorf("an expired reset link: %d", r.status)
		}

		// No default credentials on a fresh install.
		for _, e := range []string{"admin@localhost.localdomain", "admin@example.com"} {
			b := f.browser()
			if r := b.submit(b.toPassword(e), "/login/password", map[string]string{"password": "admin"}); r.status != http.StatusBadRequest {
				t.Errorf("%s/admin: %d", e, r.status)
			}
		}
	})
}

func liveSessions(t *testing.T, f *fx, uid string) []*sessions.Session {
	t.Helper()
	list, _, _, err := f.in.Server.Sessions.ListForUser(f.ctx, uid, sessions.ListFilter{Statuses: []string{"ACTIVE"}}, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func cookieOf(b *browser, name string) string {
	u, _ := url.Parse(b.f.in.URL)
	for _, c := range b.hc.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// TestS01SessionFixation: a planted flow cookie is ignored; the flow
// cookie changes when the user authenticates; every sign-in makes a new
// session and revokes the browser's previous one.
func TestS01SessionFixation(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		const email = "fix@acme.example"
		uid := f.user(f.orgID, email, "a fine password", false)
		b := f.browser()
		u, _ := url.Parse(f.in.URL)
		planted := strings.Repeat("A", 43)
		b.hc.Jar.SetCookies(u, []*http.Cookie{{Name: login.FlowCookie, Value: planted, Path: "/"},
			{Name: sessions.CookieName, Value: strings.Repeat("B", 43), Path: "/"}})
		p := b.toPassword(email)
		before := cookieOf(b, login.FlowCookie)
		if before == planted || before == "" {
			t.Fatalf("the planted flow cookie was kept: %q", before)
		}
		// Authenticate with a second organization so the flow lives on to the picker.
		second := f.org("Second")
		f.member(uid, second)
		p = b.submit(p, "/login/password", map[string]string{"password": "a fine password"})
		if after := cookieOf(b, login.FlowCookie); after == before || after == "" {
			t.Errorf("the flow cookie did not change at authentication")
		}
		a := newAuthz()
		_ = a
		p = b.submitRaw(p, "/login/organization", map[string]string{"organization_id": f.orgID})
		first := cookieOf(b, sessions.CookieName)
		if first == "" || first == strings.Repeat("B", 43) {
			t.Fatalf("session cookie %q", first)
		}
		s1 := liveSessions(t, f, uid)

		a = newAuthz()
		a.extra = url.Values{"prompt": {"login"}}
		p = b.submit(b.authorize(a), "/login/email", map[string]string{"email": email})
		p = b.submit(p, "/login/password", map[string]string{"password": "a fine password"})
		b.callback(b.submitRaw(p, "/login/organization", map[string]string{"organization_id": f.orgID}), a)
		if second := cookieOf(b, sessions.CookieName); second == first {
			t.Error("re-authentication kept the session cookie")
		}
		old, err := f.in.Server.Sessions.Get(f.ctx, s1[0].ID)
		if err != nil || old.RevokedAt.IsZero() {
			t.Errorf("the previous session is still live after a new sign-in (%v)", err)
		}
	})
}

// TestS02CookieAttributes: __Host-, Secure, HttpOnly, SameSite=Lax,
// Path=/, no Domain, for the session and the flow cookie; the session
// value is never in a body or URL.
func TestS02CookieAttributes(t *testing.T) {
	f := newFx(t, false, nil)
	f.user(f.orgID, "cookie@acme.example", "a fine password", false)
	b := f.browser()
	p := b.authorize(newAuthz())
	p = b.submit(p, "/login/email", map[string]string{"email": "cookie@acme.example"})
	raw := b.submitRaw(p, "/login/password", map[string]string{"password": "a fine password"})
	if raw.status != http.StatusSeeOther {
		t.Fatalf("password POST answered %d, want 303", raw.status)
	}
	var sessionLine string
	for _, line := range raw.header.Values("Set-Cookie") {
		name := strings.SplitN(line, "=", 2)[0]
		if name != sessions.CookieName && name != login.FlowCookie {
			t.Errorf("unexpected cookie %s", line)
			continue
		}
		if name == sessions.CookieName {
			sessionLine = line
		}
		for _, want := range []string{"Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
			if !strings.Contains(line, want) {
				t.Errorf("%s lacks %s", line, want)
			}
		}
		if strings.Contains(strings.ToLower(line), "domain=") || !strings.HasPrefix(name, "__Host-") {
			t.Errorf("bad cookie %s", line)
		}
	}
	if sessionLine == "" {
		t.Fatal("no session cookie at sign-in")
	}
	value := strings.SplitN(strings.SplitN(sessionLine, ";", 2)[0], "=", 2)[1]
	if len(value) < 43 || strings.Contains(raw.body, value) || strings.Contains(raw.location, value) {
		t.Errorf("session value leaks or is short: %q", value)
	}
}

// TestS05CSRF: every login form refuses a POST without this browser's
// token, with another browser's, from another origin, or as a cross-site
// form.
func TestS05CSRF(t *testing.T) {
	f := newFx(t, false, nil)
	f.user(f.orgID, "csrf@acme.example", "a fine password", false)
	victim := f.browser()
	p := victim.toPassword("csrf@acme.example")
	attacker := f.browser()
	ap := attacker.toPassword("csrf@acme.example")
	good := p.form(t, "/login/password")
	good.Set("password", "a fine password")
	cases := map[string]func() *page{
		"no token": func() *page {
			v := url.Values{"password": {"a fine password"}, "auth_request": {good.Get("auth_request")}}
			return victim.post("/login/password", v)
		},
		"another browser's token": func() *page {
			v := ap.form(t, "/login/password")
			v.Set("password", "a fine password")
			return victim.post("/login/password", v)
		},
		"Origin evil": func() *page {
			req, _ := http.NewRequest(http.MethodPost, f.in.URL+"/login/password", strings.NewReader(good.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", "https://evil.test")
			return victim.do(req)
		},
		"cross-site form": func() *page {
			req, _ := http.NewRequest(http.MethodPost, f.in.URL+"/login/password", strings.NewReader(good.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			return victim.do(req)
		},
	}
	for name, fn := range cases {
		if r := fn(); r.status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, r.status)
		}
	}
	for _, action := range []string{"/login/email", "/login/code", "/login/code/send", "/login/organization", "/login/signup",
		"/login/forgot", "/login/reset", "/login/link", "/login/restart", "/login/use-password"} {
		if r := victim.post(action, url.Values{"csrf": {"forged"}}); r.status != http.StatusForbidden {
			t.Errorf("%s with a forged token: %d", action, r.status)
		}
	}
	// The genuine form still works.
	if r := victim.post("/login/password", good); r.status != http.StatusSeeOther {
		t.Errorf("the genuine form: %d", r.status)
	}
}

// TestO15BrowserHygiene: no framing, no CORS, 303 after credential POSTs,
// and a foreign return_to or next is ignored.
func TestO15BrowserHygiene(t *testing.T) {
	f := newFx(t, false, nil)
	f.user(f.orgID, "o15@acme.example", "a fine password", false)
	b := f.browser()
	b.header.Set("Origin", "https://evil.test")
	a := newAuthz()
	a.extra = url.Values{"return_to": {"https://evil.test/"}, "next": {"https://evil.test/"}}
	p := b.authorize(a)
	check := func(what string, p *page) {
		t.Helper()
		if !strings.Contains(p.header.Get("Content-Security-Policy"), "frame-ancestors 'none'") || p.header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: CSP %q XFO %q", what, p.header.Get("Content-Security-Policy"), p.header.Get("X-Frame-Options"))
		}
		if p.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s: CORS header", what)
		}
		if strings.Contains(p.header.Get("Content-Security-Policy"), "unsafe-inline") || p.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: CSP %q Cache-Control %q", what, p.header.Get("Content-Security-Policy"), p.header.Get("Cache-Control"))
		}
	}
	check("login page", p)
	p = b.follow(b.get(p.url.String() + "&return_to=https%3A%2F%2Fevil.test%2F&next=https%3A%2F%2Fevil.test%2F"))
	b.header.Del("Origin")
	raw := b.submitRaw(p, "/login/email", map[string]string{"email": "o15@acme.example"})
	if raw.status != http.StatusSeeOther {
		t.Errorf("email POST: %d", raw.status)
	}
	p = b.follow(raw)
	check("password page", p)
	raw = b.submitRaw(p, "/login/password", map[string]string{"password": "a fine password"})
	if raw.status != http.StatusSeeOther || !strings.HasPrefix(raw.location, appCB+"?") {
		t.Fatalf("after the credential POST: %d %q (want 303 to the app, not evil.test)", raw.status, raw.location)
	}
}
