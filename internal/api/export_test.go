package api_test

// gatehouse.v1.ExportService over REST: pages with signed tokens, the page
// size limit, hashes only when asked (and recorded), and the bulk import's
// organizations keyed by id, which the export writes for organizations
// without external_id.

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestExportUsersPagesAndHashes(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		pw := mustHash(t, "export-secret")
		var users []any
		for i := range 5 {
			users = append(users, map[string]any{"email": fmt.Sprintf("u%d@example.com", i), "password_hash": pw,
				"memberships": []any{map[string]any{"organization_external_id": "org_x", "roles": []string{"admin"}}}})
		}
		wantStatuses(t, "seed", h.importBatch(map[string]any{
			"organizations": []any{map[string]any{"external_id": "org_x", "display_name": "X"}}, "users": users}),
			"users", "created", "created", "created", "created", "created")

		var seen []string
		token := ""
		for page := 0; ; page++ {
			out := h.mustREST("GET", "/api/v1/export/users?page_size=2&page_token="+token, "")
			for _, u := range list(out, "users") {
				seen = append(seen, str(u, "email"))
				if str(u, "password_hash") != "" {
					t.Errorf("a hash without include_password_hashes: %v", u)
				}
				if str(u, "memberships.0.organization_external_id") != "org_x" || str(u, "memberships.0.roles.0") != "admin" {
					t.Errorf("membership: %v", u)
				}
			}
			if num(out, "total_size") != 5 {
				t.Errorf("total_size %d, want 5", num(out, "total_size"))
			}
			if token = str(out, "next_page_token"); token == "" {
				break
			}
			if page > 5 {
				t.Fatal("paging does not end")
			}
		}
		if len(seen) != 5 {
			t.Errorf("paged through %v, want 5 users", seen)
		}

		events := func() int {
			var n int
			if err := h.Server.Store().DB().QueryRowContext(context.Background(),
				`SELECT COUNT(*) FROM events WHERE type = 'user.password_hashes_exported'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := events(); n != 0 {
			t.Errorf("%d hash export events before any hash left", n)
		}
		out := h.mustREST("GET", "/api/v1/export/users?page_size=1000&include_password_hashes=true", "")
		for _, u := range list(out, "users") {
			if str(u, "password_hash") != pw {
				t.Errorf("hash %q, want the stored %q", str(u, "password_hash"), pw)
			}
		}
		if n := events(); n != 1 {
			t.Errorf("%d hash export events after one page, want 1", n)
		}

		// A token is bound to include_password_hashes: one from a page
		// without hashes cannot continue with them.
		first := h.mustREST("GET", "/api/v1/export/users?page_size=2", "")
		status, body := h.rest("GET", "/api/v1/export/users?page_size=2&include_password_hashes=true&page_token="+str(first, "next_page_token"), "")
		if status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(body), "page_token") {
			t.Errorf("token reused with hashes: %d %v", status, body)
		}
		status, body = h.rest("GET", "/api/v1/export/users?page_size=1001", "")
		if status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(body), "page_size") {
			t.Errorf("page_size 1001: %d %v", status, body)
		}
		if status, _ := h.Do(t, "", "GET", "/api/v1/export/users?include_password_hashes=true", ""); status != http.StatusUnauthorized {
			t.Errorf("without a token: %d, want 401", status)
		}
	})
}

func TestImportOrganizationByID(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		const id = "org_01m8nmwa9m6vqtb2p5jaxq0251"
		batch := map[string]any{
			"organizations": []any{
				map[string]any{"id": id, "display_name": "No Key Ltd", "metadata": map[string]string{"region": "eu"}},
				map[string]any{"id": "not-an-id", "display_name": "Bad"},
				map[string]any{"id": id, "external_id": "both", "display_name": "Both"},
			},
			"users": []any{map[string]any{"email": "a@example.com",
				"memberships": []any{map[string]any{"organization_id": id, "roles": []string{"member"}}}}},
		}
		out := h.importBatch(batch)
		wantStatuses(t, "first", out, "organizations", "created", "failed", "failed")
		wantStatuses(t, "first", out, "users", "created")
		if str(out, "organizations.0.id") != id {
			t.Errorf("created as %s, want %s", str(out, "organizations.0.id"), id)
		}
		org := h.mustREST("GET", "/api/v1/organizations/"+id, "")
		if str(org, "organization.display_name") != "No Key Ltd" || get(org, "organization.external_id") != nil {
			t.Errorf("stored organization: %v", org)
		}
		out = h.importBatch(batch)
		wantStatuses(t, "again", out, "organizations", "unchanged", "failed", "failed")
		wantStatuses(t, "again", out, "users", "unchanged")
		page := h.mustREST("GET", "/api/v1/export/organizations", "")
		if n := len(list(page, "organizations")); n != 1 || str(page, "organizations.0.id") != id {
			t.Errorf("export after two imports: %v", page)
		}
	})
}
