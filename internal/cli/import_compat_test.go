package cli_test

// `gatehouse import --compat` behind a loopback reverse proxy that refuses
// every gatehouse.v1 path, so it must manage with the scalekit.v1 calls
// alone. The proxy (apiProxy) also serves import_rate_test.go.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/gatehouse/gatehouse/gen/gatehouse/v1" // registers the gatehouse.v1 descriptors
	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// proxyCall is one request a proxy saw.
type proxyCall struct {
	path    string
	at      time.Time
	blocked bool
}

// apiProxy is an httputil.ReverseProxy on loopback in front of a test
// server, speaking HTTP/1.1 and h2c as the server does. It records each
// request's path and arrival time, and answers 404 itself for the paths
// block matches.
type apiProxy struct {
	URL   string
	mu    sync.Mutex
	calls []proxyCall
}

func startProxy(t *testing.T, target string, block func(path string) bool) *apiProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true) // gRPC needs HTTP/2 to the server too
	rp.Transport = &http.Transport{Protocols: &h2c}
	p := &apiProxy{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		blocked := block != nil && block(r.URL.Path)
		p.mu.Lock()
		p.calls = append(p.calls, proxyCall{path: r.URL.Path, at: time.Now(), blocked: blocked})
		p.mu.Unlock()
		if blocked {
			http.NotFound(w, r)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	var both http.Protocols
	both.SetHTTP1(true)
	both.SetUnencryptedHTTP2(true)
	srv.Config.Protocols = &both
	srv.Start()
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// take returns the requests seen since the last take and forgets them.
func (p *apiProxy) take() []proxyCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.calls
	p.calls = nil
	return out
}

func countPath(calls []proxyCall, suffix string) int {
	n := 0
	for _, c := range calls {
		if strings.HasSuffix(c.path, suffix) {
			n++
		}
	}
	return n
}

// gatehouseV1Paths lists, from the registered descriptors, the path
// prefixes of every method of the gatehouse.v1 package: each service's
// gRPC and Connect prefix ("/gatehouse.v1.ImportService/") and each
// method's REST path (its google.api.http rule, up to the first variable).
func gatehouseV1Paths(t *testing.T) []string {
	t.Helper()
	var out []string
	protoregistry.GlobalFiles.RangeFilesByPackage("gatehouse.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			out = append(out, "/"+string(sd.FullName())+"/")
			for j := range sd.Methods().Len() {
				rule, _ := proto.GetExtension(sd.Methods().Get(j).Options(), annotations.E_Http).(*annotations.HttpRule)
				for _, path := range []string{rule.GetGet(), rule.GetPut(), rule.GetPost(), rule.GetDelete(), rule.GetPatch()} {
					if path, _, _ = strings.Cut(path, "{"); path != "" {
						out = append(out, path)
					}
				}
			}
		}
		return true
	})
	for _, must := range []string{"/gatehouse.v1.ImportService/", "/gatehouse.v1.ExportService/", "/gatehouse.v1.SettingsService/",
		"/gatehouse.v1.MigrationService/", "/api/v1/import/batches"} {
		if !slices.Contains(out, must) {
			t.Fatalf("the gatehouse.v1 paths lack %s: %v", must, out)
		}
	}
	return out
}

// compatExport has an organization of the file, one the server holds
// already (org_existing, with its own role auditor), users whose email is
// unverified, unstated or verified, and two memberships naming roles that
// exist nowhere: one in the environment, one in org_existing.
const compatExport = `{"type": "organization", "external_id": "org_new", "display_name": "New Org"}
{"type": "user", "email": "unverified@example.com", "external_id": "u1", "email_verified": false, "password_hash": "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a", "memberships": [{"organization_external_id": "org_new", "roles": ["admin"]}]}
{"type": "user", "email": "unstated@example.com", "external_id": "u2", "memberships": [{"organization_external_id": "org_new"}]}
{"type": "user", "email": "verified@example.com", "external_id": "u3", "email_verified": true, "memberships": [{"organization_external_id": "org_new", "roles": ["member"]}]}
{"type": "user", "email": "nosuchrole@example.com", "external_id": "u4", "email_verified": true, "memberships": [{"organization_external_id": "org_new", "roles": ["member", "overlord"]}]}
{"type": "user", "email": "auditor@example.com", "external_id": "u5", "email_verified": true, "memberships": [{"organization_external_id": "org_existing", "roles": ["auditor"]}]}
{"type": "user", "email": "ghostrole@example.com", "external_id": "u6", "email_verified": true, "memberships": [{"organization_external_id": "org_existing", "roles": ["ghost"]}]}
`

