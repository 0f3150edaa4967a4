package api_test

// The bulk import (gatehouse.v1.ImportService, POST /api/v1/import/batches)
// on both databases: creates, idempotent re-imports, updates, per-row
// failures naming field and rule, dry runs that write nothing, and password
// hashes that verify against what was stored.

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"connectrpc.com/connect"

	gatehousev1 "github.com/gatehouse/gatehouse/gen/gatehouse/v1"
	"github.com/gatehouse/gatehouse/gen/gatehouse/v1/gatehousev1connect"
	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/store"
)

// md5Password is the unsalted MD5 of "password" in Gatehouse's $digest$ form.
const md5Password = "$digest$alg=md5,enc=hex$5f4dcc3b5aa765d61d8327deb882cf99"

// importBatch posts a batch over REST and returns the decoded answer.
func (h *harness) importBatch(body map[string]any) map[string]any {
	h.t.Helper()
	return h.mustREST("POST", "/api/v1/import/batches", jsonString(h.t, body))
}

// statuses lists the status of each row at path ("users" or
// "organizations"), shortened: created, updated, unchanged, failed.
func statuses(out map[string]any, path string) []string {
	var s []string
	for _, r := range list(out, path) {
		s = append(s, strings.ToLower(strings.TrimPrefix(str(r, "status"), "IMPORT_STATUS_")))
	}
	return s
}

func wantStatuses(t *testing.T, what string, out map[string]any, path string, want ...string) {
	t.Helper()
	if got := statuses(out, path); !slices.Equal(got, want) {
		t.Errorf("%s: %s statuses = %v, want %v\n%s", what, path, got, want, jsonString(t, list(out, path)))
	}
}

// rowRules lists "field:rule" for each error of row i at path.
func rowRules(out map[string]any, path string, i int) []string {
	var s []string
	for _, e := range list(get(out, path+"."+strconv.Itoa(i)), "errors") {
		s = append(s, str(e, "field")+":"+str(e, "rule"))
	}
	return s
}

// storedHash reads a user's password hash at rest.
func storedHash(t *testing.T, h *harness, userID string) string {
	t.Helper()
	var hash string
	err := h.Server.Store().DB().QueryRowContext(context.Background(),
		`SELECT hash FROM user_passwords WHERE user_id = $1`, userID).Scan(&hash)
	if err != nil {
		t.Fatalf("password hash of %s: %v", userID, err)
	}
	return hash
}

