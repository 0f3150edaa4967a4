package api_test

// RolesService and the UserService role calls over REST and gRPC, on both
// databases: every RPC, every name rule, inheritance and cycles, defaults,
// delete with reassign, bad input that changes nothing, and two nodes on
// one PostgreSQL seeing each other's changes on their next request.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	rolesv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/roles"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/roles/rolesv1connect"
	usersv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/users"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// grpcRoles is a RolesService client speaking gRPC over h2c, as the SDKs do.
func (h *harness) grpcRoles() rolesv1connect.RolesServiceClient {
	c := h2cClient()
	h.t.Cleanup(c.CloseIdleConnections)
	return rolesv1connect.NewRolesServiceClient(c, h.URL, connect.WithGRPC(), connect.WithInterceptors(bearer(h.token)))
}

// perms creates permissions over REST.
func (h *harness) perms(names ...string) {
	h.t.Helper()
	for _, n := range names {
		h.mustREST("POST", "/api/v1/permissions", jsonString(h.t, map[string]any{"name": n, "description": "may " + n}))
	}
}

// role creates an environment role over REST; extends may be empty.
func (h *harness) role(name, extends string, perms ...string) map[string]any {
	h.t.Helper()
	body := map[string]any{"name": name, "display_name": strings.ToUpper(name), "permissions": perms}
	if extends != "" {
		body["extends"] = extends
	}
	return h.mustREST("POST", "/api/v1/roles", jsonString(h.t, body))
}

// names collects the "name" of each object in the list at path.
func names(v any, path string) []string {
	out := []string{}
	for _, el := range list(v, path) {
		out = append(out, str(el, "name"))
	}
	return out
}

// granted renders a role's permissions as "name<-granting role".
func granted(v any, path string) []string {
	out := []string{}
	for _, el := range list(v, path) {
		out = append(out, str(el, "name")+"<-"+str(el, "role_name"))
	}
	return out
}

func rpcNames[T interface{ GetName() string }](l []T) []string {
	out := []string{}
	for _, x := range l {
		out = append(out, x.GetName())
	}
	return out
}

func wantNames(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}

// userRoles reads a user's role names in an organization over REST.
func (h *harness) userRoles(org, user string) []string {
	h.t.Helper()
	return names(h.mustREST("GET", "/api/v1/organizations/"+org+"/users/"+user+"/roles", ""), "roles")
}

// events returns the types of the outbox's events, oldest first.
func (h *harness) events() []string {
	h.t.Helper()
	rows, err := h.Server.Store().DB().QueryContext(ctx, `SELECT type FROM events ORDER BY id`)
	if err != nil {
		h.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var typ string
		if err := rows.Scan(&typ); err != nil {
			h.t.Fatal(err)
		}
		out = append(out, typ)
	}
	return out
}

// rbacState is everything the role and permission calls can change, as the
// API shows it (plus the outbox length), for proving a refused request
// changed nothing.
func (h *harness) rbacState(org, user string) string {
	h.t.Helper()
	state := map[string]any{
		"roles":       h.mustREST("GET", "/api/v1/roles?include=permissions:all", ""),
		"permissions": h.mustREST("GET", "/api/v1/permissions?page_size=100", ""),
		"org_roles":   h.mustREST("GET", "/api/v1/organizations/"+org+"/roles?include=permissions:all", ""),
		"user_roles":  h.userRoles(org, user),
		"user_perms":  names(h.mustREST("GET", "/api/v1/organizations/"+org+"/users/"+user+"/permissions", ""), "permissions"),
		"events":      len(h.events()),
	}
	return jsonString(h.t, state)
}

