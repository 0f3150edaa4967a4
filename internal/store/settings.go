package store

import (
	"context"
	"time"
)

// Environment settings: one row per environment for each settings object,
// written whole (upsert) and read per request, so every node sees a change
// on its next request without a cache to invalidate. A settings object never
// written reads as ErrNotFound; the settings package supplies the defaults.

// GetEnvironment reads one environment by id.
func (q *Q) GetEnvironment(ctx context.Context, id string) (*Environment, error) {
	var e Environment
	var c int64
	err := q.queryRow(ctx, `SELECT id, type, page_token_key, created_at FROM environments WHERE id = $1`, id).
		Scan(&e.ID, &e.Type, &e.PageTokenKey, &c)
	if err != nil {
		return nil, mapErr(err)
	}
	e.CreatedAt = fromMicros(c)
	return &e, nil
}

// Redirects are an environment's registered redirect URLs.
type Redirects struct {
	EnvID                string
	CallbackURLs         []string
	InitiateLoginURL     string
	PostLogoutURLs       []string
	BackchannelLogoutURL string
	UpdatedAt            time.Time
}

// GetRedirects reads the environment's redirect URLs.
func (q *Q) GetRedirects(ctx context.Context, envID string) (*Redirects, error) {
	var r Redirects
	var cb, pl string
	var u int64
	err := q.queryRow(ctx, `SELECT env_id, callback_urls, initiate_login_url, post_logout_urls, backchannel_logout_url, updated_at
		FROM redirect_settings WHERE env_id = $1`, envID).Scan(&r.EnvID, &cb, &r.InitiateLoginURL, &pl, &r.BackchannelLogoutURL, &u)
	if err != nil {
		return nil, mapErr(err)
	}
	r.CallbackURLs, r.PostLogoutURLs, r.UpdatedAt = settingsList(cb), settingsList(pl), fromMicros(u)
	return &r, nil
}

// PutRedirects replaces the environment's redirect URLs with r.
func (q *Q) PutRedirects(ctx context.Context, r *Redirects) error {
	_, err := q.exec(ctx, `INSERT INTO redirect_settings (env_id, callback_urls, initiate_login_url, post_logout_urls,
		backchannel_logout_url, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (env_id) DO UPDATE SET callback_urls = excluded.callback_urls,
		initiate_login_url = excluded.initiate_login_url, post_logout_urls = excluded.post_logout_urls,
		backchannel_logout_url = excluded.backchannel_logout_url, updated_at = excluded.updated_at`,
		r.EnvID, encodeJSON(settingsListOrEmpty(r.CallbackURLs)), r.InitiateLoginURL, encodeJSON(settingsListOrEmpty(r.PostLogoutURLs)),
		r.BackchannelLogoutURL, micros(r.UpdatedAt))
	return mapErr(err)
}

// Branding is what an environment's hosted login page shows.
type Branding struct {
	EnvID           string
	LogoURL         string
	FaviconURL      string
	PrimaryColor    string
	BackgroundColor string
	CompanyName     string
	TermsURL        string
	PrivacyURL      string
	LoginHeading    string
	UpdatedAt       time.Time
}

// GetBranding reads the environment's branding.
func (q *Q) GetBranding(ctx context.Context, envID string) (*Branding, error) {
	var b Branding
	var u int64
	err := q.queryRow(ctx, `SELECT env_id, logo_url, favicon_url, primary_color, background_color, company_name, terms_url,
		privacy_url, login_heading, updated_at FROM branding_settings WHERE env_id = $1`, envID).
		Scan(&b.EnvID, &b.LogoURL, &b.FaviconURL, &b.PrimaryColor, &b.BackgroundColor, &b.CompanyName, &b.TermsURL,
			&b.PrivacyURL, &b.LoginHeading, &u)
	if err != nil {
		return nil, mapErr(err)
	}
	b.UpdatedAt = fromMicros(u)
	return &b, nil
}

// PutBranding replaces the environment's branding with b.
func (q *Q) PutBranding(ctx context.Context, b *Branding) error {
	_, err := q.exec(ctx, `INSERT INTO branding_settings (env_id, logo_url, favicon_url, primary_color, background_color,
		company_name, terms_url, privacy_url, login_heading, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (env_id) DO UPDATE SET logo_url = excluded.logo_url, favicon_url = excluded.favicon_url,
		primary_color = excluded.primary_color, background_color = excluded.background_color,
		company_name = excluded.company_name, terms_url = excluded.terms_url, privacy_url = excluded.privacy_url,
		login_heading = excluded.login_heading, updated_at = excluded.updated_at`,
		b.EnvID, b.LogoURL, b.FaviconURL, b.PrimaryColor, b.BackgroundColor, b.CompanyName, b.TermsURL, b.PrivacyURL,
		b.LoginHeading, micros(b.UpdatedAt))
	return mapErr(err)
}

// SessionPolicy is an environment's session policy.
type SessionPolicy struct {
	EnvID                  string
	AccessTokenTTLSeconds  int32
	AbsoluteTimeoutMinutes int32
	IdleTimeoutEnabled     bool
	IdleTimeoutMinutes     int32
	UpdatedAt              time.Time
}