// eventCount counts the environment's outbox events.
func eventCount(t *testing.T, h *harness) int {
	t.Helper()
	var n int
	if err := h.Server.Store().DB().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func userByExt(t *testing.T, h *harness, ext string) *store.User {
	t.Helper()
	u, err := h.Server.Accounts.GetUser(context.Background(), accounts.Ref{ExternalID: ext})
	if err != nil {
		t.Fatalf("user %q: %v", ext, err)
	}
	return u
}

func roleNamesIn(u *store.User, orgExt string) []string {
	for _, m := range u.Memberships {
		if m.OrgName == orgExt {
			var out []string
			for _, r := range m.Roles {
				out = append(out, r.Name)
			}
			return out
		}
	}
	return nil
}

func mustHash(t *testing.T, pw string) string {
	t.Helper()
	h, err := passwords.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func wantVerifies(t *testing.T, stored, pw string) {
	t.Helper()
	if ok, _, err := passwords.Verify(stored, pw); !ok || err != nil {
		t.Errorf("stored hash %.30s... does not verify %q: %v", stored, pw, err)
	}
}

func TestImportBatchIdempotentAndUpdates(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.role("editor", "")
		alicePHC := mustHash(t, "alice-secret")
		batch := func() map[string]any {
			return map[string]any{
				"organizations": []any{
					map[string]any{"external_id": "org_1", "display_name": "Megasoft Inc", "metadata": map[string]string{"plan": "enterprise"}},
					map[string]any{"external_id": "org_2", "display_name": "Acme Corp"},
				},
				"users": []any{
					map[string]any{"email": "alice@example.com", "external_id": "usr_1", "first_name": "Alice", "last_name": "Doe",
						"email_verified": true, "metadata": map[string]string{"dept": "eng"}, "password_hash": alicePHC,
						"memberships": []any{
							map[string]any{"organization_external_id": "org_1", "roles": []string{"admin", "editor"}, "metadata": map[string]string{"title": "cto"}},
							map[string]any{"organization_external_id": "org_2"},
						}},
					map[string]any{"email": "bob@example.com", "password_hash": md5Password,
						"memberships": []any{map[string]any{"organization_external_id": "org_1", "roles": []string{"member"}}}},
					map[string]any{"email": "carol@example.com", "external_id": "usr_3",
						"memberships": []any{map[string]any{"organization_external_id": "org_2", "roles": []string{"editor"}}}},
				},
			}
		}
		out := h.importBatch(batch())
		wantStatuses(t, "first import", out, "organizations", "created", "created")
		wantStatuses(t, "first import", out, "users", "created", "created", "created")
		if num(out, "user_counts.created") != 3 || num(out, "organization_counts.created") != 2 {
			t.Errorf("counts: %v %v", get(out, "user_counts"), get(out, "organization_counts"))
		}
		if f := str(out, "users.0.password_format"); f != "argon2id" {
			t.Errorf("alice's password_format = %q", f)
		}
		if f := str(out, "users.1.password_format"); f != "digest" {
			t.Errorf("bob's password_format = %q", f)
		}

		alice := userByExt(t, h, "usr_1")
		if alice.ID != str(out, "users.0.id") || alice.GivenName != "Alice" || alice.FamilyName != "Doe" || !alice.EmailVerified ||
			alice.Metadata["dept"] != "eng" {
			t.Errorf("alice as stored: %+v", alice)
		}
		if got := roleNamesIn(alice, "Megasoft Inc"); !slices.Equal(got, []string{"admin", "editor"}) {
			t.Errorf("alice's roles in org_1 = %v", got)
		}
		if got := roleNamesIn(alice, "Acme Corp"); !slices.Equal(got, []string{"member"}) {
			t.Errorf("alice's roles in org_2 = %v (want the default member role)", got)
		}
		for _, m := range alice.Memberships {
			if m.Status != store.MembershipActive {
				t.Errorf("alice's membership in %s has status %d, want ACTIVE", m.OrgName, m.Status)
			}
		}
		bobID := str(out, "users.1.id")
		wantVerifies(t, storedHash(t, h, alice.ID), "alice-secret")
		bobHash := storedHash(t, h, bobID)
		if !strings.HasPrefix(bobHash, "$digest-argon2id$") {
			t.Errorf("bob's MD5 digest is stored as %.20s..., want it wrapped in argon2id", bobHash)
		}
		wantVerifies(t, bobHash, "password")
		if n := len(h.outbox()); n != 0 {
			t.Errorf("the import sent %d emails, want none", n)
		}

		// The same batch again changes nothing.
		events := eventCount(t, h)
		again := h.importBatch(batch())
		wantStatuses(t, "second import", again, "organizations", "unchanged", "unchanged")
		wantStatuses(t, "second import", again, "users", "unchanged", "unchanged", "unchanged")
		if num(again, "user_counts.unchanged") != 3 {
			t.Errorf("second import counts: %v", get(again, "user_counts"))
		}
		if n := eventCount(t, h); n != events {
			t.Errorf("the unchanged re-import emitted %d events", n-events)
		}
		if got := storedHash(t, h, bobID); got != bobHash {
			t.Error("the unchanged re-import rewrote bob's wrapped hash")
		}

		// A login rehashes alice to argon2id at the current parameters (here
		// simulated in the database); importing the old export again keeps it.
		rehashed := mustHash(t, "alice-secret")
		if _, err := h.Server.Store().DB().ExecContext(context.Background(),
			`UPDATE user_passwords SET hash = $1 WHERE user_id = $2`, rehashed, alice.ID); err != nil {
			t.Fatal(err)
		}
		wantStatuses(t, "after a login", h.importBatch(batch()), "users", "unchanged", "unchanged", "unchanged")
		if got := storedHash(t, h, alice.ID); got != rehashed {
			t.Error("re-importing put alice's imported hash back over the one her login made")
		}

		// Changed rows update; the rest stay.
		b := batch()
		users := b["users"].([]any)
		users[0].(map[string]any)["last_name"] = "Smith"
		users[1].(map[string]any)["password_hash"] = "$digest$alg=md5,enc=hex$e10adc3949ba59abbe56e057f20f883e" // 123456
		users[2].(map[string]any)["memberships"] = []any{map[string]any{"organization_external_id": "org_2", "roles": []string{"admin"}}}
		b["organizations"].([]any)[1].(map[string]any)["display_name"] = "Acme Corporation"
		changed := h.importBatch(b)
		wantStatuses(t, "changed rows", changed, "organizations", "unchanged", "updated")
		wantStatuses(t, "changed rows", changed, "users", "updated", "updated", "updated")
		if u := userByExt(t, h, "usr_1"); u.FamilyName != "Smith" || u.GivenName != "Alice" {
			t.Errorf("alice after the update: %q %q", u.GivenName, u.FamilyName)
		}
		wantVerifies(t, storedHash(t, h, bobID), "123456")
		if got := roleNamesIn(userByExt(t, h, "usr_3"), "Acme Corporation"); !slices.Equal(got, []string{"admin"}) {
			t.Errorf("carol's roles after the update = %v, want [admin]", got)
		}
		wantStatuses(t, "changed rows again", h.importBatch(b), "users", "unchanged", "unchanged", "unchanged")
	})
}

