package login_test

// SECURITY-BAR A03: the login does not tell existing accounts from unknown
// ones by its response time, at the password step and at forgot-password.

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Sizes of the A03 measurement, as SECURITY-BAR A03 sets them.
const (
	// timingPairs is how many interleaved pairs (an existing account, an
	// unknown email) one measurement takes.
	timingPairs = 200
	// timingMeasurements is how many times a whole measurement may be
	// taken: a burst of load from other processes on a shared machine can
	// skew one, while a real difference (a skipped dummy verification is
	// tens of milliseconds; a database write before the answer, a few
	// hundred microseconds) shows in every one.
	timingMeasurements = 3
	// timingChunk pairs are prepared (sign-in flows started, outside the
	// timing), then timed, so a flow waits seconds, not minutes, for its
	// attempt, and few browsers hold idle connections at once.
	timingChunk = 25
)

// median of durations.
func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// timingPair prepares and times one pair. prepare runs outside the timing
// for pair i of measurement m; the two timed calls return how long the
// answer for the existing account and for the unknown email took.
type timingPair interface {
	prepare(m, i int)
	known(i int) time.Duration
	unknown(i int) time.Duration
}

// timeSimilar takes timingPairs interleaved pairs (the existing account
// first in even pairs, the unknown email first in odd ones, so the drift of
// a loaded machine falls on both sides) and passes when the medians differ
// by less than 5 ms and a Mann-Whitney test cannot tell the two samples
// apart (p > 0.01), in one of at most timingMeasurements measurements.
func timeSimilar(t *testing.T, what string, newPairs func(m int) timingPair) {
	t.Helper()
	var last string
	for m := 0; m < timingMeasurements; m++ {
		pairs := newPairs(m)
		var k, u []time.Duration
		for start := 0; start < timingPairs; start += timingChunk {
			end := min(start+timingChunk, timingPairs)
			for i := start; i < end; i++ {
				pairs.prepare(m, i)
			}
			for i := start; i < end; i++ {
				if i%2 == 0 {
					k, u = append(k, pairs.known(i)), append(u, pairs.unknown(i))
				} else {
					u, k = append(u, pairs.unknown(i)), append(k, pairs.known(i))
				}
			}
		}
		mk, mu := median(k), median(u)
		diff := mk - mu
		if diff < 0 {
			diff = -diff
		}
		p := mannWhitneyP(k, u)
		last = fmt.Sprintf("%s: median %v for existing accounts, %v for unknown ones, Mann-Whitney p=%.3g (n=%d per side, measurement %d of at most %d)",
			what, mk, mu, p, len(k), m+1, timingMeasurements)
		t.Log(last)
		if diff < 5*time.Millisecond && p > 0.01 {
			return
		}
	}
	t.Errorf("timing tells accounts apart: %s", last)
}

// mannWhitneyP is the two-sided p-value of the Mann-Whitney U test that a
// and b come from the same distribution (normal approximation, fine for
// the 20 or more samples per side used here; ties take their mean rank).
func mannWhitneyP(a, b []time.Duration) float64 {
	type obs struct {
		d     time.Duration
		fromA bool
	}
	all := make([]obs, 0, len(a)+len(b))
	for _, d := range a {
		all = append(all, obs{d, true})
	}
	for _, d := range b {
		all = append(all, obs{d, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].d < all[j].d })
	var rankSumA float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].d == all[i].d {
			j++
		}
		rank := float64(i+1+j) / 2 // the mean of ranks i+1 to j
		for ; i < j; i++ {
			if all[i].fromA {
				rankSumA += rank
			}
		}
	}
	n1, n2 := float64(len(a)), float64(len(b))
	u := rankSumA - n1*(n1+1)/2
	z := (u - n1*n2/2) / math.Sqrt(n1*n2*(n1+n2+1)/12)
	return math.Erfc(math.Abs(z) / math.Sqrt2)
}

