package login_test

// A small browser for driving the login pages over HTTP: a cookie jar,
// no automatic redirects (each hop is checked), and forms read from the
// HTML, so the tests submit what a person would.

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/settings"
	"github.com/gatehouse/gatehouse/internal/store"
)

const appCB = "https://app.example/cb"

// clock is real time plus an offset the test can move forward.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().UTC().Truncate(time.Microsecond).Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// fx is a server with a registered callback and an organization.
type fx struct {
	t     *testing.T
	in    *servertest.Instance
	clk   *clock
	orgID string
	ctx   context.Context
}

// advance moves the fake clock on once the work queued after earlier answers
// (challenges, emails, auth-log rows) has run, so that work is stamped with
// the time the user asked, not a later one: a challenge stored after the
// jump would look 10 minutes younger than it is.
func (f *fx) advance(d time.Duration) {
	f.in.Server.Login.Wait()
	f.clk.Advance(d)
}

// count runs a SELECT COUNT(*) (or any one-integer query) on the server's
// database.
func (f *fx) count(query string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.in.Server.Store().DB().QueryRowContext(f.ctx, query, args...).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// eachDB runs fn on a fresh SQLite server and a fresh PostgreSQL server.
func eachDB(t *testing.T, fn func(t *testing.T, f *fx)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newFx(t, false, nil)) })
	t.Run("postgres", func(t *testing.T) { fn(t, newFx(t, true, nil)) })
}

func newFx(t *testing.T, pg bool, configure func(*config.Config)) *fx {
	t.Helper()
	clk := &clock{}
	o := servertest.Options{Postgres: pg, Now: clk.Now}
	if configure != nil {
		o.Configure = configure
	}
	in := servertest.Start(t, o)
	f := &fx{t: t, in: in, clk: clk, ctx: context.Background()}
	if _, err := in.Server.Settings.UpdateRedirects(f.ctx, settings.Redirects{CallbackURLs: []string{appCB}}); err != nil {
		t.Fatal(err)
	}
	f.orgID = f.org("Acme")
	return f
}

func (f *fx) org(name string) string {
	f.t.Helper()
	o, err := f.in.Server.Accounts.CreateOrganization(f.ctx, accounts.OrgFields{DisplayName: &name})
	if err != nil {
		f.t.Fatal(err)
	}
	return o.ID
}

// user creates an active member of orgID (invite: a pending invitation
// instead), with a password when pw is not empty.
func (f *fx) user(orgID, email, pw string, invite bool) string {
	f.t.Helper()
	first := "Ada"
	u, err := f.in.Server.Accounts.CreateUserAndMembership(f.ctx, orgID, accounts.UserFields{Email: &email,
		Profile: accounts.ProfileFields{FirstName: &first}}, accounts.MembershipFields{}, invite)
	if err != nil {
		f.t.Fatal(err)
	}
	if pw != "" {
		f.setHash(u.ID, mustHash(f.t, pw))
	}
	return u.ID
}

func (f *fx) setHash(userID, hash string) {
	f.t.Helper()
	if err := f.in.Server.Store().Q().SetPasswordHash(f.ctx, f.in.Server.Bootstrap.EnvID, userID, hash, f.clk.Now()); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fx) storedHash(userID string) string {
	f.t.Helper()
	h, err := f.in.Server.Store().Q().PasswordHash(f.ctx, f.in.Server.Bootstrap.EnvID, userID)
	if err != nil {
		f.t.Fatal(err)
	}
	return h
}

