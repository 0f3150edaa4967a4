package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBadStartFailsFast: a bad flag, variable or database ends the process
// quickly with a non-zero code and exactly one line on stderr naming the
// problem.
func TestBadStartFailsFast(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })

	for _, tc := range []struct {
		name  string
		env   []string
		args  []string
		names []string // each must appear in the line
		limit time.Duration
	}{
		{name: "unknown flag", args: []string{"serve", "--nope"}, names: []string{"--nope"}},
		{name: "bad addr", args: []string{"serve", "--addr", "nonsense"}, names: []string{"--addr", "nonsense"}},
		{name: "bad addr variable", env: []string{"GATEHOUSE_ADDR=nonsense"}, args: []string{"serve"}, names: []string{"nonsense", "host:port"}},
		{name: "bad rate limit variable", env: []string{"GATEHOUSE_API_RATE_LIMIT=abc"}, args: []string{"serve"},
			names: []string{"GATEHOUSE_API_RATE_LIMIT", "abc"}},
		{name: "two bad variables", env: []string{"GATEHOUSE_API_RATE_LIMIT=abc", "GATEHOUSE_DEV=maybe"}, args: []string{"serve"},
			names: []string{"GATEHOUSE_API_RATE_LIMIT", "GATEHOUSE_DEV"}},
		{name: "several config problems", args: []string{"serve", "--addr", "nonsense", "--log-level", "loud"},
			names: []string{"--addr", "--log-level"}},
		{name: "bad database scheme", args: []string{"serve", "--database-url", "mysql://x"}, names: []string{"--database-url"}},
		{name: "half the bootstrap pair", env: []string{"GATEHOUSE_BOOTSTRAP_CLIENT_ID=skc_only_id"}, args: []string{"serve"},
			names: []string{"GATEHOUSE_BOOTSTRAP_CLIENT_SECRET"}},
		{name: "extra argument", args: []string{"serve", "now"}, names: []string{`"now"`}},
		{name: "unknown command", args: []string{"serv"}, names: []string{`"serv"`}},
		{name: "address in use", args: []string{"serve", "--addr", busy.Addr().String()}, names: []string{busy.Addr().String()}},
		{name: "unreachable database", args: []string{"serve", "--addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)),
			"--database-url", "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2"},
			names: []string{"database", "127.0.0.1:1"}, limit: 15 * time.Second},
		{name: "unreachable database variable", env: []string{"GATEHOUSE_DATABASE_URL=postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2"},
			args: []string{"serve", "--addr", fmt.Sprintf("127.0.0.1:%d", freePort(t))}, names: []string{"database"}, limit: 15 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			limit := tc.limit
			if limit == 0 {
				limit = 5 * time.Second
			}
			dir := t.TempDir()
			p := start(t, dir, tc.env, tc.args...)
			code := p.wait(t, limit+10*time.Second)
			if took := time.Since(p.started); took > limit {
				t.Errorf("took %s to fail, want under %s", took.Round(time.Millisecond), limit)
			}
			if code == 0 {
				t.Fatalf("exit code 0, want non-zero")
			}
			stderr := p.stderr.String()
			if !strings.HasSuffix(stderr, "\n") || strings.Count(stderr, "\n") != 1 || strings.TrimSpace(stderr) == "" {
				t.Fatalf("stderr is not exactly one line:\n%s", stderr)
			}
			line := strings.TrimSpace(stderr)
			if !strings.HasPrefix(line, "gatehouse: ") {
				t.Errorf("stderr line %q does not start with \"gatehouse: \"", line)
			}
			for _, n := range tc.names {
				if !strings.Contains(line, n) {
					t.Errorf("stderr line %q does not name %s", line, n)
				}
			}
			if strings.Contains(strings.ToLower(line), "usage") {
				t.Errorf("stderr has usage text: %q", line)
			}
			if out := p.stdout.String(); strings.Contains(out, "skcs_") || strings.Contains(out, "Usage") {
				t.Errorf("stdout of a failed start: %q", out)
			}
			if _, err := os.Stat(filepath.Join(dir, "gatehouse-data")); err == nil {
				t.Errorf("a failed start left ./gatehouse-data behind")
			}
		})
	}
}
