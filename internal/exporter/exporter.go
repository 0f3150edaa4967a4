// Package exporter is `gatehouse export`: it reads a running Gatehouse's
// whole environment through gatehouse.v1.ExportService, page by page, and
// writes it as the JSON Lines that `gatehouse import --from gatehouse`
// reads back (docs/export.md). Neither side holds more than a page.
package exporter

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	gatehousev1 "github.com/gatehouse/gatehouse/gen/gatehouse/v1"
	"github.com/gatehouse/gatehouse/internal/importer"
)

// MaxPageSize is the most rows ExportService returns per call.
const MaxPageSize = 1000

// Config is one export.
type Config struct {
	// Conn reaches the server (importer.Conn's retries, rate limit
	// handling and token renewal).
	Conn *importer.Conn
	// IncludePasswordHashes writes each user's password hash as stored.
	IncludePasswordHashes bool
	// PageSize is the rows per call (1 to MaxPageSize; 0 means the most).
	PageSize int
	// Progress receives a line per page of users; nil discards them.
	Progress io.Writer
	Now      func() time.Time
}

// Summary counts what an export wrote.
type Summary struct {
	Permissions, Roles, Organizations, Users, Memberships, PasswordHashes int
	// Invitations are the memberships (counted in Memberships too) that
	// are not active: pending or expired invitations, inactive members.
	Invitations int
}

// Lines of the file. Field names are the generic JSONL's (importer/generic.go
// and importer/roles.go), so the importer reads them back as they are.
type (
	permissionLine struct {
		Type string `json:"type"`
		importer.Permission
	}
	roleLine struct {
		Type string `json:"type"`
		importer.Role
	}
	organizationLine struct {
		Type       string `json:"type"`
		ExternalID string `json:"external_id,omitempty"`
		// ID keys an organization without external_id: the import creates
		// it with this id, so memberships (organization_id) find it and a
		// second import matches it, without inventing an external_id.
		ID                string            `json:"id,omitempty"`
		DisplayName       string            `json:"display_name"`
		Metadata          map[string]string `json:"metadata,omitempty"`
		Roles             []importer.Role   `json:"roles,omitempty"`
		DefaultMemberRole string            `json:"default_member_role,omitempty"`
		Slug              string            `json:"slug,omitempty"`
		LogoURL           string            `json:"logo_url,omitempty"`
		RegionCode        int32             `json:"region_code,omitempty"`
		// The organization's settings, after the fields above so that
		// files of earlier exports keep their lines' beginnings.
		Features      map[string]bool         `json:"features,omitempty"`
		SessionPolicy *importer.SessionPolicy `json:"session_policy,omitempty"`
	}
	membershipLine struct {
		OrganizationExternalID string            `json:"organization_external_id,omitempty"`
		OrganizationID         string            `json:"organization_id,omitempty"`
		Roles                  []string          `json:"roles"`
		Metadata               map[string]string `json:"metadata,omitempty"`
		// Set only for a membership that is not active
		// (importer/invitations.go).
		Status       string `json:"status,omitempty"`
		ExpiresAt    string `json:"expires_at,omitempty"`
		InviterEmail string `json:"inviter_email,omitempty"`
	}
	userLine struct {
		Type          string            `json:"type"`
		Email         string            `json:"email"`
		ExternalID    string            `json:"external_id,omitempty"`
		FirstName     string            `json:"first_name,omitempty"`
		LastName      string            `json:"last_name,omitempty"`
		Name          string            `json:"name,omitempty"`
		Locale        string            `json:"locale,omitempty"`
		EmailVerified bool              `json:"email_verified"`
		Metadata      map[string]string `json:"metadata,omitempty"`
		PasswordHash  string            `json:"password_hash,omitempty"`
		Memberships   []membershipLine  `json:"memberships,omitempty"`
		// The rest of the profile, after the fields above so that files
		// of earlier exports keep their lines' beginnings.
		PhoneNumber       string            `json:"phone_number,omitempty"`
		PreferredUsername string            `json:"preferred_username,omitempty"`
		Picture           string            `json:"picture,omitempty"`
		Gender            string            `json:"gender,omitempty"`
		Groups            []string          `json:"groups,omitempty"`
		ProfileMetadata   map[string]string `json:"profile_metadata,omitempty"`
		CustomAttributes  map[string]string `json:"custom_attributes,omitempty"`
	}
)