// TestImportMatchesByEmail: a user created without an external id is found
// by email and gets the row's external id; a user whose email and external
// id name two different stored users fails.
func TestImportMatchesByEmail(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		org := h.createOrg("Initech", "org_9")
		existing := h.createUser(org, "Dana@Example.com", "")
		h.createUser(org, "erin@example.com", "usr_erin")
		out := h.importBatch(map[string]any{"users": []any{
			map[string]any{"email": "dana@example.com", "external_id": "usr_dana"},
			map[string]any{"email": "dana@example.com", "external_id": "usr_erin"},
			map[string]any{"email": "erin@example.com", "external_id": "usr_other"},
		}})
		wantStatuses(t, "match by email", out, "users", "updated", "failed", "failed")
		if str(out, "users.0.id") != existing {
			t.Errorf("row 0 matched %s, want %s", str(out, "users.0.id"), existing)
		}
		if u := userByExt(t, h, "usr_dana"); u.ID != existing || u.Email != "dana@example.com" {
			t.Errorf("dana after the import: %s %q", u.ID, u.Email)
		}
		if got := rowRules(out, "users", 1); !slices.Contains(got, "email:duplicate_in_batch") {
			t.Errorf("row 1 errors = %v", got)
		}
		if got := rowRules(out, "users", 2); !slices.Equal(got, []string{"external_id:external_id_mismatch"}) {
			t.Errorf("row 2 errors = %v", got)
		}
	})
}

// badRows is a batch with one broken row per rule the dry run must report.
func badRows(h *harness) map[string]any {
	return map[string]any{
		"organizations": []any{
			map[string]any{"external_id": "org_ok", "display_name": "OK Org"},
			map[string]any{"external_id": "org_noname"},
		},
		"users": []any{
			map[string]any{"email": "good@example.com", "external_id": "u_good", "password_hash": md5Password,
				"memberships": []any{map[string]any{"organization_external_id": "org_ok"}}},
			map[string]any{"email": "not-an-email", "external_id": "u_bad_email"},
			map[string]any{"email": "GOOD@example.com", "external_id": "u_dup_email"},
			map[string]any{"email": "other@example.com", "external_id": "u_good"},
			map[string]any{"email": "lost@example.com", "memberships": []any{map[string]any{"organization_external_id": "org_missing"}}},
			map[string]any{"email": "noname@example.com", "memberships": []any{map[string]any{"organization_external_id": "org_noname"}}},
			map[string]any{"email": "role@example.com", "memberships": []any{map[string]any{"organization_external_id": "org_ok", "roles": []string{"wizard"}}}},
			map[string]any{"email": "x2@example.com", "password_hash": "$2x$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a"},
			map[string]any{"email": "bad-hash@example.com", "password_hash": "$2b$03$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a"},
			map[string]any{"email": "plain@example.com", "password_hash": "hunter2"},
		},
	}
}

