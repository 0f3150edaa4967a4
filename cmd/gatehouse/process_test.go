package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// httpClient never waits forever on a server under test.
var httpClient = &http.Client{Timeout: 15 * time.Second}

// syncBuffer is a bytes.Buffer safe to read while the process writes to it.
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

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

// proc is a running (or finished) gatehouse process.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	started        time.Time
	done           chan struct{} // closed when the process has exited
	err            error         // from Wait; read after done
}

// freePort returns a TCP port that was free a moment ago on every
// interface, for a gatehouse child to listen on (as 127.0.0.1:port or
// :port). The child binds it only after the probe has closed it, so the
// port is drawn at random below the kernel's ephemeral range
// (ip_local_port_range): one from 127.0.0.1:0 is a port the kernel may
// hand to any outgoing connection (this test's, or a test running in
// parallel in another package) in that moment, and the child then fails
// with "address already in use". Ports this process has handed out are
// not handed out again.
func freePort(t *testing.T) int {
	t.Helper()
	lo := ephemeralStart()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 200 {
		port := 10000 + rand.IntN(lo-10000)
		if portsGiven[port] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
		if err != nil {
			continue
		}
		ln.Close()
		portsGiven[port] = true
		return port
	}
	t.Fatalf("no free port below %d after 200 tries", lo)
	return 0
}

// portsGiven are the ports freePort has returned in this test process.
var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

// ephemeralStart is the first port of the kernel's ephemeral range, or
// IANA's 49152 where it cannot be read (Linux's default starts at 32768).
func ephemeralStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 49152
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 49152
	}
	if lo, err := strconv.Atoi(f[0]); err == nil && lo > 11000 {
		return lo
	}
	return 49152
}

// childEnv is the test's environment without any GATEHOUSE_* variable (so
// the developer's settings cannot leak in), plus env.
func childEnv(env []string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") {
			out = append(out, kv)
		}
	}
	return append(out, env...)
}

// start runs the gatehouse binary in dir with extra environment variables.
// The process is killed, if still running, when the test ends, and its
// output is logged if the test failed.
func start(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Dir = dir
	p.cmd.Env = childEnv(env)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting gatehouse: %v", err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("gatehouse %s\n--- stdout:\n%s--- stderr:\n%s", strings.Join(args, " "), p.stdout.String(), p.stderr.String())
		}
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitHealthy polls base/healthz until it answers 200, failing if the
// process exits first or the deadline passes.
func (p *proc) waitHealthy(t *testing.T, base string) {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if p.exited() {
			t.Fatalf("gatehouse exited before serving (%v); stderr:\n%s", p.err, p.stderr.String())
		}
		resp, err := c.Get(base + "/healthz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				// The banner and the "serving" log line were written before
				// the server answered, but reach our buffers through pipes
				// copied by other goroutines: wait for them too.
				p.waitOutput(t, p.stdout, "Environment ID:", deadline)
				p.waitOutput(t, p.stderr, "gatehouse serving", deadline)
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s/healthz did not answer 200 within 30s; stderr:\n%s", base, p.stderr.String())
}

// waitOutput waits until buf contains s.
func (p *proc) waitOutput(t *testing.T, buf *syncBuffer, s string, deadline time.Time) {
	t.Helper()
	for !strings.Contains(buf.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("gatehouse output has no %q\n--- stdout:\n%s--- stderr:\n%s", s, p.stdout.String(), p.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *proc) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("sending %v: %v", sig, err)
	}
}

// wait waits for the process to exit and returns its exit code, failing
// the test if it runs past within.
func (p *proc) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(within):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("gatehouse still running after %s; killed it. stderr:\n%s", within, p.stderr.String())
	}
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &ee):
		if code := ee.ExitCode(); code >= 0 {
			return code
		}
		t.Fatalf("gatehouse ended by a signal: %v", p.err)
	default:
		t.Fatalf("waiting for gatehouse: %v", p.err)
	}
	return -1
}

func (p *proc) wantExit(t *testing.T, code int, within time.Duration) {
	t.Helper()
	if got := p.wait(t, within); got != code {
		t.Fatalf("exit code = %d, want %d; stderr:\n%s", got, code, p.stderr.String())
	}
}

// wantLog checks the logs contain s.
func wantLog(t *testing.T, logs, s string) {
	t.Helper()
	if !strings.Contains(logs, s) {
		t.Errorf("logs do not contain %s:\n%s", s, logs)
	}
}

// get does a GET with an optional bearer token and returns status and body.
func get(t *testing.T, u, bearer string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	return resp.StatusCode, string(body)
}

// tokenStatus asks for a client-credentials token with a form body.
func tokenStatus(t *testing.T, base, id, secret string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/oauth/token", strings.NewReader(url.Values{
		"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret},
	}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, req)
}

// token gets an access token with a form body, failing the test if refused.
func token(t *testing.T, base, id, secret string) string {
	t.Helper()
	code, body := tokenStatus(t, base, id, secret)
	return accessToken(t, code, body)
}

// tokenBasic gets an access token with HTTP Basic client authentication.
func tokenBasic(t *testing.T, base, id, secret string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/oauth/token",
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	code, body := do(t, req)
	return accessToken(t, code, body)
}

func accessToken(t *testing.T, code int, body string) string {
	t.Helper()
	if code != http.StatusOK {
		t.Fatalf("POST /oauth/token = %d %s, want 200", code, body)
	}
	var r struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.AccessToken == "" {
		t.Fatalf("POST /oauth/token: no access_token in %s (%v)", body, err)
	}
	if !strings.EqualFold(r.TokenType, "bearer") {
		t.Errorf("token_type = %q, want Bearer", r.TokenType)
	}
	return r.AccessToken
}

// jwtPart decodes part i (0 header, 1 claims) of a compact JWT without
// verifying it; the server under test does the verifying.
func jwtPart(t *testing.T, tok string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("access token is not a compact JWT: %q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatalf("access token part %d: %v", i, err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("access token part %d: %v", i, err)
	}
	return m
}

func jwtHeader(t *testing.T, tok string) map[string]any { return jwtPart(t, tok, 0) }
func jwtClaims(t *testing.T, tok string) map[string]any { return jwtPart(t, tok, 1) }

// issuer reads the issuer from the discovery document.
func issuer(t *testing.T, base string) string {
	t.Helper()
	code, body := get(t, base+"/.well-known/openid-configuration", "")
	if code != http.StatusOK {
		t.Fatalf("GET /.well-known/openid-configuration = %d %s", code, body)
	}
	var d struct {
		Issuer string `json:"issuer"`
	}
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatalf("discovery document: %v", err)
	}
	return d.Issuer
}
