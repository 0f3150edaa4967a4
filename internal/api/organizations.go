package api

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/emptypb"

	organizationsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations/organizationsv1connect"
	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/store"
)

// organizations implements scalekit.v1.organizations.OrganizationService.
// Methods of later capabilities answer Unimplemented.
type organizations struct {
	organizationsv1connect.UnimplementedOrganizationServiceHandler
	svc *accounts.Service
}

func (h *organizations) CreateOrganization(ctx context.Context, req *connect.Request[organizationsv1.CreateOrganizationRequest]) (*connect.Response[organizationsv1.CreateOrganizationResponse], error) {
	in := req.Msg.GetOrganization()
	if in == nil {
		in = &organizationsv1.CreateOrganization{}
	}
	name := in.GetDisplayName()
	f := accounts.OrgFields{DisplayName: &name, ExternalID: in.ExternalId, Slug: in.Slug, LogoURL: in.LogoUrl, Metadata: in.GetMetadata()}
	if rc := int32(in.GetRegionCode()); rc != 0 {
		f.RegionCode = &rc
	}
	o, err := h.svc.CreateOrganization(ctx, f)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&organizationsv1.CreateOrganizationResponse{Organization: orgProto(o)}), nil
}

func (h *organizations) GetOrganization(ctx context.Context, req *connect.Request[organizationsv1.GetOrganizationRequest]) (*connect.Response[organizationsv1.GetOrganizationResponse], error) {
	o, err := h.svc.GetOrganization(ctx, accounts.Ref{ID: req.Msg.GetId(), ExternalID: req.Msg.GetExternalId()})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&organizationsv1.GetOrganizationResponse{Organization: orgProto(o)}), nil
}

func (h *organizations) GetOrganizationByExternalId(ctx context.Context, req *connect.Request[organizationsv1.GetOrganizationRequest]) (*connect.Response[organizationsv1.GetOrganizationResponse], error) {
	return h.GetOrganization(ctx, req)
}

func (h *organizations) ListOrganization(ctx context.Context, req *connect.Request[organizationsv1.ListOrganizationsRequest]) (*connect.Response[organizationsv1.ListOrganizationsResponse], error) {
	os, page, err := h.svc.ListOrganizations(ctx, store.OrgFilter{ExternalID: req.Msg.ExternalId},
		accounts.PageRequest{Size: req.Msg.GetPageSize(), Token: req.Msg.GetPageToken()})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&organizationsv1.ListOrganizationsResponse{
		Organizations: orgsProto(os), NextPageToken: page.NextToken, TotalSize: page.Total,
	}), nil
}

func (h *organizations) SearchOrganization(ctx context.Context, req *connect.Request[organizationsv1.SearchOrganizationsRequest]) (*connect.Response[organizationsv1.SearchOrganizationsResponse], error) {
	os, page, err := h.svc.ListOrganizations(ctx, store.OrgFilter{Query: req.Msg.GetQuery()},
		accounts.PageRequest{Size: req.Msg.GetPageSize(), Token: req.Msg.GetPageToken()})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&organizationsv1.SearchOrganizationsResponse{
		Organizations: orgsProto(os), NextPageToken: page.NextToken, TotalSize: page.Total,
	}), nil
}

func (h *organizations) UpdateOrganization(ctx context.Context, req *connect.Request[organizationsv1.UpdateOrganizationRequest]) (*connect.Response[organizationsv1.UpdateOrganizationResponse], error) {
	in := req.Msg.GetOrganization()
	if in == nil {
		in = &organizationsv1.UpdateOrganization{}
	}
	f := accounts.OrgFields{DisplayName: in.DisplayName, ExternalID: in.ExternalId, Slug: in.Slug, LogoURL: in.LogoUrl, Metadata: in.GetMetadata()}
	o, err := h.svc.UpdateOrganization(ctx, accounts.Ref{ID: req.Msg.GetId(), ExternalID: req.Msg.GetExternalId()}, f,
		req.Msg.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&organizationsv1.UpdateOrganizationResponse{Organization: orgProto(o)}), nil
}

func (h *organizations) DeleteOrganization(ctx context.Context, req *connect.Request[organizationsv1.DeleteOrganizationRequest]) (*connect.Response[emptypb.Empty], error) {
	if err := h.svc.DeleteOrganization(ctx, accounts.Ref{ID: req.Msg.GetId(), ExternalID: req.Msg.GetExternalId()}); err != nil {
		return nil, err
	}
	return connect.NewResponse(&emptypb.Empty{}), nil
}

func (h *organizations) UpdateOrganizationSettings(ctx context.Context, req *connect.Request[organizationsv1.UpdateOrganizationSettingsRequest]) (*connect.Response[organizationsv1.GetOrganizationResponse], error) {
	features := map[string]bool{}
	for _, f := range req.Msg.GetSettings().GetFeatures() {
		features[f.GetName()] = f.GetEnabled()
	}
	o, err := h.svc.UpdateOrganizationSettings(ctx, req.Msg.GetId(), features)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&organizationsv1.GetOrganizationResponse{Organization: orgProto(o)}), nil
}
