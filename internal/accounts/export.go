package accounts

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The export (gatehouse.v1.ExportService, docs/export.md): the environment
// read in pages of up to MaxExportPage rows, each page in a few queries
// whatever its size, so an environment of any size is exported without
// being held in memory. Password hashes leave only when asked for, and
// every page that carries them records a user.password_hashes_exported
// event naming the API client.

// MaxExportPage bounds an export page; DefaultExportPage is used for 0.
const (
	MaxExportPage     = 1000
	DefaultExportPage = 100
)

// ExportRole is a role definition as the export writes it.
type ExportRole struct {
	Name, DisplayName, Description string
	BaseRole                       string
	Permissions                    []string // granted directly, by name
	DefaultCreator, DefaultMember  bool
}

// ExportDefinitions are the environment's permissions and roles.
type ExportDefinitions struct {
	Permissions []*store.Permission // name order
	Roles       []ExportRole        // name order
}

// ExportOrg is an organization with its own roles.
type ExportOrg struct {
	*store.Organization
	Roles []ExportRole
	// DefaultMemberRole is the organization's own default member role.
	DefaultMemberRole string
	// SessionPolicy is the organization's own session policy; nil when it
	// follows the environment's.
	SessionPolicy *store.OrgSessionPolicy
}

// ExportUser is a user (with memberships) as the export writes it.
type ExportUser struct {
	*store.User
	// OrgExternalIDs maps the memberships' organization ids to their
	// external ids (absent when an organization has none).
	OrgExternalIDs map[string]string
	// PasswordHash is set only when hashes were asked for.
	PasswordHash string
}

// ExportRoles reads the permissions and the environment's roles.
func (s *Service) ExportRoles(ctx context.Context) (*ExportDefinitions, error) {
	q := s.Store.Q()
	out := &ExportDefinitions{}
	for page := (store.Page{Limit: MaxExportPage}); ; {
		res, err := q.ListPermissions(ctx, s.EnvID, page)
		if err != nil {
			return nil, err
		}
		out.Permissions = append(out.Permissions, res.Items...)
		if !res.More {
			break
		}
		page.AfterID = res.Items[len(res.Items)-1].ID
	}
	slices.SortFunc(out.Permissions, func(a, b *store.Permission) int { return strings.Compare(a.Name, b.Name) })
	roles, err := q.ListRoles(ctx, s.EnvID)
	if err != nil {
		return nil, err
	}
	defaults, err := q.RoleDefaults(ctx, s.EnvID, "")
	if err != nil {
		return nil, err
	}
	out.Roles, err = s.exportRoles(ctx, q, roles, defaults)
	return out, err
}

// exportRoles renders roles with their direct permissions and the
// defaults (kind -> role id) that name them.
func (s *Service) exportRoles(ctx context.Context, q *store.Q, roles []*store.Role, defaults map[string]string) ([]ExportRole, error) {
	ids := make([]string, len(roles))
	for i, r := range roles {
		ids[i] = r.ID
	}
	perms, err := q.RolePermissions(ctx, s.EnvID, ids)
	if err != nil {
		return nil, err
	}
	out := make([]ExportRole, len(roles))
	for i, r := range roles {
		er := ExportRole{Name: r.Name, DisplayName: r.DisplayName, Description: r.Description, BaseRole: r.BaseName,
			DefaultCreator: defaults[store.DefaultCreator] == r.ID, DefaultMember: defaults[store.DefaultMember] == r.ID}
		for _, p := range perms[r.ID] {
			er.Permissions = append(er.Permissions, p.Name)
		}
		out[i] = er
	}
	return out, nil
}

// exportPage decodes an export page request: up to MaxExportPage rows, the
// token bound to the list (kind, filter).
func (s *Service) exportPage(p PageRequest, kind, filter string) (store.Page, error) {
	size := int(p.Size)
	if size == 0 {
		size = DefaultExportPage
	}
	if size > MaxExportPage {
		return store.Page{}, apierr.InvalidArgument(apierr.Violation{Field: "page_size",
			Description: fmt.Sprintf("must be at most %d", MaxExportPage), Constraint: fmt.Sprintf("max:%d", MaxExportPage)})
	}
	after, err := s.Pages.Decode(p.Token, kind, filter)
	if err != nil {
		return store.Page{}, apierr.InvalidArgument(apierr.Violation{Field: "page_token", Description: err.Error()})
	}
	return store.Page{AfterID: after, Limit: size}, nil
}

