package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testdb"
)

// TestEnvironmentVariables configures a start with GATEHOUSE_* variables
// only, then starts again with different bootstrap credentials.
func TestEnvironmentVariables(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	base := "http://" + addr
	const publicURL = "https://auth.example.test/gatehouse"
	const id, secret = "skc_automation_first", "skcs_chosen_by_automation_0123456789abcdef"
	env := []string{
		"GATEHOUSE_ADDR=" + addr,
		"GATEHOUSE_DATA_DIR=state/db",
		"GATEHOUSE_PUBLIC_URL=" + publicURL + "/", // a trailing slash is not part of the issuer
		"GATEHOUSE_DEV=1",
	}
	p := start(t, dir, append(env,
		"GATEHOUSE_BOOTSTRAP_CLIENT_ID="+id, "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET="+secret), "serve")
	p.waitHealthy(t, base)

	if _, err := os.Stat(filepath.Join(dir, "state", "db", "gatehouse.db")); err != nil {
		t.Errorf("GATEHOUSE_DATA_DIR: no database in ./state/db: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "gatehouse-data")); err == nil {
		t.Errorf("GATEHOUSE_DATA_DIR ignored: ./gatehouse-data was created")
	}
	if got := issuer(t, base); got != publicURL {
		t.Errorf("GATEHOUSE_PUBLIC_URL: issuer = %q, want %q", got, publicURL)
	}
	b := parseBanner(t, p.stdout.String())
	if b.URL != publicURL {
		t.Errorf("environment URL = %q, want %q", b.URL, publicURL)
	}
	if b.ClientID != id {
		t.Errorf("client id printed = %q, want the bootstrap id %q", b.ClientID, id)
	}
	tok := token(t, base, id, secret)
	if iss := jwtClaims(t, tok)["iss"]; iss != publicURL {
		t.Errorf("token iss = %v, want %q", iss, publicURL)
	}
	if code, body := get(t, base+"/api/v1/organizations", tok); code != http.StatusOK {
		t.Errorf("GET /api/v1/organizations = %d %s", code, body)
	}
	if code, body := get(t, base+"/_dev/outbox", ""); code != http.StatusOK {
		t.Errorf("GATEHOUSE_DEV=1: GET /_dev/outbox = %d %s, want 200", code, body)
	}
	wantLog(t, p.stderr.String(), `"environment_type":"development"`)
	p.signal(t, os.Interrupt)
	p.wantExit(t, 0, 15*time.Second)
	for what, s := range map[string]string{"stdout": p.stdout.String(), "logs": p.stderr.String()} {
		if strings.Contains(s, secret) {
			t.Errorf("the bootstrap secret appears in %s", what)
		}
	}
	if hits := dataFilesContain(t, filepath.Join(dir, "state"), secret); len(hits) > 0 {
		t.Errorf("the bootstrap secret is stored in clear in %v", hits)
	}

	// Once a client exists, bootstrap credentials are ignored. Without
	// GATEHOUSE_DEV the outbox is gone.
	const id2, secret2 = "skc_automation_second", "skcs_second_choice_abcdefghijklmnopqrstuvwxyz"
	p2 := start(t, dir, append(env[:3:3],
		"GATEHOUSE_BOOTSTRAP_CLIENT_ID="+id2, "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET="+secret2), "serve")
	p2.waitHealthy(t, base)
	if b2 := parseBanner(t, p2.stdout.String()); b2.EnvID != b.EnvID || b2.ClientID != "" {
		t.Errorf("second start: environment %q (want %q), client %q (want none created)\n%s",
			b2.EnvID, b.EnvID, b2.ClientID, p2.stdout.String())
	}
	if code, body := tokenStatus(t, base, id2, secret2); code != http.StatusUnauthorized || !strings.Contains(body, "invalid_client") {
		t.Errorf("bootstrap credentials given after the first start: POST /oauth/token = %d %s, want 401 invalid_client", code, body)
	}
	if code, body := tokenStatus(t, base, id, secret2); code != http.StatusUnauthorized {
		t.Errorf("first client with the new bootstrap secret: POST /oauth/token = %d %s, want 401", code, body)
	}
	if code, body := get(t, base+"/api/v1/organizations", token(t, base, id, secret)); code != http.StatusOK {
		t.Errorf("original credentials after the second start: GET /api/v1/organizations = %d %s", code, body)
	}
	if code, _ := get(t, base+"/_dev/outbox", ""); code != http.StatusNotFound {
		t.Errorf("without GATEHOUSE_DEV: GET /_dev/outbox = %d, want 404", code)
	}
	p2.signal(t, os.Interrupt)
	p2.wantExit(t, 0, 15*time.Second)
	wantLog(t, p2.stderr.String(), "ignored")
	wantLog(t, p2.stderr.String(), `"environment_type":"production"`)
}

// TestFlagsBeatEnvironment sets every option both ways; the flags win.
func TestFlagsBeatEnvironment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	envAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	flagAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	base := "http://" + flagAddr
	p := start(t, dir, []string{
		"GATEHOUSE_ADDR=" + envAddr,
		"GATEHOUSE_DATA_DIR=env-data",
		"GATEHOUSE_PUBLIC_URL=https://env.example.test",
		"GATEHOUSE_DEV=1",
		"GATEHOUSE_API_RATE_LIMIT=abc", // never parsed: the flag is set
	}, "serve", "--addr", flagAddr, "--data-dir", "flag-data", "--public-url", "https://flag.example.test",
		"--dev=false", "--api-rate-limit", "0")
	p.waitHealthy(t, base)

	if conn, err := net.DialTimeout("tcp", envAddr, time.Second); err == nil {
		conn.Close()
		t.Errorf("GATEHOUSE_ADDR %s is served although --addr %s was given", envAddr, flagAddr)
	}
	if _, err := os.Stat(filepath.Join(dir, "flag-data", "gatehouse.db")); err != nil {
		t.Errorf("--data-dir: no database in ./flag-data: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "env-data")); err == nil {
		t.Errorf("GATEHOUSE_DATA_DIR used although --data-dir was given")
	}
	if got := issuer(t, base); got != "https://flag.example.test" {
		t.Errorf("issuer = %q, want the --public-url", got)
	}
	if code, _ := get(t, base+"/_dev/outbox", ""); code != http.StatusNotFound {
		t.Errorf("--dev=false with GATEHOUSE_DEV=1: GET /_dev/outbox = %d, want 404", code)
	}
	b := parseBanner(t, p.stdout.String())
	tok := token(t, base, b.ClientID, b.Secret)
	resp := mustGetResp(t, base+"/api/v1/organizations", tok)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-RateLimit-Limit") != "" {
		t.Errorf("--api-rate-limit 0: status %d, X-RateLimit-Limit %q; want 200 and no limit headers",
			resp.StatusCode, resp.Header.Get("X-RateLimit-Limit"))
	}
	p.signal(t, os.Interrupt)
	p.wantExit(t, 0, 15*time.Second)
}

