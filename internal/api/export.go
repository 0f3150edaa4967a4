package api

import (
	"context"

	"connectrpc.com/connect"

	gatehousev1 "github.com/gatehouse/gatehouse/gen/gatehouse/v1"
	"github.com/gatehouse/gatehouse/gen/gatehouse/v1/gatehousev1connect"
	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/store"
)

// exportAPI implements gatehouse.v1.ExportService, the reads of `gatehouse
// export` (docs/export.md). The rules are accounts.ExportUsers' and its
// neighbours'.
type exportAPI struct {
	gatehousev1connect.UnimplementedExportServiceHandler
	svc *accounts.Service
}

func (h *exportAPI) ExportRoles(ctx context.Context, _ *connect.Request[gatehousev1.ExportRolesRequest]) (*connect.Response[gatehousev1.ExportRolesResponse], error) {
	d, err := h.svc.ExportRoles(ctx)
	if err != nil {
		return nil, err
	}
	out := &gatehousev1.ExportRolesResponse{Roles: exportRoles(d.Roles)}
	for _, p := range d.Permissions {
		out.Permissions = append(out.Permissions, &gatehousev1.ExportPermission{Name: p.Name, Description: p.Description})
	}
	return connect.NewResponse(out), nil
}

func (h *exportAPI) ExportOrganizations(ctx context.Context, req *connect.Request[gatehousev1.ExportOrganizationsRequest]) (*connect.Response[gatehousev1.ExportOrganizationsResponse], error) {
	orgs, page, err := h.svc.ExportOrganizations(ctx, accounts.PageRequest{Size: req.Msg.GetPageSize(), Token: req.Msg.GetPageToken()})
	if err != nil {
		return nil, err
	}
	out := &gatehousev1.ExportOrganizationsResponse{NextPageToken: page.NextToken, TotalSize: page.Total}
	for _, o := range orgs {
		eo := &gatehousev1.ExportOrganization{Id: o.ID, ExternalId: deref(o.ExternalID),
			DisplayName: o.DisplayName, Metadata: o.Metadata, Roles: exportRoles(o.Roles), DefaultMemberRole: o.DefaultMemberRole,
			Slug: deref(o.Slug), LogoUrl: deref(o.LogoURL), RegionCode: o.RegionCode, Features: o.Features}
		if p := o.SessionPolicy; p != nil {
			eo.SessionPolicy = &gatehousev1.ExportSessionPolicy{AbsoluteTimeout: p.AbsoluteTimeout,
				AbsoluteTimeoutUnit: p.AbsoluteTimeoutUnit, IdleTimeoutEnabled: p.IdleTimeoutEnabled, IdleTimeout: p.IdleTimeout,
				IdleTimeoutUnit: p.IdleTimeoutUnit}
		}
		out.Organizations = append(out.Organizations, eo)
	}
	return connect.NewResponse(out), nil
}

func (h *exportAPI) ExportUsers(ctx context.Context, req *connect.Request[gatehousev1.ExportUsersRequest]) (*connect.Response[gatehousev1.ExportUsersResponse], error) {
	in := req.Msg
	users, page, err := h.svc.ExportUsers(ctx, accounts.PageRequest{Size: in.GetPageSize(), Token: in.GetPageToken()},
		in.GetIncludePasswordHashes(), ClientID(ctx))
	if err != nil {
		return nil, err
	}
	out := &gatehousev1.ExportUsersResponse{NextPageToken: page.NextToken, TotalSize: page.Total}
	for _, u := range users {
		eu := &gatehousev1.ExportUser{Id: u.ID, Email: u.Email, ExternalId: deref(u.ExternalID), FirstName: u.GivenName,
			LastName: u.FamilyName, Name: u.Name, Locale: u.Locale, EmailVerified: u.EmailVerified, Metadata: u.Metadata,
			PasswordHash: u.PasswordHash, PhoneNumber: u.PhoneNumber, PreferredUsername: u.PreferredUsername, Picture: u.Picture,
			Gender: u.Gender, Groups: u.Groups, ProfileMetadata: u.ProfileMetadata, CustomAttributes: u.CustomAttributes}
		for _, m := range u.Memberships {
			em := &gatehousev1.ExportMembership{OrganizationId: m.OrgID, OrganizationExternalId: u.OrgExternalIDs[m.OrgID],
				Metadata: m.Metadata, Status: m.Status}
			if m.Status == store.MembershipPendingInvite || m.Status == store.MembershipInviteExpired {
				em.ExpireTime, em.InviterEmail = ts(m.ExpiresAt), deref(m.InviterEmail)
			}
			for _, r := range m.Roles {
				em.Roles = append(em.Roles, r.Name)
			}
			eu.Memberships = append(eu.Memberships, em)
		}
		out.Users = append(out.Users, eu)
	}
	return connect.NewResponse(out), nil
}

func exportRoles(in []accounts.ExportRole) []*gatehousev1.ExportRole {
	out := make([]*gatehousev1.ExportRole, len(in))
	for i, r := range in {
		out[i] = &gatehousev1.ExportRole{Name: r.Name, DisplayName: r.DisplayName, Description: r.Description, BaseRole: r.BaseRole,
			Permissions: r.Permissions, DefaultCreator: r.DefaultCreator, DefaultMember: r.DefaultMember}
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
