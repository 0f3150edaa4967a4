package store

import (
	"context"
	"database/sql"
	"time"
)

// Organization is a customer tenant.
type Organization struct {
	ID          string
	EnvID       string
	DisplayName string
	ExternalID  *string
	RegionCode  int32
	Slug        *string
	LogoURL     *string
	Metadata    map[string]string
	// Features holds the organization settings' feature switches by name.
	Features  map[string]bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

const orgColumns = `id, env_id, display_name, external_id, region_code, slug, logo_url, metadata, settings, created_at, updated_at`

func scanOrg(sc interface{ Scan(...any) error }) (*Organization, error) {
	var o Organization
	var ext, slug, logo sql.NullString
	var meta, settings string
	var created, updated int64
	if err := sc.Scan(&o.ID, &o.EnvID, &o.DisplayName, &ext, &o.RegionCode, &slug, &logo, &meta, &settings, &created, &updated); err != nil {
		return nil, mapErr(err)
	}
	o.ExternalID, o.Slug, o.LogoURL = ptrString(ext), ptrString(slug), ptrString(logo)
	o.Metadata = decodeMap(meta)
	o.Features = map[string]bool{}
	if settings != "" {
		_ = jsonUnmarshal(settings, &o.Features)
	}
	o.CreatedAt, o.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &o, nil
}

// CreateOrganization inserts o.
func (q *Q) CreateOrganization(ctx context.Context, o *Organization) error {
	_, err := q.exec(ctx, `INSERT INTO organizations (`+orgColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		o.ID, o.EnvID, o.DisplayName, nullString(o.ExternalID), o.RegionCode, nullString(o.Slug), nullString(o.LogoURL),
		encodeJSON(nonNilMap(o.Metadata)), encodeJSON(nonNilFeatures(o.Features)), micros(o.CreatedAt), micros(o.UpdatedAt))
	return mapErr(err)
}

// UpdateOrganization writes every mutable field of o.
func (q *Q) UpdateOrganization(ctx context.Context, o *Organization) error {
	res, err := q.exec(ctx, `UPDATE organizations SET display_name = $3, external_id = $4, region_code = $5,
		slug = $6, logo_url = $7, metadata = $8, settings = $9, updated_at = $10 WHERE env_id = $1 AND id = $2`,
		o.EnvID, o.ID, o.DisplayName, nullString(o.ExternalID), o.RegionCode, nullString(o.Slug), nullString(o.LogoURL),
		encodeJSON(nonNilMap(o.Metadata)), encodeJSON(nonNilFeatures(o.Features)), micros(o.UpdatedAt))
	return mustAffect(res, err)
}

// GetOrganization reads one organization by id.
func (q *Q) GetOrganization(ctx context.Context, envID, id string) (*Organization, error) {
	return scanOrg(q.queryRow(ctx, `SELECT `+orgColumns+` FROM organizations WHERE env_id = $1 AND id = $2`, envID, id))
}

// GetOrganizationByExternalID reads one organization by the caller's key.
func (q *Q) GetOrganizationByExternalID(ctx context.Context, envID, externalID string) (*Organization, error) {
	return scanOrg(q.queryRow(ctx, `SELECT `+orgColumns+` FROM organizations WHERE env_id = $1 AND external_id = $2`, envID, externalID))
}

// DeleteOrganization removes an organization; its memberships and its own
// roles go with it, and its users remain.
func (q *Q) DeleteOrganization(ctx context.Context, envID, id string) error {
	// Through memberships, whose key starts with org_id: on SQLite
	// membership_roles is keyed by user first (migrate_sqlite.go).
	if _, err := q.exec(ctx, `DELETE FROM membership_roles WHERE env_id = $1 AND org_id = $2
		AND user_id IN (SELECT user_id FROM memberships WHERE env_id = $1 AND org_id = $2)`, envID, id); err != nil {
		return mapErr(err)
	}
	if _, err := q.exec(ctx, `DELETE FROM memberships WHERE env_id = $1 AND org_id = $2`, envID, id); err != nil {
		return mapErr(err)
	}
	if err := q.deleteOrganizationRoles(ctx, envID, id); err != nil {
		return err
	}
	res, err := q.exec(ctx, `DELETE FROM organizations WHERE env_id = $1 AND id = $2`, envID, id)
	return mustAffect(res, err)
}

// OrgFilter narrows ListOrganizations.
type OrgFilter struct {
	ExternalID *string // exact match
	Query      string  // case-insensitive substring of name, external id or id
}

// ListOrganizations returns a page of organizations in id order.
func (q *Q) ListOrganizations(ctx context.Context, envID string, f OrgFilter, p Page) (Result[*Organization], error) {
	where, args := `env_id = $1`, []any{envID}
	if f.ExternalID != nil {
		args = append(args, *f.ExternalID)
		where += ` AND external_id = $2`
	} else if f.Query != "" {
		args = append(args, likePattern(f.Query))
		where += ` AND (lower(display_name) LIKE $2 ESCAPE '\' OR lower(COALESCE(external_id, '')) LIKE $2 ESCAPE '\' OR lower(id) LIKE $2 ESCAPE '\')`
	}
	p = p.normalize()
	var out Result[*Organization]
	if err := q.queryRow(ctx, `SELECT COUNT(*) FROM organizations WHERE `+where, args...).Scan(&out.Total); err != nil {
		return out, mapErr(err)
	}
	n := len(args)
	args = append(args, p.AfterID, p.Limit+1)
	rows, err := q.query(ctx, `SELECT `+orgColumns+` FROM organizations WHERE `+where+
		` AND id > $`+itoa(n+1)+` ORDER BY id LIMIT $`+itoa(n+2), args...)
	if err != nil {
		return out, mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, o)
	}
	if err := rows.Err(); err != nil {
		return out, mapErr(err)
	}
	out.Items, out.More = trim(out.Items, p.Limit)
	return out, nil
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func nonNilFeatures(m map[string]bool) map[string]bool {
	if m == nil {
		return map[string]bool{}
	}
	return m
}

// mustAffect turns "no row changed" into ErrNotFound.
func mustAffect(res sql.Result, err error) error {
	if err != nil {
		return mapErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