func TestRolesServiceOverGRPC(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		rc, uc := h.grpcRoles(), h.grpcUsers
		call := func(what string, err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
		for _, n := range []string{"docs:read", "docs:write", "docs:publish"} {
			p, err := rc.CreatePermission(ctx, connect.NewRequest(&rolesv1.CreatePermissionRequest{
				Permission: &rolesv1.CreatePermission{Name: n, Description: "may " + n}}))
			call("CreatePermission "+n, err)
			if p.Msg.GetPermission().GetName() != n || !strings.HasPrefix(p.Msg.GetPermission().GetId(), "perm_") ||
				p.Msg.GetPermission().GetCreateTime() == nil || p.Msg.GetPermission().GetIsScalekitPermission() {
				t.Errorf("CreatePermission: %v", p.Msg.GetPermission())
			}
		}
		gp, err := rc.GetPermission(ctx, connect.NewRequest(&rolesv1.GetPermissionRequest{PermissionName: "docs:read"}))
		call("GetPermission", err)
		if gp.Msg.GetPermission().GetDescription() != "may docs:read" {
			t.Errorf("GetPermission: %v", gp.Msg.GetPermission())
		}
		up, err := rc.UpdatePermission(ctx, connect.NewRequest(&rolesv1.UpdatePermissionRequest{PermissionName: "docs:read",
			Permission: &rolesv1.CreatePermission{Name: "docs:read", Description: "may read documents"}}))
		call("UpdatePermission", err)
		if up.Msg.GetPermission().GetDescription() != "may read documents" {
			t.Errorf("UpdatePermission: %v", up.Msg.GetPermission())
		}
		lp, err := rc.ListPermissions(ctx, connect.NewRequest(&rolesv1.ListPermissionsRequest{}))
		call("ListPermissions", err)
		wantNames(t, "ListPermissions (creation order)", rpcNames(lp.Msg.GetPermissions()), "docs:read", "docs:write", "docs:publish")
		if lp.Msg.GetTotalSize() != 3 || lp.Msg.GetNextPageToken() != "" {
			t.Errorf("ListPermissions paging: total %d, next %q", lp.Msg.GetTotalSize(), lp.Msg.GetNextPageToken())
		}

		viewer, err := rc.CreateRole(ctx, connect.NewRequest(&rolesv1.CreateRoleRequest{Role: &rolesv1.CreateRole{
			Name: "viewer", DisplayName: "Viewer", Description: ptr("reads"), Permissions: []string{"docs:read"}}}))
		call("CreateRole viewer", err)
		if r := viewer.Msg.GetRole(); r.GetName() != "viewer" || r.GetDisplayName() != "Viewer" || r.GetDescription() != "reads" ||
			r.Extends != nil || r.GetIsOrgRole() || r.GetDefaultMember() || !strings.HasPrefix(r.GetId(), "role_") {
			t.Errorf("CreateRole viewer: %v", r)
		}
		_, err = rc.CreateRole(ctx, connect.NewRequest(&rolesv1.CreateRoleRequest{Role: &rolesv1.CreateRole{
			Name: "editor", DisplayName: "Editor", Extends: ptr("viewer"), Permissions: []string{"docs:write"}}}))
		call("CreateRole editor", err)
		ur, err := rc.UpdateRole(ctx, connect.NewRequest(&rolesv1.UpdateRoleRequest{RoleName: "editor",
			Role: &rolesv1.UpdateRole{Description: ptr("writes")}}))
		call("UpdateRole", err)
		if r := ur.Msg.GetRole(); r.GetDescription() != "writes" || r.GetDisplayName() != "Editor" || r.GetExtends() != "viewer" {
			t.Errorf("UpdateRole changed more than the description: %v", r)
		}
		gr, err := rc.GetRole(ctx, connect.NewRequest(&rolesv1.GetRoleRequest{RoleName: "viewer"}))
		call("GetRole", err)
		if r := gr.Msg.GetRole(); r.GetDependentRolesCount() != 1 || len(r.GetPermissions()) != 1 || r.GetPermissions()[0].GetRoleName() != "viewer" {
			t.Errorf("GetRole viewer: %v", r)
		}
		lr, err := rc.ListRoles(ctx, connect.NewRequest(&rolesv1.ListRolesRequest{}))
		call("ListRoles", err)
		wantNames(t, "ListRoles", rpcNames(lr.Msg.GetRoles()), "admin", "editor", "member", "viewer")
		for _, r := range lr.Msg.GetRoles() {
			if r.GetDefaultCreator() != (r.GetName() == "admin") || r.GetDefaultMember() != (r.GetName() == "member") {
				t.Errorf("ListRoles defaults: %s creator=%v member=%v", r.GetName(), r.GetDefaultCreator(), r.GetDefaultMember())
			}
		}
		ap, err := rc.AddPermissionsToRole(ctx, connect.NewRequest(&rolesv1.AddPermissionsToRoleRequest{RoleName: "editor",
			PermissionNames: []string{"docs:publish", "docs:write"}}))
		call("AddPermissionsToRole", err)
		wantNames(t, "AddPermissionsToRole answers the role's own permissions", rpcNames(ap.Msg.GetPermissions()), "docs:publish", "docs:write")
		rp, err := rc.ListRolePermissions(ctx, connect.NewRequest(&rolesv1.ListRolePermissionsRequest{RoleName: "editor"}))
		call("ListRolePermissions", err)
		wantNames(t, "ListRolePermissions", rpcNames(rp.Msg.GetPermissions()), "docs:publish", "docs:write")
		ep, err := rc.ListEffectiveRolePermissions(ctx, connect.NewRequest(&rolesv1.ListEffectiveRolePermissionsRequest{RoleName: "editor"}))
		call("ListEffectiveRolePermissions", err)
		wantNames(t, "ListEffectiveRolePermissions", rpcNames(ep.Msg.GetPermissions()), "docs:publish", "docs:read", "docs:write")
		_, err = rc.RemovePermissionFromRole(ctx, connect.NewRequest(&rolesv1.RemovePermissionFromRoleRequest{RoleName: "editor", PermissionName: "docs:publish"}))
		call("RemovePermissionFromRole", err)
		dr, err := rc.ListDependentRoles(ctx, connect.NewRequest(&rolesv1.ListDependentRolesRequest{RoleName: "viewer"}))
		call("ListDependentRoles", err)
		wantNames(t, "ListDependentRoles", rpcNames(dr.Msg.GetRoles()), "editor")

		org := h.createOrg("Org", "org-ext")
		user := h.createUser(org, "u@example.com", "")
		ar, err := uc.AssignUserRoles(ctx, connect.NewRequest(&usersv1.AssignUserRolesRequest{OrganizationId: org, UserId: user,
			Roles: []*usersv1.AssignRoleRequest{{RoleName: "editor"}, {Id: viewer.Msg.GetRole().GetId()}}}))
		call("AssignUserRoles", err)
		wantNames(t, "AssignUserRoles answers every role held", rpcNames(ar.Msg.GetRoles()), "editor", "member", "viewer")
		lur, err := uc.ListUserRoles(ctx, connect.NewRequest(&usersv1.ListUserRolesRequest{OrganizationId: org, UserId: user}))
		call("ListUserRoles", err)
		wantNames(t, "ListUserRoles", rpcNames(lur.Msg.GetRoles()), "editor", "member", "viewer")
		lup, err := uc.ListUserPermissions(ctx, connect.NewRequest(&usersv1.ListUserPermissionsRequest{OrganizationId: "org-ext", UserId: user}))
		call("ListUserPermissions", err)
		wantNames(t, "ListUserPermissions (each once)", rpcNames(lup.Msg.GetPermissions()), "docs:read", "docs:write")
		_, err = uc.RemoveUserRole(ctx, connect.NewRequest(&usersv1.RemoveUserRoleRequest{OrganizationId: org, UserId: user, RoleName: "viewer"}))
		call("RemoveUserRole", err)
		cnt, err := rc.GetRoleUsersCount(ctx, connect.NewRequest(&rolesv1.GetRoleUsersCountRequest{RoleName: "editor"}))
		call("GetRoleUsersCount", err)
		if cnt.Msg.GetCount() != 1 {
			t.Errorf("GetRoleUsersCount editor = %d, want 1", cnt.Msg.GetCount())
		}

		orole, err := rc.CreateOrganizationRole(ctx, connect.NewRequest(&rolesv1.CreateOrganizationRoleRequest{OrgId: org,
			Role: &rolesv1.CreateOrganizationRole{Name: "lead", DisplayName: "Lead", Extends: ptr("editor")}}))
		call("CreateOrganizationRole", err)
		if r := orole.Msg.GetRole(); !r.GetIsOrgRole() || r.GetExtends() != "editor" {
			t.Errorf("CreateOrganizationRole: %v", r)
		}
		uor, err := rc.UpdateOrganizationRole(ctx, connect.NewRequest(&rolesv1.UpdateOrganizationRoleRequest{OrgId: org, RoleName: "lead",
			Role: &rolesv1.UpdateRole{DisplayName: ptr("Team lead"), Permissions: []string{"docs:publish"}}}))
		call("UpdateOrganizationRole", err)
		wantNames(t, "UpdateOrganizationRole permissions", rpcNames(uor.Msg.GetRole().GetPermissions()), "docs:publish")
		gor, err := rc.GetOrganizationRole(ctx, connect.NewRequest(&rolesv1.GetOrganizationRoleRequest{OrgId: org, RoleName: "lead",
			Include: ptr("permissions:all")}))
		call("GetOrganizationRole", err)
		if got := granted(jsonOf(t, gor.Msg), "role.permissions"); !slices.Equal(got, []string{"docs:publish<-lead", "docs:read<-viewer", "docs:write<-editor"}) {
			t.Errorf("GetOrganizationRole include=permissions:all: %q", got)
		}
		lor, err := rc.ListOrganizationRoles(ctx, connect.NewRequest(&rolesv1.ListOrganizationRolesRequest{OrgId: org}))
		call("ListOrganizationRoles", err)
		wantNames(t, "ListOrganizationRoles", rpcNames(lor.Msg.GetRoles()), "admin", "editor", "lead", "member", "viewer")
		udo, err := rc.UpdateDefaultOrganizationRoles(ctx, connect.NewRequest(&rolesv1.UpdateDefaultOrganizationRolesRequest{OrgId: org, DefaultMemberRole: "lead"}))
		call("UpdateDefaultOrganizationRoles", err)
		if !udo.Msg.GetDefaultMember().GetDefaultMember() || udo.Msg.GetDefaultMember().GetName() != "lead" {
			t.Errorf("UpdateDefaultOrganizationRoles: %v", udo.Msg.GetDefaultMember())
		}
		if got := h.userRoles(org, h.createUser(org, "new@example.com", "")); !slices.Equal(got, []string{"lead"}) {
			t.Errorf("a new member after UpdateDefaultOrganizationRoles holds %q, want [lead]", got)
		}
		oc, err := rc.GetOrganizationRoleUsersCount(ctx, connect.NewRequest(&rolesv1.GetOrganizationRoleUsersCountRequest{OrgId: org, RoleName: "lead"}))
		call("GetOrganizationRoleUsersCount", err)
		if oc.Msg.GetCount() != 1 {
			t.Errorf("GetOrganizationRoleUsersCount lead = %d, want 1", oc.Msg.GetCount())
		}
		_, err = rc.DeleteOrganizationRoleBase(ctx, connect.NewRequest(&rolesv1.DeleteOrganizationRoleBaseRequest{OrgId: org, RoleName: "lead"}))
		call("DeleteOrganizationRoleBase", err)
		_, err = rc.UpdateDefaultOrganizationRoles(ctx, connect.NewRequest(&rolesv1.UpdateDefaultOrganizationRolesRequest{OrgId: org, DefaultMemberRole: "member"}))
		call("UpdateDefaultOrganizationRoles back to member", err)
		_, err = rc.DeleteOrganizationRole(ctx, connect.NewRequest(&rolesv1.DeleteOrganizationRoleRequest{OrgId: org, RoleName: "lead", ReassignRoleName: ptr("viewer")}))
		call("DeleteOrganizationRole", err)

		ud, err := rc.UpdateDefaultRoles(ctx, connect.NewRequest(&rolesv1.UpdateDefaultRolesRequest{
			DefaultCreator: &rolesv1.UpdateDefaultRole{Name: ptr("editor")}, DefaultMemberRole: ptr("viewer")}))
		call("UpdateDefaultRoles", err)
		if ud.Msg.GetDefaultCreator().GetName() != "editor" || ud.Msg.GetDefaultMember().GetName() != "viewer" ||
			!ud.Msg.GetDefaultCreator().GetDefaultCreator() || !ud.Msg.GetDefaultMember().GetDefaultMember() {
			t.Errorf("UpdateDefaultRoles: %v", ud.Msg)
		}
		_, err = rc.DeleteRoleBase(ctx, connect.NewRequest(&rolesv1.DeleteRoleBaseRequest{RoleName: "editor"}))
		call("DeleteRoleBase", err)
		_, err = rc.UpdateDefaultRoles(ctx, connect.NewRequest(&rolesv1.UpdateDefaultRolesRequest{DefaultCreatorRole: ptr("admin")}))
		call("UpdateDefaultRoles creator back to admin", err)
		_, err = rc.DeleteRole(ctx, connect.NewRequest(&rolesv1.DeleteRoleRequest{RoleName: "editor", ReassignRoleId: ptr(viewer.Msg.GetRole().GetId())}))
		call("DeleteRole", err)
		_, err = rc.DeletePermission(ctx, connect.NewRequest(&rolesv1.DeletePermissionRequest{PermissionName: "docs:publish"}))
		call("DeletePermission", err)

		_, err = rc.GetRole(ctx, connect.NewRequest(&rolesv1.GetRoleRequest{RoleName: "editor"}))
		wantRPC(t, err, connect.CodeNotFound)
		_, err = rc.GetPermission(ctx, connect.NewRequest(&rolesv1.GetPermissionRequest{PermissionName: "docs:publish"}))
		wantRPC(t, err, connect.CodeNotFound)
		if got := h.userRoles(org, user); !slices.Equal(got, []string{"member", "viewer"}) {
			t.Errorf("after deleting editor with reassignment to viewer the user holds %q", got)
		}
	})
}

