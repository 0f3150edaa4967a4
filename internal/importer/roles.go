package importer

import (
	"context"
	"fmt"
	"slices"

	"connectrpc.com/connect"

	gatehousev1 "github.com/gatehouse/gatehouse/gen/gatehouse/v1"
	rolesv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/roles"
)

// Role and permission definitions, as `gatehouse export` writes them (and
// the generic JSONL accepts):
//
//	{"type": "permission", "name": "projects:read", "description": "Read projects"}
//	{"type": "role", "name": "editor", "display_name": "Editor", "description": "...",
//	 "extends": "viewer", "permissions": ["projects:write"], "default_member": true}
//
// and an organization's own roles in its line's "roles" (same fields) with
// its "default_member_role". They are written through the Scalekit
// RolesService before any user, since a membership naming a role that does
// not exist fails.

// Permission is a permission definition.
type Permission struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// Role is a role definition: an environment role, or an organization's
// own. Permissions are those it grants directly; Extends names its base.
type Role struct {
	Name           string   `json:"name"`
	DisplayName    string   `json:"display_name,omitempty"`
	Description    string   `json:"description,omitempty"`
	Extends        string   `json:"extends,omitempty"`
	Permissions    []string `json:"permissions,omitempty"`
	DefaultCreator bool     `json:"default_creator,omitempty"`
	DefaultMember  bool     `json:"default_member,omitempty"`
}

// hasDefinitions reports whether d defines any role or permission.
func (d *Dataset) hasDefinitions() bool {
	if len(d.Permissions) > 0 || len(d.Roles) > 0 {
		return true
	}
	return slices.ContainsFunc(d.Organizations, func(o Organization) bool { return len(o.Roles) > 0 || o.DefaultMemberRole != "" })
}

// defineRoles creates the dataset's permissions and roles that the server
// lacks, brings those that differ up to date, and sets the default roles,
// so that the users written next may hold them. Organizations with their
// own roles are imported first (an organization-only batch; the
// organizations phase then finds them unchanged). It is idempotent, so a
// resumed run does it again harmlessly. A dry run creates nothing and says
// so in the summary.
func (r *runner) defineRoles(ctx context.Context, d *Dataset) error {
	if !d.hasDefinitions() {
		return nil
	}
	if r.cfg.DryRun {
		r.sum.Notes = append(r.sum.Notes, "dry run: the export's role and permission definitions were not created, so memberships naming roles the server lacks are reported as unknown_role")
		return nil
	}
	if err := r.definePermissions(ctx, d.Permissions); err != nil {
		return fmt.Errorf("creating permissions: %w", err)
	}
	if err := r.defineScopeRoles(ctx, "", d.Roles); err != nil {
		return fmt.Errorf("creating roles: %w", err)
	}
	if err := r.setDefaultRoles(ctx, d.Roles); err != nil {
		return fmt.Errorf("setting the default roles: %w", err)
	}
	var orgs []Organization
	for _, o := range d.Organizations {
		if len(o.Roles) > 0 || o.DefaultMemberRole != "" {
			orgs = append(orgs, o)
		}
	}
	if len(orgs) == 0 {
		return nil
	}
	if r.cfg.Compat {
		r.sum.Notes = append(r.sum.Notes, "--compat: organizations' own roles were not created (import without --compat to create them)")
		return nil
	}
	return r.defineOrgRoles(ctx, orgs)
}

// call runs one API call through the Conn's retries, its error described
// for the run's messages.
func call[Req, Res any](ctx context.Context, c *Conn, fn func(context.Context, *connect.Request[Req]) (*connect.Response[Res], error), req *Req) (*Res, error) {
	res, err := Call(ctx, c, fn, req)
	if err != nil {
		return nil, fmt.Errorf("%s", describe(err))
	}
	return res, nil
}

