package main

// These tests run the quick start the way a user does: they build the real
// binary once, start it as a separate process in an empty directory, read
// what it prints, and talk to it over loopback HTTP. Helpers live in
// process_test.go.

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// testVersion is linked into the test binary, so `gatehouse version` shows
// that the -ldflags hook documented in internal/cli works.
const testVersion = "v0.0.0-processtest"

// binary is the gatehouse executable built by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatehouse-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "gatehouse")
	if runtime.GOOS == "windows" {
		binary += ".exe"
	}
	build := exec.Command("go", "build", "-o", binary,
		"-ldflags", "-X github.com/gatehouse/gatehouse/internal/cli.Version="+testVersion, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building gatehouse:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	envURLLine   = regexp.MustCompile(`(?m)^\s*Environment URL:\s+(\S+)\s*$`)
	envIDLine    = regexp.MustCompile(`(?m)^\s*Environment ID:\s+(\S+)\s*$`)
	clientIDLine = regexp.MustCompile(`(?m)^\s*Client ID:\s+(\S+)\s*$`)
	secretLine   = regexp.MustCompile(`(?m)^\s*Client secret:\s+(\S+)\s*$`)
	clientIDRE   = regexp.MustCompile(`^skc_[A-Za-z0-9_-]+$`)
	secretRE     = regexp.MustCompile(`^skcs_[A-Za-z0-9_-]{20,}$`)
)

// banner is what a start printed on stdout.
type banner struct{ URL, EnvID, ClientID, Secret string }

func parseBanner(t *testing.T, stdout string) banner {
	t.Helper()
	var b banner
	get := func(re *regexp.Regexp) string {
		if m := re.FindAllStringSubmatch(stdout, -1); len(m) == 1 {
			return m[0][1]
		} else if len(m) > 1 {
			t.Errorf("stdout has %d lines matching %s, want at most 1:\n%s", len(m), re, stdout)
		}
		return ""
	}
	b.URL, b.EnvID, b.ClientID, b.Secret = get(envURLLine), get(envIDLine), get(clientIDLine), get(secretLine)
	if !strings.HasPrefix(b.EnvID, "env_") {
		t.Errorf("stdout has no environment id (env_...):\n%s", stdout)
	}
	return b
}

// dataFilesContain reports which files under dir contain needle.
func dataFilesContain(t *testing.T, dir, needle string) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(raw, []byte(needle)) {
			hits = append(hits, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading %s: %v", dir, err)
	}
	return hits
}