var badRules = [][]string{
	nil,
	{"email:email"},
	{"email:duplicate_in_batch"},
	{"external_id:duplicate_in_batch"},
	{"memberships[0].organization_external_id:unknown_organization"},
	{"memberships[0].organization_external_id:unknown_organization"},
	{"memberships[0].roles:unknown_role"},
	{"password_hash:unsupported_hash"},
	{"password_hash:malformed_hash"},
	{"password_hash:unsupported_hash"},
}

func TestImportDryRunWritesNothing(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		events := eventCount(t, h)
		b := badRows(h)
		b["dry_run"] = true
		out := h.importBatch(b)
		if get(out, "dry_run") != true {
			t.Error("the answer does not say dry_run")
		}
		wantStatuses(t, "dry run", out, "organizations", "created", "failed")
		wantStatuses(t, "dry run", out, "users", "created", "failed", "failed", "failed", "failed", "failed", "failed", "failed", "failed", "failed")
		for i, want := range badRules {
			if got := rowRules(out, "users", i); !slices.Equal(got, want) {
				t.Errorf("users[%d] errors = %v, want %v", i, got, want)
			}
		}
		if got := rowRules(out, "organizations", 1); !slices.Equal(got, []string{"display_name:required"}) {
			t.Errorf("organizations[1] errors = %v", got)
		}
		if id := str(out, "users.0.id"); id != "" {
			t.Errorf("a dry run answered an id (%s) for a user it did not create", id)
		}
		if d := str(list(get(out, "users.9"), "errors")[0], "description"); strings.Contains(d, "hunter2") {
			t.Errorf("the error echoes the plaintext in the hash column: %q", d)
		}
		h.wantCounts(0, 0)
		if n := eventCount(t, h); n != events {
			t.Errorf("the dry run emitted %d events", n-events)
		}

		// Against stored data, a dry run tells updates from unchanged rows.
		b["dry_run"] = false
		h.importBatch(b)
		h.wantCounts(1, 1)
		events = eventCount(t, h)
		dry := map[string]any{"dry_run": true, "users": []any{
			map[string]any{"email": "good@example.com", "external_id": "u_good", "password_hash": md5Password,
				"memberships": []any{map[string]any{"organization_external_id": "org_ok"}}},
			map[string]any{"email": "good@example.com", "external_id": "u_good", "first_name": "Gus"},
		}}
		out = h.importBatch(dry)
		wantStatuses(t, "dry run on stored data", out, "users", "unchanged", "failed")
		dry["users"] = dry["users"].([]any)[1:]
		wantStatuses(t, "dry run of a change", h.importBatch(dry), "users", "updated")
		if u := userByExt(t, h, "u_good"); u.GivenName != "" {
			t.Errorf("the dry run changed the user: %q", u.GivenName)
		}
		if n := eventCount(t, h); n != events {
			t.Errorf("the dry runs emitted %d events", n-events)
		}
	})
}

func TestImportPerRowFailures(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		out := h.importBatch(badRows(h))
		wantStatuses(t, "real run", out, "organizations", "created", "failed")
		wantStatuses(t, "real run", out, "users", "created", "failed", "failed", "failed", "failed", "failed", "failed", "failed", "failed", "failed")
		for i, want := range badRules {
			if got := rowRules(out, "users", i); !slices.Equal(got, want) {
				t.Errorf("users[%d] errors = %v, want %v", i, got, want)
			}
		}
		if num(out, "user_counts.failed") != 9 || num(out, "user_counts.created") != 1 {
			t.Errorf("counts: %v", get(out, "user_counts"))
		}
		h.wantCounts(1, 1)
		good := userByExt(t, h, "u_good")
		wantVerifies(t, storedHash(t, h, good.ID), "password")
	})
}