func (f *fx) member(userID, orgID string) {
	f.t.Helper()
	if _, err := f.in.Server.Accounts.CreateMembership(f.ctx, orgID, accounts.Ref{ID: userID}, accounts.MembershipFields{}, false); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fx) getUser(userID string) *store.User {
	f.t.Helper()
	u, err := f.in.Server.Accounts.GetUser(f.ctx, accounts.Ref{ID: userID})
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

var hashCache sync.Map

func mustHash(t *testing.T, pw string) string {
	t.Helper()
	if h, ok := hashCache.Load(pw); ok {
		return h.(string)
	}
	h, err := passwords.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	hashCache.Store(pw, h)
	return h
}

// browser is one browser: its own cookies, optionally its own source address.
type browser struct {
	t  *testing.T
	f  *fx
	hc *http.Client
	// header is added to every request.
	header http.Header
}

func (f *fx) browser() *browser { return f.browserFrom("") }

// browserFrom is a browser whose connections come from a loopback address
// of its own (127.0.0.x), for per-IP limits.
func (f *fx) browserFrom(ip string) *browser {
	jar, _ := cookiejar.New(nil)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if ip != "" {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		tr.DialContext = d.DialContext
	}
	return &browser{t: f.t, f: f, header: http.Header{}, hc: &http.Client{Jar: jar, Transport: tr, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is one response as the browser saw it.
type page struct {
	status   int
	url      *url.URL
	header   http.Header
	body     string
	location string
	doc      *html.Node
	// framing is how the body was sent (chunked, or a length), which Go's
	// client keeps out of header.
	framing string
}

func (b *browser) do(req *http.Request) *page {
	b.t.Helper()
	for k, v := range b.header {
		req.Header[k] = v
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	p := &page{status: resp.StatusCode, url: req.URL, header: resp.Header, body: string(raw), location: resp.Header.Get("Location"),
		framing: strings.Join(resp.TransferEncoding, ",")}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		if p.doc, err = html.Parse(strings.NewReader(p.body)); err != nil {
			b.t.Fatal(err)
		}
	}
	return p
}

func (b *browser) get(u string) *page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.abs(u), nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(u string, v url.Values) *page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.abs(u), strings.NewReader(v.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *browser) abs(u string) string {
	if strings.HasPrefix(u, "/") {
		return b.f.in.URL + u
	}
	return u
}

// follow follows redirects within the server and returns the first
// answer that is not one, or a redirect that leaves the server.
func (b *browser) follow(p *page) *page {
	b.t.Helper()
	for i := 0; i < 10 && p.location != "" && p.status >= 300 && p.status < 400; i++ {
		next := p.url.ResolveReference(mustURL(b.t, p.location))
		if next.Host != p.url.Host {
			return p
		}
		p = b.get(next.String())
	}
	return p
}

// submit posts the form whose action is action, with its hidden and
// prefilled fields plus fields, and follows the redirects.
func (b *browser) submit(p *page, action string, fields map[string]string) *page {
	b.t.Helper()
	return b.follow(b.submitRaw(p, action, fields))
}

func (b *browser) submitRaw(p *page, action string, fields map[string]string) *page {
	b.t.Helper()
	v := p.form(b.t, action)
	for k, val := range fields {
		v.Set(k, val)
	}
	return b.post(action, v)
}

// form returns the values a browser would send for the form with action.
func (p *page) form(t *testing.T, action string) url.Values {
	t.Helper()
	var form *html.Node
	walk(p.doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.Data == "form" && attr(n, "action") == action {
			form = n
			return false
		}
		return true
	})
	if form == nil {
		t.Fatalf("no form with action %s on the page (%d): %s", action, p.status, p.text())
	}
	v := url.Values{}
	walk(form, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.Data == "input" && attr(n, "name") != "" {
			v.Set(attr(n, "name"), attr(n, "value"))
		}
		return true
	})
	return v
}

// has reports whether the page has a form with action.
func (p *page) has(action string) bool {
	found := false
	walk(p.doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.Data == "form" && attr(n, "action") == action {
			found = true
		}
		return !found
	})
	return found
}

// input finds the input with the given name.
func (p *page) input(name string) *html.Node {
	var in *html.Node
	walk(p.doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.Data == "input" && attr(n, "name") == name {
			in = n
		}
		return in == nil
	})
	return in
}

// text is the page's visible text, for messages and assertions.
func (p *page) text() string {
	if p.doc == nil {
		return p.body
	}
	var b strings.Builder
	walk(p.doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode && (n.Data == "style" || n.Data == "head") {
			return false
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			b.WriteString(" ")
		}
		return true
	})
	return strings.Join(strings.Fields(b.String()), " ")
}

func (p *page) heading() string {
	var h string
	walk(p.doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.Data == "h1" && n.FirstChild != nil {
			h = strings.TrimSpace(n.FirstChild.Data)
		}
		return h == ""
	})
	return h
}