// TestMannWhitneyP: the statistic timeSimilar relies on tells a shift of
// a few milliseconds apart and does not flag two samples of one spread.
func TestMannWhitneyP(t *testing.T) {
	var a, b, c []time.Duration
	for i := 0; i < 30; i++ {
		jitter := time.Duration(i*7%30) * time.Millisecond / 10 // 0 to 2.9 ms
		a = append(a, 40*time.Millisecond+jitter)
		b = append(b, 40*time.Millisecond+time.Duration((i*11+5)%30)*time.Millisecond/10)
		c = append(c, 44*time.Millisecond+jitter)
	}
	if p := mannWhitneyP(a, b); p <= 0.01 {
		t.Errorf("same spread: p=%.3g, want > 0.01", p)
	}
	if p := mannWhitneyP(a, c); p > 0.01 {
		t.Errorf("shifted by 4 ms: p=%.3g, want <= 0.01", p)
	}
	// Identical samples: every value tied, p = 1.
	if p := mannWhitneyP(a, a); p < 0.99 {
		t.Errorf("identical samples: p=%.3g, want 1", p)
	}
	// At the A03 size a shift of a tenth of the spread's width is caught.
	var d, e []time.Duration
	for i := 0; i < timingPairs; i++ {
		jitter := time.Duration(i*37%timingPairs) * 10 * time.Microsecond // 0 to 2 ms
		d = append(d, 30*time.Millisecond+jitter)
		e = append(e, 30*time.Millisecond+300*time.Microsecond+jitter)
	}
	if p := mannWhitneyP(d, e); p > 0.01 {
		t.Errorf("%d pairs shifted by 0.3 ms in a 2 ms spread: p=%.3g, want <= 0.01", timingPairs, p)
	}
}

// wireServer serves the server's whole HTTP surface on a second
// listener whose connections note when the server last began writing to
// each client address: the moment the answer's last bytes left the
// server, as a packet capture would see them. The test's client shares
// this process and this machine's CPUs with the server, so when it reads
// the answer it is slowed by work the server does after answering
// (later: the forgot-password lookup, reset token and email), which
// no client elsewhere would see; timing to the server's last write leaves
// that out and keeps everything the server does before answering in.
type wireServer struct {
	url  string
	mu   sync.Mutex
	last map[string]time.Time // by client address (ip:port)
}

func startWireServer(t *testing.T, f *fx) *wireServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ws := &wireServer{url: "http://" + ln.Addr().String(), last: map[string]time.Time{}}
	srv := &http.Server{Handler: f.in.Server.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(wireListener{ln, ws}) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ws
}

// lastWrite is when the server last began writing to the client at addr.
func (ws *wireServer) lastWrite(addr string) time.Time {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return ws.last[addr]
}

type wireListener struct {
	net.Listener
	ws *wireServer
}

func (l wireListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &wireConn{Conn: c, ws: l.ws, client: c.RemoteAddr().String()}, nil
}

type wireConn struct {
	net.Conn
	ws     *wireServer
	client string
}

func (c *wireConn) Write(b []byte) (int, error) {
	now := time.Now()
	c.ws.mu.Lock()
	c.ws.last[c.client] = now
	c.ws.mu.Unlock()
	return c.Conn.Write(b)
}

// timedPost posts a form from browser b to the wire server and returns
// the status and the time from sending the request to the server's last
// write of its answer.
func (f *fx) timedPost(ws *wireServer, b *browser, path string, v url.Values) (int, time.Duration) {
	f.t.Helper()
	// Work a previous answer left running finishes first, so each answer
	// is timed on its own rather than beside its predecessor's work.
	f.in.Server.Login.Wait()
	var client string
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { client = i.Conn.LocalAddr().String() }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
		http.MethodPost, ws.url+path, strings.NewReader(v.Encode()))
	if err != nil {
		f.t.Fatal(err)
	}
	for k, vs := range b.header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	start := time.Now()
	resp, err := b.hc.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, resp.Body) // the whole answer has been written
	resp.Body.Close()
	b.hc.CloseIdleConnections()
	if err != nil {
		f.t.Fatal(err)
	}
	last := ws.lastWrite(client)
	if last.Before(start) {
		f.t.Fatalf("no write to %s seen", client)
	}
	return resp.StatusCode, last.Sub(start)
}

