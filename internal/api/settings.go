package api

import (
	"context"

	"connectrpc.com/connect"

	gatehousev1 "github.com/gatehouse/gatehouse/gen/gatehouse/v1"
	"github.com/gatehouse/gatehouse/gen/gatehouse/v1/gatehousev1connect"
	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/settings"
)

// settingsAPI implements gatehouse.v1.SettingsService: the environment's
// redirect URLs, branding and session policy (docs/settings.md).
type settingsAPI struct {
	gatehousev1connect.UnimplementedSettingsServiceHandler
	svc *settings.Service
}

func (h *settingsAPI) GetRedirects(ctx context.Context, _ *connect.Request[gatehousev1.GetRedirectsRequest]) (*connect.Response[gatehousev1.Redirects], error) {
	r, err := h.svc.Redirects(ctx)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(redirectsProto(r)), nil
}

func (h *settingsAPI) UpdateRedirects(ctx context.Context, req *connect.Request[gatehousev1.UpdateRedirectsRequest]) (*connect.Response[gatehousev1.Redirects], error) {
	in := req.Msg.GetRedirects()
	if in == nil {
		return nil, missingBody("redirects")
	}
	r, err := h.svc.UpdateRedirects(ctx, settings.Redirects{
		CallbackURLs: in.GetCallbackUrls(), InitiateLoginURL: in.GetInitiateLoginUrl(),
		PostLogoutURLs: in.GetPostLogoutUrls(), BackchannelLogoutURL: in.GetBackchannelLogoutUrl(),
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(redirectsProto(r)), nil
}

// missingBody refuses an RPC update without its object, which would
// otherwise replace every setting with nothing. (REST always carries one:
// the body, where {} clears every field.)
func missingBody(field string) error {
	return apierr.InvalidArgument(apierr.Violation{Field: field, Constraint: "required",
		Description: "is required: send the whole object; an empty one clears every field"})
}

func redirectsProto(r settings.Redirects) *gatehousev1.Redirects {
	return &gatehousev1.Redirects{CallbackUrls: r.CallbackURLs, InitiateLoginUrl: r.InitiateLoginURL,
		PostLogoutUrls: r.PostLogoutURLs, BackchannelLogoutUrl: r.BackchannelLogoutURL}
}

func (h *settingsAPI) GetBranding(ctx context.Context, _ *connect.Request[gatehousev1.GetBrandingRequest]) (*connect.Response[gatehousev1.Branding], error) {
	b, err := h.svc.Branding(ctx)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(brandingProto(b)), nil
}

func (h *settingsAPI) UpdateBranding(ctx context.Context, req *connect.Request[gatehousev1.UpdateBrandingRequest]) (*connect.Response[gatehousev1.Branding], error) {
	in := req.Msg.GetBranding()
	if in == nil {
		return nil, missingBody("branding")
	}
	b, err := h.svc.UpdateBranding(ctx, settings.Branding{
		LogoURL: in.GetLogoUrl(), FaviconURL: in.GetFaviconUrl(), PrimaryColor: in.GetPrimaryColor(),
		BackgroundColor: in.GetBackgroundColor(), CompanyName: in.GetCompanyName(), TermsURL: in.GetTermsUrl(),
		PrivacyURL: in.GetPrivacyUrl(), LoginHeading: in.GetLoginHeading(),
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(brandingProto(b)), nil
}

func brandingProto(b settings.Branding) *gatehousev1.Branding {
	return &gatehousev1.Branding{LogoUrl: b.LogoURL, FaviconUrl: b.FaviconURL, PrimaryColor: b.PrimaryColor,
		BackgroundColor: b.BackgroundColor, CompanyName: b.CompanyName, TermsUrl: b.TermsURL, PrivacyUrl: b.PrivacyURL,
		LoginHeading: b.LoginHeading}
}

func (h *settingsAPI) GetSessionPolicy(ctx context.Context, _ *connect.Request[gatehousev1.GetSessionPolicyRequest]) (*connect.Response[gatehousev1.SessionPolicy], error) {
	p, err := h.svc.SessionPolicy(ctx)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(sessionPolicyProto(p)), nil
}

func (h *settingsAPI) UpdateSessionPolicy(ctx context.Context, req *connect.Request[gatehousev1.UpdateSessionPolicyRequest]) (*connect.Response[gatehousev1.SessionPolicy], error) {
	in := req.Msg.GetSessionPolicy()
	if in == nil {
		return nil, missingBody("session_policy")
	}
	p, err := h.svc.UpdateSessionPolicy(ctx, settings.SessionPolicy{
		AccessTokenTTLSeconds: in.GetAccessTokenTtlSeconds(), AbsoluteTimeoutMinutes: in.GetAbsoluteTimeoutMinutes(),
		IdleTimeoutEnabled: in.GetIdleTimeoutEnabled(), IdleTimeoutMinutes: in.GetIdleTimeoutMinutes(),
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(sessionPolicyProto(p)), nil
}

func sessionPolicyProto(p settings.SessionPolicy) *gatehousev1.SessionPolicy {
	return &gatehousev1.SessionPolicy{AccessTokenTtlSeconds: p.AccessTokenTTLSeconds, AbsoluteTimeoutMinutes: p.AbsoluteTimeoutMinutes,
		IdleTimeoutEnabled: p.IdleTimeoutEnabled, IdleTimeoutMinutes: p.IdleTimeoutMinutes}
}