func walk(n *html.Node, fn func(*html.Node) bool) {
	if n == nil || !fn(n) {
		return
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// authz is an authorization request of the app (the bootstrap client).
type authz struct {
	state, nonce, verifier string
	extra                  url.Values
}

func newAuthz() authz {
	return authz{state: "st-" + randHex(), nonce: "n-" + randHex(), verifier: strings.Repeat("v", 43) + randHex()}
}

var seq struct {
	sync.Mutex
	n int
}

func randHex() string {
	seq.Lock()
	defer seq.Unlock()
	seq.n++
	return strings.ToLower(strings.TrimRight(base64.RawURLEncoding.EncodeToString([]byte{byte(seq.n >> 8), byte(seq.n)}), "="))
}

func (a authz) query() string {
	sum := sha256.Sum256([]byte(a.verifier))
	v := url.Values{"response_type": {"code"}, "client_id": {servertest.ClientID}, "redirect_uri": {appCB},
		"scope": {"openid profile email offline_access"}, "state": {a.state}, "nonce": {a.nonce},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	for k, vals := range a.extra {
		v[k] = vals
	}
	return v.Encode()
}

// authorize sends the browser to /oauth/authorize and follows it to the
// login page (or straight back to the app with single sign-on).
func (b *browser) authorize(a authz) *page {
	b.t.Helper()
	return b.follow(b.get("/oauth/authorize?" + a.query()))
}

// callback checks that p is the redirect to the app with a code for a and
// returns the code.
func (b *browser) callback(p *page, a authz) string {
	b.t.Helper()
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, appCB+"?") {
		b.t.Fatalf("want a 303 to the app, got %d Location %q: %s", p.status, p.location, p.text())
	}
	q := mustURL(b.t, p.location).Query()
	if q.Get("state") != a.state || q.Get("iss") != b.f.in.URL || q.Get("code") == "" {
		b.t.Fatalf("bad authorization response %s", p.location)
	}
	return q.Get("code")
}

// tokens redeems a code and returns the token response and the ID token's claims.
func (f *fx) tokens(code string, a authz) (map[string]any, map[string]any) {
	f.t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {appCB}, "code_verifier": {a.verifier}}
	req, _ := http.NewRequest(http.MethodPost, f.in.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(servertest.ClientID, servertest.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("token endpoint: %d %v", resp.StatusCode, body)
	}
	idt, _ := body["id_token"].(string)
	return body, claimsOf(f.t, idt)
}

func claimsOf(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// mail is one email of the dev outbox.
type mail struct {
	ID      string `json:"id"`
	To      string `json:"to"`
	Subject string `json:"subject"`
	Body    string `json:"text"`
	// Kind (login_code, password_reset, ...) is not in the outbox a
	// developer reads; it comes from the emails table.
	Kind string `json:"-"`
}

// outbox returns the emails to an address, oldest first, as GET
// /_dev/outbox shows them (newest first).
func (f *fx) outbox(to string) []mail {
	f.t.Helper()
	f.in.Server.Login.Wait() // emails queued after an answer (later)
	resp, err := http.Get(f.in.URL + "/_dev/outbox")
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("GET /_dev/outbox: %d", resp.StatusCode)
	}
	var all []mail
	if err := json.NewDecoder(resp.Body).Decode(&all); err != nil {
		f.t.Fatal(err)
	}
	var out []mail
	for i := len(all) - 1; i >= 0; i-- {
		m := all[i]
		if !strings.EqualFold(m.To, to) {
			continue
		}
		if err := f.in.Server.Store().DB().QueryRowContext(f.ctx, `SELECT kind FROM emails WHERE id = $1`, m.ID).Scan(&m.Kind); err != nil {
			f.t.Fatalf("the kind of email %s: %v", m.ID, err)
		}
		out = append(out, m)
	}
	return out
}

var (
	codeRE  = regexp.MustCompile(`code is (\d{6})`)
	linkRE  = regexp.MustCompile(`(https?://\S+/login/link\?token=\S+)`)
	resetRE = regexp.MustCompile(`(https?://\S+/login/reset\?token=\S+)`)
)

// lastMail is the newest email to an address.
func (f *fx) lastMail(to string) mail {
	f.t.Helper()
	ms := f.outbox(to)
	if len(ms) == 0 {
		f.t.Fatalf("no email to %s", to)
	}
	return ms[len(ms)-1]
}

func (f *fx) lastCode(to string) string {
	f.t.Helper()
	m := codeRE.FindStringSubmatch(f.lastMail(to).Body)
	if m == nil {
		f.t.Fatalf("no code in the email to %s", to)
	}
	return m[1]
}

func (f *fx) lastLink(to string, re *regexp.Regexp) string {
	f.t.Helper()
	m := re.FindStringSubmatch(f.lastMail(to).Body)
	if m == nil {
		f.t.Fatalf("no link in the email to %s", to)
	}
	return m[1]
}

// signInWithPassword runs authorize → email → password and returns the
// answer to the password step (followed within the server).
func (b *browser) signInWithPassword(a authz, email, pw string) *page {
	b.t.Helper()
	p := b.authorize(a)
	p = b.submit(p, "/login/email", map[string]string{"email": email})
	if !p.has("/login/password") {
		b.t.Fatalf("want the password step, got %d: %s", p.status, p.text())
	}
	return b.submit(p, "/login/password", map[string]string{"password": pw})
}

// signInWithCode runs authorize → email → code from the outbox.
func (b *browser) signInWithCode(a authz, email string) *page {
	b.t.Helper()
	p := b.authorize(a)
	p = b.submit(p, "/login/email", map[string]string{"email": email})
	if !p.has("/login/code") {
		b.t.Fatalf("want the code step, got %d: %s", p.status, p.text())
	}
	return b.submit(p, "/login/code", map[string]string{"code": b.f.lastCode(email)})
}

// toApp checks that p is a redirect to the app with a code.
func (b *browser) toApp(p *page) {
	b.t.Helper()
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, appCB+"?") || mustURL(b.t, p.location).Query().Get("code") == "" {
		b.t.Fatalf("want a 303 to the app with a code, got %d Location %q: %s", p.status, p.location, p.text())
	}
}
