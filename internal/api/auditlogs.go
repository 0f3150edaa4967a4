package api

import (
	"context"
	"strings"

	"connectrpc.com/connect"

	auditlogsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/auditlogs"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/auditlogs/auditlogsv1connect"
	"github.com/gatehouse/gatehouse/internal/authlog"
	"github.com/gatehouse/gatehouse/internal/metrics"
	"github.com/gatehouse/gatehouse/internal/store"
)

// auditLogsAPI implements scalekit.v1.auditlogs.AuditLogsService over the
// authentication log. docs/monitoring.md maps the log's columns onto the
// AuthLogRequest fields.
type auditLogsAPI struct {
	auditlogsv1connect.UnimplementedAuditLogsServiceHandler
	log *authlog.Log
}

func (h *auditLogsAPI) ListAuthRequests(ctx context.Context, req *connect.Request[auditlogsv1.ListAuthLogRequest]) (*connect.Response[auditlogsv1.ListAuthLogResponse], error) {
	if h.log == nil {
		return connect.NewResponse(&auditlogsv1.ListAuthLogResponse{}), nil
	}
	m := req.Msg
	q := authlog.Query{PageSize: m.GetPageSize(), PageToken: m.GetPageToken(), Email: m.GetEmail(),
		Outcomes: m.GetStatus(), ClientID: m.GetClientId()}
	if t := m.GetStartTime(); t != nil {
		q.Start = t.AsTime()
	}
	if t := m.GetEndTime(); t != nil {
		q.End = t.AsTime()
	}
	page, err := h.log.List(ctx, q)
	if err != nil {
		return nil, err
	}
	out := &auditlogsv1.ListAuthLogResponse{NextPageToken: page.NextToken, TotalSize: page.Total}
	for _, a := range page.Attempts {
		out.AuthRequests = append(out.AuthRequests, authLogProto(a))
	}
	return connect.NewResponse(out), nil
}

// authLogProto maps one attempt onto Scalekit's AuthLogRequest. The
// email itself is never stored: connected_account_identifier carries its
// hash, and resource_name the client IP, for want of dedicated fields.
func authLogProto(a *store.AuthAttempt) *auditlogsv1.AuthLogRequest {
	workflow := "LOGIN"
	if a.Method == metrics.MethodSignup {
		workflow = "SIGNUP"
	}
	p := &auditlogsv1.AuthLogRequest{
		OrganizationId: a.OrgID, EnvironmentId: a.EnvID, AuthRequestId: a.AuthRequestID,
		ConnectionType: strings.ToUpper(a.Method), Status: strings.ToUpper(a.Outcome), Timestamp: ts(a.CreatedAt),
		Workflow: workflow, ConnectedAccountIdentifier: a.EmailHash, ResourceName: a.IP, ClientId: a.ClientID,
	}
	if a.UserID != "" {
		p.ResourceId, p.ResourceType = a.UserID, "USER"
	}
	return p
}
