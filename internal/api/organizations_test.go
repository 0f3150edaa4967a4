package api_test

// OrganizationService over REST, gRPC and Connect: one implementation, so
// what one transport writes every other reads.

import (
	"context"
	"net/http"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	organizationsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations"
	usersv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/users"
)

var ctx = context.Background()

func getOrgRPC(t *testing.T, c rpcClients, id string) *organizationsv1.Organization {
	t.Helper()
	resp, err := c.orgs.GetOrganization(ctx, connect.NewRequest(&organizationsv1.GetOrganizationRequest{
		Identities: &organizationsv1.GetOrganizationRequest_Id{Id: id}}))
	if err != nil {
		t.Fatalf("%s GetOrganization(%s): %v", c.name, id, err)
	}
	return resp.Msg.GetOrganization()
}

func TestOrganizationCreatedOverRESTReadsTheSameOverGRPCAndConnect(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		id := str(h.mustREST("POST", "/api/v1/organizations",
			`{"display_name":"Acme Corp","external_id":"org_456","metadata":{"plan":"starter"}}`), "organization.id")
		for _, c := range h.transports() {
			o := getOrgRPC(t, c, id)
			if o.GetDisplayName() != "Acme Corp" || o.GetExternalId() != "org_456" || o.GetMetadata()["plan"] != "starter" {
				t.Errorf("%s: got %v", c.name, o)
			}
		}
	})
}

func TestOrganizationCreatedOverEachRPCTransportReadsTheSameOverREST(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		for _, c := range h.transports() {
			resp, err := c.orgs.CreateOrganization(ctx, connect.NewRequest(&organizationsv1.CreateOrganizationRequest{
				Organization: &organizationsv1.CreateOrganization{DisplayName: "Org " + c.name, ExternalId: ptr("ext-" + c.name),
					Metadata: map[string]string{"via": c.name}}}))
			if err != nil {
				t.Fatalf("%s CreateOrganization: %v", c.name, err)
			}
			out := h.mustREST("GET", "/api/v1/organizations/"+resp.Msg.GetOrganization().GetId(), "")
			if str(out, "organization.display_name") != "Org "+c.name || str(out, "organization.external_id") != "ext-"+c.name ||
				str(out, "organization.metadata.via") != c.name {
				t.Errorf("%s-created organization reads over REST as %v", c.name, out)
			}
		}
	})
}

func TestGetOrganizationByExternalID(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		id := h.createOrg("Megasoft Inc", "org_123")
		out := h.mustREST("GET", "/api/v1/organizations:external/org_123", "")
		if str(out, "organization.id") != id {
			t.Errorf("REST by external id: %v, want id %s", out, id)
		}
		for _, c := range h.transports() {
			resp, err := c.orgs.GetOrganizationByExternalId(ctx, connect.NewRequest(&organizationsv1.GetOrganizationRequest{
				Identities: &organizationsv1.GetOrganizationRequest_ExternalId{ExternalId: "org_123"}}))
			if err != nil || resp.Msg.GetOrganization().GetId() != id {
				t.Errorf("%s GetOrganizationByExternalId: %v %v", c.name, resp, err)
			}
		}
		status, body := h.rest("GET", "/api/v1/organizations:external/org_999", "")
		wantREST(t, status, body, http.StatusNotFound, "NOT_FOUND")
	})
}

func TestListOrganizationsPagesWithTotalSize(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		var ids []string
		for _, n := range []string{"a", "b", "c", "d", "e"} {
			ids = append(ids, h.createOrg("Org "+n, ""))
		}
		var got []string
		token := ""
		for page := 0; ; page++ {
			out := h.mustREST("GET", "/api/v1/organizations?page_size=2&page_token="+token, "")
			if num(out, "total_size") != 5 {
				t.Errorf("page %d: total_size %d, want 5", page, num(out, "total_size"))
			}
			orgs := list(out, "organizations")
			if len(orgs) > 2 {
				t.Fatalf("page %d has %d organizations, page_size is 2", page, len(orgs))
			}
			for _, o := range orgs {
				got = append(got, str(o, "id"))
			}
			if token = str(out, "next_page_token"); token == "" {
				break
			}
			if page > 5 {
				t.Fatal("pagination does not end")
			}
		}
		if !equal(got, ids) {
			t.Errorf("paged ids %v, want %v in creation order", got, ids)
		}

		// The same over gRPC.
		resp, err := h.grpcOrgs.ListOrganization(ctx, connect.NewRequest(&organizationsv1.ListOrganizationsRequest{PageSize: 3}))
		if err != nil || len(resp.Msg.GetOrganizations()) != 3 || resp.Msg.GetTotalSize() != 5 || resp.Msg.GetNextPageToken() == "" {
			t.Errorf("gRPC ListOrganization page_size 3: %v %v", resp, err)
		}
	})
}

func TestListOrganizationsRejectsAPageSizeOver100(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		status, body := h.rest("GET", "/api/v1/organizations?page_size=101", "")
		wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "page_size")
	})
}