// jsonOf renders a message as REST shows it, for the JSON helpers.
func jsonOf(t *testing.T, m proto.Message) map[string]any {
	t.Helper()
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRolesServiceOverREST(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.perms("projects:create", "projects:read", "projects:delete")
		p := h.mustREST("GET", "/api/v1/permissions/projects:create", "")
		if str(p, "permission.name") != "projects:create" || str(p, "permission.description") != "may projects:create" {
			t.Errorf("GET permission: %v", p)
		}
		// A colon percent-encoded in the path reads the same.
		if str(h.mustREST("GET", "/api/v1/permissions/projects%3Aread", ""), "permission.name") != "projects:read" {
			t.Errorf("GET permission with an encoded colon failed")
		}
		p = h.mustREST("PUT", "/api/v1/permissions/projects:read", `{"description":"may read projects"}`)
		if str(p, "permission.description") != "may read projects" {
			t.Errorf("PUT permission: %v", p)
		}
		if l := h.mustREST("GET", "/api/v1/permissions?page_size=2", ""); num(l, "total_size") != 3 || len(list(l, "permissions")) != 2 || str(l, "next_page_token") == "" {
			t.Errorf("GET permissions page 1: %v", l)
		} else if l2 := h.mustREST("GET", "/api/v1/permissions?page_size=2&page_token="+url.QueryEscape(str(l, "next_page_token")), ""); !slices.Equal(names(l2, "permissions"), []string{"projects:delete"}) {
			t.Errorf("GET permissions page 2: %v", l2)
		}
		if l := h.mustREST("GET", "/api/v1/permissions?type=SCALEKIT", ""); len(list(l, "permissions")) != 0 {
			t.Errorf("SCALEKIT permissions: %v", l)
		}

		r := h.role("viewer", "", "projects:read")
		if str(r, "role.name") != "viewer" || str(r, "role.display_name") != "VIEWER" || !slices.Equal(granted(r, "role.permissions"), []string{"projects:read<-viewer"}) {
			t.Errorf("POST role: %v", r)
		}
		h.role("editor", "viewer", "projects:create")
		r = h.mustREST("PUT", "/api/v1/roles/editor", `{"display_name":"Editor","description":"edits","permissions":["projects:create","projects:delete"]}`)
		if str(r, "role.display_name") != "Editor" || str(r, "role.description") != "edits" || str(r, "role.extends") != "viewer" ||
			!slices.Equal(names(r, "role.permissions"), []string{"projects:create", "projects:delete"}) {
			t.Errorf("PUT role: %v", r)
		}
		r = h.mustREST("GET", "/api/v1/roles/editor?include=permissions:all", "")
		wantNames(t, "GET role include=permissions:all", granted(r, "role.permissions"),
			"projects:create<-editor", "projects:delete<-editor", "projects:read<-viewer")
		wantNames(t, "GET roles", names(h.mustREST("GET", "/api/v1/roles", ""), "roles"), "admin", "editor", "member", "viewer")
		wantNames(t, "GET role permissions", names(h.mustREST("GET", "/api/v1/roles/editor/permissions", ""), "permissions"),
			"projects:create", "projects:delete")
		wantNames(t, "GET role permissions:all", names(h.mustREST("GET", "/api/v1/roles/editor/permissions:all", ""), "permissions"),
			"projects:create", "projects:delete", "projects:read")
		wantNames(t, "POST role permissions", names(h.mustREST("POST", "/api/v1/roles/viewer/permissions", `{"permission_names":["projects:create"]}`), "permissions"),
			"projects:create", "projects:read")
		h.mustREST("DELETE", "/api/v1/roles/viewer/permissions/projects:create", "")
		wantNames(t, "GET dependents", names(h.mustREST("GET", "/api/v1/roles/viewer/dependents", ""), "roles"), "editor")

		org := h.createOrg("Org", "acme")
		user := h.createUser(org, "u@example.com", "")
		// Roles as plain strings, as with memberships, or as objects.
		wantNames(t, "POST user roles", names(h.mustREST("POST", "/api/v1/organizations/"+org+"/users/"+user+"/roles", `["editor",{"role_name":"viewer"}]`), "roles"),
			"editor", "member", "viewer")
		wantNames(t, "GET user roles", h.userRoles(org, user), "editor", "member", "viewer")
		wantNames(t, "GET user permissions", names(h.mustREST("GET", "/api/v1/organizations/acme/users/"+user+"/permissions", ""), "permissions"),
			"projects:create", "projects:delete", "projects:read")
		h.mustREST("DELETE", "/api/v1/organizations/"+org+"/users/"+user+"/roles/viewer", "")
		if c := h.mustREST("GET", "/api/v1/roles/editor/users:count", ""); num(c, "count") != 1 {
			t.Errorf("GET users:count: %v", c)
		}

		r = h.mustREST("POST", "/api/v1/organizations/"+org+"/roles", `{"name":"lead","display_name":"Lead","extends":"editor"}`)
		if str(r, "role.name") != "lead" || get(r, "role.is_org_role") != true || str(r, "role.extends") != "editor" {
			t.Errorf("POST organization role: %v", r)
		}
		r = h.mustREST("PUT", "/api/v1/organizations/"+org+"/roles/lead", `{"description":"leads"}`)
		if str(r, "role.description") != "leads" || str(r, "role.display_name") != "Lead" {
			t.Errorf("PUT organization role: %v", r)
		}
		if r := h.mustREST("GET", "/api/v1/organizations/acme/roles/lead", ""); str(r, "role.extends") != "editor" {
			t.Errorf("GET organization role by the organization's external id: %v", r)
		}
		wantNames(t, "GET organization roles", names(h.mustREST("GET", "/api/v1/organizations/"+org+"/roles", ""), "roles"),
			"admin", "editor", "lead", "member", "viewer")
		r = h.mustREST("PATCH", "/api/v1/organizations/"+org+"/roles:set_defaults", `{"default_member_role":"lead"}`)
		if str(r, "default_member.name") != "lead" || get(r, "default_member.default_member") != true {
			t.Errorf("PATCH organization defaults: %v", r)
		}
		h.mustREST("POST", "/api/v1/organizations/"+org+"/users/"+user+"/roles", `["lead"]`)
		if c := h.mustREST("GET", "/api/v1/organizations/"+org+"/roles/lead/users:count", ""); num(c, "count") != 1 {
			t.Errorf("GET organization role users:count: %v", c)
		}
		h.mustREST("DELETE", "/api/v1/organizations/"+org+"/roles/lead/base", "")
		if r := h.mustREST("GET", "/api/v1/organizations/"+org+"/roles/lead", ""); get(r, "role.extends") != nil {
			t.Errorf("organization role still extends after DELETE base: %v", r)
		}
		h.mustREST("PATCH", "/api/v1/organizations/"+org+"/roles:set_defaults", `{"default_member_role":"member"}`)
		h.mustREST("DELETE", "/api/v1/organizations/"+org+"/roles/lead?reassign_role_name=editor", "")

		r = h.mustREST("PATCH", "/api/v1/roles:set_defaults", `{"default_member_role":"viewer"}`)
		if str(r, "default_member.name") != "viewer" || str(r, "default_creator.name") != "admin" {
			t.Errorf("PATCH defaults: %v", r)
		}
		h.mustREST("DELETE", "/api/v1/roles/editor/base", "")
		if r := h.mustREST("GET", "/api/v1/roles/editor", ""); get(r, "role.extends") != nil {
			t.Errorf("role still extends after DELETE base: %v", r)
		}
		h.mustREST("DELETE", "/api/v1/roles/editor?reassign_role_name=member", "")
		h.mustREST("DELETE", "/api/v1/permissions/projects:delete", "")
		status, body := h.rest("GET", "/api/v1/roles/editor", "")
		wantREST(t, status, body, http.StatusNotFound, "NOT_FOUND")
		status, body = h.rest("GET", "/api/v1/permissions/projects:delete", "")
		wantREST(t, status, body, http.StatusNotFound, "NOT_FOUND")
		wantNames(t, "user roles after the deletions", h.userRoles(org, user), "member")
	})
}

