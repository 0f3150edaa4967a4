package cli_test

// gatehouse lazy-migration and gatehouse migration status, in-process
// through cli.Main against real servers on loopback (SQLite and
// PostgreSQL).

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

func TestLazyMigrationCommand(t *testing.T) {
	servertest.Each(t, servertest.Options{}, func(t *testing.T, in *servertest.Instance) {
		if out := mustRun(t, cmd(in, "lazy-migration", "get")...); out != "Lazy migration is off.\n" {
			t.Fatalf("get before set: %q", out)
		}
		wantFail(t, cmd(in, "lazy-migration", "set", "--url", "http://legacy.example/verify", "--generate-secret"), "url", "https")
		wantFail(t, cmd(in, "lazy-migration", "set", "--url", "http://127.0.0.1:9/verify", "--secret", "whsec_c2hvcnQ="), "secret", "rule secret_format")
		wantFail(t, cmd(in, "lazy-migration", "set", "--url", "http://127.0.0.1:9/verify", "--generate-secret", "--timeout", "20s"), "timeout_ms", "rule range")
		wantFail(t, cmd(in, "lazy-migration", "set", "--url", "http://127.0.0.1:9/verify"), "secret", "rule required")
		wantFail(t, cmd(in, "lazy-migration", "set", "--secret", "x", "--generate-secret"), "cannot be used together")
		if out := mustRun(t, cmd(in, "lazy-migration", "get")...); out != "Lazy migration is off.\n" {
			t.Fatalf("refused sets changed the setting: %q", out)
		}

		out := mustRun(t, cmd(in, "lazy-migration", "set", "--url", "http://127.0.0.1:9/verify", "--generate-secret", "--timeout", "2s")...)
		secret := regexp.MustCompile(`whsec_[A-Za-z0-9+/=]+`).FindString(out)
		if secret == "" || !strings.Contains(out, "shown once") || !strings.Contains(out, "Timeout:              2s") {
			t.Fatalf("set --generate-secret: %q", out)
		}
		out = mustRun(t, cmd(in, "lazy-migration", "set", "--create-unknown-users")...)
		for _, want := range []string{"Lazy migration is on.", "URL:                  http://127.0.0.1:9/verify",
			"Secret:               set (never shown)", "Timeout:              2s", "Create unknown users: yes"} {
			if !strings.Contains(out, want) {
				t.Errorf("set --create-unknown-users kept too little: %q lacks %q", out, want)
			}
		}
		js := mustRun(t, cmd(in, "lazy-migration", "get", "--json")...)
		var d map[string]any
		if err := json.Unmarshal([]byte(js), &d); err != nil || d["enabled"] != true || d["secret_set"] != true || strings.Contains(js, secret) {
			t.Fatalf("get --json: %q %v", js, err)
		}
		if out := mustRun(t, cmd(in, "lazy-migration", "disable")...); out != "Lazy migration is off.\n" {
			t.Fatalf("disable: %q", out)
		}
		if out := mustRun(t, cmd(in, "lazy-migration", "get")...); out != "Lazy migration is off.\n" {
			t.Fatalf("get after disable: %q", out)
		}
	})
}

func TestMigrationStatusCommand(t *testing.T) {
	servertest.Each(t, servertest.Options{}, func(t *testing.T, in *servertest.Instance) {
		ctx := t.Context()
		acc := in.Server.Accounts
		yes := true
		res, err := acc.ImportBatch(ctx, accounts.ImportBatch{Users: []accounts.ImportUser{
			{Email: "hash@x.test", EmailVerified: &yes, PasswordHash: "$2a$04$Mc8z6XRlxbUyHa6dYi1K5.gBrJOQgQ9vw4h0SQKSZTPo9bmRFmxVK"},
			{Email: "nohash1@x.test"},
			{Email: "nohash2@x.test"},
		}})
		if err != nil || res == nil {
			t.Fatalf("import: %v", err)
		}
		out := mustRun(t, cmd(in, "migration", "status")...)
		for _, want := range []string{"Users: 3", "Lazy migration: off.",
			"Verdict: 2 users still depend on the legacy system", "turn lazy migration on"} {
			if !strings.Contains(out, want) {
				t.Errorf("status after the import lacks %q:\n%s", want, out)
			}
		}
		if !regexp.MustCompile(`import_no_hash\s+2\s+0\s+2\s+2`).MatchString(out) || !regexp.MustCompile(`import_hash\s+1\s+0\s+1\s+0`).MatchString(out) {
			t.Errorf("status table:\n%s", out)
		}

		// Both users without a hash sign in (by emailed code): nobody
		// depends on the legacy system any more.
		for _, email := range []string{"nohash1@x.test", "nohash2@x.test"} {
			u, err := acc.UserByEmail(ctx, email)
			if err != nil {
				t.Fatal(err)
			}
			if err := acc.RecordLogin(ctx, u.ID, "", true); err != nil {
				t.Fatal(err)
			}
		}
		out = mustRun(t, cmd(in, "migration", "status")...)
		if !strings.Contains(out, "Verdict: the legacy system can be switched off") ||
			!regexp.MustCompile(`import_no_hash\s+2\s+2\s+0\s+0`).MatchString(out) {
			t.Errorf("status after sign-ins:\n%s", out)
		}
		js := mustRun(t, cmd(in, "migration", "status", "--json")...)
		var d struct {
			TotalUsers        string `json:"total_users"`
			DependingOnLegacy string `json:"depending_on_legacy"`
			Origins           []struct{ Origin, Users string }
		}
		if err := json.Unmarshal([]byte(js), &d); err != nil || d.TotalUsers != "3" || d.DependingOnLegacy != "0" || len(d.Origins) != 4 {
			t.Fatalf("status --json: %v\n%s", err, js)
		}
	})
}
