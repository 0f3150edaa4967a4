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
// each database: the suite in tests/node drives organizations, users and
// memberships over the SDK's own gRPC transport and token flow.
func TestNodeSDK(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		testdb.SkipOrFail(t, "node is not installed")
	}
	if _, err := os.Stat(filepath.Join("node", "node_modules", "@scalekit-sdk", "node")); err != nil {
		testdb.SkipOrFail(t, "the Node SDK is not installed: run npm ci --prefix tests/node")
	}
	servertest.Each(t, servertest.Options{}, func(t *testing.T, in *servertest.Instance) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "orgs_users.test.mjs")
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