func TestListOrganizationsFiltersByExternalID(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.createOrg("One", "ext-1")
		two := h.createOrg("Two", "ext-2")
		out := h.mustREST("GET", "/api/v1/organizations?external_id=ext-2", "")
		if orgs := list(out, "organizations"); len(orgs) != 1 || str(orgs[0], "id") != two || num(out, "total_size") != 1 {
			t.Errorf("filter by external_id: %v, want only %s", out, two)
		}
		out = h.mustREST("GET", "/api/v1/organizations?external_id=nope", "")
		if len(list(out, "organizations")) != 0 || num(out, "total_size") != 0 {
			t.Errorf("filter by an unknown external_id: %v, want nothing", out)
		}
	})
}

func TestSearchOrganizationsMatchesNameAndExternalID(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		mega := h.createOrg("Megasoft Inc", "org_123")
		h.createOrg("Acme Corp", "org_456")
		out := h.mustREST("GET", "/api/v1/organizations:search?query=megasoft", "")
		if orgs := list(out, "organizations"); len(orgs) != 1 || str(orgs[0], "id") != mega {
			t.Errorf("search by name: %v, want only Megasoft", out)
		}
		resp, err := h.grpcOrgs.SearchOrganization(ctx, connect.NewRequest(&organizationsv1.SearchOrganizationsRequest{Query: "ORG_12"}))
		if err != nil || len(resp.Msg.GetOrganizations()) != 1 || resp.Msg.GetOrganizations()[0].GetId() != mega || resp.Msg.GetTotalSize() != 1 {
			t.Errorf("gRPC search by external id: %v %v", resp, err)
		}
	})
}

func TestUpdateOrganizationWithAMaskChangesOnlyTheMaskedFields(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		id := str(h.mustREST("POST", "/api/v1/organizations",
			`{"display_name":"Old","external_id":"ext-old","metadata":{"plan":"starter"}}`), "organization.id")
		// REST takes the mask in the query string in its camelCase JSON form.
		out := h.mustREST("PATCH", "/api/v1/organizations/"+id+"?update_mask=displayName",
			`{"display_name":"New","external_id":"ext-new","metadata":{"plan":"enterprise"}}`)
		o := h.mustREST("GET", "/api/v1/organizations/"+id, "")
		for _, got := range []map[string]any{out, o} {
			if str(got, "organization.display_name") != "New" || str(got, "organization.external_id") != "ext-old" ||
				str(got, "organization.metadata.plan") != "starter" {
				t.Errorf("after a display_name-only mask: %v", got)
			}
		}
	})
}

func TestUpdateOrganizationWithAMaskClearsAMaskedFieldLeftEmpty(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		id := str(h.mustREST("POST", "/api/v1/organizations",
			`{"display_name":"Org","external_id":"ext-1","metadata":{"plan":"starter"}}`), "organization.id")
		_, err := h.grpcOrgs.UpdateOrganization(ctx, connect.NewRequest(&organizationsv1.UpdateOrganizationRequest{
			Identities:   &organizationsv1.UpdateOrganizationRequest_Id{Id: id},
			Organization: &organizationsv1.UpdateOrganization{ExternalId: ptr("")},
			UpdateMask:   &fieldmaskpb.FieldMask{Paths: []string{"external_id", "metadata"}},
		}))
		if err != nil {
			t.Fatalf("UpdateOrganization: %v", err)
		}
		o := getOrgRPC(t, h.transports()[0], id)
		if o.ExternalId != nil || len(o.GetMetadata()) != 0 || o.GetDisplayName() != "Org" {
			t.Errorf("after masking external_id and metadata with empty values: %v", o)
		}
		// The cleared external id is free again.
		h.createOrg("Other", "ext-1")
	})
}

func TestUpdateOrganizationWithAMaskRefusesToEmptyTheDisplayName(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		id := h.createOrg("Keep me", "")
		_, err := h.grpcOrgs.UpdateOrganization(ctx, connect.NewRequest(&organizationsv1.UpdateOrganizationRequest{
			Identities:   &organizationsv1.UpdateOrganizationRequest_Id{Id: id},
			Organization: &organizationsv1.UpdateOrganization{},
			UpdateMask:   &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
		}))
		wantRPC(t, err, connect.CodeInvalidArgument, "display_name")
		if o := getOrgRPC(t, h.transports()[0], id); o.GetDisplayName() != "Keep me" {
			t.Errorf("display_name is %q after a rejected update", o.GetDisplayName())
		}
	})
}

func TestUpdateOrganizationWithoutAMaskChangesOnlyTheFieldsSet(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		id := str(h.mustREST("POST", "/api/v1/organizations",
			`{"display_name":"Old","external_id":"ext-1","metadata":{"plan":"starter"}}`), "organization.id")
		h.mustREST("PATCH", "/api/v1/organizations/"+id, `{"display_name":"New"}`)
		o := h.mustREST("GET", "/api/v1/organizations/"+id, "")
		if str(o, "organization.display_name") != "New" || str(o, "organization.external_id") != "ext-1" ||
			str(o, "organization.metadata.plan") != "starter" {
			t.Errorf("after setting only display_name: %v", o)
		}
		// Over gRPC, by external id.
		resp, err := h.grpcOrgs.UpdateOrganization(ctx, connect.NewRequest(&organizationsv1.UpdateOrganizationRequest{
			Identities:   &organizationsv1.UpdateOrganizationRequest_ExternalId{ExternalId: "ext-1"},
			Organization: &organizationsv1.UpdateOrganization{Metadata: map[string]string{"plan": "enterprise"}},
		}))
		if err != nil {
			t.Fatalf("UpdateOrganization by external id: %v", err)
		}
		if o := resp.Msg.GetOrganization(); o.GetDisplayName() != "New" || o.GetMetadata()["plan"] != "enterprise" || o.GetExternalId() != "ext-1" {
			t.Errorf("after setting only metadata: %v", o)
		}
	})
}

