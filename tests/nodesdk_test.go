package tests

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/sessions"
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
		userID, sessionIDs := seedSessions(t, in)
		cmd.Env = append(os.Environ(),
			"GATEHOUSE_SEED_USER_ID="+userID,
			"GATEHOUSE_SEED_SESSION_IDS="+strings.Join(sessionIDs, ","),
			"GATEHOUSE_URL="+in.URL,
			"GATEHOUSE_CLIENT_ID="+servertest.ClientID,
			"GATEHOUSE_CLIENT_SECRET="+servertest.ClientSecret,
			"NO_COLOR=1",
		)
		cmd.Env = append(cmd.Env, seedLogins(t, in)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("Node SDK suite failed: %v\n%s", err, out)
		}
		t.Logf("%s", out)
	})
}

// seedSessions makes a user with three live sessions for the session suite:
// sessions come from logins, which the SDK cannot perform.
func seedSessions(t *testing.T, in *servertest.Instance) (string, []string) {
	t.Helper()
	ctx := context.Background()
	name, ext, email := "Session Co", "node-sessions-org", "node-sessions@example.com"
	org, err := in.Server.Accounts.CreateOrganization(ctx, accounts.OrgFields{DisplayName: &name, ExternalID: &ext})
	if err != nil {
		t.Fatal(err)
	}
	u, err := in.Server.Accounts.CreateUserAndMembership(ctx, org.ID, accounts.UserFields{Email: &email}, accounts.MembershipFields{}, false)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := 0; i < 3; i++ {
		s, _, err := in.Server.Sessions.Create(ctx, sessions.NewSession{UserID: u.ID, OrgID: org.ID, AMR: []string{"otp"}, UserAgent: "node-suite", IP: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	return u.ID, ids
}
