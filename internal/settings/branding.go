package settings

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/redirects"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Branding limits, documented in docs/settings.md.
const (
	MaxBrandingURLLen  = 2048
	MaxCompanyNameLen  = 100
	MaxLoginHeadingLen = 120
)

// The rules a branding value can break, reported as the violation's
// constraint.
const (
	ruleURL        = "url"        // not an absolute http(s) URL with a host
	ruleHTTPS      = "https"      // http outside development
	ruleHexColor   = "hex_color"  // not #rgb or #rrggbb
	ruleMaxLength  = "max_length" // too long
	ruleCharacters = "characters" // spaces or control characters
)

// Branding is what the hosted login page shows; empty fields mean
// Gatehouse's defaults.
type Branding struct {
	LogoURL         string `json:"logo_url"`
	FaviconURL      string `json:"favicon_url"`
	PrimaryColor    string `json:"primary_color"`
	BackgroundColor string `json:"background_color"`
	CompanyName     string `json:"company_name"`
	TermsURL        string `json:"terms_url"`
	PrivacyURL      string `json:"privacy_url"`
	LoginHeading    string `json:"login_heading"`
}

// Branding reads the environment's branding.
func (s *Service) Branding(ctx context.Context) (Branding, error) {
	return s.branding(ctx, s.Store.Q())
}

func (s *Service) branding(ctx context.Context, q *store.Q) (Branding, error) {
	b, err := q.GetBranding(ctx, s.EnvID)
	if errors.Is(err, store.ErrNotFound) {
		return Branding{}, nil
	}
	if err != nil {
		return Branding{}, err
	}
	return Branding{LogoURL: b.LogoURL, FaviconURL: b.FaviconURL, PrimaryColor: b.PrimaryColor, BackgroundColor: b.BackgroundColor,
		CompanyName: b.CompanyName, TermsURL: b.TermsURL, PrivacyURL: b.PrivacyURL, LoginHeading: b.LoginHeading}, nil
}

// UpdateBranding replaces the environment's branding. URLs must be https
// (http too in development), colours #rgb or #rrggbb, and texts short and
// on one line; values are trimmed.
func (s *Service) UpdateBranding(ctx context.Context, in Branding) (Branding, error) {
	var out Branding
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		env, err := s.envType(ctx, q)
		if err != nil {
			return err
		}
		var v apierr.Violations
		out = Branding{
			LogoURL:         brandingURL(&v, env, "logo_url", in.LogoURL),
			FaviconURL:      brandingURL(&v, env, "favicon_url", in.FaviconURL),
			PrimaryColor:    color(&v, "primary_color", in.PrimaryColor),
			BackgroundColor: color(&v, "background_color", in.BackgroundColor),
			CompanyName:     text(&v, "company_name", in.CompanyName, MaxCompanyNameLen),
			TermsURL:        brandingURL(&v, env, "terms_url", in.TermsURL),
			PrivacyURL:      brandingURL(&v, env, "privacy_url", in.PrivacyURL),
			LoginHeading:    text(&v, "login_heading", in.LoginHeading, MaxLoginHeadingLen),
		}
		if err := v.Err(); err != nil {
			return err
		}
		if err := q.PutBranding(ctx, &store.Branding{EnvID: s.EnvID, LogoURL: out.LogoURL, FaviconURL: out.FaviconURL,
			PrimaryColor: out.PrimaryColor, BackgroundColor: out.BackgroundColor, CompanyName: out.CompanyName,
			TermsURL: out.TermsURL, PrivacyURL: out.PrivacyURL, LoginHeading: out.LoginHeading, UpdatedAt: s.Now()}); err != nil {
			return err
		}
		return s.emit(ctx, q, "settings.branding.updated", s.EnvID, out)
	})
	if err != nil {
		return Branding{}, err
	}
	return out, nil
}

// BrandingFor is the branding of a login for the organization orgID ("" for
// none): the environment's, with the organization's own logo_url in place
// of the environment's logo when it has one that the branding URL rules
// accept (an http logo is not shown on a production login page).
func (s *Service) BrandingFor(ctx context.Context, orgID string) (Branding, error) {
	q := s.Store.Q()
	b, err := s.branding(ctx, q)
	if err != nil || orgID == "" {
		return b, err
	}
	o, err := q.GetOrganization(ctx, s.EnvID, orgID)
	if err != nil {
		return Branding{}, apierr.FromStore(err, "organization", orgID)
	}
	if o.LogoURL == nil || *o.LogoURL == "" {
		return b, nil
	}
	env, err := s.envType(ctx, q)
	if err != nil {
		return Branding{}, err
	}
	var v apierr.Violations
	if logo := brandingURL(&v, env, "logo_url", *o.LogoURL); len(v) == 0 {
		b.LogoURL = logo
	}
	return b, nil
}

// brandingURL checks an absolute https URL (http allowed in development)
// with a host, no user information, and no spaces or control characters.
func brandingURL(v *apierr.Violations, env redirects.EnvType, field, raw string) string {
	s := strings.TrimSpace(raw)
	if s == "" {
		return ""
	}
	if len(s) > MaxBrandingURLLen {
		*v = append(*v, apierr.Violation{Field: field, Description: fmt.Sprintf("must be at most %d characters", MaxBrandingURLLen), Constraint: ruleMaxLength})
		return s
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || !unicode.IsPrint(r) {
			*v = append(*v, apierr.Violation{Field: field, Description: "must not contain spaces or control characters; percent-encode them", Constraint: ruleCharacters})
			return s
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || (u.Scheme != "https" && u.Scheme != "http") {
		*v = append(*v, apierr.Violation{Field: field, Description: "must be an absolute https URL with a host, such as https://cdn.example.com/logo.png", Constraint: ruleURL})
		return s
	}
	if u.Scheme == "http" && env != redirects.Development {
		*v = append(*v, apierr.Violation{Field: field, Description: "must use https; http is allowed only in development environments", Constraint: ruleHTTPS})
	}
	return s
}

var hexColor = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

func color(v *apierr.Violations, field, raw string) string {
	s := strings.TrimSpace(raw)
	if s != "" && !hexColor.MatchString(s) {
		*v = append(*v, apierr.Violation{Field: field, Description: "must be a hex colour, #rgb or #rrggbb (such as #1a73e8)", Constraint: ruleHexColor})
	}
	return s
}

func text(v *apierr.Violations, field, raw string, max int) string {
	s := strings.TrimSpace(raw)
	if n := utf8.RuneCountInString(s); n > max {
		*v = append(*v, apierr.Violation{Field: field, Description: fmt.Sprintf("must be at most %d characters, not %d", max, n), Constraint: ruleMaxLength})
		return s
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == utf8.RuneError {
			*v = append(*v, apierr.Violation{Field: field, Description: "must be one line of text without control characters", Constraint: ruleCharacters})
			break
		}
	}
	return s
}