func TestUpdateOrganizationRejectsAnUnknownMaskPath(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		id := h.createOrg("Org", "")
		status, body := h.rest("PATCH", "/api/v1/organizations/"+id+"?update_mask=bogus", `{"display_name":"New"}`)
		wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "update_mask")
		if o := h.mustREST("GET", "/api/v1/organizations/"+id, ""); str(o, "organization.display_name") != "Org" {
			t.Errorf("a rejected update changed the organization: %v", o)
		}
	})
}

func TestDeleteOrganizationRemovesItsMembershipsButNotItsUsers(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		gone := h.createOrg("Gone", "")
		kept := h.createOrg("Kept", "")
		uid := h.createUser(gone, "a@example.com", "")
		h.mustREST("POST", "/api/v1/memberships/organizations/"+kept+"/users/"+uid+"?send_invitation_email=false", `{}`)

		_, err := h.grpcOrgs.DeleteOrganization(ctx, connect.NewRequest(&organizationsv1.DeleteOrganizationRequest{
			Identities: &organizationsv1.DeleteOrganizationRequest_Id{Id: gone}}))
		if err != nil {
			t.Fatalf("DeleteOrganization: %v", err)
		}
		status, body := h.rest("GET", "/api/v1/organizations/"+gone, "")
		wantREST(t, status, body, http.StatusNotFound, "NOT_FOUND")

		resp, err := h.grpcUsers.GetUser(ctx, connect.NewRequest(&usersv1.GetUserRequest{Identities: &usersv1.GetUserRequest_Id{Id: uid}}))
		if err != nil {
			t.Fatalf("the user went with the organization: %v", err)
		}
		ms := resp.Msg.GetUser().GetMemberships()
		if len(ms) != 1 || ms[0].GetOrganizationId() != kept {
			t.Errorf("memberships after deleting %s: %v, want only %s", gone, ms, kept)
		}
		status, body = h.rest("DELETE", "/api/v1/organizations/"+gone, "")
		wantREST(t, status, body, http.StatusNotFound, "NOT_FOUND")
	})
}

func TestDeleteOrganizationByExternalID(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.createOrg("Org", "ext-del")
		// The SDKs send the external_id identity of the oneof.
		_, err := h.connectOrgs.DeleteOrganization(ctx, connect.NewRequest(&organizationsv1.DeleteOrganizationRequest{
			Identities: &organizationsv1.DeleteOrganizationRequest_ExternalId{ExternalId: "ext-del"}}))
		if err != nil {
			t.Fatalf("DeleteOrganization by external id: %v", err)
		}
		if o, _ := h.counts(); o != 0 {
			t.Errorf("%d organizations remain", o)
		}
	})
}

func TestUpdateOrganizationSettingsFeaturesRoundTrip(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		id := h.createOrg("Org", "")
		out := h.mustREST("PATCH", "/api/v1/organizations/"+id+"/settings",
			`{"features":[{"name":"sso","enabled":true},{"name":"dir_sync","enabled":false}]}`)
		if f := list(out, "organization.settings.features"); len(f) != 2 {
			t.Errorf("response features %v, want 2", f)
		}
		o := getOrgRPC(t, h.transports()[0], id)
		got := map[string]bool{}
		for _, f := range o.GetSettings().GetFeatures() {
			got[f.GetName()] = f.GetEnabled()
		}
		if len(got) != 2 || !got["sso"] || got["dir_sync"] {
			t.Errorf("features read back over gRPC: %v", got)
		}
		// A later call changes only the features it names.
		_, err := h.grpcOrgs.UpdateOrganizationSettings(ctx, connect.NewRequest(&organizationsv1.UpdateOrganizationSettingsRequest{
			Id: id, Settings: &organizationsv1.OrganizationSettings{Features: []*organizationsv1.OrganizationSettingsFeature{{Name: "dir_sync", Enabled: true}}}}))
		if err != nil {
			t.Fatal(err)
		}
		o = getOrgRPC(t, h.transports()[1], id)
		for _, f := range o.GetSettings().GetFeatures() {
			if !f.GetEnabled() {
				t.Errorf("feature %s disabled after enabling dir_sync; features %v", f.GetName(), o.GetSettings().GetFeatures())
			}
		}
		status, body := h.rest("PATCH", "/api/v1/organizations/org_nope/settings", `{"features":[{"name":"sso","enabled":true}]}`)
		wantREST(t, status, body, http.StatusNotFound, "NOT_FOUND")
	})
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
