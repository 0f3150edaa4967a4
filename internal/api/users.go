package api

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/emptypb"

	commonsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/commons"
	usersv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/users"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/users/usersv1connect"
	"github.com/gatehouse/gatehouse/internal/accounts"
)

// users implements scalekit.v1.users.UserService. Methods of later
// capabilities answer Unimplemented.
type users struct {
	usersv1connect.UnimplementedUserServiceHandler
	svc *accounts.Service
}

// set turns a proto3 plain string into "set" only when non-empty, since
// the wire cannot tell empty from absent.
func set(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func roleNames(rs []*commonsv1.Role) []string {
	if len(rs) == 0 {
		return nil
	}
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.GetName()
	}
	return out
}

func (h *users) CreateUserAndMembership(ctx context.Context, req *connect.Request[usersv1.CreateUserAndMembershipRequest]) (*connect.Response[usersv1.CreateUserAndMembershipResponse], error) {
	in := req.Msg.GetUser()
	if in == nil {
		in = &usersv1.CreateUser{}
	}
	p := in.GetUserProfile()
	if p == nil {
		p = &usersv1.CreateUserProfile{}
	}
	email := in.GetEmail()
	f := accounts.UserFields{
		Email: &email, ExternalID: in.ExternalId, Metadata: in.GetMetadata(),
		Profile: accounts.ProfileFields{
			GivenName: set(p.GetGivenName()), FamilyName: set(p.GetFamilyName()), FirstName: set(p.GetFirstName()),
			LastName: set(p.GetLastName()), Name: set(p.GetName()), Locale: set(p.GetLocale()), PhoneNumber: set(p.GetPhoneNumber()),
			PreferredUsername: set(p.GetPreferredUsername()), Picture: p.Picture, Gender: p.Gender,
			Metadata: p.GetMetadata(), CustomAttributes: p.GetCustomAttributes(), Groups: p.GetGroups(),
		},
	}
	m := in.GetMembership()
	mf := accounts.MembershipFields{Roles: roleNames(m.GetRoles()), Metadata: m.GetMetadata(), InviterEmail: set(m.GetInviterEmail())}
	invite := req.Msg.SendInvitationEmail == nil || *req.Msg.SendInvitationEmail
	u, err := h.svc.CreateUserAndMembership(ctx, req.Msg.GetOrganizationId(), f, mf, invite)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&usersv1.CreateUserAndMembershipResponse{User: userProto(u)}), nil
}

func (h *users) GetUser(ctx context.Context, req *connect.Request[usersv1.GetUserRequest]) (*connect.Response[usersv1.GetUserResponse], error) {
	u, err := h.svc.GetUser(ctx, accounts.Ref{ID: req.Msg.GetId(), ExternalID: req.Msg.GetExternalId()})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&usersv1.GetUserResponse{User: userProto(u)}), nil
}

func (h *users) ListUsers(ctx context.Context, req *connect.Request[usersv1.ListUsersRequest]) (*connect.Response[usersv1.ListUsersResponse], error) {
	us, page, err := h.svc.ListUsers(ctx, "", "", accounts.PageRequest{Size: req.Msg.GetPageSize(), Token: req.Msg.GetPageToken()})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&usersv1.ListUsersResponse{Users: usersProto(us), NextPageToken: page.NextToken, TotalSize: page.Total}), nil
}

func (h *users) SearchUsers(ctx context.Context, req *connect.Request[usersv1.SearchUsersRequest]) (*connect.Response[usersv1.SearchUsersResponse], error) {
	us, page, err := h.svc.ListUsers(ctx, "", req.Msg.GetQuery(), accounts.PageRequest{Size: req.Msg.GetPageSize(), Token: req.Msg.GetPageToken()})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&usersv1.SearchUsersResponse{Users: usersProto(us), NextPageToken: page.NextToken, TotalSize: page.Total}), nil
}

