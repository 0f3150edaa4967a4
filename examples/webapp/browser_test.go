package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testdb"
)

// TestBrowser drives the example app in Debian's headless Chromium
// (through playwright-core, installed for the repository's browser tests
// in tests/browser) against a live Gatehouse and its real hosted login
// page: browser.cjs signs a legacy user in to the old system, signs the
// admin in with an emailed code, opens the role-gated page to move the
// cut-over to 100%, checks that the legacy user is carried over without
// seeing a login page, and signs the admin out. Screenshots go to
// examples/webapp/artifacts/.
func TestBrowser(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		testdb.SkipOrFail(t, "node is not installed")
	}
	chromium := "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		testdb.SkipOrFail(t, "Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
	}
	pw, err := filepath.Abs(filepath.Join("..", "..", "tests", "browser", "node_modules", "playwright-core"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pw); err != nil {
		testdb.SkipOrFail(t, "playwright-core is not installed: run npm ci --prefix tests/browser")
	}
	shots, err := filepath.Abs("artifacts")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.RemoveAll(shots)
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	// The real clock: the browser and the login page live in it.
	f := startClock(t, false, &clock{real: true}, func(c *Config) { c.CutoverPercent, c.Allow = 0, []string{adaEmail} })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "browser.cjs")
	cmd.Env = append(os.Environ(), "APP_URL="+f.url, "GATEHOUSE_URL="+f.env.URL, "ADA_EMAIL="+adaEmail,
		"GRACE_EMAIL="+graceEmail, "PLAYWRIGHT_CORE="+pw, "SCREENSHOTS="+shots, "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("browser run failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `"ok":true`) {
		t.Fatalf("browser run: %s", out)
	}
	// What the browser did is visible at Gatehouse too: grace's session
	// came from a token exchange.
	m := f.browser("").get("/metrics").body
	if !strings.Contains(m, `gatehouse_cutover_carried_over_total{result="exchanged"} 1`) {
		t.Errorf("metrics after the browser run:\n%s", m)
	}
}
