package accounts

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Importing memberships that are not active (gatehouse.v1.ImportService
// ImportInvitations): pending and expired invitations and inactive
// members, as `gatehouse export` writes them, for users and organizations
// that already exist (the bulk import writes those, and only active
// memberships). No invitation email is queued: the invitation was sent by
// the server it comes from, and the invited user accepts it here by
// signing in to the organization before it expires (RecordLogin), as any
// other. An expired invitation is stored as what it is, a pending one
// whose expiry has passed (present shows it as INVITE_EXPIRED, and
// ResendInvite renews it). An active membership is left alone: an
// invitation never demotes a member.

// ImportInvitation is one membership to import that is not active.
type ImportInvitation struct {
	UserExternalID, UserEmail string
	OrgExternalID, OrgID      string
	Roles                     []string
	Metadata                  map[string]string
	// Status is store.MembershipPendingInvite (also for 0),
	// store.MembershipInviteExpired or store.MembershipInactive.
	Status int32
	// ExpiresAt is the invitation's expiry; zero: InviteTTL from now.
	ExpiresAt    time.Time
	InviterEmail string
}

// ImportInvitations writes the rows in one transaction; a row that breaks
// a rule fails alone, with its field and rule. With dry the results say
// what would happen and nothing is written.
func (s *Service) ImportInvitations(ctx context.Context, rows []ImportInvitation, dry bool) ([]RowResult, error) {
	if len(rows) > MaxImportBatch {
		return nil, apierr.InvalidArgument(apierr.Violation{Field: "invitations",
			Description: fmt.Sprintf("must have at most %d rows per batch", MaxImportBatch), Constraint: "max"})
	}
	out := make([]RowResult, len(rows))
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		for i, row := range rows {
			res, err := s.importInvitation(ctx, q, row, dry)
			var rowErr *RowError
			if errors.As(err, &rowErr) {
				res.Status, res.Errors = ImportFailed, []RowError{*rowErr}
			} else if err != nil {
				return err
			}
			res.Index = i
			out[i] = res
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (e *RowError) Error() string { return e.Field + ": " + e.Description }

// importInvitation writes one row; a *RowError is the row's failure.
func (s *Service) importInvitation(ctx context.Context, q *store.Q, row ImportInvitation, dry bool) (RowResult, error) {
	res := RowResult{ExternalID: row.UserExternalID, Email: row.UserEmail}
	want, err := s.invitationStatus(row)
	if err != nil {
		return res, err
	}
	var mv apierr.Violations
	if checkMetadata(&mv, "metadata", row.Metadata); len(mv) > 0 {
		e := fromViolations(mv, "metadata")[0]
		return res, &e
	}
	org, err := s.invitationOrg(ctx, q, row)
	if err != nil {
		return res, err
	}
	u, err := s.invitationUser(ctx, q, row)
	if err != nil {
		return res, err
	}
	res.ID = u.ID
	var roles []store.RoleRef
	if existing, _ := membershipOf(u, org.ID); existing == nil || len(row.Roles) > 0 {
		if roles, err = s.resolveRoles(ctx, q, org.ID, "roles", row.Roles); err != nil {
			var ae *apierr.Error
			if errors.As(err, &ae) && len(ae.Violations) > 0 {
				return res, &RowError{Field: "roles", Rule: "unknown_role", Description: ae.Violations[0].Description}
			}
			return res, err
		}
	}
	now := s.Now()
	m, err := membershipOf(u, org.ID)
	expires := invitationExpiry(row, want, m, now, now.Add(s.inviteTTL()))
	if err != nil {
		m = &store.Membership{EnvID: s.EnvID, OrgID: org.ID, UserID: u.ID, Status: want, Roles: roles, Metadata: row.Metadata,
			InviterEmail: emptyNil(&row.InviterEmail), CreatedAt: now, UpdatedAt: now, ExpiresAt: expires, OrgName: org.DisplayName}
		res.Status = ImportCreated
		if dry {
			return res, nil
		}
		if err := q.CreateMembership(ctx, m); err != nil {
			return res, apierr.FromStore(err, "membership", org.ID+"/"+u.ID)
		}
		return res, s.emit(ctx, q, "membership.created", u.ID, membershipEvent(m))
	}
	if m.Status == store.MembershipActive || !invitationDiffers(m, want, expires, roles, row) {
		res.Status = ImportUnchanged
		return res, nil
	}
	m.Status, m.ExpiresAt, m.UpdatedAt = want, expires, now
	if roles != nil {
		m.Roles = roles
	}
	if len(row.Metadata) > 0 {
		m.Metadata = row.Metadata
	}
	if row.InviterEmail != "" {
		m.InviterEmail = &row.InviterEmail
	}
	res.Status = ImportUpdated
	if dry {
		return res, nil
	}
	if err := q.UpdateMembership(ctx, m); err != nil {
		return res, apierr.FromStore(err, "membership", org.ID+"/"+u.ID)
	}
	return res, s.emit(ctx, q, "membership.updated", u.ID, membershipEvent(m))
}

// invitationExpiry is when the row's invitation expires: as the row says;
// without a date, the stored invitation's expiry, or def for a new one.
// Inactive memberships have none. An expired invitation (row status 4)
// expires at the latest now, whatever its date or the stored one: an
// invitation that had run out must never become one a sign-in accepts.
func invitationExpiry(row ImportInvitation, status int32, m *store.Membership, now, def time.Time) time.Time {
	switch {
	case status != store.MembershipPendingInvite:
		return time.Time{}
	case row.Status == store.MembershipInviteExpired:
		if at := row.ExpiresAt.UTC().Truncate(time.Microsecond); !row.ExpiresAt.IsZero() && at.Before(now) {
			return at
		}
		if m != nil && m.Status == store.MembershipPendingInvite && !m.ExpiresAt.IsZero() && m.ExpiresAt.Before(now) {
			return m.ExpiresAt // already expired: a second import changes nothing
		}
		return now.UTC().Truncate(time.Microsecond)
	case !row.ExpiresAt.IsZero():
		return row.ExpiresAt.UTC().Truncate(time.Microsecond)
	case m != nil && m.Status == store.MembershipPendingInvite && !m.ExpiresAt.IsZero():
		return m.ExpiresAt
	}
	return def
}

// invitationStatus is the stored status a row asks for: an expired
// invitation is a pending one whose expiry has passed.
func (s *Service) invitationStatus(row ImportInvitation) (int32, error) {
	switch row.Status {
	case 0, store.MembershipPendingInvite, store.MembershipInviteExpired:
		return store.MembershipPendingInvite, nil
	case store.MembershipInactive:
		return store.MembershipInactive, nil
	}
	return 0, &RowError{Field: "status", Rule: "status",
		Description: "must be 3 (pending invitation), 4 (expired invitation) or 2 (inactive); active memberships go through ImportBatch"}
}

func (s *Service) invitationOrg(ctx context.Context, q *store.Q, row ImportInvitation) (*store.Organization, error) {
	var o *store.Organization
	var err error
	switch {
	case row.OrgExternalID != "" && row.OrgID != "":
		return nil, &RowError{Field: "organization_id", Rule: "conflict", Description: "give organization_external_id or organization_id, not both"}
	case row.OrgExternalID != "":
		o, err = q.GetOrganizationByExternalID(ctx, s.EnvID, row.OrgExternalID)
	case row.OrgID != "":
		o, err = q.GetOrganization(ctx, s.EnvID, row.OrgID)
	default:
		return nil, &RowError{Field: "organization_external_id", Rule: "required", Description: "name the organization"}
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, &RowError{Field: "organization_external_id", Rule: "unknown_organization",
			Description: "no organization " + row.OrgExternalID + row.OrgID}
	}
	return o, err
}

func (s *Service) invitationUser(ctx context.Context, q *store.Q, row ImportInvitation) (*store.User, error) {
	if row.UserExternalID != "" {
		u, err := q.GetUserByExternalID(ctx, s.EnvID, row.UserExternalID)
		if !errors.Is(err, store.ErrNotFound) {
			return u, err
		}
	}
	if email := strings.ToLower(strings.TrimSpace(row.UserEmail)); email != "" {
		u, err := q.GetUserByEmail(ctx, s.EnvID, email)
		if !errors.Is(err, store.ErrNotFound) {
			return u, err
		}
	}
	return nil, &RowError{Field: "user_email", Rule: "unknown_user", Description: "no user has this external_id or email; import the user first"}
}

// invitationDiffers reports whether the stored membership m differs from
// what the row asks for (roles nil: keep m's).
func invitationDiffers(m *store.Membership, status int32, expires time.Time, roles []store.RoleRef, row ImportInvitation) bool {
	if m.Status != status || !m.ExpiresAt.Equal(expires) {
		return true
	}
	if roles != nil {
		var have, want []string
		for _, r := range m.Roles {
			have = append(have, r.ID)
		}
		for _, r := range roles {
			want = append(want, r.ID)
		}
		slices.Sort(have)
		slices.Sort(want)
		if !slices.Equal(have, want) {
			return true
		}
	}
	if len(row.Metadata) > 0 && !maps.Equal(row.Metadata, m.Metadata) {
		return true
	}
	return row.InviterEmail != "" && (m.InviterEmail == nil || *m.InviterEmail != row.InviterEmail)
}
