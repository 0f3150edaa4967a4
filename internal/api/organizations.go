package api

import (
	"context"
	"strconv"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	commonsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/commons"
	organizationsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations/organizationsv1connect"
	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/settings"
	"github.com/gatehouse/gatehouse/internal/store"
)

// organizations implements scalekit.v1.organizations.OrganizationService.
// Methods of later capabilities answer Unimplemented.
type organizations struct {
	organizationsv1connect.UnimplementedOrganizationServiceHandler
	svc      *accounts.Service
	settings *settings.Service // session policies
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

// Session policies (rules in internal/settings): an organization follows
// the environment's policy (APPLICATION) or has its own (CUSTOM).

func (h *organizations) GetOrganizationSessionPolicy(ctx context.Context, req *connect.Request[organizationsv1.GetOrganizationSessionPolicyRequest]) (*connect.Response[organizationsv1.GetOrganizationSessionPolicyResponse], error) {
	p, err := h.settings.OrganizationSessionPolicy(ctx, req.Msg.GetOrganizationId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&organizationsv1.GetOrganizationSessionPolicyResponse{Policy: orgSessionPolicyProto(p)}), nil
}

func (h *organizations) UpdateOrganizationSessionPolicy(ctx context.Context, req *connect.Request[organizationsv1.UpdateOrganizationSessionPolicyRequest]) (*connect.Response[organizationsv1.UpdateOrganizationSessionPolicyResponse], error) {
	m := req.Msg
	in := settings.OrgSessionPolicyUpdate{
		Source:              policySource(m.GetPolicySource()),
		AbsoluteTimeoutUnit: timeUnit(m.AbsoluteSessionTimeoutUnit),
		IdleTimeoutUnit:     timeUnit(m.IdleSessionTimeoutUnit),
	}
	if m.AbsoluteSessionTimeout != nil {
		in.AbsoluteTimeout = &m.AbsoluteSessionTimeout.Value
	}
	if m.IdleSessionTimeoutEnabled != nil {
		in.IdleTimeoutEnabled = &m.IdleSessionTimeoutEnabled.Value
	}
	if m.IdleSessionTimeout != nil {
		in.IdleTimeout = &m.IdleSessionTimeout.Value
	}
	p, err := h.settings.UpdateOrganizationSessionPolicy(ctx, m.GetOrganizationId(), in)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&organizationsv1.UpdateOrganizationSessionPolicyResponse{Policy: orgSessionPolicyProto(p)}), nil
}

// GetApplicationSessionPolicy shows the environment's policy, with
// access_token_expiry in seconds.
func (h *organizations) GetApplicationSessionPolicy(ctx context.Context, req *connect.Request[organizationsv1.GetApplicationSessionPolicyRequest]) (*connect.Response[organizationsv1.GetApplicationSessionPolicyResponse], error) {
	p, err := h.settings.ApplicationSessionPolicy(ctx, req.Msg.GetOrganizationId())
	if err != nil {
		return nil, err
	}
	out := &organizationsv1.ApplicationSessionPolicySettings{IdleSessionTimeoutEnabled: p.IdleTimeoutEnabled, AccessTokenExpiry: p.AccessTokenTTLSeconds}
	var unit settings.TimeUnit
	out.AbsoluteSessionTimeout, unit = settings.InUnits(p.AbsoluteTimeoutMinutes)
	out.AbsoluteSessionTimeoutUnit = timeUnitProto(unit)
	if p.IdleTimeoutMinutes > 0 {
		out.IdleSessionTimeout, unit = settings.InUnits(p.IdleTimeoutMinutes)
		out.IdleSessionTimeoutUnit = timeUnitProto(unit)
	}
	return connect.NewResponse(&organizationsv1.GetApplicationSessionPolicyResponse{ApplicationPolicy: out}), nil
}

func orgSessionPolicyProto(p settings.OrgSessionPolicy) *organizationsv1.OrganizationSessionPolicySettings {
	out := &organizationsv1.OrganizationSessionPolicySettings{
		PolicySource:              organizationsv1.SessionPolicyType_APPLICATION,
		IdleSessionTimeoutEnabled: wrapperspb.Bool(p.IdleTimeoutEnabled),
	}
	if p.Source == settings.SourceCustom {
		out.PolicySource = organizationsv1.SessionPolicyType_CUSTOM
	}
	if p.AbsoluteTimeout > 0 {
		out.AbsoluteSessionTimeout, out.AbsoluteSessionTimeoutUnit = wrapperspb.Int32(p.AbsoluteTimeout), timeUnitProto(p.AbsoluteTimeoutUnit)
	}
	if p.IdleTimeout > 0 {
		out.IdleSessionTimeout, out.IdleSessionTimeoutUnit = wrapperspb.Int32(p.IdleTimeout), timeUnitProto(p.IdleTimeoutUnit)
	}
	return out
}

// policySource maps the wire enum; unset is "" (the service says it is
// required) and an unknown number keeps its number for the error.
func policySource(t organizationsv1.SessionPolicyType) string {
	switch t {
	case organizationsv1.SessionPolicyType_SESSION_POLICY_TYPE_UNSPECIFIED:
		return ""
	case organizationsv1.SessionPolicyType_APPLICATION:
		return settings.SourceApplication
	case organizationsv1.SessionPolicyType_CUSTOM:
		return settings.SourceCustom
	}
	return "SESSION_POLICY_TYPE_" + strconv.Itoa(int(t))
}

func timeUnit(u *commonsv1.TimeUnit) settings.TimeUnit {
	if u == nil {
		return ""
	}
	switch *u {
	case commonsv1.TimeUnit_SESSION_TIME_UNIT_UNSPECIFIED:
		return ""
	case commonsv1.TimeUnit_MINUTES:
		return settings.Minutes
	case commonsv1.TimeUnit_HOURS:
		return settings.Hours
	case commonsv1.TimeUnit_DAYS:
		return settings.Days
	}
	return settings.TimeUnit("TIME_UNIT_" + strconv.Itoa(int(*u)))
}

func timeUnitProto(u settings.TimeUnit) *commonsv1.TimeUnit {
	var t commonsv1.TimeUnit
	switch u {
	case settings.Minutes:
		t = commonsv1.TimeUnit_MINUTES
	case settings.Hours:
		t = commonsv1.TimeUnit_HOURS
	case settings.Days:
		t = commonsv1.TimeUnit_DAYS
	default:
		return nil
	}
	return &t
}
