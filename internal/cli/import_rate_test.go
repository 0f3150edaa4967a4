package cli_test

// `gatehouse import --rate`, measured at a loopback proxy.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/servertest"
)

// TestImportRate: --rate 5 keeps the calls a run makes (counted at a
// loopback proxy; token requests aside) to about 5 a second, with four
// batches in flight, in bulk and in --compat mode.
func TestImportRate(t *testing.T) {
	t.Parallel()
	servertest.Each(t, servertest.Options{}, func(t *testing.T, in *servertest.Instance) { testImportRate(t, in) })
}

func testImportRate(t *testing.T, in *servertest.Instance) {
	const perSecond = 5
	px := startProxy(t, in.URL, nil)
	for _, mode := range []string{"bulk", "compat"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			var b strings.Builder
			fmt.Fprintf(&b, `{"type": "organization", "external_id": "rate_%s", "display_name": "Rate %s"}`+"\n", mode, mode)
			for i := range 4 {
				fmt.Fprintf(&b, `{"type": "user", "email": "rate%d-%s@example.com", "external_id": "rate_%s_%d", "memberships": [{"organization_external_id": "rate_%s"}]}`+"\n",
					i, mode, mode, i, mode)
			}
			file := filepath.Join(dir, "export.jsonl")
			os.WriteFile(file, []byte(b.String()), 0o600)
			args := []string{"import", "--state", filepath.Join(dir, "state"), "--report", filepath.Join(dir, "report.csv"),
				"--server", px.URL, "--client-id", servertest.ClientID, "--client-secret", servertest.ClientSecret,
				"--from", "generic", "--batch-size", "1", "--concurrency", "4", "--rate", fmt.Sprint(perSecond), file}
			if mode == "compat" {
				args = append(args, "--compat")
			}
			px.take()
			code, out, errOut := run(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s %s", code, out, errOut)
			}
			wantSummary(t, mode, out, [4]int{1, 0, 0, 0}, [4]int{4, 0, 0, 0})
			calls := apiCalls(px.take())
			if len(calls) < perSecond {
				t.Fatalf("only %d calls; the test needs more than a second's worth", len(calls))
			}
			span := calls[len(calls)-1].at.Sub(calls[0].at)
			// A bucket of one lets the first call through at once and one
			// every 1/perSecond s after it; allow 10%, or 150ms at least,
			// for calls delayed on a busy machine. Unlimited, the calls
			// take tens of milliseconds.
			ideal := time.Duration(len(calls)-1) * time.Second / perSecond
			if least := ideal - max(ideal/10, 150*time.Millisecond); span < least {
				t.Errorf("%d calls in %s, want at least %s at --rate %d", len(calls), span, least, perSecond)
			}
			for i, c := range calls {
				n := 0
				for _, d := range calls[i:] {
					if d.at.Sub(c.at) < time.Second {
						n++
					}
				}
				if n > perSecond+1 { // one of slack for a call delayed on its way
					t.Errorf("%d calls in the second after call %d (%s), want at most %d", n, i, c.path, perSecond+1)
					break
				}
			}
		})
	}
}

// apiCalls leaves out the token requests, which --rate does not cover.
func apiCalls(calls []proxyCall) []proxyCall {
	return slices.DeleteFunc(slices.Clone(calls), func(c proxyCall) bool { return c.path == "/oauth/token" })
}