func TestRoleNameRule(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		org := h.createOrg("Org", "")
		for _, good := range []string{"a", "Z", "9", "_", "content_editor", "Admin_2", strings.Repeat("r", 64)} {
			h.mustREST("POST", "/api/v1/roles", jsonString(t, map[string]any{"name": good}))
			h.mustREST("POST", "/api/v1/organizations/"+org+"/roles", jsonString(t, map[string]any{"name": good}))
		}
		before := h.mustREST("GET", "/api/v1/organizations/"+org+"/roles", "")
		for _, bad := range []string{"", "has space", "dash-ed", "dot.ted", "colon:x", "slash/x", "ünïcode", "emoji😀", strings.Repeat("r", 65), "tab\tx"} {
			status, body := h.rest("POST", "/api/v1/roles", jsonString(t, map[string]any{"name": bad, "display_name": "Bad"}))
			e := wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "name")
			if v := findViolation(e.Violations, "name"); v != nil && !strings.Contains(v.Description, "letter, a digit or an underscore") {
				t.Errorf("role name %q: the violation does not state the rule: %q", bad, v.Description)
			}
			status, body = h.rest("POST", "/api/v1/organizations/"+org+"/roles", jsonString(t, map[string]any{"name": bad}))
			wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "name")
		}
		_, err := h.grpcRoles().CreateRole(ctx, connect.NewRequest(&rolesv1.CreateRoleRequest{Role: &rolesv1.CreateRole{Name: "no-dashes"}}))
		wantRPC(t, err, connect.CodeInvalidArgument, "name")
		for _, c := range []struct{ body, field string }{
			{`{"name":"ok_name","display_name":"` + strings.Repeat("d", 201) + `"}`, "display_name"},
			{`{"name":"ok_name","description":"` + strings.Repeat("d", 2001) + `"}`, "description"},
			{`{"name":"ok_name","permissions":[""]}`, "permissions"},
		} {
			status, body := h.rest("POST", "/api/v1/roles", c.body)
			wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", c.field)
		}
		if after := h.mustREST("GET", "/api/v1/organizations/"+org+"/roles", ""); jsonString(t, after) != jsonString(t, before) {
			t.Errorf("refused role names changed the roles:\nbefore %v\nafter  %v", before, after)
		}
	})
}

func TestPermissionNameRule(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		good := []string{"projects:create", "read:invoices", "dept:members:read", "projects:*", "a", "9lives", "billing.v2:manage-all",
			"org_settings:update", strings.Repeat("p", 128)}
		for _, n := range good {
			h.mustREST("POST", "/api/v1/permissions", jsonString(t, map[string]any{"name": n}))
		}
		for _, bad := range []string{"", "Projects:create", "projects:", ":create", "projects::create", "projects create", "*:read",
			"projects/create", "-projects:read", "projects:créer", strings.Repeat("p", 129)} {
			status, body := h.rest("POST", "/api/v1/permissions", jsonString(t, map[string]any{"name": bad}))
			e := wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "name")
			if v := findViolation(e.Violations, "name"); v != nil && !strings.Contains(v.Description, "resource:action") {
				t.Errorf("permission name %q: the violation does not state the rule: %q", bad, v.Description)
			}
		}
		_, err := h.grpcRoles().CreatePermission(ctx, connect.NewRequest(&rolesv1.CreatePermissionRequest{
			Permission: &rolesv1.CreatePermission{Name: "Bad:Name"}}))
		wantRPC(t, err, connect.CodeInvalidArgument, "name")
		status, body := h.rest("POST", "/api/v1/permissions", jsonString(t, map[string]any{"name": "ok:name", "description": strings.Repeat("d", 2001)}))
		wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "description")
		if l := h.mustREST("GET", "/api/v1/permissions?page_size=100", ""); num(l, "total_size") != len(good) {
			t.Errorf("after refused names there are %d permissions, want %d", num(l, "total_size"), len(good))
		}
	})
}

func TestPermissionRules(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.perms("docs:read")
		h.role("reader", "", "docs:read")
		status, body := h.rest("POST", "/api/v1/permissions", `{"name":"docs:read","description":"again"}`)
		wantREST(t, status, body, http.StatusConflict, "ALREADY_EXISTS", "name")
		status, body = h.rest("GET", "/api/v1/permissions/docs:nope", "")
		wantREST(t, status, body, http.StatusNotFound, "NOT_FOUND")
		status, body = h.rest("PUT", "/api/v1/permissions/docs:read", `{"name":"docs:renamed","description":"x"}`)
		wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "name")
		status, body = h.rest("PUT", "/api/v1/permissions/docs:nope", `{"description":"x"}`)
		wantREST(t, status, body, http.StatusNotFound, "NOT_FOUND")
		if p := h.mustREST("GET", "/api/v1/permissions/docs:read", ""); str(p, "permission.description") != "may docs:read" {
			t.Errorf("refused updates changed the permission: %v", p)
		}
		status, body = h.rest("GET", "/api/v1/permissions?page_token=forged", "")
		wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "page_token")
		status, body = h.rest("GET", "/api/v1/permissions?page_size=101", "")
		wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "page_size")
		// Deleting a permission takes it from every role.
		h.mustREST("DELETE", "/api/v1/permissions/docs:read", "")
		if l := names(h.mustREST("GET", "/api/v1/roles/reader/permissions", ""), "permissions"); len(l) != 0 {
			t.Errorf("reader still holds %q after its permission was deleted", l)
		}
		status, body = h.rest("DELETE", "/api/v1/permissions/docs:read", "")
		wantREST(t, status, body, http.StatusNotFound, "NOT_FOUND")
	})
}

func TestRoleInheritanceIsTransitive(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.perms("a:read", "a:write", "a:publish", "billing:manage", "shared:x")
		h.role("viewer", "", "a:read", "shared:x")
		h.role("editor", "viewer", "a:write", "shared:x") // shared:x again: the nearest role is named
		h.role("publisher", "editor", "a:publish")
		h.role("owner", "publisher", "billing:manage")
		wantNames(t, "owner's effective permissions", granted(h.mustREST("GET", "/api/v1/roles/owner?include=permissions:all", ""), "role.permissions"),
			"a:publish<-publisher", "a:read<-viewer", "a:write<-editor", "billing:manage<-owner", "shared:x<-editor")
		wantNames(t, "owner's own permissions", granted(h.mustREST("GET", "/api/v1/roles/owner", ""), "role.permissions"), "billing:manage<-owner")
		for role, want := range map[string]int{"viewer": 1, "editor": 1, "publisher": 1, "owner": 0} {
			if n := num(h.mustREST("GET", "/api/v1/roles/"+role, ""), "role.dependent_roles_count"); n != want {
				t.Errorf("%s dependent_roles_count = %d, want %d", role, n, want)
			}
		}
		roles := h.mustREST("GET", "/api/v1/roles?include=permissions:all", "")
		for _, r := range list(roles, "roles") {
			if str(r, "name") == "publisher" {
				wantNames(t, "publisher in ListRoles include=permissions:all", granted(r, "permissions"),
					"a:publish<-publisher", "a:read<-viewer", "a:write<-editor", "shared:x<-editor")
			}
		}
		// A member holding owner has everything owner inherits.
		org := h.createOrg("Org", "")
		user := h.createUser(org, "o@example.com", "", "owner")
		wantNames(t, "user permissions", names(h.mustREST("GET", "/api/v1/organizations/"+org+"/users/"+user+"/permissions", ""), "permissions"),
			"a:publish", "a:read", "a:write", "billing:manage", "shared:x")

		// Granting a base role more reaches every role above it at once.
		h.mustREST("POST", "/api/v1/roles/viewer/permissions", `{"permission_names":["billing:manage"]}`)
		wantNames(t, "publisher after viewer gained billing:manage", names(h.mustREST("GET", "/api/v1/roles/publisher/permissions:all", ""), "permissions"),
			"a:publish", "a:read", "a:write", "billing:manage", "shared:x")
		// Removing a permission a role only inherits is refused; its own one goes.
		status, body := h.rest("DELETE", "/api/v1/roles/editor/permissions/a:read", "")
		wantREST(t, status, body, http.StatusNotFound, "NOT_FOUND")
		h.mustREST("DELETE", "/api/v1/roles/editor/permissions/shared:x", "")
		wantNames(t, "owner after editor lost shared:x (viewer still grants it)",
			granted(h.mustREST("GET", "/api/v1/roles/owner?include=permissions:all", ""), "role.permissions"),
			"a:publish<-publisher", "a:read<-viewer", "a:write<-editor", "billing:manage<-owner", "shared:x<-viewer")
		// Cutting a link in the chain cuts everything beyond it.
		h.mustREST("DELETE", "/api/v1/roles/editor/base", "")
		wantNames(t, "owner after editor stopped extending viewer", names(h.mustREST("GET", "/api/v1/roles/owner/permissions:all", ""), "permissions"),
			"a:publish", "a:write", "billing:manage")
		h.mustREST("PUT", "/api/v1/roles/publisher", `{"extends":"viewer"}`)
		wantNames(t, "owner after publisher was rebased on viewer", names(h.mustREST("GET", "/api/v1/roles/owner/permissions:all", ""), "permissions"),
			"a:publish", "a:read", "billing:manage", "shared:x")
		status, body = h.rest("GET", "/api/v1/roles/owner?include=everything", "")
		wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "include")
	})
}

