package api_test

// Rules and bad input: every rejected request names the field and the rule,
// and changes nothing.

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"

	organizationsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations"
	usersv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/users"
)

func TestOrganizationExternalIDIsUniquePerEnvironment(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.createOrg("First", "org_123")
		status, body := h.rest("POST", "/api/v1/organizations", `{"display_name":"Second","external_id":"org_123"}`)
		wantREST(t, status, body, http.StatusConflict, "ALREADY_EXISTS", "external_id")
		_, err := h.grpcOrgs.CreateOrganization(ctx, connect.NewRequest(&organizationsv1.CreateOrganizationRequest{
			Organization: &organizationsv1.CreateOrganization{DisplayName: "Third", ExternalId: ptr(" org_123 ")}}))
		wantRPC(t, err, connect.CodeAlreadyExists, "external_id")
		h.wantCounts(1, 0)
		// Taking another organization's external id by update is refused too.
		other := h.createOrg("Other", "org_456")
		status, body = h.rest("PATCH", "/api/v1/organizations/"+other, `{"external_id":"org_123"}`)
		wantREST(t, status, body, http.StatusConflict, "ALREADY_EXISTS", "external_id")
		if o := h.mustREST("GET", "/api/v1/organizations/"+other, ""); str(o, "organization.external_id") != "org_456" {
			t.Errorf("a refused update changed external_id: %v", o)
		}
	})
}

func TestUserExternalIDIsUniquePerEnvironment(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		org := h.createOrg("Org", "")
		h.createUser(org, "a@example.com", "usr_987")
		status, body := h.rest("POST", "/api/v1/organizations/"+org+"/users", `{"email":"b@example.com","external_id":"usr_987"}`)
		wantREST(t, status, body, http.StatusConflict, "ALREADY_EXISTS", "external_id")
		h.wantCounts(1, 1)
	})
}

func TestEmailIsTrimmedAndUniqueCaseInsensitively(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		org := h.createOrg("Org", "")
		out := h.mustREST("POST", "/api/v1/organizations/"+org+"/users", `{"email":"  User@Example.com  "}`)
		if str(out, "user.email") != "User@Example.com" {
			t.Errorf("email %q, want it trimmed to User@Example.com", str(out, "user.email"))
		}
		mail := len(h.outbox())
		status, body := h.rest("POST", "/api/v1/organizations/"+org+"/users", `{"email":"user@example.com"}`)
		wantREST(t, status, body, http.StatusConflict, "ALREADY_EXISTS", "email")
		_, err := h.grpcUsers.CreateUserAndMembership(ctx, connect.NewRequest(&usersv1.CreateUserAndMembershipRequest{
			OrganizationId: org, User: &usersv1.CreateUser{Email: "USER@EXAMPLE.COM"}}))
		wantRPC(t, err, connect.CodeAlreadyExists, "email")
		h.wantCounts(1, 1)
		if n := len(h.outbox()); n != mail {
			t.Errorf("rejected creates sent %d invitations", n-mail)
		}
	})
}

func TestInvalidEmailIsRejectedNamingEmail(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		org := h.createOrg("Org", "")
		for _, bad := range []string{"", "not-an-email", "a@b", "Ada <ada@example.com>", "a@@example.com"} {
			status, body := h.rest("POST", "/api/v1/organizations/"+org+"/users", jsonString(t, map[string]any{"email": bad}))
			if status != http.StatusBadRequest {
				t.Errorf("email %q: status %d, want 400", bad, status)
				continue
			}
			wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "email")
		}
		h.wantCounts(1, 0)
	})
}

func TestEmptyDisplayNameIsRejected(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		for _, body := range []string{`{"display_name":""}`, `{"display_name":"   "}`, `{"external_id":"x"}`} {
			status, out := h.rest("POST", "/api/v1/organizations", body)
			wantREST(t, status, out, http.StatusBadRequest, "INVALID_ARGUMENT", "display_name")
		}
		_, err := h.connectOrgs.CreateOrganization(ctx, connect.NewRequest(&organizationsv1.CreateOrganizationRequest{
			Organization: &organizationsv1.CreateOrganization{}}))
		wantRPC(t, err, connect.CodeInvalidArgument, "display_name")
		h.wantCounts(0, 0)
	})
}