// passwordPairs times a wrong password for an existing account against
// any password for an unknown email, each from a sign-in flow at the
// password step. Each pair uses its own source addresses (127.1.m.x for
// the account, 127.2.m.x for the unknown email), so the per-address limit
// on failures is never reached; each account fails once per measurement,
// under the per-account limit's free attempts.
type passwordPairs struct {
	f            *fx
	ws           *wireServer
	kb, ub       []*browser
	kPage, uPage []*page
}

func (p *passwordPairs) prepare(m, i int) {
	p.kb[i] = p.f.browserFrom(fmt.Sprintf("127.1.%d.%d", m, i+1))
	p.ub[i] = p.f.browserFrom(fmt.Sprintf("127.2.%d.%d", m, i+1))
	p.kPage[i] = p.kb[i].toPassword(fmt.Sprintf("timing%d@acme.example", i))
	p.uPage[i] = p.ub[i].toPassword(fmt.Sprintf("ghost%d.%d@acme.example", m, i))
}

func (p *passwordPairs) attempt(b *browser, pg *page) time.Duration {
	v := pg.form(p.f.t, "/login/password")
	v.Set("password", "not the password")
	status, d := p.f.timedPost(p.ws, b, "/login/password", v)
	if status != http.StatusBadRequest {
		p.f.t.Fatalf("password attempt: %d", status)
	}
	return d
}

func (p *passwordPairs) known(i int) time.Duration   { return p.attempt(p.kb[i], p.kPage[i]) }
func (p *passwordPairs) unknown(i int) time.Duration { return p.attempt(p.ub[i], p.uPage[i]) }

// forgotPairs times forgot-password for an existing account against an
// unknown email, from 127.3.m.x and 127.4.m.x (under the per-address limit
// on emails); each account asks once per measurement, under the limit of
// emails to one address.
type forgotPairs struct {
	f            *fx
	ws           *wireServer
	kb, ub       []*browser
	kForm, uForm []url.Values
}

func (p *forgotPairs) prepare(m, i int) {
	form := func(b *browser, email string) url.Values {
		v := b.get("/login/forgot").form(p.f.t, "/login/forgot")
		v.Set("email", email)
		return v
	}
	p.kb[i] = p.f.browserFrom(fmt.Sprintf("127.3.%d.%d", m, i+1))
	p.ub[i] = p.f.browserFrom(fmt.Sprintf("127.4.%d.%d", m, i+1))
	p.kForm[i] = form(p.kb[i], fmt.Sprintf("timing%d@acme.example", i))
	p.uForm[i] = form(p.ub[i], fmt.Sprintf("ghost%d.%d@acme.example", m, i))
}

func (p *forgotPairs) send(b *browser, v url.Values) time.Duration {
	status, d := p.f.timedPost(p.ws, b, "/login/forgot", v)
	if status != http.StatusOK {
		p.f.t.Fatalf("forgot password: %d", status)
	}
	return d
}

func (p *forgotPairs) known(i int) time.Duration   { return p.send(p.kb[i], p.kForm[i]) }
func (p *forgotPairs) unknown(i int) time.Duration { return p.send(p.ub[i], p.uForm[i]) }

// emailPairs times the email step of a sign-in for an existing account
// with a password (emailed nothing) against an unknown email (emailed a
// sign-up code: sign-up is allowed here), from 127.5.m.x and 127.6.m.x:
// the challenge and the email are stored after the answer, so the answer
// takes the same time. The accounts (epw<i>) are used once per
// measurement, under the limit of codes asked for one address.
type emailPairs struct {
	f            *fx
	ws           *wireServer
	kb, ub       []*browser
	kForm, uForm []url.Values
}