func TestRoleCyclesAreRefused(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.perms("x:a", "x:b", "x:c")
		h.role("a", "", "x:a")
		h.role("b", "a", "x:b")
		h.role("c", "b", "x:c")
		org := h.createOrg("Org", "")
		user := h.createUser(org, "u@example.com", "", "c")
		before := h.rbacState(org, user)
		for _, c := range []struct{ role, extends string }{{"a", "c"}, {"a", "b"}, {"b", "c"}, {"a", "a"}} {
			status, body := h.rest("PUT", "/api/v1/roles/"+c.role, jsonString(t, map[string]any{"extends": c.extends, "description": "changed"}))
			e := wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "extends")
			if v := findViolation(e.Violations, "extends"); v != nil && !strings.Contains(v.Description, "cycle") && !strings.Contains(v.Description, "itself") {
				t.Errorf("%s extends %s: the violation does not say why: %q", c.role, c.extends, v.Description)
			}
			_, err := h.grpcRoles().UpdateRole(ctx, connect.NewRequest(&rolesv1.UpdateRoleRequest{RoleName: c.role,
				Role: &rolesv1.UpdateRole{Extends: ptr(c.extends)}}))
			wantRPC(t, err, connect.CodeInvalidArgument, "extends")
			if after := h.rbacState(org, user); after != before {
				t.Errorf("refused %s extends %s changed the data:\nbefore %s\nafter  %s", c.role, c.extends, before, after)
			}
		}
		// Organization roles are held to the same rule.
		h.mustREST("POST", "/api/v1/organizations/"+org+"/roles", `{"name":"o1","extends":"c"}`)
		h.mustREST("POST", "/api/v1/organizations/"+org+"/roles", `{"name":"o2","extends":"o1"}`)
		status, body := h.rest("PUT", "/api/v1/organizations/"+org+"/roles/o1", `{"extends":"o2"}`)
		wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "extends")
		// An environment role cannot extend an organization's role.
		status, body = h.rest("PUT", "/api/v1/roles/a", `{"extends":"o2"}`)
		wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "extends")
		if r := h.mustREST("GET", "/api/v1/organizations/"+org+"/roles/o1", ""); str(r, "role.extends") != "c" {
			t.Errorf("a refused organization cycle changed o1: %v", r)
		}
	})
}

// TestConcurrentBasesNeverFormACycle: requests racing to close a ring of
// roles (r0 extends r1, ..., the last extends r0) cannot together make a
// cycle that each alone would have been refused.
func TestConcurrentBasesNeverFormACycle(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		const n = 8
		for i := range n {
			h.role(fmt.Sprintf("ring%d", i), "")
		}
		statuses := make(chan int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status, _ := h.Do(t, h.token, "PUT", fmt.Sprintf("/api/v1/roles/ring%d", i), fmt.Sprintf(`{"extends":"ring%d"}`, (i+1)%n))
				statuses <- status
			}()
		}
		wg.Wait()
		close(statuses)
		ok := 0
		for st := range statuses {
			switch st {
			case http.StatusOK:
				ok++
			case http.StatusBadRequest:
			default:
				t.Errorf("a racing update got status %d", st)
			}
		}
		if ok != n-1 {
			t.Errorf("%d of %d ring links were accepted, want %d (the last one closes the cycle)", ok, n, n-1)
		}
		base := map[string]string{}
		for _, r := range list(h.mustREST("GET", "/api/v1/roles", ""), "roles") {
			base[str(r, "name")] = str(r, "extends")
		}
		for i := range n {
			cur := fmt.Sprintf("ring%d", i)
			for steps := 0; cur != ""; steps++ {
				if steps > n {
					t.Fatalf("following the bases from ring%d never ends: %v", i, base)
				}
				cur = base[cur]
			}
		}
	})
}

func TestUserRoleCalls(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.perms("t:read", "t:write")
		h.role("reader", "", "t:read")
		h.role("writer", "reader", "t:write")
		org := h.createOrg("Org", "acme")
		other := h.createOrg("Other", "")
		h.mustREST("POST", "/api/v1/organizations/"+other+"/roles", `{"name":"other_only"}`)
		user := h.createUser(org, "u@example.com", "")
		outsider := h.createUser(other, "o@example.com", "")
		wantNames(t, "a member created without roles", h.userRoles(org, user), "member")

		before := h.rbacState(org, user)
		for _, c := range []struct {
			what, method, path, body string
			status                   int
			code                     string
			fields                   []string
		}{
			{"an unknown role", "POST", "/api/v1/organizations/" + org + "/users/" + user + "/roles", `["writer","nope"]`, 400, "INVALID_ARGUMENT", []string{"roles"}},
			{"another organization's role", "POST", "/api/v1/organizations/" + org + "/users/" + user + "/roles", `["other_only"]`, 400, "INVALID_ARGUMENT", []string{"roles"}},
			{"no roles", "POST", "/api/v1/organizations/" + org + "/users/" + user + "/roles", `[]`, 400, "INVALID_ARGUMENT", []string{"roles"}},
			{"an entry naming nothing", "POST", "/api/v1/organizations/" + org + "/users/" + user + "/roles", `[{}]`, 400, "INVALID_ARGUMENT", []string{"roles"}},
			{"an unknown role id", "POST", "/api/v1/organizations/" + org + "/users/" + user + "/roles", `[{"id":"role_nope"}]`, 400, "INVALID_ARGUMENT", []string{"roles"}},
			{"an object body", "POST", "/api/v1/organizations/" + org + "/users/" + user + "/roles", `{"roles":["reader"]}`, 400, "INVALID_ARGUMENT", []string{"body"}},
			{"a user of another organization", "POST", "/api/v1/organizations/" + org + "/users/" + outsider + "/roles", `["reader"]`, 404, "NOT_FOUND", nil},
			{"an unknown organization", "POST", "/api/v1/organizations/org_nope/users/" + user + "/roles", `["reader"]`, 404, "NOT_FOUND", nil},
			{"an unknown user", "GET", "/api/v1/organizations/" + org + "/users/usr_nope/roles", ``, 404, "NOT_FOUND", nil},
			{"removing a role not held", "DELETE", "/api/v1/organizations/" + org + "/users/" + user + "/roles/reader", ``, 404, "NOT_FOUND", nil},
			{"permissions of a non-member", "GET", "/api/v1/organizations/" + org + "/users/" + outsider + "/permissions", ``, 404, "NOT_FOUND", nil},
		} {
			status, body := h.rest(c.method, c.path, c.body)
			if status != c.status {
				t.Errorf("%s: status %d, want %d: %v", c.what, status, c.status, body)
				continue
			}
			wantREST(t, status, body, c.status, c.code, c.fields...)
			if after := h.rbacState(org, user); after != before {
				t.Errorf("%s changed the data:\nbefore %s\nafter  %s", c.what, before, after)
			}
		}
		_, err := h.grpcUsers.AssignUserRoles(ctx, connect.NewRequest(&usersv1.AssignUserRolesRequest{OrganizationId: org, UserId: user,
			Roles: []*usersv1.AssignRoleRequest{{RoleName: "nope"}}}))
		wantRPC(t, err, connect.CodeInvalidArgument, "roles")

		// Assigning is additive and idempotent; the organization may be named by external id.
		wantNames(t, "assign writer", names(h.mustREST("POST", "/api/v1/organizations/acme/users/"+user+"/roles", `["writer"]`), "roles"), "member", "writer")
		wantNames(t, "assign writer again", names(h.mustREST("POST", "/api/v1/organizations/"+org+"/users/"+user+"/roles", `["writer","member"]`), "roles"), "member", "writer")
		wantNames(t, "user permissions", names(h.mustREST("GET", "/api/v1/organizations/"+org+"/users/"+user+"/permissions", ""), "permissions"), "t:read", "t:write")
		// The membership as UserService shows it agrees.
		if m := membershipIn(h.getUser(user), org); !slices.Equal(roleNamesOf(m), []string{"member", "writer"}) {
			t.Errorf("membership roles: %v", roleNamesOf(m))
		}
		h.mustREST("DELETE", "/api/v1/organizations/"+org+"/users/"+user+"/roles/writer", "")
		h.mustREST("DELETE", "/api/v1/organizations/"+org+"/users/"+user+"/roles/member", "")
		wantNames(t, "roles after removing both", h.userRoles(org, user))
		if l := list(h.mustREST("GET", "/api/v1/organizations/"+org+"/users/"+user+"/permissions", ""), "permissions"); len(l) != 0 {
			t.Errorf("a member without roles has permissions %v", l)
		}
		types := h.events()
		if n := len(slices.DeleteFunc(slices.Clone(types), func(s string) bool { return s != "membership.updated" })); n != 3 {
			t.Errorf("%d membership.updated events for 3 changes (a repeated assignment changes nothing): %q", n, types)
		}
	})
}

