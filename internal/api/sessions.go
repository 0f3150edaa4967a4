package api

import (
	"context"
	"time"

	"connectrpc.com/connect"

	sessionsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/sessions"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/sessions/sessionsv1connect"
	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/sessions"
)

// sessionsAPI implements scalekit.v1.sessions.SessionService over the
// sessions service.
type sessionsAPI struct {
	sessionsv1connect.UnimplementedSessionServiceHandler
	svc *sessions.Service
	now func() time.Time
}

func required(field, value string) error {
	if value == "" {
		return apierr.InvalidArgument(apierr.Violation{Field: field, Description: "is required", Constraint: "required"})
	}
	return nil
}

func (h *sessionsAPI) GetSession(ctx context.Context, req *connect.Request[sessionsv1.SessionDetailsRequest]) (*connect.Response[sessionsv1.SessionDetails], error) {
	if err := required("session_id", req.Msg.GetSessionId()); err != nil {
		return nil, err
	}
	s, err := h.svc.Get(ctx, req.Msg.GetSessionId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(sessionProto(s, h.now())), nil
}

func (h *sessionsAPI) RevokeSession(ctx context.Context, req *connect.Request[sessionsv1.RevokeSessionRequest]) (*connect.Response[sessionsv1.RevokeSessionResponse], error) {
	if err := required("session_id", req.Msg.GetSessionId()); err != nil {
		return nil, err
	}
	s, err := h.svc.Revoke(ctx, req.Msg.GetSessionId(), sessions.ReasonRevoked)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&sessionsv1.RevokeSessionResponse{RevokedSession: revokedProto(s, h.now())}), nil
}

func (h *sessionsAPI) GetUserSessions(ctx context.Context, req *connect.Request[sessionsv1.UserSessionDetailsRequest]) (*connect.Response[sessionsv1.UserSessionDetails], error) {
	if err := required("user_id", req.Msg.GetUserId()); err != nil {
		return nil, err
	}
	f := req.Msg.GetFilter()
	lf := sessions.ListFilter{Statuses: f.GetStatus()}
	if t := f.GetStartTime(); t != nil {
		lf.CreatedAfter = t.AsTime()
	}
	if t := f.GetEndTime(); t != nil {
		lf.CreatedBefore = t.AsTime()
	}
	ss, next, total, err := h.svc.ListForUser(ctx, req.Msg.GetUserId(), lf, req.Msg.GetPageSize(), req.Msg.GetPageToken())
	if err != nil {
		return nil, err
	}
	now := h.now()
	out := &sessionsv1.UserSessionDetails{Sessions: []*sessionsv1.SessionDetails{}, NextPageToken: next, TotalSize: uint32(total)}
	for _, s := range ss {
		out.Sessions = append(out.Sessions, sessionProto(s, now))
	}
	return connect.NewResponse(out), nil
}

func (h *sessionsAPI) RevokeAllUserSessions(ctx context.Context, req *connect.Request[sessionsv1.RevokeAllUserSessionsRequest]) (*connect.Response[sessionsv1.RevokeAllUserSessionsResponse], error) {
	if err := required("user_id", req.Msg.GetUserId()); err != nil {
		return nil, err
	}
	ss, err := h.svc.RevokeAllForUser(ctx, req.Msg.GetUserId())
	if err != nil {
		return nil, err
	}
	now := h.now()
	out := &sessionsv1.RevokeAllUserSessionsResponse{RevokedSessions: []*sessionsv1.RevokedSessionDetails{}, TotalRevoked: uint32(len(ss))}
	for _, s := range ss {
		out.RevokedSessions = append(out.RevokedSessions, revokedProto(s, now))
	}
	return connect.NewResponse(out), nil
}

func sessionProto(s *sessions.Session, now time.Time) *sessionsv1.SessionDetails {
	p := &sessionsv1.SessionDetails{
		SessionId: s.ID, UserId: s.UserID, OrganizationId: s.OrgID, AuthenticatedOrganizations: []string{},
		CreatedAt: ts(s.CreatedAt), UpdatedAt: ts(s.UpdatedAt), IdleExpiresAt: ts(s.IdleExpiresAt),
		AbsoluteExpiresAt: ts(s.AbsoluteExpiresAt), ExpiredAt: ts(sessions.ExpiredAt(s, now)), LogoutAt: ts(s.RevokedAt),
		Status: sessions.Status(s, now), LastActiveAt: ts(s.LastSeenAt),
		Device:               &sessionsv1.DeviceDetails{UserAgent: s.UserAgent, Ip: s.IP},
		AuthenticatedClients: []*sessionsv1.AuthenticatedClients{},
	}
	if s.OrgID != "" {
		p.AuthenticatedOrganizations = []string{s.OrgID}
	}
	for _, c := range s.ClientIDs {
		p.AuthenticatedClients = append(p.AuthenticatedClients, &sessionsv1.AuthenticatedClients{ClientId: c, OrganizationId: s.OrgID})
	}
	return p
}

func revokedProto(s *sessions.Session, now time.Time) *sessionsv1.RevokedSessionDetails {
	return &sessionsv1.RevokedSessionDetails{
		SessionId: s.ID, UserId: s.UserID, CreatedAt: ts(s.CreatedAt), UpdatedAt: ts(s.UpdatedAt),
		IdleExpiresAt: ts(s.IdleExpiresAt), AbsoluteExpiresAt: ts(s.AbsoluteExpiresAt), ExpiredAt: ts(sessions.ExpiredAt(s, now)),
		LogoutAt: ts(s.RevokedAt), Status: sessions.Status(s, now), LastActiveAt: ts(s.LastSeenAt),
	}
}
