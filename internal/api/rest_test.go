package api_test

// The REST layer's own checks: query parameters, bodies on routes that take
// none, and authentication coming before any validation.

import (
	"net/http"
	"strings"
	"testing"
)

func TestUnknownQueryParametersAreRejectedByName(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		status, body := h.rest("GET", "/api/v1/organizations?bogus=1", "")
		wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "bogus")
		status, body = h.rest("POST", "/api/v1/organizations?dry_run=true", `{"display_name":"X"}`)
		wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "dry_run")
		h.wantCounts(0, 0)
	})
}

func TestQueryValuesOfTheWrongTypeAreRejectedByName(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.createOrg("Org", "org_123")
		status, body := h.rest("GET", "/api/v1/organizations?page_size=abc", "")
		wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "page_size")
		status, body = h.rest("GET", "/api/v1/organizations?page_size=-1", "")
		wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "page_size")
		status, body = h.rest("POST", "/api/v1/organizations/org_123/users?send_invitation_email=nope", `{"email":"a@example.com"}`)
		wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "send_invitation_email")
		h.wantCounts(1, 0)
	})
}

func TestUpdateMaskAcceptsProtoNamesAndSeveralPaths(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		id := str(h.mustREST("POST", "/api/v1/organizations",
			`{"display_name":"Old","external_id":"ext-1","metadata":{"plan":"starter"}}`), "organization.id")
		h.mustREST("PATCH", "/api/v1/organizations/"+id+"?update_mask=display_name,metadata", `{"display_name":"New","external_id":"ext-2"}`)
		o := h.mustREST("GET", "/api/v1/organizations/"+id, "")
		if str(o, "organization.display_name") != "New" || str(o, "organization.external_id") != "ext-1" ||
			len(get(o, "organization.metadata").(map[string]any)) != 0 {
			t.Errorf("after update_mask=display_name,metadata: %v", o)
		}
	})
}

func TestABodyOnARouteThatTakesNoneIsRejected(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		id := h.createOrg("Org", "")
		status, body := h.rest("DELETE", "/api/v1/organizations/"+id, `{"cascade":true}`)
		wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "body")
		h.wantCounts(1, 0)
	})
}

func TestAuthenticationComesBeforeValidation(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/api/v1/organizations", `{"display_name":`},
			{"POST", "/api/v1/organizations", `{"display_name":"X","bogus":1}`},
			{"GET", "/api/v1/organizations?bogus=1", ""},
			{"POST", "/api/v1/organizations", `{"display_name":"X","metadata":{"k":"` + strings.Repeat("a", 1<<20) + `"}}`},
		} {
			status, body := h.Do(t, "", c.method, c.path, c.body)
			if status != http.StatusUnauthorized {
				t.Errorf("%s %s %.40s without a token: status %d, want 401", c.method, c.path, c.body, status)
				continue
			}
			wantREST(t, status, body, http.StatusUnauthorized, "UNAUTHENTICATED")
		}
	})
}

func TestConnectJSONWithAnUnknownFieldIsInvalidArgumentNot500(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		req := h.newRequest("POST", "/scalekit.v1.organizations.OrganizationService/CreateOrganization",
			strings.NewReader(`{"organization":{"display_name":"X","bogus":1}}`))
		req.Header.Set("Connect-Protocol-Version", "1")
		resp, raw := h.raw(req)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(raw), `"invalid_argument"`) || !strings.Contains(string(raw), "bogus") {
			t.Errorf("status %d %s, want 400 invalid_argument naming bogus", resp.StatusCode, raw)
		}
		h.wantCounts(0, 0)
	})
}
