package api_test

// gatehouse.v1.MigrationService over REST on both databases: the lazy
// migration setting (validation naming field and rule, nothing changed by
// a refused update, the secret write-only and sealed at rest) and the
// migration status after an import and sign-ins.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

const (
	lazyPath   = "/api/v1/settings/lazy-migration"
	statusPath = "/api/v1/migration/status"
	// A Standard Webhooks secret: whsec_ and base64 of 32 bytes.
	goodSecret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
)

// violations lists "field:rule" of a REST error answer.
func violations(body map[string]any) []string {
	var out []string
	details, _ := body["details"].([]any)
	for _, d := range details {
		vi, _ := d.(map[string]any)["validation_error_info"].(map[string]any)
		fvs, _ := vi["field_violations"].([]any)
		for _, fv := range fvs {
			m := fv.(map[string]any)
			out = append(out, fmt.Sprint(m["field"], ":", m["constraint"]))
		}
	}
	return out
}

func TestLazyMigrationSettings(t *testing.T) {
	servertest.Each(t, servertest.Options{}, func(t *testing.T, in *servertest.Instance) {
		tok := in.Token(t)
		st, got := in.Do(t, tok, http.MethodGet, lazyPath, "")
		if st != http.StatusOK || got["enabled"] == true {
			t.Fatalf("GET before any setting: %d %v", st, got)
		}
		for _, c := range []struct {
			name, body string
			want       []string
		}{
			{"no url", `{"secret":"` + goodSecret + `"}`, []string{"url:required"}},
			{"not a url", `{"url":"legacy.example/verify","secret":"` + goodSecret + `"}`, []string{"url:url"}},
			{"ftp", `{"url":"ftp://legacy.example/verify","secret":"` + goodSecret + `"}`, []string{"url:url"}},
			{"user info", `{"url":"https://u:p@legacy.example/verify","secret":"` + goodSecret + `"}`, []string{"url:url"}},
			{"http elsewhere", `{"url":"http://legacy.example/verify","secret":"` + goodSecret + `"}`, []string{"url:https"}},
			{"timeout too long", `{"url":"https://legacy.example/verify","secret":"` + goodSecret + `","timeout_ms":10001}`, []string{"timeout_ms:range"}},
			{"timeout too short", `{"url":"https://legacy.example/verify","secret":"` + goodSecret + `","timeout_ms":99}`, []string{"timeout_ms:range"}},
			{"no secret", `{"url":"https://legacy.example/verify"}`, []string{"secret:required"}},
			{"raw secret", `{"url":"https://legacy.example/verify","secret":"hunter2hunter2hunter2hunter2hunter2"}`, []string{"secret:secret_format"}},
			{"short secret", `{"url":"https://legacy.example/verify","secret":"whsec_c2hvcnQ="}`, []string{"secret:secret_format"}},
			{"everything", `{"url":"gopher://x","secret":"whsec_!","timeout_ms":-1}`, []string{"url:url", "timeout_ms:range", "secret:secret_format"}},
		} {
			st, body := in.Do(t, tok, http.MethodPut, lazyPath, c.body)
			if got := violations(body); st != http.StatusBadRequest || strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Errorf("%s: %d %v, want 400 %v", c.name, st, got, c.want)
			}
		}
		if st, got := in.Do(t, tok, http.MethodGet, lazyPath, ""); st != http.StatusOK || got["enabled"] == true {
			t.Fatalf("a refused update changed the setting: %v", got)
		}

		// Loopback http is fine in development (servertest's environment).
		st, got = in.Do(t, tok, http.MethodPut, lazyPath, `{"url":"http://127.0.0.1:9/verify","secret":"`+goodSecret+`"}`)
		if st != http.StatusOK || got["enabled"] != true || got["secret_set"] != true || got["timeout_ms"] != float64(3000) ||
			got["create_unknown_users"] == true {
			t.Fatalf("PUT: %d %v", st, got)
		}
		if v, ok := got["secret"]; ok && v != "" {
			t.Fatalf("the secret came back: %v", got)
		}
		// An update without a secret keeps the stored one; a refused one
		// changes nothing.
		st, got = in.Do(t, tok, http.MethodPut, lazyPath, `{"url":"https://legacy.example/v2","timeout_ms":2500,"create_unknown_users":true}`)
		if st != http.StatusOK || got["secret_set"] != true || got["url"] != "https://legacy.example/v2" || got["timeout_ms"] != float64(2500) {
			t.Fatalf("PUT keeping the secret: %d %v", st, got)
		}
		if st, _ := in.Do(t, tok, http.MethodPut, lazyPath, `{"url":"http://legacy.example/v3"}`); st != http.StatusBadRequest {
			t.Fatalf("http to a remote host: %d", st)
		}
		st, got = in.Do(t, tok, http.MethodGet, lazyPath, "")
		raw, _ := json.Marshal(got)
		if st != http.StatusOK || got["url"] != "https://legacy.example/v2" || got["create_unknown_users"] != true ||
			strings.Contains(string(raw), "whsec_") {
			t.Fatalf("GET: %d %s", st, raw)
		}

		// At rest the secret is sealed: neither it nor its key is in the row.
		var enc string
		if err := in.Server.Store().DB().QueryRowContext(t.Context(), `SELECT secret_enc FROM legacy_auth_settings`).Scan(&enc); err != nil {
			t.Fatal(err)
		}
		if enc == "" || strings.Contains(enc, "whsec_") || strings.Contains(enc, goodSecret[6:]) {
			t.Fatalf("secret_enc %q is not sealed", enc)
		}

		if st, _ := in.Do(t, tok, http.MethodDelete, lazyPath, ""); st != http.StatusOK {
			t.Fatalf("DELETE: %d", st)
		}
		if st, got := in.Do(t, tok, http.MethodGet, lazyPath, ""); st != http.StatusOK || got["enabled"] == true || got["secret_set"] == true {
			t.Fatalf("GET after DELETE: %d %v", st, got)
		}
	})
}