func TestImportBatchLimits(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		users := make([]any, accounts.MaxImportBatch+1)
		for i := range users {
			users[i] = map[string]any{"email": "u" + strings.Repeat("x", i%7) + "@example.com"}
		}
		status, body := h.rest("POST", "/api/v1/import/batches", jsonString(t, map[string]any{"dry_run": true, "users": users}))
		wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "users")
		status, body = h.rest("POST", "/api/v1/import/batches", `{"users":[{"email":"a@example.com","passsword_hash":"x"}]}`)
		wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "users[0].passsword_hash")
	})
}

// TestImportOverGRPC: the same service over gRPC, as generated clients
// call it.
func TestImportOverGRPC(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		c := gatehousev1connect.NewImportServiceClient(h2cClient(), h.URL, connect.WithGRPC(), connect.WithInterceptors(bearer(h.token)))
		verified := true
		res, err := c.ImportBatch(context.Background(), connect.NewRequest(&gatehousev1.ImportBatchRequest{
			Organizations: []*gatehousev1.ImportOrganization{{ExternalId: "g1", DisplayName: "Grpc Org"}},
			Users: []*gatehousev1.ImportUser{{Email: "g@example.com", ExternalId: "gu1", EmailVerified: &verified,
				Memberships: []*gatehousev1.ImportMembership{{OrganizationExternalId: "g1", Roles: []string{"admin"}}}}},
		}))
		if err != nil {
			t.Fatal(err)
		}
		if res.Msg.GetUserCounts().GetCreated() != 1 || res.Msg.GetUsers()[0].GetStatus() != gatehousev1.ImportStatus_IMPORT_STATUS_CREATED {
			t.Errorf("gRPC import: %v", res.Msg)
		}
		if !userByExt(t, h, "gu1").EmailVerified {
			t.Error("email_verified was not stored")
		}
	})
}

// TestImportConcurrentBatches: importers running the same rows at once (a
// resumed run racing a slow one, or two operators) end with each user
// once: one batch creates a row, the others find it.
func TestImportConcurrentBatches(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		const n, workers = 60, 4
		var users []any
		for i := range n {
			users = append(users, map[string]any{"email": "c" + strconv.Itoa(i) + "@example.com", "external_id": "c" + strconv.Itoa(i),
				"memberships": []any{map[string]any{"organization_external_id": "corg"}}})
		}
		body := jsonString(t, map[string]any{"organizations": []any{map[string]any{"external_id": "corg", "display_name": "C"}}, "users": users})
		results := make(chan map[string]any, workers)
		errs := make(chan string, workers)
		for range workers {
			go func() {
				status, out := h.Do(t, h.token, "POST", "/api/v1/import/batches", body)
				if status != http.StatusOK {
					errs <- jsonString(t, out)
				}
				results <- out
			}()
		}
		created := 0
		for range workers {
			out := <-results
			for _, s := range statuses(out, "users") {
				switch s {
				case "created":
					created++
				case "unchanged", "updated":
				default:
					t.Errorf("a concurrent row ended %s: %s", s, jsonString(t, out))
				}
			}
		}
		close(errs)
		for e := range errs {
			t.Errorf("a concurrent batch failed: %s", e)
		}
		if created != n {
			t.Errorf("%d rows created across the batches, want %d (each user once)", created, n)
		}
		h.wantCounts(1, n)
	})
}

