package api

import (
	"context"

	"connectrpc.com/connect"

	gatehousev1 "github.com/gatehouse/gatehouse/gen/gatehouse/v1"
	"github.com/gatehouse/gatehouse/gen/gatehouse/v1/gatehousev1connect"
	"github.com/gatehouse/gatehouse/internal/accounts"
)

// importAPI implements gatehouse.v1.ImportService, the bulk import
// (docs/migrating.md). The rules are accounts.ImportBatch's.
type importAPI struct {
	gatehousev1connect.UnimplementedImportServiceHandler
	svc *accounts.Service
}

func (h *importAPI) ImportBatch(ctx context.Context, req *connect.Request[gatehousev1.ImportBatchRequest]) (*connect.Response[gatehousev1.ImportBatchResponse], error) {
	in := req.Msg
	b := accounts.ImportBatch{DryRun: in.GetDryRun()}
	for _, o := range in.GetOrganizations() {
		b.Organizations = append(b.Organizations, accounts.ImportOrg{ExternalID: o.GetExternalId(), ID: o.GetId(),
			DisplayName: o.GetDisplayName(), Metadata: o.GetMetadata(), Slug: o.GetSlug(), LogoURL: o.GetLogoUrl(),
			RegionCode: o.GetRegionCode()})
	}
	for _, u := range in.GetUsers() {
		iu := accounts.ImportUser{Email: u.GetEmail(), ExternalID: u.GetExternalId(), FirstName: u.GetFirstName(),
			LastName: u.GetLastName(), Name: u.GetName(), Locale: u.GetLocale(), EmailVerified: u.EmailVerified,
			Metadata: u.GetMetadata(), PasswordHash: u.GetPasswordHash(), PhoneNumber: u.GetPhoneNumber(),
			PreferredUsername: u.GetPreferredUsername(), Picture: u.GetPicture(), Gender: u.GetGender(), Groups: u.GetGroups(),
			ProfileMetadata: u.GetProfileMetadata(), CustomAttributes: u.GetCustomAttributes()}
		for _, m := range u.GetMemberships() {
			iu.Memberships = append(iu.Memberships, accounts.ImportMembership{OrgExternalID: m.GetOrganizationExternalId(),
				OrgID: m.GetOrganizationId(), Roles: m.GetRoles(), Metadata: m.GetMetadata()})
		}
		b.Users = append(b.Users, iu)
	}
	res, err := h.svc.ImportBatch(ctx, b)
	if err != nil {
		return nil, err
	}
	out := &gatehousev1.ImportBatchResponse{DryRun: res.DryRun}
	out.Organizations, out.OrganizationCounts = importRows(res.Organizations)
	out.Users, out.UserCounts = importRows(res.Users)
	return connect.NewResponse(out), nil
}

func importRows(rows []accounts.RowResult) ([]*gatehousev1.ImportRowResult, *gatehousev1.ImportCounts) {
	out := make([]*gatehousev1.ImportRowResult, len(rows))
	counts := &gatehousev1.ImportCounts{}
	for i, r := range rows {
		pr := &gatehousev1.ImportRowResult{Index: int32(r.Index), Status: gatehousev1.ImportStatus(r.Status), Id: r.ID,
			ExternalId: r.ExternalID, Email: r.Email, PasswordFormat: r.PasswordFormat}
		for _, e := range r.Errors {
			pr.Errors = append(pr.Errors, &gatehousev1.ImportRowError{Field: e.Field, Rule: e.Rule, Description: e.Description})
		}
		switch r.Status {
		case accounts.ImportCreated:
			counts.Created++
		case accounts.ImportUpdated:
			counts.Updated++
		case accounts.ImportUnchanged:
			counts.Unchanged++
		case accounts.ImportFailed:
			counts.Failed++
		}
		out[i] = pr
	}
	return out, counts
}