func TestDefaultRoles(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.role("viewer", "")
		h.role("owner", "")
		org, other := h.createOrg("Org", ""), h.createOrg("Other", "")
		h.mustREST("POST", "/api/v1/organizations/"+org+"/roles", `{"name":"guest"}`)
		h.mustREST("POST", "/api/v1/organizations/"+other+"/roles", `{"name":"elsewhere"}`)
		seed := h.createUser(org, "seed@example.com", "")
		before := h.rbacState(org, seed)
		for _, c := range []struct {
			what, method, path, body string
			status                   int
			field                    string
		}{
			{"an unknown member role", "PATCH", "/api/v1/roles:set_defaults", `{"default_member_role":"nope"}`, 400, "default_member_role"},
			{"an unknown creator role", "PATCH", "/api/v1/roles:set_defaults", `{"default_creator_role":"owner","default_member_role":"nope"}`, 400, "default_member_role"},
			{"an organization's role as environment default", "PATCH", "/api/v1/roles:set_defaults", `{"default_member_role":"guest"}`, 400, "default_member_role"},
			{"no default named", "PATCH", "/api/v1/roles:set_defaults", `{}`, 400, "default_member_role"},
			{"an unknown creator role by id", "PATCH", "/api/v1/roles:set_defaults", `{"default_creator":{"id":"role_nope"}}`, 400, "default_creator_role"},
			{"another organization's role", "PATCH", "/api/v1/organizations/" + org + "/roles:set_defaults", `{"default_member_role":"elsewhere"}`, 400, "default_member_role"},
			{"an empty organization default", "PATCH", "/api/v1/organizations/" + org + "/roles:set_defaults", `{"default_member_role":""}`, 400, "default_member_role"},
			{"deleting the default member role", "DELETE", "/api/v1/roles/member?reassign_role_name=viewer", ``, 400, ""},
			{"deleting the default creator role", "DELETE", "/api/v1/roles/admin", ``, 400, ""},
		} {
			status, body := h.rest(c.method, c.path, c.body)
			if c.field != "" {
				wantREST(t, status, body, c.status, "INVALID_ARGUMENT", c.field)
			} else {
				wantREST(t, status, body, c.status, "FAILED_PRECONDITION")
			}
			if after := h.rbacState(org, seed); after != before {
				t.Errorf("%s changed the data:\nbefore %s\nafter  %s", c.what, before, after)
			}
		}

		// The environment default decides what a member added without roles gets.
		r := h.mustREST("PATCH", "/api/v1/roles:set_defaults", `{"default_member_role":"viewer"}`)
		if str(r, "default_member.name") != "viewer" || str(r, "default_creator.name") != "admin" {
			t.Errorf("set defaults: %v", r)
		}
		wantNames(t, "a new member after the default changed", h.userRoles(org, h.createUser(org, "a@example.com", "")), "viewer")
		for _, role := range list(h.mustREST("GET", "/api/v1/roles", ""), "roles") {
			if (get(role, "default_member") == true) != (str(role, "name") == "viewer") {
				t.Errorf("default_member on %s: %v", str(role, "name"), get(role, "default_member"))
			}
		}
		// An organization's own default overrides it there only.
		h.mustREST("PATCH", "/api/v1/organizations/"+org+"/roles:set_defaults", `{"default_member_role":"guest"}`)
		wantNames(t, "a new member of the organization with its own default", h.userRoles(org, h.createUser(org, "b@example.com", "")), "guest")
		wantNames(t, "a new member of another organization", h.userRoles(other, h.createUser(other, "c@example.com", "")), "viewer")
		for _, role := range list(h.mustREST("GET", "/api/v1/organizations/"+org+"/roles", ""), "roles") {
			if (get(role, "default_member") == true) != (str(role, "name") == "guest") {
				t.Errorf("default_member on %s in the organization: %v", str(role, "name"), get(role, "default_member"))
			}
		}
		// An organization's default role cannot be deleted while it is one.
		status, body := h.rest("DELETE", "/api/v1/organizations/"+org+"/roles/guest?reassign_role_name=member", "")
		wantREST(t, status, body, http.StatusBadRequest, "FAILED_PRECONDITION")
		// The creator default, by the UpdateDefaultRole message over gRPC.
		resp, err := h.grpcRoles().UpdateDefaultRoles(ctx, connect.NewRequest(&rolesv1.UpdateDefaultRolesRequest{
			DefaultCreator: &rolesv1.UpdateDefaultRole{Name: ptr("owner")}}))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Msg.GetDefaultCreator().GetName() != "owner" || resp.Msg.GetDefaultMember().GetName() != "viewer" {
			t.Errorf("UpdateDefaultRoles over gRPC: %v", resp.Msg)
		}
		// The old defaults, no longer defaults, can now be deleted.
		h.mustREST("DELETE", "/api/v1/roles/admin", "")
		h.mustREST("DELETE", "/api/v1/roles/member?reassign_role_name=viewer", "")
		wantNames(t, "seed after member was deleted with reassignment", h.userRoles(org, seed), "viewer")
	})
}