// ExportOrganizations reads a page of organizations with their own roles.
func (s *Service) ExportOrganizations(ctx context.Context, p PageRequest) ([]ExportOrg, PageInfo, error) {
	page, err := s.exportPage(p, "export_orgs", "")
	if err != nil {
		return nil, PageInfo{}, err
	}
	q := s.Store.Q()
	res, err := q.ListOrganizations(ctx, s.EnvID, store.OrgFilter{}, page)
	if err != nil {
		return nil, PageInfo{}, err
	}
	ids := make([]string, len(res.Items))
	for i, o := range res.Items {
		ids[i] = o.ID
	}
	roles, err := q.OrganizationsOwnRoles(ctx, s.EnvID, ids)
	if err != nil {
		return nil, PageInfo{}, err
	}
	defaults, err := q.OrganizationsRoleDefaults(ctx, s.EnvID, ids)
	if err != nil {
		return nil, PageInfo{}, err
	}
	policies, err := q.OrgSessionPolicies(ctx, s.EnvID, ids)
	if err != nil {
		return nil, PageInfo{}, err
	}
	byOrg := map[string][]*store.Role{}
	for _, r := range roles {
		byOrg[r.OrgID] = append(byOrg[r.OrgID], r)
	}
	out := make([]ExportOrg, len(res.Items))
	for i, o := range res.Items {
		eo := ExportOrg{Organization: o, SessionPolicy: policies[o.ID]}
		if eo.Roles, err = s.exportRoles(ctx, q, byOrg[o.ID], defaults[o.ID]); err != nil {
			return nil, PageInfo{}, err
		}
		if id := defaults[o.ID][store.DefaultMember]; id != "" {
			r, err := q.GetRole(ctx, s.EnvID, id)
			if err != nil {
				return nil, PageInfo{}, err
			}
			eo.DefaultMemberRole = r.Name
		}
		out[i] = eo
	}
	return out, info(s, res, func(o *store.Organization) string { return o.ID }, "export_orgs", ""), nil
}

// ExportUsers reads a page of users with their memberships and, when
// hashes is set, their password hashes, recording that they left.
func (s *Service) ExportUsers(ctx context.Context, p PageRequest, hashes bool, clientID string) ([]ExportUser, PageInfo, error) {
	filter := fmt.Sprintf("hashes=%t", hashes)
	page, err := s.exportPage(p, "export_users", filter)
	if err != nil {
		return nil, PageInfo{}, err
	}
	q := s.Store.Q()
	res, err := q.ListUsers(ctx, s.EnvID, store.UserFilter{}, page)
	if err != nil {
		return nil, PageInfo{}, err
	}
	userIDs := make([]string, len(res.Items))
	orgSet := map[string]bool{}
	for i, u := range res.Items {
		userIDs[i] = u.ID
		for _, m := range u.Memberships {
			orgSet[m.OrgID] = true
		}
	}
	orgs, err := q.OrganizationsByIDs(ctx, s.EnvID, sortedKeys(orgSet))
	if err != nil {
		return nil, PageInfo{}, err
	}
	ext := map[string]string{}
	for id, o := range orgs {
		if o.ExternalID != nil {
			ext[id] = *o.ExternalID
		}
	}
	var stored map[string]string
	if hashes {
		if stored, err = s.exportHashes(ctx, userIDs, clientID); err != nil {
			return nil, PageInfo{}, err
		}
	}
	out := make([]ExportUser, len(res.Items))
	for i, u := range res.Items {
		out[i] = ExportUser{User: s.present(u), OrgExternalIDs: ext, PasswordHash: stored[u.ID]}
	}
	return out, info(s, res, func(u *store.User) string { return u.ID }, "export_users", filter), nil
}

// exportHashes reads the users' password hashes and records, in the same
// transaction, that they were exported and to which API client: hashes
// leave the server only here, and an operator must be able to see when.
func (s *Service) exportHashes(ctx context.Context, userIDs []string, clientID string) (map[string]string, error) {
	var out map[string]string
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		var err error
		if out, err = q.PasswordHashes(ctx, s.EnvID, userIDs); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		return s.emit(ctx, q, "user.password_hashes_exported", s.EnvID, map[string]any{
			"client_id": clientID, "users": len(out), "first_user_id": userIDs[0], "last_user_id": userIDs[len(userIDs)-1]})
	})
	return out, err
}
