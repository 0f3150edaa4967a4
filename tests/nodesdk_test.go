package tests

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/testdb"
)

// TestNodeSDK runs the official @scalekit-sdk/node against a live server on
// each database: every *.test.mjs suite in tests/node (organizations, users
// and memberships; roles and permissions) drives it over the SDK's own gRPC
// transport and token flow, one file at a time, since a suite may change
// environment-wide settings such as the default roles for a moment.
func TestNodeSDK(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		testdb.SkipOrFail(t, "node is not installed")
	}
	if _, err := os.Stat(filepath.Join("node", "node_modules", "@scalekit-sdk", "node")); err != nil {
		testdb.SkipOrFail(t, "the Node SDK is not installed: run npm ci --prefix tests/node")
	}
	suites, err := filepath.Glob(filepath.Join("node", "*.test.mjs"))
	if err != nil || len(suites) == 0 {
		t.Fatalf("no *.test.mjs suites in tests/node (%v)", err)
	}
	args := []string{"--test", "--test-reporter=spec", "--test-concurrency=1"}
	for _, s := range suites {
		args = append(args, filepath.Base(s))
	}
	servertest.Each(t, servertest.Options{}, func(t *testing.T, in *servertest.Instance) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, args...)
		cmd.Dir = "node"
		cmd.Env = append(os.Environ(),
			"GATEHOUSE_URL="+in.URL,
			"GATEHOUSE_CLIENT_ID="+servertest.ClientID,
			"GATEHOUSE_CLIENT_SECRET="+servertest.ClientSecret,
			"NO_COLOR=1",
		)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("Node SDK suite failed: %v\n%s", err, out)
		}
		t.Logf("%s", out)
	})
}