func TestDeleteRoleReassignsItsMembers(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.perms("p:old", "p:target")
		h.role("old", "", "p:old")
		h.role("target", "", "p:target")
		h.role("base", "")
		h.role("child", "base")
		org1, org2 := h.createOrg("One", ""), h.createOrg("Two", "")
		u1 := h.createUser(org1, "u1@example.com", "", "old")
		u2 := h.createUser(org2, "u2@example.com", "", "old", "target")
		before := h.rbacState(org1, u1)
		for _, c := range []struct {
			what, path string
			status     int
			code       string
			fields     []string
		}{
			{"no reassign target", "/api/v1/roles/old", 400, "FAILED_PRECONDITION", []string{"reassign_role_name"}},
			{"an unknown reassign target", "/api/v1/roles/old?reassign_role_name=nope", 400, "INVALID_ARGUMENT", []string{"reassign_role_name"}},
			{"an unknown reassign id", "/api/v1/roles/old?reassign_role_id=role_nope", 400, "INVALID_ARGUMENT", []string{"reassign_role_id"}},
			{"reassigning to itself", "/api/v1/roles/old?reassign_role_name=old", 400, "INVALID_ARGUMENT", []string{"reassign_role_name"}},
			{"a role other roles extend", "/api/v1/roles/base", 400, "FAILED_PRECONDITION", nil},
			{"an unknown role", "/api/v1/roles/nope", 404, "NOT_FOUND", nil},
		} {
			status, body := h.rest("DELETE", c.path, "")
			wantREST(t, status, body, c.status, c.code, c.fields...)
			if msg := str(body, "message"); c.code == "FAILED_PRECONDITION" && !strings.Contains(msg, "cannot be deleted") && !strings.Contains(msg, "assigned to 2 user") {
				t.Errorf("%s: message %q does not say why", c.what, msg)
			}
			if after := h.rbacState(org1, u1); after != before {
				t.Errorf("%s changed the data:\nbefore %s\nafter  %s", c.what, before, after)
			}
		}
		_, err := h.grpcRoles().DeleteRole(ctx, connect.NewRequest(&rolesv1.DeleteRoleRequest{RoleName: "old"}))
		wantRPC(t, err, connect.CodeFailedPrecondition, "reassign_role_name")
		if n := num(h.mustREST("GET", "/api/v1/roles/old/users:count", ""), "count"); n != 2 {
			t.Errorf("old is held by %d users after refused deletes, want 2", n)
		}

		h.mustREST("DELETE", "/api/v1/roles/old?reassign_role_name=target", "")
		wantNames(t, "u1 after reassignment", h.userRoles(org1, u1), "target")
		wantNames(t, "u2 after reassignment (held target already)", h.userRoles(org2, u2), "target")
		wantNames(t, "u1 permissions", names(h.mustREST("GET", "/api/v1/organizations/"+org1+"/users/"+u1+"/permissions", ""), "permissions"), "p:target")
		if n := num(h.mustREST("GET", "/api/v1/roles/target/users:count", ""), "count"); n != 2 {
			t.Errorf("target users after reassignment: %d, want 2", n)
		}
		status, body := h.rest("GET", "/api/v1/roles/old", "")
		wantREST(t, status, body, http.StatusNotFound, "NOT_FOUND")
		if p := h.mustREST("GET", "/api/v1/permissions/p:old", ""); str(p, "permission.name") != "p:old" {
			t.Errorf("deleting a role removed its permission")
		}
		// A role nobody holds needs no target; once its dependents are gone, a base goes too.
		h.mustREST("DELETE", "/api/v1/roles/child", "")
		h.mustREST("DELETE", "/api/v1/roles/base", "")
		// Organization roles: reassigned within the organization, to its own or an environment role.
		h.mustREST("POST", "/api/v1/organizations/"+org1+"/roles", `{"name":"crew"}`)
		h.mustREST("POST", "/api/v1/organizations/"+org1+"/roles", `{"name":"crew2"}`)
		h.mustREST("POST", "/api/v1/organizations/"+org1+"/users/"+u1+"/roles", `["crew"]`)
		status, body = h.rest("DELETE", "/api/v1/organizations/"+org1+"/roles/crew", "")
		wantREST(t, status, body, http.StatusBadRequest, "FAILED_PRECONDITION", "reassign_role_name")
		status, body = h.rest("DELETE", "/api/v1/organizations/"+org2+"/roles/crew?reassign_role_name=target", "")
		wantREST(t, status, body, http.StatusNotFound, "NOT_FOUND")
		h.mustREST("DELETE", "/api/v1/organizations/"+org1+"/roles/crew?reassign_role_name=crew2", "")
		wantNames(t, "u1 after its organization role was reassigned", h.userRoles(org1, u1), "crew2", "target")
	})
}

func TestOrganizationRoles(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.perms("o:x", "o:y")
		h.role("base", "", "o:x")
		org, other := h.createOrg("Org", "acme"), h.createOrg("Other", "")
		r := h.mustREST("POST", "/api/v1/organizations/acme/roles", `{"name":"lead","extends":"base","permissions":["o:y"]}`)
		if str(r, "role.display_name") != "lead" || get(r, "role.is_org_role") != true {
			t.Errorf("organization role: %v", r)
		}
		status, body := h.rest("POST", "/api/v1/organizations/"+org+"/roles", `{"name":"lead"}`)
		wantREST(t, status, body, http.StatusConflict, "ALREADY_EXISTS", "name")
		h.mustREST("POST", "/api/v1/organizations/"+other+"/roles", `{"name":"lead"}`) // the same name elsewhere is fine
		status, body = h.rest("POST", "/api/v1/organizations/org_nope/roles", `{"name":"lead"}`)
		wantREST(t, status, body, http.StatusNotFound, "NOT_FOUND")
		status, body = h.rest("POST", "/api/v1/organizations/"+org+"/roles", `{"name":"x","permissions":["o:nope"]}`)
		wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "permissions")

		// Not an environment role, not visible in another organization.
		status, body = h.rest("GET", "/api/v1/roles/lead", "")
		wantREST(t, status, body, http.StatusNotFound, "NOT_FOUND")
		if r := h.mustREST("GET", "/api/v1/organizations/"+other+"/roles/lead", ""); str(r, "role.id") == str(h.mustREST("GET", "/api/v1/organizations/"+org+"/roles/lead", ""), "role.id") {
			t.Errorf("one organization reads another's role")
		}
		// Environment roles can be read, not changed, through an organization.
		if r := h.mustREST("GET", "/api/v1/organizations/"+org+"/roles/base", ""); get(r, "role.is_org_role") != false {
			t.Errorf("environment role read through an organization: %v", r)
		}
		status, body = h.rest("PUT", "/api/v1/organizations/"+org+"/roles/base", `{"description":"x"}`)
		wantREST(t, status, body, http.StatusNotFound, "NOT_FOUND")
		status, body = h.rest("DELETE", "/api/v1/organizations/"+org+"/roles/base", "")
		wantREST(t, status, body, http.StatusNotFound, "NOT_FOUND")

		wantNames(t, "effective permissions of an organization role", granted(h.mustREST("GET", "/api/v1/organizations/"+org+"/roles/lead?include=permissions:all", ""), "role.permissions"),
			"o:x<-base", "o:y<-lead")
		user := h.createUser(org, "u@example.com", "", "lead")
		wantNames(t, "user permissions through an organization role", names(h.mustREST("GET", "/api/v1/organizations/"+org+"/users/"+user+"/permissions", ""), "permissions"), "o:x", "o:y")
		// An organization role of the name of an environment role hides it there.
		h.mustREST("POST", "/api/v1/organizations/"+org+"/roles", `{"name":"base","display_name":"Org base"}`)
		roles := h.mustREST("GET", "/api/v1/organizations/"+org+"/roles", "")
		wantNames(t, "organization roles with a shadowing role", names(roles, "roles"), "admin", "base", "lead", "member")
		if r := h.mustREST("GET", "/api/v1/organizations/"+org+"/roles/base", ""); str(r, "role.display_name") != "Org base" {
			t.Errorf("the organization's own role does not win: %v", r)
		}
		if c := num(h.mustREST("GET", "/api/v1/organizations/"+org+"/roles/lead/users:count", ""), "count"); c != 1 {
			t.Errorf("organization role users count %d, want 1", c)
		}
		// Deleting the organization deletes its roles.
		h.mustREST("DELETE", "/api/v1/organizations/"+org, "")
		if n := len(list(h.mustREST("GET", "/api/v1/roles", ""), "roles")); n != 3 {
			t.Errorf("environment roles after deleting an organization: %d, want 3", n)
		}
		if r := h.mustREST("GET", "/api/v1/organizations/"+other+"/roles/lead", ""); get(r, "role.is_org_role") != true {
			t.Errorf("another organization's role went with the deleted organization: %v", r)
		}
	})
}

