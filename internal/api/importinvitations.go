package api

import (
	"context"

	"connectrpc.com/connect"

	gatehousev1 "github.com/gatehouse/gatehouse/gen/gatehouse/v1"
	"github.com/gatehouse/gatehouse/internal/accounts"
)

// ImportInvitations writes memberships that are not active (pending and
// expired invitations, inactive members) without sending any email. The
// rules are accounts.ImportInvitations'.
func (h *importAPI) ImportInvitations(ctx context.Context, req *connect.Request[gatehousev1.ImportInvitationsRequest]) (*connect.Response[gatehousev1.ImportInvitationsResponse], error) {
	in := req.Msg
	rows := make([]accounts.ImportInvitation, len(in.GetInvitations()))
	for i, x := range in.GetInvitations() {
		rows[i] = accounts.ImportInvitation{UserExternalID: x.GetUserExternalId(), UserEmail: x.GetUserEmail(),
			OrgExternalID: x.GetOrganizationExternalId(), OrgID: x.GetOrganizationId(), Roles: x.GetRoles(),
			Metadata: x.GetMetadata(), Status: x.GetStatus(), InviterEmail: x.GetInviterEmail()}
		if x.GetExpireTime() != nil {
			rows[i].ExpiresAt = x.GetExpireTime().AsTime()
		}
	}
	res, err := h.svc.ImportInvitations(ctx, rows, in.GetDryRun())
	if err != nil {
		return nil, err
	}
	out := &gatehousev1.ImportInvitationsResponse{DryRun: in.GetDryRun()}
	out.Invitations, out.Counts = importRows(res)
	return connect.NewResponse(out), nil
}