// TestQuickStart is `gatehouse serve` in an empty directory, then a second
// start in the same directory.
func TestQuickStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	wantURL := "http://" + addr

	// First start: creates everything and prints the credentials once.
	p := start(t, dir, nil, "serve", "--addr", addr)
	p.waitHealthy(t, wantURL)

	dataDir := filepath.Join(dir, "gatehouse-data")
	if fi, err := os.Stat(filepath.Join(dataDir, "gatehouse.db")); err != nil || fi.Size() == 0 {
		t.Fatalf("./gatehouse-data/gatehouse.db was not created: %v", err)
	}
	out := p.stdout.String()
	b := parseBanner(t, out)
	if b.URL != wantURL {
		t.Errorf("environment URL = %q, want %q\nstdout:\n%s", b.URL, wantURL, out)
	}
	if !clientIDRE.MatchString(b.ClientID) {
		t.Errorf("client id = %q, want skc_...\nstdout:\n%s", b.ClientID, out)
	}
	if !secretRE.MatchString(b.Secret) {
		t.Fatalf("client secret = %q, want skcs_...\nstdout:\n%s", b.Secret, out)
	}
	if n := strings.Count(out, "skcs_"); n != 1 {
		t.Errorf("stdout shows a client secret %d times, want once:\n%s", n, out)
	}

	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := get(t, wantURL+path, ""); code != http.StatusOK {
			t.Errorf("GET %s = %d %s, want 200", path, code, body)
		}
	}
	for _, path := range []string{"/_dev/outbox", "/dev/outbox"} {
		if code, _ := get(t, wantURL+path, ""); code != http.StatusNotFound {
			t.Errorf("GET %s without --dev = %d, want 404", path, code)
		}
	}
	tok := token(t, wantURL, b.ClientID, b.Secret)
	if iss := jwtClaims(t, tok)["iss"]; iss != wantURL {
		t.Errorf("token iss = %v, want %s", iss, wantURL)
	}
	basicTok := tokenBasic(t, wantURL, b.ClientID, b.Secret)
	for _, tk := range []string{tok, basicTok} {
		if code, body := get(t, wantURL+"/api/v1/organizations", tk); code != http.StatusOK {
			t.Errorf("GET /api/v1/organizations = %d %s, want 200", code, body)
		}
	}
	if code, _ := get(t, wantURL+"/api/v1/organizations", ""); code != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/organizations without a token = %d, want 401", code)
	}
	// The secret is stored hashed: not in the database (including its WAL
	// while the server runs) ...
	if hits := dataFilesContain(t, dataDir, b.Secret); len(hits) > 0 {
		t.Errorf("the client secret is stored in clear in %v", hits)
	}
	keyBefore, err := os.ReadFile(filepath.Join(dataDir, "secret.key"))
	if err != nil {
		t.Errorf("no generated secret key in the data directory: %v", err)
	}

	p.signal(t, os.Interrupt)
	p.wantExit(t, 0, 15*time.Second)
	if hits := dataFilesContain(t, dataDir, b.Secret); len(hits) > 0 {
		t.Errorf("after shutdown, the client secret is stored in clear in %v", hits)
	}
	// ... nor in the logs, nor printed again on stdout.
	if strings.Contains(p.stderr.String(), b.Secret) {
		t.Errorf("the client secret appears in the logs:\n%s", p.stderr.String())
	}
	if n := strings.Count(p.stdout.String(), b.Secret); n != 1 {
		t.Errorf("stdout shows the secret %d times in the whole run, want once", n)
	}
	wantLog(t, p.stderr.String(), `"database":"sqlite"`)
	// The quick start's build is the pure-Go one (docs/adr/0004).
	wantLog(t, p.stderr.String(), `"signing_engine":"go"`)

	// Second start in the same directory (and on the same address, so the
	// issuer is the same): reuses the environment, client and signing key.
	p2 := start(t, dir, nil, "serve", "--addr", addr)
	p2.waitHealthy(t, wantURL)
	out2 := p2.stdout.String()
	b2 := parseBanner(t, out2)
	if b2.EnvID != b.EnvID {
		t.Errorf("second start environment = %q, want the first start's %q", b2.EnvID, b.EnvID)
	}
	if strings.Contains(out2, "skcs_") || b2.Secret != "" {
		t.Errorf("second start printed a client secret:\n%s", out2)
	}
	if !strings.Contains(out2, "already created") {
		t.Errorf("second start does not say the client already exists:\n%s", out2)
	}
	if code, body := get(t, wantURL+"/api/v1/organizations", tok); code != http.StatusOK {
		t.Errorf("token from before the restart: GET /api/v1/organizations = %d %s, want 200", code, body)
	}
	tok2 := token(t, wantURL, b.ClientID, b.Secret)
	if code, body := get(t, wantURL+"/api/v1/organizations", tok2); code != http.StatusOK {
		t.Errorf("new token after the restart: GET /api/v1/organizations = %d %s, want 200", code, body)
	}
	if h1, h2 := jwtHeader(t, tok)["kid"], jwtHeader(t, tok2)["kid"]; h1 != h2 || h1 == nil {
		t.Errorf("signing key changed across restarts: kid %v then %v", h1, h2)
	}
	if keyAfter, _ := os.ReadFile(filepath.Join(dataDir, "secret.key")); !bytes.Equal(keyBefore, keyAfter) {
		t.Errorf("the generated secret key changed across restarts")
	}
	p2.signal(t, os.Interrupt)
	p2.wantExit(t, 0, 15*time.Second)
	if strings.Contains(p2.stderr.String(), b.Secret) {
		t.Errorf("the client secret appears in the second start's logs")
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := start(t, dir, nil, "version")
	p.wantExit(t, 0, 10*time.Second)
	if got, want := strings.TrimSpace(p.stdout.String()), "gatehouse "+testVersion; got != want {
		t.Errorf("gatehouse version printed %q, want %q", got, want)
	}
	if p.stderr.Len() != 0 {
		t.Errorf("gatehouse version wrote to stderr: %q", p.stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "gatehouse-data")); err == nil {
		t.Errorf("gatehouse version created ./gatehouse-data")
	}
}

// TestFailedFirstStartKeepsTheSecret: a first start that fails after the
// database exists (here on an unreadable secret key) must not have created
// the API client, or its secret, never shown, would be lost for good. The
// next start shows one.
func TestFailedFirstStartKeepsTheSecret(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	dataDir := filepath.Join(dir, "gatehouse-data")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dataDir, "secret.key")
	if err := os.WriteFile(keyFile, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, dir, nil, "serve", "--addr", addr)
	if code := p.wait(t, 20*time.Second); code == 0 {
		t.Fatal("a start with a corrupt secret key exited 0")
	}
	if line := p.stderr.String(); strings.Count(line, "\n") != 1 || !strings.Contains(line, "secret.key") {
		t.Errorf("stderr is not one line naming secret.key:\n%s", line)
	}
	if strings.Contains(p.stdout.String(), "skc") {
		t.Errorf("a failed start printed credentials:\n%s", p.stdout.String())
	}

	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	p2 := start(t, dir, nil, "serve", "--addr", addr)
	p2.waitHealthy(t, "http://"+addr)
	b := parseBanner(t, p2.stdout.String())
	if !secretRE.MatchString(b.Secret) {
		t.Fatalf("the start after a failed first start shows no client secret:\n%s", p2.stdout.String())
	}
	token(t, "http://"+addr, b.ClientID, b.Secret)
	p2.signal(t, os.Interrupt)
	p2.wantExit(t, 0, 15*time.Second)
}