// metadata returns n keys with values of length valueLen.
func metadata(n, valueLen int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[fmt.Sprintf("k%02d", i)] = strings.Repeat("v", valueLen)
	}
	return m
}

func TestMetadataWithinTheLimitsIsAccepted(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.mustREST("POST", "/api/v1/organizations", jsonString(t, map[string]any{"display_name": "Max", "metadata": metadata(64, 512)}))
	})
}

func TestMetadataOverTheLimitsIsRejected(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		org := h.createOrg("Org", "")
		tooMany, tooLong := metadata(65, 1), metadata(1, 513)
		longKey := map[string]string{strings.Repeat("k", 65): "v"}
		for name, md := range map[string]map[string]string{"65 keys": tooMany, "a 513-character value": tooLong, "a 65-character key": longKey} {
			status, body := h.rest("POST", "/api/v1/organizations", jsonString(t, map[string]any{"display_name": "X", "metadata": md}))
			if status != http.StatusBadRequest {
				t.Errorf("organization metadata with %s: status %d, want 400", name, status)
				continue
			}
			e := wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT")
			if !anyField(e.Violations, "metadata") {
				t.Errorf("organization metadata with %s: violations %+v do not name metadata", name, e.Violations)
			}
			status, body = h.rest("POST", "/api/v1/organizations/"+org+"/users",
				jsonString(t, map[string]any{"email": "u@example.com", "membership": map[string]any{"metadata": md}}))
			if status != http.StatusBadRequest {
				t.Errorf("membership metadata with %s: status %d, want 400", name, status)
				continue
			}
			if e := parseRESTError(body); !anyField(e.Violations, "membership.metadata") {
				t.Errorf("membership metadata with %s: violations %+v do not name membership.metadata", name, e.Violations)
			}
		}
		status, body := h.rest("PATCH", "/api/v1/organizations/"+org, jsonString(t, map[string]any{"metadata": tooLong}))
		wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT")
		h.wantCounts(1, 0)
		if o := h.mustREST("GET", "/api/v1/organizations/"+org, ""); len(get(o, "organization.metadata").(map[string]any)) != 0 {
			t.Errorf("a rejected update wrote metadata: %v", o)
		}
	})
}

// anyField reports whether a violation's field is field or lies under it.
func anyField(vs []violation, field string) bool {
	for _, v := range vs {
		if !fieldPath.MatchString(v.Field) {
			continue
		}
		if v.Field == field || strings.HasPrefix(v.Field, field+".") || strings.HasSuffix(v.Field, "."+field) ||
			strings.Contains(v.Field, "."+field+".") {
			return true
		}
	}
	return false
}

func TestUnknownJSONFieldsAreRejectedByName(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.mustREST("POST", "/api/v1/organizations", guideOrgBody)
		cases := []struct{ path, body, field string }{
			{"/api/v1/organizations", `{"display_name":"X","bogus":1}`, "bogus"},
			{"/api/v1/organizations", `{"display_name":"X","settings":{"features":[]}}`, "settings"},
			{"/api/v1/organizations/org_123/users", `{"email":"a@example.com","membership":{"roles":["admin"],"bogus":true}}`, "membership.bogus"},
			{"/api/v1/organizations/org_123/users", `{"email":"a@example.com","user_profile":{"nickname":"x"}}`, "user_profile.nickname"},
			{"/api/v1/organizations/org_123/users", `{"email":"a@example.com","membership":{"roles":[{"name":"admin","level":9}]}}`, "membership.roles[0].level"},
		}
		for _, c := range cases {
			status, body := h.rest("POST", c.path, c.body)
			if status != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400", c.body, status)
				continue
			}
			wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", c.field)
		}
		h.wantCounts(1, 0)
	})
}

func TestCamelCaseInputIsAccepted(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		out := h.mustREST("POST", "/api/v1/organizations", `{"displayName":"Camel","externalId":"camel-1"}`)
		if str(out, "organization.display_name") != "Camel" || str(out, "organization.external_id") != "camel-1" {
			t.Errorf("camelCase input: %v", out)
		}
		out = h.mustREST("POST", "/api/v1/organizations/camel-1/users?sendInvitationEmail=false",
			`{"email":"c@example.com","userProfile":{"firstName":"Cam"}}`)
		if str(out, "user.user_profile.first_name") != "Cam" || str(out, "user.memberships.0.membership_status") != "ACTIVE" {
			t.Errorf("camelCase user input: %v", out)
		}
	})
}