func (p *emailPairs) prepare(m, i int) {
	form := func(b *browser, email string) url.Values {
		v := b.authorize(newAuthz()).form(p.f.t, "/login/email")
		v.Set("email", email)
		return v
	}
	p.kb[i] = p.f.browserFrom(fmt.Sprintf("127.5.%d.%d", m, i+1))
	p.ub[i] = p.f.browserFrom(fmt.Sprintf("127.6.%d.%d", m, i+1))
	p.kForm[i] = form(p.kb[i], fmt.Sprintf("epw%d@acme.example", i))
	p.uForm[i] = form(p.ub[i], fmt.Sprintf("eghost%d.%d@acme.example", m, i))
}

func (p *emailPairs) send(b *browser, v url.Values) time.Duration {
	status, d := p.f.timedPost(p.ws, b, "/login/email", v)
	if status != http.StatusSeeOther {
		p.f.t.Fatalf("email step: %d", status)
	}
	return d
}

func (p *emailPairs) known(i int) time.Duration   { return p.send(p.kb[i], p.kForm[i]) }
func (p *emailPairs) unknown(i int) time.Duration { return p.send(p.ub[i], p.uForm[i]) }

// TestA03NoEnumerationTiming: a wrong password for an existing account and
// any password for an unknown email take the same time (the unknown one
// runs a dummy argon2id verification), and so do forgot-password requests
// (the account lookup and the email happen after the answer) and the email
// step of a sign-in for an account with a password and an unknown email
// that is sent a code (stored and emailed after the answer): 200
// interleaved pairs each (SECURITY-BAR A03).
func TestA03NoEnumerationTiming(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		ws := startWireServer(t, f)
		hash := mustHash(t, "the right password")
		for i := 0; i < timingPairs; i++ {
			f.setHash(f.user(f.orgID, fmt.Sprintf("timing%d@acme.example", i), "", false), hash)
			f.setHash(f.user(f.orgID, fmt.Sprintf("epw%d@acme.example", i), "", false), hash)
		}
		timeSimilar(t, "password", func(int) timingPair {
			return &passwordPairs{f: f, ws: ws, kb: make([]*browser, timingPairs), ub: make([]*browser, timingPairs), kPage: make([]*page, timingPairs), uPage: make([]*page, timingPairs)}
		})
		timeSimilar(t, "forgot password", func(int) timingPair {
			return &forgotPairs{f: f, ws: ws, kb: make([]*browser, timingPairs), ub: make([]*browser, timingPairs), kForm: make([]url.Values, timingPairs), uForm: make([]url.Values, timingPairs)}
		})
		// The comparison means something only if existing accounts were
		// emailed a reset link and unknown emails were not.
		resets := func(to string) int {
			n := 0
			for _, m := range f.outbox(to) {
				if m.Kind == "password_reset" {
					n++
				}
			}
			return n
		}
		if resets("timing0@acme.example") == 0 || resets("ghost0.0@acme.example") != 0 {
			t.Error("forgot password: the existing account got no reset link, or the unknown email got one")
		}
		timeSimilar(t, "email step", func(int) timingPair {
			return &emailPairs{f: f, ws: ws, kb: make([]*browser, timingPairs), ub: make([]*browser, timingPairs), kForm: make([]url.Values, timingPairs), uForm: make([]url.Values, timingPairs)}
		})
		// The same: only if the unknown emails were emailed a code and
		// the accounts with a password were not.
		f.in.Server.Login.Wait()
		emailed := func(prefix string) int {
			var n int
			if err := f.in.Server.Store().DB().QueryRowContext(f.ctx, `SELECT COUNT(*) FROM emails WHERE to_addr LIKE $1`,
				prefix+"%").Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if k, u := emailed("epw"), emailed("eghost"); k != 0 || u < timingPairs {
			t.Errorf("email step: %d emails to the accounts with a password, %d to the unknown emails; want none and a code each", k, u)
		}
	})
}
