package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// TestImportInvitationsExpiredStayExpired: a row with status 4 (an expired
// invitation) is stored expired whatever its date says, so a sign-in can
// never accept it; re-importing it changes nothing; metadata is held to
// the same limits as everywhere else (both databases).
func TestImportInvitationsExpiredStayExpired(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		out := h.importBatch(map[string]any{
			"organizations": []any{map[string]any{"external_id": "org_inv", "display_name": "Invited"}},
			"users":         []any{map[string]any{"email": "inv@example.com", "external_id": "u_inv"}},
		})
		wantStatuses(t, "seed", out, "users", "created")
		future := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
		rows := []any{
			map[string]any{"user_external_id": "u_inv", "organization_external_id": "org_inv", "status": 4},
		}
		post := func(what string, rows []any) map[string]any {
			t.Helper()
			return h.mustREST("POST", "/api/v1/import/invitations", jsonString(t, map[string]any{"invitations": rows}))
		}
		wantStatuses(t, "expired without a date", post("first", rows), "invitations", "created")
		expiry := func() time.Time {
			t.Helper()
			for _, m := range userByExt(t, h, "u_inv").Memberships {
				if m.OrgName == "Invited" {
					if m.Status != store.MembershipInviteExpired {
						t.Errorf("status %d, want %d (an invitation past its expiry)", m.Status, store.MembershipInviteExpired)
					}
					return m.ExpiresAt
				}
			}
			t.Fatal("no membership")
			return time.Time{}
		}
		first := expiry()
		if first.After(time.Now()) {
			t.Errorf("an expired invitation without a date expires at %v, in the future", first)
		}
		wantStatuses(t, "again", post("again", rows), "invitations", "unchanged")
		rows[0].(map[string]any)["expire_time"] = future
		post("future date", rows)
		if got := expiry(); got.After(time.Now()) {
			t.Errorf("an expired invitation dated %s was stored expiring at %v", future, got)
		}
		big := map[string]any{}
		for i := range 65 {
			big["k"+strings.Repeat("x", i)] = "v"
		}
		bad := post("metadata", []any{map[string]any{"user_external_id": "u_inv", "organization_external_id": "org_inv",
			"status": 3, "metadata": big}})
		wantStatuses(t, "too much metadata", bad, "invitations", "failed")
		if got := rowRules(bad, "invitations", 0); len(got) != 1 || !strings.HasPrefix(got[0], "metadata:") {
			t.Errorf("metadata row errors = %v", got)
		}
	})
}