func (h *users) ListOrganizationUsers(ctx context.Context, req *connect.Request[usersv1.ListOrganizationUsersRequest]) (*connect.Response[usersv1.ListOrganizationUsersResponse], error) {
	us, page, err := h.svc.ListUsers(ctx, req.Msg.GetOrganizationId(), "", accounts.PageRequest{Size: req.Msg.GetPageSize(), Token: req.Msg.GetPageToken()})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&usersv1.ListOrganizationUsersResponse{Users: usersProto(us), NextPageToken: page.NextToken, TotalSize: page.Total}), nil
}

func (h *users) SearchOrganizationUsers(ctx context.Context, req *connect.Request[usersv1.SearchOrganizationUsersRequest]) (*connect.Response[usersv1.SearchOrganizationUsersResponse], error) {
	us, page, err := h.svc.ListUsers(ctx, req.Msg.GetOrganizationId(), req.Msg.GetQuery(), accounts.PageRequest{Size: req.Msg.GetPageSize(), Token: req.Msg.GetPageToken()})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&usersv1.SearchOrganizationUsersResponse{Users: usersProto(us), NextPageToken: page.NextToken, TotalSize: page.Total}), nil
}

func (h *users) UpdateUser(ctx context.Context, req *connect.Request[usersv1.UpdateUserRequest]) (*connect.Response[usersv1.UpdateUserResponse], error) {
	in := req.Msg.GetUser()
	if in == nil {
		in = &usersv1.UpdateUser{}
	}
	p := in.GetUserProfile()
	if p == nil {
		p = &usersv1.UpdateUserProfile{}
	}
	f := accounts.UserFields{
		ExternalID: in.ExternalId, Metadata: in.GetMetadata(),
		Profile: accounts.ProfileFields{
			GivenName: p.GivenName, FamilyName: p.FamilyName, FirstName: p.FirstName, LastName: p.LastName, Name: p.Name,
			Locale: p.Locale, PhoneNumber: p.PhoneNumber, PreferredUsername: p.PreferredUsername, Picture: p.Picture,
			Gender: p.Gender, Metadata: nonEmpty(p.GetMetadata()), CustomAttributes: nonEmpty(p.GetCustomAttributes()),
			Groups: p.GetGroups(),
		},
	}
	u, err := h.svc.UpdateUser(ctx, accounts.Ref{ID: req.Msg.GetId(), ExternalID: req.Msg.GetExternalId()}, f)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&usersv1.UpdateUserResponse{User: userProto(u)}), nil
}

func nonEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

func (h *users) DeleteUser(ctx context.Context, req *connect.Request[usersv1.DeleteUserRequest]) (*connect.Response[emptypb.Empty], error) {
	if err := h.svc.DeleteUser(ctx, accounts.Ref{ID: req.Msg.GetId(), ExternalID: req.Msg.GetExternalId()}); err != nil {
		return nil, err
	}
	return connect.NewResponse(&emptypb.Empty{}), nil
}

func (h *users) CreateMembership(ctx context.Context, req *connect.Request[usersv1.CreateMembershipRequest]) (*connect.Response[usersv1.CreateMembershipResponse], error) {
	m := req.Msg.GetMembership()
	mf := accounts.MembershipFields{Roles: roleNames(m.GetRoles()), Metadata: m.GetMetadata(), InviterEmail: set(m.GetInviterEmail())}
	invite := req.Msg.SendInvitationEmail == nil || *req.Msg.SendInvitationEmail
	u, err := h.svc.CreateMembership(ctx, req.Msg.GetOrganizationId(), accounts.Ref{ID: req.Msg.GetId(), ExternalID: req.Msg.GetExternalId()}, mf, invite)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&usersv1.CreateMembershipResponse{User: userProto(u)}), nil
}