func (r *runner) definePermissions(ctx context.Context, perms []Permission) error {
	if len(perms) == 0 {
		return nil
	}
	c := r.cfg.Conn
	have := map[string]string{}
	token := ""
	for {
		size := uint32(100)
		res, err := call(ctx, c, c.Roles.ListPermissions, &rolesv1.ListPermissionsRequest{PageSize: &size, PageToken: &token})
		if err != nil {
			return err
		}
		for _, p := range res.GetPermissions() {
			have[p.GetName()] = p.GetDescription()
		}
		if token = res.GetNextPageToken(); token == "" {
			break
		}
	}
	for _, p := range perms {
		desc, ok := have[p.Name]
		var err error
		switch {
		case !ok:
			_, err = call(ctx, c, c.Roles.CreatePermission, &rolesv1.CreatePermissionRequest{
				Permission: &rolesv1.CreatePermission{Name: p.Name, Description: p.Description}})
		case desc != p.Description:
			_, err = call(ctx, c, c.Roles.UpdatePermission, &rolesv1.UpdatePermissionRequest{PermissionName: p.Name,
				Permission: &rolesv1.CreatePermission{Name: p.Name, Description: p.Description}})
		}
		if err != nil {
			return fmt.Errorf("permission %q: %w", p.Name, err)
		}
	}
	r.prog.notice(fmt.Sprintf("permissions: %d defined", len(perms)))
	return nil
}

// baseFirst orders roles so that each comes after the role it extends
// when that role is defined too; a cycle keeps its order (the server
// refuses it, naming the role).
func baseFirst(roles []Role) []Role {
	defined := map[string]bool{}
	for _, ro := range roles {
		defined[ro.Name] = true
	}
	var out []Role
	done := map[string]bool{}
	for len(out) < len(roles) {
		progressed := false
		for _, ro := range roles {
			if !done[ro.Name] && (ro.Extends == "" || !defined[ro.Extends] || done[ro.Extends]) {
				done[ro.Name], progressed = true, true
				out = append(out, ro)
			}
		}
		if !progressed {
			for _, ro := range roles {
				if !done[ro.Name] {
					done[ro.Name] = true
					out = append(out, ro)
				}
			}
		}
	}
	return out
}

// defineScopeRoles creates or updates roles of the environment (orgRef
// "") or of one organization (its external id or id).
func (r *runner) defineScopeRoles(ctx context.Context, orgRef string, roles []Role) error {
	if len(roles) == 0 {
		return nil
	}
	c := r.cfg.Conn
	var stored []*rolesv1.Role
	if orgRef == "" {
		res, err := call(ctx, c, c.Roles.ListRoles, &rolesv1.ListRolesRequest{})
		if err != nil {
			return err
		}
		stored = res.GetRoles()
	} else {
		res, err := call(ctx, c, c.Roles.ListOrganizationRoles, &rolesv1.ListOrganizationRolesRequest{OrgId: orgRef})
		if err != nil {
			return err
		}
		for _, ro := range res.GetRoles() {
			if ro.GetIsOrgRole() {
				stored = append(stored, ro)
			}
		}
	}
	have := map[string]*rolesv1.Role{}
	for _, ro := range stored {
		have[ro.GetName()] = ro
	}
	for _, ro := range baseFirst(roles) {
		if err := r.defineRole(ctx, orgRef, ro, have[ro.Name]); err != nil {
			return fmt.Errorf("role %q: %w", ro.Name, err)
		}
	}
	return nil
}