// GetSessionPolicy reads the environment's session policy.
func (q *Q) GetSessionPolicy(ctx context.Context, envID string) (*SessionPolicy, error) {
	var p SessionPolicy
	var u int64
	err := q.queryRow(ctx, `SELECT env_id, access_token_ttl_seconds, absolute_timeout_minutes, idle_timeout_enabled,
		idle_timeout_minutes, updated_at FROM session_policies WHERE env_id = $1`, envID).
		Scan(&p.EnvID, &p.AccessTokenTTLSeconds, &p.AbsoluteTimeoutMinutes, &p.IdleTimeoutEnabled, &p.IdleTimeoutMinutes, &u)
	if err != nil {
		return nil, mapErr(err)
	}
	p.UpdatedAt = fromMicros(u)
	return &p, nil
}

// PutSessionPolicy replaces the environment's session policy with p.
func (q *Q) PutSessionPolicy(ctx context.Context, p *SessionPolicy) error {
	_, err := q.exec(ctx, `INSERT INTO session_policies (env_id, access_token_ttl_seconds, absolute_timeout_minutes,
		idle_timeout_enabled, idle_timeout_minutes, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (env_id) DO UPDATE SET access_token_ttl_seconds = excluded.access_token_ttl_seconds,
		absolute_timeout_minutes = excluded.absolute_timeout_minutes, idle_timeout_enabled = excluded.idle_timeout_enabled,
		idle_timeout_minutes = excluded.idle_timeout_minutes, updated_at = excluded.updated_at`,
		p.EnvID, p.AccessTokenTTLSeconds, p.AbsoluteTimeoutMinutes, p.IdleTimeoutEnabled, p.IdleTimeoutMinutes, micros(p.UpdatedAt))
	return mapErr(err)
}

// OrgSessionPolicy is an organization's own session policy, in the units
// it was set in ("MINUTES", "HOURS" or "DAYS").
type OrgSessionPolicy struct {
	EnvID               string
	OrgID               string
	AbsoluteTimeout     int32
	AbsoluteTimeoutUnit string
	IdleTimeoutEnabled  bool
	IdleTimeout         int32
	IdleTimeoutUnit     string
	UpdatedAt           time.Time
}

// GetOrgSessionPolicy reads an organization's own session policy;
// ErrNotFound means it follows the environment's.
func (q *Q) GetOrgSessionPolicy(ctx context.Context, envID, orgID string) (*OrgSessionPolicy, error) {
	var p OrgSessionPolicy
	var u int64
	err := q.queryRow(ctx, `SELECT env_id, org_id, absolute_timeout, absolute_timeout_unit, idle_timeout_enabled, idle_timeout,
		idle_timeout_unit, updated_at FROM organization_session_policies WHERE env_id = $1 AND org_id = $2`, envID, orgID).
		Scan(&p.EnvID, &p.OrgID, &p.AbsoluteTimeout, &p.AbsoluteTimeoutUnit, &p.IdleTimeoutEnabled, &p.IdleTimeout,
			&p.IdleTimeoutUnit, &u)
	if err != nil {
		return nil, mapErr(err)
	}
	p.UpdatedAt = fromMicros(u)
	return &p, nil
}

// PutOrgSessionPolicy replaces an organization's own session policy with p.
// The organization must exist (a foreign key).
func (q *Q) PutOrgSessionPolicy(ctx context.Context, p *OrgSessionPolicy) error {
	res, err := q.exec(ctx, `INSERT INTO organization_session_policies (env_id, org_id, absolute_timeout, absolute_timeout_unit,
		idle_timeout_enabled, idle_timeout, idle_timeout_unit, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (org_id) DO UPDATE SET absolute_timeout = excluded.absolute_timeout,
		absolute_timeout_unit = excluded.absolute_timeout_unit, idle_timeout_enabled = excluded.idle_timeout_enabled,
		idle_timeout = excluded.idle_timeout, idle_timeout_unit = excluded.idle_timeout_unit, updated_at = excluded.updated_at
		WHERE organization_session_policies.env_id = excluded.env_id`,
		p.EnvID, p.OrgID, p.AbsoluteTimeout, p.AbsoluteTimeoutUnit, p.IdleTimeoutEnabled, p.IdleTimeout, p.IdleTimeoutUnit,
		micros(p.UpdatedAt))
	return mustAffect(res, err) // no row: the organization is another environment's
}

// DeleteOrgSessionPolicy removes an organization's own session policy, so
// it follows the environment's again. Removing none is not an error.
func (q *Q) DeleteOrgSessionPolicy(ctx context.Context, envID, orgID string) error {
	_, err := q.exec(ctx, `DELETE FROM organization_session_policies WHERE env_id = $1 AND org_id = $2`, envID, orgID)
	return mapErr(err)
}

func settingsList(s string) []string { return settingsListOrEmpty(decodeList(s)) }

func settingsListOrEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