func (h *users) UpdateMembership(ctx context.Context, req *connect.Request[usersv1.UpdateMembershipRequest]) (*connect.Response[usersv1.UpdateMembershipResponse], error) {
	m := req.Msg.GetMembership()
	mf := accounts.MembershipFields{Roles: roleNames(m.GetRoles()), Metadata: m.GetMetadata()}
	u, err := h.svc.UpdateMembership(ctx, req.Msg.GetOrganizationId(), accounts.Ref{ID: req.Msg.GetId(), ExternalID: req.Msg.GetExternalId()}, mf)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&usersv1.UpdateMembershipResponse{User: userProto(u)}), nil
}

func (h *users) DeleteMembership(ctx context.Context, req *connect.Request[usersv1.DeleteMembershipRequest]) (*connect.Response[emptypb.Empty], error) {
	if err := h.svc.DeleteMembership(ctx, req.Msg.GetOrganizationId(), accounts.Ref{ID: req.Msg.GetId(), ExternalID: req.Msg.GetExternalId()}); err != nil {
		return nil, err
	}
	return connect.NewResponse(&emptypb.Empty{}), nil
}

func (h *users) ResendInvite(ctx context.Context, req *connect.Request[usersv1.ResendInviteRequest]) (*connect.Response[usersv1.ResendInviteResponse], error) {
	m, err := h.svc.ResendInvite(ctx, req.Msg.GetOrganizationId(), req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&usersv1.ResendInviteResponse{Invite: &usersv1.Invite{
		OrganizationId: m.OrgID, UserId: m.UserID, InviterEmail: m.InviterEmail, Status: commonsv1.MembershipStatus(m.Status).String(),
		CreatedAt: ts(m.CreatedAt), ExpiresAt: ts(m.ExpiresAt), ResentAt: ts(m.ResentAt), ResentCount: m.ResentCount,
	}}), nil
}

func (h *users) ListUserRoles(ctx context.Context, req *connect.Request[usersv1.ListUserRolesRequest]) (*connect.Response[usersv1.ListUserRolesResponse], error) {
	rs, err := h.svc.UserRoles(ctx, req.Msg.GetOrganizationId(), req.Msg.GetUserId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&usersv1.ListUserRolesResponse{Roles: roleRefsProto(rs)}), nil
}

func (h *users) AssignUserRoles(ctx context.Context, req *connect.Request[usersv1.AssignUserRolesRequest]) (*connect.Response[usersv1.AssignUserRolesResponse], error) {
	choices := make([]accounts.RoleChoice, len(req.Msg.GetRoles()))
	for i, r := range req.Msg.GetRoles() {
		choices[i] = accounts.RoleChoice{ID: r.GetId(), Name: r.GetRoleName()}
	}
	rs, err := h.svc.AssignUserRoles(ctx, req.Msg.GetOrganizationId(), req.Msg.GetUserId(), choices)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&usersv1.AssignUserRolesResponse{Roles: roleRefsProto(rs)}), nil
}

func (h *users) RemoveUserRole(ctx context.Context, req *connect.Request[usersv1.RemoveUserRoleRequest]) (*connect.Response[emptypb.Empty], error) {
	if err := h.svc.RemoveUserRole(ctx, req.Msg.GetOrganizationId(), req.Msg.GetUserId(), req.Msg.GetRoleName()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&emptypb.Empty{}), nil
}

func (h *users) ListUserPermissions(ctx context.Context, req *connect.Request[usersv1.ListUserPermissionsRequest]) (*connect.Response[usersv1.ListUserPermissionsResponse], error) {
	ps, err := h.svc.UserPermissions(ctx, req.Msg.GetOrganizationId(), req.Msg.GetUserId())
	if err != nil {
		return nil, err
	}
	out := &usersv1.ListUserPermissionsResponse{Permissions: []*usersv1.Permission{}}
	for _, p := range ps {
		out.Permissions = append(out.Permissions, &usersv1.Permission{Id: p.ID, Name: p.Name, Description: p.Description})
	}
	return connect.NewResponse(out), nil
}