// defineRole creates ro, or updates the stored role when it differs.
func (r *runner) defineRole(ctx context.Context, orgRef string, ro Role, stored *rolesv1.Role) error {
	c := r.cfg.Conn
	if stored == nil {
		var err error
		if orgRef == "" {
			_, err = call(ctx, c, c.Roles.CreateRole, &rolesv1.CreateRoleRequest{Role: &rolesv1.CreateRole{Name: ro.Name,
				DisplayName: ro.DisplayName, Description: &ro.Description, Extends: optional(ro.Extends), Permissions: ro.Permissions}})
		} else {
			_, err = call(ctx, c, c.Roles.CreateOrganizationRole, &rolesv1.CreateOrganizationRoleRequest{OrgId: orgRef,
				Role: &rolesv1.CreateOrganizationRole{Name: ro.Name, DisplayName: ro.DisplayName, Description: &ro.Description,
					Extends: optional(ro.Extends), Permissions: ro.Permissions}})
		}
		return err
	}
	var have []string
	for _, p := range stored.GetPermissions() {
		have = append(have, p.GetName())
	}
	want := slices.Sorted(slices.Values(ro.Permissions))
	slices.Sort(have)
	if stored.GetDisplayName() == ro.DisplayName && stored.GetDescription() == ro.Description &&
		stored.GetExtends() == ro.Extends && (len(want) == 0 || slices.Equal(have, want)) {
		return nil
	}
	up := &rolesv1.UpdateRole{DisplayName: &ro.DisplayName, Description: &ro.Description, Extends: &ro.Extends, Permissions: ro.Permissions}
	var err error
	if orgRef == "" {
		_, err = call(ctx, c, c.Roles.UpdateRole, &rolesv1.UpdateRoleRequest{RoleName: ro.Name, Role: up})
	} else {
		_, err = call(ctx, c, c.Roles.UpdateOrganizationRole, &rolesv1.UpdateOrganizationRoleRequest{OrgId: orgRef, RoleName: ro.Name, Role: up})
	}
	return err
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// setDefaultRoles makes the roles flagged default_creator and
// default_member the environment's defaults.
func (r *runner) setDefaultRoles(ctx context.Context, roles []Role) error {
	req := &rolesv1.UpdateDefaultRolesRequest{}
	for _, ro := range roles {
		if ro.DefaultCreator {
			req.DefaultCreatorRole = &ro.Name
		}
		if ro.DefaultMember {
			req.DefaultMemberRole = &ro.Name
		}
	}
	if req.DefaultCreatorRole == nil && req.DefaultMemberRole == nil {
		return nil
	}
	c := r.cfg.Conn
	res, err := call(ctx, c, c.Roles.ListRoles, &rolesv1.ListRolesRequest{})
	if err != nil {
		return err
	}
	current := func(flag func(*rolesv1.Role) bool) string {
		for _, ro := range res.GetRoles() {
			if flag(ro) {
				return ro.GetName()
			}
		}
		return ""
	}
	if (req.DefaultCreatorRole == nil || *req.DefaultCreatorRole == current((*rolesv1.Role).GetDefaultCreator)) &&
		(req.DefaultMemberRole == nil || *req.DefaultMemberRole == current((*rolesv1.Role).GetDefaultMember)) {
		return nil
	}
	_, err = call(ctx, c, c.Roles.UpdateDefaultRoles, req)
	return err
}

// defineOrgRoles imports the organizations that have their own roles (so
// the roles have somewhere to live), then their roles and default member
// roles. An organization the server refuses is left to the organizations
// phase, which reports why.
func (r *runner) defineOrgRoles(ctx context.Context, orgs []Organization) error {
	c := r.cfg.Conn
	ok := map[int]bool{}
	for start := 0; start < len(orgs); start += MaxBatchSize {
		chunk := orgs[start:min(start+MaxBatchSize, len(orgs))]
		req := &gatehousev1.ImportBatchRequest{}
		for _, o := range chunk {
			req.Organizations = append(req.Organizations, &gatehousev1.ImportOrganization{ExternalId: o.ExternalID, Id: o.ID,
				DisplayName: o.DisplayName, Metadata: o.Metadata})
		}
		res, err := call(ctx, c, c.Import.ImportBatch, req)
		if err != nil {
			return fmt.Errorf("importing the organizations that have their own roles: %w", err)
		}
		for i, row := range res.GetOrganizations() {
			ok[start+i] = row.GetStatus() != gatehousev1.ImportStatus_IMPORT_STATUS_FAILED
		}
	}
	for i, o := range orgs {
		if !ok[i] {
			continue
		}
		ref := o.ExternalID
		if ref == "" {
			ref = o.ID
		}
		if err := r.defineScopeRoles(ctx, ref, o.Roles); err != nil {
			return fmt.Errorf("organization %q: %w", ref, err)
		}
		if o.DefaultMemberRole != "" {
			if _, err := call(ctx, c, c.Roles.UpdateDefaultOrganizationRoles, &rolesv1.UpdateDefaultOrganizationRolesRequest{
				OrgId: ref, DefaultMemberRole: o.DefaultMemberRole}); err != nil {
				return fmt.Errorf("organization %q: default member role: %w", ref, err)
			}
		}
	}
	r.prog.notice(fmt.Sprintf("roles: the own roles of %d organizations defined", len(orgs)))
	return nil
}