// TestImportCompatScalekitOnly: --compat, dry and real, through a proxy
// that answers 404 for every gatehouse.v1 path, never asks for one; it
// checks roles through the Scalekit RolesService (an environment role, an
// organization's own role, and unknown ones reported as unknown_role in
// both runs), creates each user with one CreateUserAndMembership call,
// and counts the users whose email it marked verified. The same proxy
// stops a bulk import, so it does block what it should.
func TestImportCompatScalekitOnly(t *testing.T) {
	t.Parallel()
	servertest.Each(t, servertest.Options{}, func(t *testing.T, in *servertest.Instance) {
		dir := t.TempDir()
		setup := filepath.Join(dir, "setup.jsonl")
		os.WriteFile(setup, []byte(`{"type": "organization", "external_id": "org_existing", "display_name": "Existing", "roles": [{"name": "auditor", "display_name": "Auditor"}]}`+"\n"), 0o600)
		if code, out, errOut := importRun(t, in, dir, "--from", "generic", setup); code != 0 {
			t.Fatalf("setting up org_existing: exit %d: %s %s", code, out, errOut)
		}
		file := filepath.Join(dir, "export.jsonl")
		os.WriteFile(file, []byte(compatExport), 0o600)

		blocked := gatehouseV1Paths(t)
		px := startProxy(t, in.URL, func(path string) bool {
			return slices.ContainsFunc(blocked, func(p string) bool { return strings.HasPrefix(path, p) })
		})
		viaProxy := func(args ...string) (int, string, string) {
			full := append([]string{"import", "--state", filepath.Join(dir, "state"), "--report", filepath.Join(dir, "report.csv"),
				"--server", px.URL, "--client-id", servertest.ClientID, "--client-secret", servertest.ClientSecret}, args...)
			return run(t, full...)
		}
		wantReport := [][]string{
			{"user", "export.jsonl:5", "u4", "nosuchrole@example.com", "memberships[0].roles", "unknown_role"},
			{"user", "export.jsonl:7", "u6", "ghostrole@example.com", "memberships[0].roles", "unknown_role"},
		}
		// orgLists is the ListOrganizationRoles calls a run makes: for
		// org_existing (auditor and ghost are no environment roles), and
		// in the real run for org_new too (overlord), which the dry run
		// has not created and so checks against the environment alone.
		scalekitOnly := func(what string, calls []proxyCall, orgLists int) {
			t.Helper()
			if len(calls) == 0 {
				t.Fatalf("%s: the proxy saw no requests", what)
			}
			for _, c := range calls {
				if c.blocked || (c.path != "/oauth/token" && !strings.HasPrefix(c.path, "/scalekit.v1.")) {
					t.Errorf("%s: --compat asked for %s", what, c.path)
				}
			}
			if n := countPath(calls, "/ListRoles"); n != 1 {
				t.Errorf("%s: %d ListRoles calls, want 1 (the list is read once a run)", what, n)
			}
			if n := countPath(calls, "/ListOrganizationRoles"); n != orgLists {
				t.Errorf("%s: %d ListOrganizationRoles calls, want %d (each organization's list read once)", what, n, orgLists)
			}
		}

		for _, dry := range []bool{true, false} {
			what := "compat run"
			args := []string{"--from", "generic", "--compat", "--batch-size", "2", file}
			if dry {
				what, args = "compat dry run", append([]string{"--dry-run"}, args...)
			}
			code, out, errOut := viaProxy(args...)
			if code == 0 || !strings.Contains(errOut, "2 rows failed") {
				t.Errorf("%s: exit %d, stderr %q", what, code, errOut)
			}
			wantSummary(t, what, out, [4]int{1, 0, 0, 0}, [4]int{4, 0, 0, 2})
			if !strings.Contains(out, "Verified emails: 2 users created with their email verified") {
				t.Errorf("%s: the summary does not count the two emails --compat verifies: %q", what, out)
			}
			if !strings.Contains(out, "Password hashes: 1 not imported") {
				t.Errorf("%s: the summary does not count the hash left out: %q", what, out)
			}
			rows := readReport(t, filepath.Join(dir, "report.csv"))
			if len(rows) != 3 || !slices.Equal(rows[1][:6], wantReport[0]) || !slices.Equal(rows[2][:6], wantReport[1]) ||
				!strings.Contains(rows[1][6], `"overlord" does not exist`) {
				t.Errorf("%s: report %v, want %v", what, rows, wantReport)
			}
			calls := px.take()
			orgLists := 2
			if dry {
				orgLists = 1
			}
			scalekitOnly(what, calls, orgLists)
			creates := countPath(calls, "/scalekit.v1.users.UserService/CreateUserAndMembership")
			if dry && creates != 0 {
				t.Errorf("the dry run made %d CreateUserAndMembership calls", creates)
			}
			if !dry && creates != 4 {
				t.Errorf("%d CreateUserAndMembership calls for 4 new users, want one each", creates)
			}
			if dry {
				if _, err := in.Server.Accounts.GetUser(context.Background(), accounts.Ref{ExternalID: "u1"}); err == nil {
					t.Error("the compat dry run created a user")
				}
			}
		}
		for ext, verified := range map[string]bool{"u1": true, "u2": true, "u3": true, "u5": true} {
			if u := userByExt(t, in, ext); u.EmailVerified != verified {
				t.Errorf("%s: email_verified %v after --compat, want %v", ext, u.EmailVerified, verified)
			}
		}
		auditor := userByExt(t, in, "u5")
		if len(auditor.Memberships) != 1 || len(auditor.Memberships[0].Roles) != 1 || auditor.Memberships[0].Roles[0].Name != "auditor" {
			t.Errorf("u5's memberships: %+v", auditor.Memberships)
		}
		for _, ext := range []string{"u4", "u6"} {
			if _, err := in.Server.Accounts.GetUser(context.Background(), accounts.Ref{ExternalID: ext}); err == nil {
				t.Errorf("%s, whose role does not exist, was created", ext)
			}
		}

		// The proxy does refuse gatehouse.v1: the bulk import cannot pass.
		if code, _, _ := viaProxy("--from", "generic", file); code == 0 {
			t.Error("a bulk import passed a proxy that refuses gatehouse.v1")
		}
		if calls := px.take(); !slices.ContainsFunc(calls, func(c proxyCall) bool { return c.blocked }) {
			t.Errorf("the bulk import reached no gatehouse.v1 path: %v", calls)
		}
	})
}