// In production even a loopback endpoint must use https.
func TestLazyMigrationProductionNeedsHTTPS(t *testing.T) {
	in := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) { c.Dev, c.EnvType = false, "production" }})
	tok := in.Token(t)
	st, body := in.Do(t, tok, http.MethodPut, lazyPath, `{"url":"http://127.0.0.1:9/verify","secret":"`+goodSecret+`"}`)
	if got := violations(body); st != http.StatusBadRequest || len(got) != 1 || got[0] != "url:https" {
		t.Fatalf("http loopback in production: %d %v", st, got)
	}
	if st, _ := in.Do(t, tok, http.MethodPut, lazyPath, `{"url":"https://127.0.0.1:9/verify","secret":"`+goodSecret+`"}`); st != http.StatusOK {
		t.Fatalf("https loopback in production: %d", st)
	}
}

// origin finds one origin's counts in a status answer.
func origin(t *testing.T, status map[string]any, name string) map[string]any {
	t.Helper()
	for _, o := range status["origins"].([]any) {
		if m := o.(map[string]any); m["origin"] == name {
			return m
		}
	}
	t.Fatalf("no origin %q in %v", name, status)
	return nil
}

// counts renders users/signed in/not yet/without password of one origin;
// proto JSON writes int64 as strings, and leaves zeros out.
func counts(t *testing.T, status map[string]any, name string) string {
	o := origin(t, status, name)
	n := func(k string) string {
		if v, ok := o[k]; ok {
			return fmt.Sprint(v)
		}
		return "0"
	}
	return n("users") + "/" + n("signed_in_since_migration") + "/" + n("not_signed_in_since_migration") + "/" + n("without_password")
}

func TestMigrationStatus(t *testing.T) {
	servertest.Each(t, servertest.Options{}, func(t *testing.T, in *servertest.Instance) {
		tok := in.Token(t)
		ctx := t.Context()
		// One native user (created through the API), three imported with a
		// hash, three without.
		acc := in.Server.Accounts
		orgName, email := "Acme", "native@x.test"
		org, err := acc.CreateOrganization(ctx, accounts.OrgFields{DisplayName: &orgName})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := acc.CreateUserAndMembership(ctx, org.ID, accounts.UserFields{Email: &email}, accounts.MembershipFields{}, false); err != nil {
			t.Fatal(err)
		}
		var users []string
		for i := range 3 {
			users = append(users, fmt.Sprintf(`{"email":"h%d@x.test","password_hash":"%s"}`, i, md5Password),
				fmt.Sprintf(`{"email":"n%d@x.test"}`, i))
		}
		if st, out := in.Do(t, tok, http.MethodPost, "/api/v1/import/batches", `{"users":[`+strings.Join(users, ",")+`]}`); st != http.StatusOK {
			t.Fatalf("import: %d %v", st, out)
		}
		st, status := in.Do(t, tok, http.MethodGet, statusPath, "")
		if st != http.StatusOK || status["total_users"] != "7" || status["depending_on_legacy"] != "3" {
			t.Fatalf("status after the import: %d %v", st, status)
		}
		for name, want := range map[string]string{"native": "1/0/1/1", "import_hash": "3/0/3/0", "import_no_hash": "3/0/3/3", "lazy": "0/0/0/0"} {
			if got := counts(t, status, name); got != want {
				t.Errorf("after the import, %s: %s, want %s", name, got, want)
			}
		}

		// Sign-ins (what the hosted login records): one user with a hash, one
		// without (by emailed code), and the native user.
		for _, email := range []string{"h0@x.test", "n0@x.test", "native@x.test"} {
			u, err := acc.UserByEmail(ctx, email)
			if err != nil {
				t.Fatal(err)
			}
			if err := acc.RecordLogin(ctx, u.ID, "", true); err != nil {
				t.Fatal(err)
			}
		}
		// A user imported without a hash who then set a password by reset.
		u, err := acc.UserByEmail(ctx, "n1@x.test")
		if err != nil {
			t.Fatal(err)
		}
		if err := acc.SetPasswordHash(ctx, u.ID, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", true); err != nil {
			t.Fatal(err)
		}
		_, status = in.Do(t, tok, http.MethodGet, statusPath, "")
		for name, want := range map[string]string{"native": "1/1/0/0", "import_hash": "3/1/2/0", "import_no_hash": "3/1/2/1", "lazy": "0/0/0/0"} {
			if got := counts(t, status, name); got != want {
				t.Errorf("after sign-ins, %s: %s, want %s", name, got, want)
			}
		}
		if status["depending_on_legacy"] != "1" {
			t.Errorf("depending_on_legacy after sign-ins: %v", status["depending_on_legacy"])
		}
		// Re-importing the same users changes neither origin nor counts.
		if st, _ := in.Do(t, tok, http.MethodPost, "/api/v1/import/batches", `{"users":[`+strings.Join(users, ",")+`]}`); st != http.StatusOK {
			t.Fatalf("re-import: %d", st)
		}
		_, again := in.Do(t, tok, http.MethodGet, statusPath, "")
		a, _ := json.Marshal(again)
		b, _ := json.Marshal(status)
		if string(a) != string(b) {
			t.Errorf("a re-import changed the status:\n%s\n%s", b, a)
		}
	})
}
