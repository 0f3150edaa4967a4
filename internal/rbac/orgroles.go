package rbac

import "context"

// Organization roles belong to one organization (named by id or external
// id) beside the environment's roles, which every organization also sees.
// An organization role may extend an environment role or another role of
// its organization; within the organization it hides an environment role
// of the same name.

// CreateOrganizationRole creates a role of one organization.
func (s *Service) CreateOrganizationRole(ctx context.Context, orgRef string, f RoleFields) (*Role, error) {
	if err := pathName("org_id", orgRef); err != nil {
		return nil, err
	}
	return s.createRole(ctx, orgRef, f)
}

// UpdateOrganizationRole changes a role of one organization.
func (s *Service) UpdateOrganizationRole(ctx context.Context, orgRef, name string, f RoleFields) (*Role, error) {
	if err := pathName("org_id", orgRef); err != nil {
		return nil, err
	}
	return s.updateRole(ctx, orgRef, name, f)
}

// GetOrganizationRole reads a role usable in an organization: its own, or
// an environment role.
func (s *Service) GetOrganizationRole(ctx context.Context, orgRef, name, include string) (*Role, error) {
	if err := pathName("org_id", orgRef); err != nil {
		return nil, err
	}
	return s.getRole(ctx, orgRef, name, include)
}

// ListOrganizationRoles lists the roles usable in an organization, its own
// and the environment's, in name order.
func (s *Service) ListOrganizationRoles(ctx context.Context, orgRef, include string) ([]*Role, error) {
	if err := pathName("org_id", orgRef); err != nil {
		return nil, err
	}
	return s.listRoles(ctx, orgRef, include)
}

// DeleteOrganizationRole deletes a role of one organization, moving its
// members to the role named reassign (required while it has members).
func (s *Service) DeleteOrganizationRole(ctx context.Context, orgRef, name, reassign string) error {
	if err := pathName("org_id", orgRef); err != nil {
		return err
	}
	return s.deleteRole(ctx, orgRef, name, Reassign{Name: reassign})
}

// OrganizationRoleUsersCount counts the organization's users holding a
// role usable there.
func (s *Service) OrganizationRoleUsersCount(ctx context.Context, orgRef, name string) (int, error) {
	if err := pathName("org_id", orgRef); err != nil {
		return 0, err
	}
	return s.roleUsersCount(ctx, orgRef, name)
}

// DeleteOrganizationRoleBase makes an organization role extend no role.
func (s *Service) DeleteOrganizationRoleBase(ctx context.Context, orgRef, name string) error {
	if err := pathName("org_id", orgRef); err != nil {
		return err
	}
	return s.deleteRoleBase(ctx, orgRef, name)
}
