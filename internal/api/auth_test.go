package api_test

// Authentication at the API boundary. Token validation in depth (expiry,
// signatures, alg=none) is tested with the OAuth server.

import (
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"

	organizationsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations"
	usersv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/users"
)

func TestCallsWithoutABearerTokenGet401AndWriteNothing(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/api/v1/organizations", ""},
			{"POST", "/api/v1/organizations", guideOrgBody},
			{"GET", "/api/v1/organizations:external/org_123", ""},
			{"POST", "/api/v1/organizations/org_123/users", guideUserBody},
			{"GET", "/api/v1/users", ""},
		} {
			status, body := h.Do(t, "", c.method, c.path, c.body)
			if status != http.StatusUnauthorized {
				t.Errorf("%s %s without a token: status %d, want 401", c.method, c.path, status)
				continue
			}
			wantREST(t, status, body, http.StatusUnauthorized, "UNAUTHENTICATED")
		}
		h.wantCounts(0, 0)
	})
}

func TestAnInvalidBearerTokenGets401(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		tampered := flip(h.token) // one character of the claims changed
		for name, auth := range map[string]string{"garbage": "Bearer garbage", "tampered": "Bearer " + tampered,
			"basic scheme": "Basic " + h.token, "empty bearer": "Bearer "} {
			req := h.newRequest("POST", "/api/v1/organizations", strings.NewReader(guideOrgBody))
			req.Header.Set("Authorization", auth)
			resp, raw := h.raw(req)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s: status %d, want 401; %s", name, resp.StatusCode, raw)
			}
		}
		h.wantCounts(0, 0)
	})
}

func TestRPCWithoutABearerTokenIsUnauthenticated(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		anon := newHarness(t, h.Instance, "")
		for _, c := range anon.transports() {
			_, err := c.orgs.CreateOrganization(ctx, connect.NewRequest(&organizationsv1.CreateOrganizationRequest{
				Organization: &organizationsv1.CreateOrganization{DisplayName: "Anon"}}))
			wantRPC(t, err, connect.CodeUnauthenticated)
			_, err = c.users.ListUsers(ctx, connect.NewRequest(&usersv1.ListUsersRequest{}))
			wantRPC(t, err, connect.CodeUnauthenticated)
		}
		bad := newHarness(t, h.Instance, "not-a-jwt")
		_, err := bad.grpcOrgs.ListOrganization(ctx, connect.NewRequest(&organizationsv1.ListOrganizationsRequest{}))
		wantRPC(t, err, connect.CodeUnauthenticated)
		h.wantCounts(0, 0)
	})
}
