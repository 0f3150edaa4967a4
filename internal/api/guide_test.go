package api_test

// The migration guide's step 2 (shared/seed/migrate-to-full-stack-auth.md),
// sent exactly as the guide writes it, plus an Authorization header.

import (
	"strings"
	"testing"
	"unicode"
)

// Copied byte for byte from the guide's two curl --data arguments.
const (
	guideOrgBody = `{
       "display_name": "Megasoft Inc",
       "external_id": "org_123",
       "metadata": { "plan": "enterprise" }
     }`
	guideUserBody = `{
       "email": "user@example.com",
       "external_id": "usr_987",
       "membership": {
         "roles": ["admin"],
         "metadata": { "department": "engineering" }
       },
       "user_profile": {
         "first_name": "John",
         "last_name": "Doe",
         "locale": "en-US"
       }
     }`
)

// camelKeys returns every object key in v that is not snake_case.
func camelKeys(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if strings.IndexFunc(k, unicode.IsUpper) >= 0 {
				out = append(out, k)
			}
			out = append(out, camelKeys(val)...)
		}
	case []any:
		for _, val := range x {
			out = append(out, camelKeys(val)...)
		}
	}
	return out
}

func TestGuideCreateOrganizationRequestWorksVerbatim(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		status, out := h.rest("POST", "/api/v1/organizations", guideOrgBody)
		if status != 200 {
			t.Fatalf("status %d: %v", status, out)
		}
		if k := camelKeys(out); len(k) > 0 {
			t.Errorf("response has non-snake_case keys %v: %v", k, out)
		}
		org := get(out, "organization")
		if id := str(org, "id"); !strings.HasPrefix(id, "org_") {
			t.Errorf("id %q, want org_...", id)
		}
		if str(org, "display_name") != "Megasoft Inc" || str(org, "external_id") != "org_123" || str(org, "metadata.plan") != "enterprise" {
			t.Errorf("organization %v does not echo the request", org)
		}
		if str(org, "create_time") == "" {
			t.Errorf("no create_time in %v", org)
		}
	})
}

func TestGuideCreateUserRequestWorksVerbatimWithTheOrganizationsExternalID(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		orgID := str(h.mustREST("POST", "/api/v1/organizations", guideOrgBody), "organization.id")
		status, out := h.rest("POST", "/api/v1/organizations/org_123/users", guideUserBody)
		if status != 200 {
			t.Fatalf("status %d: %v", status, out)
		}
		if k := camelKeys(out); len(k) > 0 {
			t.Errorf("response has non-snake_case keys %v", k)
		}
		u := get(out, "user")
		if !strings.HasPrefix(str(u, "id"), "usr_") || str(u, "email") != "user@example.com" || str(u, "external_id") != "usr_987" {
			t.Errorf("user %v does not echo the request", u)
		}
		p := get(u, "user_profile")
		if str(p, "first_name") != "John" || str(p, "last_name") != "Doe" || str(p, "locale") != "en-US" {
			t.Errorf("user_profile %v does not echo the request", p)
		}
		if get(p, "email_verified") != false {
			t.Errorf("email_verified = %v for an invited user, want false", get(p, "email_verified"))
		}
		ms := list(u, "memberships")
		if len(ms) != 1 {
			t.Fatalf("memberships %v, want one", ms)
		}
		m := ms[0]
		if str(m, "organization_id") != orgID {
			t.Errorf("membership organization_id %q, want the organization's id %q", str(m, "organization_id"), orgID)
		}
		if roles := list(m, "roles"); len(roles) != 1 || str(roles[0], "name") != "admin" {
			t.Errorf("membership roles %v, want [admin]", roles)
		}
		if str(m, "membership_status") != "PENDING_INVITE" || str(m, "expires_at") == "" {
			t.Errorf("membership %v: want PENDING_INVITE with expires_at (send_invitation_email defaults to true)", m)
		}
		if str(m, "metadata.department") != "engineering" {
			t.Errorf("membership metadata %v", get(m, "metadata"))
		}

		mail := h.outboxTo("user@example.com")
		if len(mail) != 1 {
			t.Fatalf("outbox for user@example.com: %+v, want one invitation", mail)
		}
		if !strings.Contains(mail[0].Subject, "Megasoft Inc") || !strings.Contains(mail[0].Body, "You have been invited to join Megasoft Inc.") {
			t.Errorf("invitation %+v does not invite to the organization", mail[0])
		}
		if !strings.Contains(mail[0].Body, "login_hint=user%40example.com") || !strings.Contains(mail[0].Body, "organization_id="+orgID) {
			t.Errorf("invitation body has no sign-in link for the user and organization: %q", mail[0].Body)
		}

		// Reading back: the user is in the organization's user list.
		users := h.mustREST("GET", "/api/v1/organizations/"+orgID+"/users", "")
		if num(users, "total_size") != 1 || str(users, "users.0.external_id") != "usr_987" {
			t.Errorf("organization users %v, want usr_987 only", users)
		}
	})
}

func TestGuideRolesAsObjectsWorkLikePlainStrings(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.mustREST("POST", "/api/v1/organizations", guideOrgBody)
		out := h.mustREST("POST", "/api/v1/organizations/org_123/users",
			strings.Replace(guideUserBody, `["admin"]`, `[{"name":"admin"}]`, 1))
		if roles := list(out, "user.memberships.0.roles"); len(roles) != 1 || str(roles[0], "name") != "admin" {
			t.Errorf("roles %v, want [admin]", roles)
		}
	})
}

func TestSendInvitationEmailFalseMakesAnActiveVerifiedMemberAndSendsNothing(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.mustREST("POST", "/api/v1/organizations", guideOrgBody)
		before := len(h.outbox())
		out := h.mustREST("POST", "/api/v1/organizations/org_123/users?send_invitation_email=false", guideUserBody)
		m := get(out, "user.memberships.0")
		if str(m, "membership_status") != "ACTIVE" {
			t.Errorf("membership_status %q, want ACTIVE", str(m, "membership_status"))
		}
		if str(m, "join_time") == "" {
			t.Errorf("an ACTIVE membership has no join_time: %v", m)
		}
		if get(out, "user.user_profile.email_verified") != true {
			t.Errorf("email_verified = %v, want true", get(out, "user.user_profile.email_verified"))
		}
		if after := len(h.outbox()); after != before {
			t.Errorf("outbox grew from %d to %d; no invitation should be sent", before, after)
		}
	})
}