func TestMalformedJSONIsRejected(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		for _, body := range []string{`{"display_name":`, `not json`, `{"display_name":"X"} {"display_name":"Y"}`, `{"display_name":42}`, `[]`} {
			status, out := h.rest("POST", "/api/v1/organizations", body)
			if status != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400; %v", body, status, out)
				continue
			}
			wantREST(t, status, out, http.StatusBadRequest, "INVALID_ARGUMENT")
		}
		h.wantCounts(0, 0)
	})
}

// hideLength makes a request body of unknown length (chunked).
type hideLength struct{ io.Reader }

func TestBodiesOverOneMiBGet413(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		big := `{"display_name":"X","metadata":{"k":"` + strings.Repeat("a", 1<<20) + `"}}`
		for name, body := range map[string]io.Reader{"with Content-Length": strings.NewReader(big), "chunked": hideLength{strings.NewReader(big)}} {
			resp, raw := h.raw(h.newRequest("POST", "/api/v1/organizations", body))
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("%s: status %d, want 413; %.200s", name, resp.StatusCode, raw)
			}
		}
		h.wantCounts(0, 0)
	})
}

func TestAMessageOverOneMiBIsRefusedOverGRPC(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		_, err := h.grpcOrgs.CreateOrganization(ctx, connect.NewRequest(&organizationsv1.CreateOrganizationRequest{
			Organization: &organizationsv1.CreateOrganization{DisplayName: "X", Metadata: map[string]string{"k": strings.Repeat("a", 1<<20)}}}))
		if connect.CodeOf(err) != connect.CodeResourceExhausted {
			t.Errorf("gRPC: %v, want ResourceExhausted", err)
		}
		_, err = h.connectOrgs.CreateOrganization(ctx, connect.NewRequest(&organizationsv1.CreateOrganizationRequest{
			Organization: &organizationsv1.CreateOrganization{DisplayName: "X", Metadata: map[string]string{"k": strings.Repeat("a", 1<<20)}}}))
		if connect.CodeOf(err) != connect.CodeResourceExhausted {
			t.Errorf("Connect: %v, want ResourceExhausted", err)
		}
		h.wantCounts(0, 0)
	})
}

func TestUnknownIDsGet404(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		org := h.createOrg("Org", "")
		uid := h.createUser(org, "u@example.com", "")
		cases := []struct{ method, path, body string }{
			{"GET", "/api/v1/organizations/org_01nothere", ""},
			{"PATCH", "/api/v1/organizations/org_01nothere", `{"display_name":"X"}`},
			{"DELETE", "/api/v1/organizations/org_01nothere", ""},
			{"GET", "/api/v1/users/usr_01nothere", ""},
			{"PATCH", "/api/v1/users/usr_01nothere", `{"metadata":{"a":"b"}}`},
			{"DELETE", "/api/v1/users/usr_01nothere", ""},
			{"POST", "/api/v1/organizations/org_01nothere/users", `{"email":"new@example.com"}`},
			{"POST", "/api/v1/memberships/organizations/org_01nothere/users/" + uid, `{}`},
			{"POST", "/api/v1/memberships/organizations/" + org + "/users/usr_01nothere", `{}`},
			{"PATCH", "/api/v1/memberships/organizations/" + org + "/users/usr_01nothere", `{"roles":["admin"]}`},
			{"DELETE", "/api/v1/memberships/organizations/org_01nothere/users/" + uid, ""},
			{"PATCH", "/api/v1/invites/organizations/" + org + "/users/usr_01nothere/resend", `{}`},
		}
		for _, c := range cases {
			status, body := h.rest(c.method, c.path, c.body)
			if status != http.StatusNotFound {
				t.Errorf("%s %s: status %d, want 404; %v", c.method, c.path, status, body)
				continue
			}
			wantREST(t, status, body, http.StatusNotFound, "NOT_FOUND")
		}
		h.wantCounts(1, 1)
		if ms := h.getUser(uid).GetMemberships(); len(ms) != 1 {
			t.Errorf("memberships changed: %v", ms)
		}
	})
}
