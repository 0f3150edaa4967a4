package api

import (
	"sort"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	commonsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/commons"
	organizationsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations"
	rolesv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/roles"
	usersv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/users"
	"github.com/gatehouse/gatehouse/internal/rbac"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Conversions from stored objects to wire messages, in one place.

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func orgProto(o *store.Organization) *organizationsv1.Organization {
	names := make([]string, 0, len(o.Features))
	for n := range o.Features {
		names = append(names, n)
	}
	sort.Strings(names)
	settings := &organizationsv1.OrganizationSettings{}
	for _, n := range names {
		settings.Features = append(settings.Features, &organizationsv1.OrganizationSettingsFeature{Name: n, Enabled: o.Features[n]})
	}
	return &organizationsv1.Organization{
		Id: o.ID, CreateTime: ts(o.CreatedAt), UpdateTime: ts(o.UpdatedAt), DisplayName: o.DisplayName,
		RegionCode: commonsv1.RegionCode(o.RegionCode), ExternalId: o.ExternalID, Metadata: o.Metadata,
		Settings: settings, Slug: o.Slug, LogoUrl: o.LogoURL,
	}
}

func orgsProto(os []*store.Organization) []*organizationsv1.Organization {
	out := make([]*organizationsv1.Organization, len(os))
	for i, o := range os {
		out[i] = orgProto(o)
	}
	return out
}

func userProto(u *store.User) *usersv1.User {
	name := u.Name
	if name == "" {
		name = strings.TrimSpace(u.GivenName + " " + u.FamilyName)
	}
	p := &usersv1.User{
		Id: u.ID, EnvironmentId: u.EnvID, CreateTime: ts(u.CreatedAt), UpdateTime: ts(u.UpdatedAt), Email: u.Email,
		ExternalId: u.ExternalID, Metadata: u.Metadata, LastLoginTime: ts(u.LastLoginAt),
		UserProfile: &commonsv1.UserProfile{
			Id: u.ID, GivenName: u.GivenName, FamilyName: u.FamilyName, FirstName: u.GivenName, LastName: u.FamilyName,
			Name: name, Locale: u.Locale, EmailVerified: u.EmailVerified, PhoneNumber: u.PhoneNumber,
			Metadata: u.ProfileMetadata, CustomAttributes: u.CustomAttributes, PreferredUsername: u.PreferredUsername,
			Picture: u.Picture, Groups: u.Groups, Gender: u.Gender,
		},
	}
	for _, m := range u.Memberships {
		p.Memberships = append(p.Memberships, membershipProto(m))
	}
	return p
}

func membershipProto(m *store.Membership) *commonsv1.OrganizationMembership {
	mp := &commonsv1.OrganizationMembership{
		OrganizationId: m.OrgID, JoinTime: ts(m.AcceptedAt), MembershipStatus: commonsv1.MembershipStatus(m.Status),
		Metadata: m.Metadata, InviterEmail: m.InviterEmail, CreatedAt: ts(m.CreatedAt), AcceptedAt: ts(m.AcceptedAt),
		ExpiresAt: ts(m.ExpiresAt), Roles: []*commonsv1.Role{},
	}
	if m.OrgName != "" {
		mp.Name, mp.DisplayName = &m.OrgName, &m.OrgName
	}
	for _, r := range m.Roles {
		mp.Roles = append(mp.Roles, &commonsv1.Role{Id: r.ID, Name: r.Name, DisplayName: r.DisplayName})
	}
	return mp
}

func usersProto(us []*store.User) []*usersv1.User {
	out := make([]*usersv1.User, len(us))
	for i, u := range us {
		out[i] = userProto(u)
	}
	return out
}

func roleProto(r *rbac.Role) *rolesv1.Role {
	if r == nil {
		return nil
	}
	p := &rolesv1.Role{
		Id: r.ID, Name: r.Name, DisplayName: r.DisplayName, Description: r.Description, DefaultCreator: r.DefaultCreator,
		DefaultMember: r.DefaultMember, Permissions: rolePermissionsProto(r.Permissions), DependentRolesCount: int32(r.Dependents),
		IsOrgRole: r.IsOrgRole(),
	}
	if r.BaseName != "" {
		p.Extends = &r.BaseName
	}
	return p
}

func rolesProto(rs []*rbac.Role) []*rolesv1.Role {
	out := make([]*rolesv1.Role, len(rs))
	for i, r := range rs {
		out[i] = roleProto(r)
	}
	return out
}

func permissionProto(p *store.Permission) *rolesv1.Permission {
	return &rolesv1.Permission{Id: p.ID, Name: p.Name, Description: p.Description, CreateTime: ts(p.CreatedAt), UpdateTime: ts(p.UpdatedAt)}
}

// rolePermissionsProto renders a role's permissions, each naming the role
// that grants it.
func rolePermissionsProto(ps []store.RolePermission) []*rolesv1.RolePermission {
	out := make([]*rolesv1.RolePermission, len(ps))
	for i, p := range ps {
		out[i] = &rolesv1.RolePermission{Id: p.ID, Name: p.Name, Description: p.Description, CreateTime: ts(p.CreatedAt),
			UpdateTime: ts(p.UpdatedAt), RoleName: p.RoleName}
	}
	return out
}

// grantedPermissionsProto renders a role's permissions as plain permissions.
func grantedPermissionsProto(ps []store.RolePermission) []*rolesv1.Permission {
	out := make([]*rolesv1.Permission, len(ps))
	for i := range ps {
		out[i] = permissionProto(&ps[i].Permission)
	}
	return out
}

func roleRefsProto(rs []store.RoleRef) []*commonsv1.Role {
	out := make([]*commonsv1.Role, len(rs))
	for i, r := range rs {
		out[i] = &commonsv1.Role{Id: r.ID, Name: r.Name, DisplayName: r.DisplayName}
	}
	return out
}