// TestBadRoleInputChangesNothing: every refused write leaves roles,
// permissions, grants, defaults, assignments and the outbox as they were.
func TestBadRoleInputChangesNothing(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.perms("k:read", "k:write")
		h.role("keeper", "", "k:read")
		h.role("child", "keeper")
		org := h.createOrg("Org", "")
		user := h.createUser(org, "k@example.com", "", "keeper")
		before := h.rbacState(org, user)
		for _, c := range []struct {
			what, method, path, body string
			status                   int
			code                     string
			field                    string
		}{
			{"a role still assigned, without a target", "DELETE", "/api/v1/roles/keeper", ``, 400, "FAILED_PRECONDITION", ""},
			{"a duplicate role name", "POST", "/api/v1/roles", `{"name":"keeper","permissions":["k:write"]}`, 409, "ALREADY_EXISTS", "name"},
			{"a duplicate permission name", "POST", "/api/v1/permissions", `{"name":"k:read","description":"x"}`, 409, "ALREADY_EXISTS", "name"},
			{"an unknown permission in a new role", "POST", "/api/v1/roles", `{"name":"fresh","permissions":["k:read","k:nope"]}`, 400, "INVALID_ARGUMENT", "permissions"},
			{"an unknown base for a new role", "POST", "/api/v1/roles", `{"name":"fresh","extends":"nope"}`, 400, "INVALID_ARGUMENT", "extends"},
			{"an unknown permission in an update", "PUT", "/api/v1/roles/keeper", `{"display_name":"Changed","permissions":["k:write","k:nope"]}`, 400, "INVALID_ARGUMENT", "permissions"},
			{"a cycle in an update", "PUT", "/api/v1/roles/keeper", `{"display_name":"Changed","extends":"child"}`, 400, "INVALID_ARGUMENT", "extends"},
			{"an unknown permission added", "POST", "/api/v1/roles/keeper/permissions", `{"permission_names":["k:write","k:nope"]}`, 400, "INVALID_ARGUMENT", "permission_names"},
			{"no permissions added", "POST", "/api/v1/roles/keeper/permissions", `{"permission_names":[]}`, 400, "INVALID_ARGUMENT", "permission_names"},
			{"permissions added to an unknown role", "POST", "/api/v1/roles/nope/permissions", `{"permission_names":["k:write"]}`, 404, "NOT_FOUND", ""},
			{"an unknown permission removed", "DELETE", "/api/v1/roles/keeper/permissions/k:nope", ``, 404, "NOT_FOUND", ""},
			{"a permission the role lacks removed", "DELETE", "/api/v1/roles/keeper/permissions/k:write", ``, 404, "NOT_FOUND", ""},
			{"an update of an unknown role", "PUT", "/api/v1/roles/nope", `{"display_name":"x"}`, 404, "NOT_FOUND", ""},
			{"an unknown field", "POST", "/api/v1/roles", `{"name":"fresh","base_role":"keeper"}`, 400, "INVALID_ARGUMENT", "base_role"},
			{"an unknown default", "PATCH", "/api/v1/roles:set_defaults", `{"default_creator_role":"keeper","default_member_role":"nope"}`, 400, "INVALID_ARGUMENT", "default_member_role"},
		} {
			status, body := h.rest(c.method, c.path, c.body)
			if status != c.status {
				t.Errorf("%s: status %d, want %d: %v", c.what, status, c.status, body)
				continue
			}
			if c.field != "" {
				wantREST(t, status, body, c.status, c.code, c.field)
			} else {
				wantREST(t, status, body, c.status, c.code)
			}
			if after := h.rbacState(org, user); after != before {
				t.Errorf("%s changed the data:\nbefore %s\nafter  %s", c.what, before, after)
			}
		}
		// The same through gRPC.
		rc := h.grpcRoles()
		_, err := rc.CreateRole(ctx, connect.NewRequest(&rolesv1.CreateRoleRequest{Role: &rolesv1.CreateRole{Name: "keeper"}}))
		wantRPC(t, err, connect.CodeAlreadyExists, "name")
		_, err = rc.AddPermissionsToRole(ctx, connect.NewRequest(&rolesv1.AddPermissionsToRoleRequest{RoleName: "keeper", PermissionNames: []string{"k:nope"}}))
		wantRPC(t, err, connect.CodeInvalidArgument, "permission_names")
		_, err = rc.DeleteRole(ctx, connect.NewRequest(&rolesv1.DeleteRoleRequest{RoleName: "keeper"}))
		wantRPC(t, err, connect.CodeFailedPrecondition)
		if after := h.rbacState(org, user); after != before {
			t.Errorf("refused gRPC calls changed the data:\nbefore %s\nafter  %s", before, after)
		}
	})
}

func TestRoleWritesEmitEvents(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		start := len(h.events())
		h.perms("e:x")
		h.mustREST("PUT", "/api/v1/permissions/e:x", `{"description":"changed"}`)
		h.role("ev", "", "e:x")
		h.role("ev2", "ev")
		h.mustREST("PUT", "/api/v1/roles/ev", `{"description":"changed"}`)
		h.mustREST("POST", "/api/v1/roles/ev2/permissions", `{"permission_names":["e:x"]}`)
		h.mustREST("DELETE", "/api/v1/roles/ev2/permissions/e:x", "")
		h.mustREST("DELETE", "/api/v1/roles/ev2/base", "")
		h.mustREST("PATCH", "/api/v1/roles:set_defaults", `{"default_member_role":"ev"}`)
		h.mustREST("PATCH", "/api/v1/roles:set_defaults", `{"default_member_role":"member"}`)
		org := h.createOrg("Org", "")
		h.mustREST("POST", "/api/v1/organizations/"+org+"/roles", `{"name":"oe"}`)
		h.mustREST("DELETE", "/api/v1/organizations/"+org+"/roles/oe", "")
		h.mustREST("DELETE", "/api/v1/roles/ev2", "")
		h.mustREST("DELETE", "/api/v1/permissions/e:x", "")
		got := slices.DeleteFunc(h.events()[start:], func(s string) bool { return !strings.HasPrefix(s, "role") && !strings.HasPrefix(s, "permission") })
		wantNames(t, "events", got, "permission.created", "permission.updated", "role.created", "role.created", "role.updated",
			"role.permissions_added", "role.permission_removed", "role.updated", "role.defaults_updated", "role.defaults_updated",
			"role.created", "role.deleted", "role.deleted", "permission.deleted")
	})
}

// TestRoleChangesReachEveryNode is acceptance point 6: two servers on one
// PostgreSQL database; a change through one is enforced by the other on its
// very next request (roles are never cached).
func TestRoleChangesReachEveryNode(t *testing.T) {
	t.Parallel()
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	a := servertest.Start(t, servertest.Options{Postgres: true, Configure: func(c *config.Config) { c.SecretKey = key }})
	b := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) {
		c.DatabaseURL, c.SecretKey = a.Config.DatabaseURL, key
	}})
	ha, hb := newHarness(t, a, a.Token(t)), newHarness(t, b, b.Token(t))

	org := ha.createOrg("Org", "")
	user := ha.createUser(org, "u@example.com", "")
	ha.perms("n:read", "n:write")
	ha.role("fresh", "", "n:read")
	// B assigns the role A just created, and sees its permissions.
	wantNames(t, "B assigns A's new role", names(hb.mustREST("POST", "/api/v1/organizations/"+org+"/users/"+user+"/roles", `["fresh"]`), "roles"), "fresh", "member")
	wantNames(t, "B reads the user's permissions", names(hb.mustREST("GET", "/api/v1/organizations/"+org+"/users/"+user+"/permissions", ""), "permissions"), "n:read")
	// A grants more; B's next answer includes it.
	ha.mustREST("POST", "/api/v1/roles/fresh/permissions", `{"permission_names":["n:write"]}`)
	wantNames(t, "B after A granted more", names(hb.mustREST("GET", "/api/v1/organizations/"+org+"/users/"+user+"/permissions", ""), "permissions"), "n:read", "n:write")
	// B changes the default member role; A's next new member gets it.
	hb.mustREST("PATCH", "/api/v1/roles:set_defaults", `{"default_member_role":"fresh"}`)
	wantNames(t, "A's new member after B changed the default", ha.userRoles(org, ha.createUser(org, "v@example.com", "")), "fresh")
	hb.mustREST("PATCH", "/api/v1/roles:set_defaults", `{"default_member_role":"member"}`)
	// A creates and deletes a role; B refuses it on its next request.
	ha.role("doomed", "")
	hb.mustREST("GET", "/api/v1/roles/doomed", "")
	ha.mustREST("DELETE", "/api/v1/roles/doomed", "")
	status, body := hb.rest("POST", "/api/v1/organizations/"+org+"/users/"+user+"/roles", `["doomed"]`)
	wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "roles")
	status, body = hb.rest("GET", "/api/v1/roles/doomed", "")
	wantREST(t, status, body, http.StatusNotFound, "NOT_FOUND")
	// A cycle B would make with a base A just set is refused by B.
	ha.role("upper", "fresh")
	status, body = hb.rest("PUT", "/api/v1/roles/fresh", `{"extends":"upper"}`)
	wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "extends")
	// B deletes the assigned role with reassignment; A sees the result at once.
	hb.mustREST("DELETE", "/api/v1/roles/upper", "")
	hb.mustREST("DELETE", "/api/v1/roles/fresh?reassign_role_name=member", "")
	wantNames(t, "A reads the reassigned user", ha.userRoles(org, user), "member")
	status, body = ha.rest("GET", "/api/v1/roles/fresh", "")
	wantREST(t, status, body, http.StatusNotFound, "NOT_FOUND")
	_, err := ha.grpcUsers.AssignUserRoles(context.Background(), connect.NewRequest(&usersv1.AssignUserRolesRequest{OrganizationId: org, UserId: user,
		Roles: []*usersv1.AssignRoleRequest{{RoleName: "fresh"}}}))
	wantRPC(t, err, connect.CodeInvalidArgument, "roles")
}