// Export writes the environment to w: permissions, roles, organizations,
// then users, one JSON object per line. It stops at the first error a
// retry cannot fix; what was written to w is then incomplete, which is
// why the command writes to a temporary file it renames only on success.
func Export(ctx context.Context, w io.Writer, cfg Config) (*Summary, error) {
	if cfg.PageSize == 0 {
		cfg.PageSize = MaxPageSize
	}
	if cfg.PageSize < 1 || cfg.PageSize > MaxPageSize {
		return nil, fmt.Errorf("page size %d: must be 1 to %d", cfg.PageSize, MaxPageSize)
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := cfg.Conn.Start(ctx); err != nil {
		return nil, err
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	sum := &Summary{}
	if err := exportRoles(ctx, cfg, enc, sum); err != nil {
		return sum, err
	}
	if err := exportOrganizations(ctx, cfg, enc, sum); err != nil {
		return sum, err
	}
	return sum, exportUsers(ctx, cfg, enc, sum)
}

func exportRoles(ctx context.Context, cfg Config, enc *json.Encoder, sum *Summary) error {
	res, err := importer.Call(ctx, cfg.Conn, cfg.Conn.Export.ExportRoles, &gatehousev1.ExportRolesRequest{})
	if err != nil {
		return fmt.Errorf("reading the roles: %w", err)
	}
	for _, p := range res.GetPermissions() {
		if err := enc.Encode(permissionLine{"permission", importer.Permission{Name: p.GetName(), Description: p.GetDescription()}}); err != nil {
			return err
		}
		sum.Permissions++
	}
	for _, r := range res.GetRoles() {
		if err := enc.Encode(roleLine{"role", role(r)}); err != nil {
			return err
		}
		sum.Roles++
	}
	return nil
}

func role(r *gatehousev1.ExportRole) importer.Role {
	return importer.Role{Name: r.GetName(), DisplayName: r.GetDisplayName(), Description: r.GetDescription(), Extends: r.GetBaseRole(),
		Permissions: r.GetPermissions(), DefaultCreator: r.GetDefaultCreator(), DefaultMember: r.GetDefaultMember()}
}

func exportOrganizations(ctx context.Context, cfg Config, enc *json.Encoder, sum *Summary) error {
	token := ""
	for {
		res, err := importer.Call(ctx, cfg.Conn, cfg.Conn.Export.ExportOrganizations,
			&gatehousev1.ExportOrganizationsRequest{PageSize: uint32(cfg.PageSize), PageToken: token})
		if err != nil {
			return fmt.Errorf("reading the organizations: %w", err)
		}
		for _, o := range res.GetOrganizations() {
			line := organizationLine{Type: "organization", ExternalID: o.GetExternalId(), DisplayName: o.GetDisplayName(),
				Metadata: o.GetMetadata(), DefaultMemberRole: o.GetDefaultMemberRole(), Slug: o.GetSlug(), LogoURL: o.GetLogoUrl(),
				RegionCode: o.GetRegionCode(), Features: o.GetFeatures()}
			if p := o.GetSessionPolicy(); p != nil {
				line.SessionPolicy = &importer.SessionPolicy{AbsoluteTimeout: p.GetAbsoluteTimeout(),
					AbsoluteTimeoutUnit: p.GetAbsoluteTimeoutUnit(), IdleTimeoutEnabled: p.GetIdleTimeoutEnabled(),
					IdleTimeout: p.GetIdleTimeout(), IdleTimeoutUnit: p.GetIdleTimeoutUnit()}
			}
			if line.ExternalID == "" {
				line.ID = o.GetId()
			}
			for _, r := range o.GetRoles() {
				line.Roles = append(line.Roles, role(r))
			}
			if err := enc.Encode(line); err != nil {
				return err
			}
			sum.Organizations++
		}
		if token = res.GetNextPageToken(); token == "" {
			return nil
		}
	}
}

func exportUsers(ctx context.Context, cfg Config, enc *json.Encoder, sum *Summary) error {
	token := ""
	start := cfg.Now()
	for {
		res, err := importer.Call(ctx, cfg.Conn, cfg.Conn.Export.ExportUsers, &gatehousev1.ExportUsersRequest{PageSize: uint32(cfg.PageSize),
			PageToken: token, IncludePasswordHashes: cfg.IncludePasswordHashes})
		if err != nil {
			return fmt.Errorf("reading the users: %w", err)
		}
		for _, u := range res.GetUsers() {
			if err := enc.Encode(userLineOf(u, sum)); err != nil {
				return err
			}
			sum.Users++
		}
		token = res.GetNextPageToken()
		reportProgress(cfg, start, sum.Users, int(res.GetTotalSize()))
		if token == "" {
			return nil
		}
	}
}

// userLineOf renders u, its memberships sorted by organization (so
// two exports of the same environment compare line by line), counting
// into sum.
func userLineOf(u *gatehousev1.ExportUser, sum *Summary) userLine {
	line := userLine{Type: "user", Email: u.GetEmail(), ExternalID: u.GetExternalId(), FirstName: u.GetFirstName(),
		LastName: u.GetLastName(), Name: u.GetName(), Locale: u.GetLocale(), EmailVerified: u.GetEmailVerified(),
		Metadata: u.GetMetadata(), PasswordHash: u.GetPasswordHash(), PhoneNumber: u.GetPhoneNumber(),
		PreferredUsername: u.GetPreferredUsername(), Picture: u.GetPicture(), Gender: u.GetGender(), Groups: u.GetGroups(),
		ProfileMetadata: u.GetProfileMetadata(), CustomAttributes: u.GetCustomAttributes()}
	if line.PasswordHash != "" {
		sum.PasswordHashes++
	}
	for _, m := range u.GetMemberships() {
		ml := membershipLine{OrganizationExternalID: m.GetOrganizationExternalId(), Roles: m.GetRoles(), Metadata: m.GetMetadata(),
			Status: importer.StatusName(m.GetStatus()), InviterEmail: m.GetInviterEmail()}
		if m.GetExpireTime() != nil {
			ml.ExpiresAt = m.GetExpireTime().AsTime().UTC().Format(time.RFC3339Nano)
		}
		if ml.Status != "" {
			sum.Invitations++
		}
		if ml.OrganizationExternalID == "" {
			ml.OrganizationID = m.GetOrganizationId()
		}
		if ml.Roles == nil {
			ml.Roles = []string{}
		}
		line.Memberships = append(line.Memberships, ml)
		sum.Memberships++
	}
	sort.Slice(line.Memberships, func(i, j int) bool {
		a, b := line.Memberships[i], line.Memberships[j]
		return a.OrganizationExternalID+"\x00"+a.OrganizationID < b.OrganizationExternalID+"\x00"+b.OrganizationID
	})
	return line
}

// reportProgress writes one line per page: "export: users 4000/10000
// (40%), 2150/s, ETA 3s".
func reportProgress(cfg Config, start time.Time, done, total int) {
	elapsed := cfg.Now().Sub(start).Seconds()
	rate, eta := 0.0, "?"
	if elapsed > 0 {
		rate = float64(done) / elapsed
	}
	if rate > 0 && total >= done {
		eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	pct := 100
	if total > 0 {
		pct = min(done*100/total, 100)
	}
	fmt.Fprintf(cfg.Progress, "export: users %d/%d (%d%%), %.0f/s, ETA %s\n", done, total, pct, rate, eta)
}