// TestImportProfileFields checks the profile fields beyond the names (what
// `gatehouse export` writes): stored as given on create, each checked as
// the Scalekit API checks it, and empty ones leaving what is stored.
func TestImportProfileFields(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		out := h.importBatch(map[string]any{"users": []any{
			map[string]any{"email": "pat@example.com", "external_id": "u_pat", "phone_number": "+14155550100",
				"preferred_username": "pat", "picture": "https://cdn.example.com/pat.png", "gender": "female",
				"groups": []string{"eng", "admins"}, "profile_metadata": map[string]string{"team": "core"},
				"custom_attributes": map[string]string{"badge": "42"}},
			map[string]any{"email": "pic@example.com", "picture": "ftp://example.com/x.png"},
			map[string]any{"email": "long@example.com", "phone_number": strings.Repeat("1", 201), "gender": strings.Repeat("g", 201)},
		}})
		wantStatuses(t, "profile fields", out, "users", "created", "failed", "failed")
		if got := rowRules(out, "users", 1); !slices.Equal(got, []string{"picture:format"}) {
			t.Errorf("users[1] errors = %v", got)
		}
		if got := rowRules(out, "users", 2); !slices.Equal(got, []string{"phone_number:max_length", "gender:max_length"}) {
			t.Errorf("users[2] errors = %v", got)
		}
		want := func(what string, u *store.User, phone string) {
			t.Helper()
			if u.PhoneNumber != phone || u.PreferredUsername != "pat" || u.Picture != "https://cdn.example.com/pat.png" ||
				u.Gender != "female" || !slices.Equal(u.Groups, []string{"eng", "admins"}) ||
				u.ProfileMetadata["team"] != "core" || len(u.ProfileMetadata) != 1 || u.CustomAttributes["badge"] != "42" || len(u.CustomAttributes) != 1 {
				t.Errorf("%s: stored %+v", what, u)
			}
		}
		want("created", userByExt(t, h, "u_pat"), "+14155550100")

		// Only the phone number given: the rest stays, the row is UPDATED.
		out = h.importBatch(map[string]any{"users": []any{map[string]any{"email": "pat@example.com", "phone_number": "+14155550199"}}})
		wantStatuses(t, "phone number only", out, "users", "updated")
		want("after updating the phone number", userByExt(t, h, "u_pat"), "+14155550199")
		out = h.importBatch(map[string]any{"users": []any{map[string]any{"email": "pat@example.com", "groups": []string{"eng", "admins"}}}})
		wantStatuses(t, "same groups", out, "users", "unchanged")
	})
}

// TestImportOrganizationProfile checks an organization's slug, logo and
// region: stored on create, checked as the Scalekit API checks them, and
// empty ones leaving what is stored.
func TestImportOrganizationProfile(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		out := h.importBatch(map[string]any{"organizations": []any{
			map[string]any{"external_id": "org_s", "display_name": "Slugged", "slug": "slugged",
				"logo_url": "https://cdn.example.com/s.png", "region_code": 2},
			map[string]any{"external_id": "org_badlogo", "display_name": "Bad", "logo_url": "not a url"},
			map[string]any{"external_id": "org_badregion", "display_name": "Bad", "region_code": 7},
		}})
		wantStatuses(t, "organization fields", out, "organizations", "created", "failed", "failed")
		if got := rowRules(out, "organizations", 1); !slices.Equal(got, []string{"logo_url:format"}) {
			t.Errorf("organizations[1] errors = %v", got)
		}
		if got := rowRules(out, "organizations", 2); !slices.Equal(got, []string{"region_code:format"}) {
			t.Errorf("organizations[2] errors = %v", got)
		}
		want := func(what, logo string) {
			t.Helper()
			o, err := h.Server.Store().Q().GetOrganizationByExternalID(context.Background(), h.Server.Accounts.EnvID, "org_s")
			if err != nil {
				t.Fatal(err)
			}
			if o.Slug == nil || *o.Slug != "slugged" || o.LogoURL == nil || *o.LogoURL != logo || o.RegionCode != 2 {
				t.Errorf("%s: slug %v, logo %v, region %d", what, o.Slug, o.LogoURL, o.RegionCode)
			}
		}
		want("created", "https://cdn.example.com/s.png")
		out = h.importBatch(map[string]any{"organizations": []any{map[string]any{"external_id": "org_s", "logo_url": "https://cdn.example.com/t.png"}}})
		wantStatuses(t, "logo only", out, "organizations", "updated")
		want("after updating the logo", "https://cdn.example.com/t.png")
		out = h.importBatch(map[string]any{"organizations": []any{map[string]any{"external_id": "org_s", "slug": "slugged", "region_code": 2}}})
		wantStatuses(t, "same slug and region", out, "organizations", "unchanged")
	})
}