func mustGetResp(t *testing.T, u, bearer string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestPostgres selects PostgreSQL with GATEHOUSE_DATABASE_URL, then starts
// again on the same database with --database-url.
func TestPostgres(t *testing.T) {
	t.Parallel()
	dsn := testdb.Postgres(t)
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	base := "http://" + addr

	p := start(t, dir, []string{"GATEHOUSE_DATABASE_URL=" + dsn}, "serve", "--addr", addr)
	p.waitHealthy(t, base)
	wantLog(t, p.stderr.String(), `"database":"postgres"`)
	if code, body := get(t, base+"/readyz", ""); code != http.StatusOK {
		t.Errorf("GET /readyz = %d %s", code, body)
	}
	b := parseBanner(t, p.stdout.String())
	if !secretRE.MatchString(b.Secret) || !clientIDRE.MatchString(b.ClientID) {
		t.Fatalf("first start on PostgreSQL printed client %q secret %q", b.ClientID, b.Secret)
	}
	tok := token(t, base, b.ClientID, b.Secret)
	if code, body := get(t, base+"/api/v1/organizations", tok); code != http.StatusOK {
		t.Errorf("GET /api/v1/organizations = %d %s", code, body)
	}
	if _, err := os.Stat(filepath.Join(dir, "gatehouse-data", "gatehouse.db")); err == nil {
		t.Errorf("a SQLite database was created although PostgreSQL was selected")
	}
	p.signal(t, os.Interrupt)
	p.wantExit(t, 0, 15*time.Second)
	if strings.Contains(p.stderr.String(), b.Secret) {
		t.Errorf("the client secret appears in the logs")
	}

	p2 := start(t, dir, nil, "serve", "--addr", addr, "--database-url", dsn)
	p2.waitHealthy(t, base)
	wantLog(t, p2.stderr.String(), `"database":"postgres"`)
	if b2 := parseBanner(t, p2.stdout.String()); b2.EnvID != b.EnvID || b2.Secret != "" {
		t.Errorf("--database-url on the same database: environment %q (want %q), secret %q (want none)", b2.EnvID, b.EnvID, b2.Secret)
	}
	if code, body := get(t, base+"/api/v1/organizations", tok); code != http.StatusOK {
		t.Errorf("token from before the restart: GET /api/v1/organizations = %d %s", code, body)
	}
	p2.signal(t, os.Interrupt)
	p2.wantExit(t, 0, 15*time.Second)
}

// TestPublicURLDefault: without --public-url the issuer is http://ADDR, and
// an address without a host (listen everywhere) gives a reachable issuer,
// not "http://:PORT".
func TestPublicURLDefault(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	p := start(t, t.TempDir(), []string{fmt.Sprintf("GATEHOUSE_ADDR=:%d", port)}, "serve")
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	p.waitHealthy(t, base)
	want := fmt.Sprintf("http://localhost:%d", port)
	if got := issuer(t, base); got != want {
		t.Errorf("issuer for --addr :%d = %q, want %q", port, got, want)
	}
	if b := parseBanner(t, p.stdout.String()); b.URL != want {
		t.Errorf("environment URL = %q, want %q", b.URL, want)
	}
	p.signal(t, os.Interrupt)
	p.wantExit(t, 0, 15*time.Second)
}
