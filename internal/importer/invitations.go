package importer

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	gatehousev1 "github.com/gatehouse/gatehouse/gen/gatehouse/v1"
)

// Memberships that are not active, as `gatehouse export` writes them (and
// the generic JSONL accepts) among a user's memberships:
//
//	{"organization_external_id": "org_456", "roles": ["viewer"], "status": "PENDING_INVITE",
//	 "expires_at": "2026-12-07T09:45:13Z", "inviter_email": "boss@example.com"}
//
// status is Scalekit's MembershipStatus name: PENDING_INVITE,
// INVITE_EXPIRED or INACTIVE (ACTIVE, or none, is an ordinary
// membership). They are written after the users, through
// gatehouse.v1.ImportService ImportInvitations, which sends no email: a
// pending invitation is accepted when the user signs in to the
// organization before expires_at, as on the server it came from. An
// invitation without expires_at gets the server's invitation lifetime.
// --compat cannot write them (the Scalekit API sends an email with every
// invitation) and says how many it left out.

// The statuses of a membership in the file.
const (
	statusActive        = "ACTIVE"
	statusInactive      = "INACTIVE"
	statusPendingInvite = "PENDING_INVITE"
	statusInviteExpired = "INVITE_EXPIRED"
)

// Invitation is a membership that is not active.
type Invitation struct {
	Membership
	Status       string // statusPendingInvite, statusInviteExpired or statusInactive
	ExpiresAt    time.Time
	InviterEmail string
}

// membershipStatus reads a membership's status name ("" when absent).
func membershipStatus(s string) (string, error) {
	switch u := strings.ToUpper(strings.TrimSpace(s)); u {
	case "", statusActive, statusInactive, statusPendingInvite, statusInviteExpired:
		return u, nil
	}
	return "", fmt.Errorf("%q: want ACTIVE, PENDING_INVITE, INVITE_EXPIRED or INACTIVE", s)
}

// wireStatus is scalekit.v1.commons.MembershipStatus's number for s.
func wireStatus(s string) int32 {
	switch s {
	case statusInactive:
		return 2
	case statusInviteExpired:
		return 4
	}
	return 3
}

// StatusName is the file's name for a wire membership status; "" for
// active (and unknown) ones, which the file leaves unmarked.
func StatusName(status int32) string {
	switch status {
	case 2:
		return statusInactive
	case 3:
		return statusPendingInvite
	case 4:
		return statusInviteExpired
	}
	return ""
}

// importInvitations writes the users' invitations in batches of
// MaxBatchSize and returns the rows the server refused.
func (r *runner) importInvitations(ctx context.Context, users []User) ([]Rejection, error) {
	var rows []*gatehousev1.ImportInvitation
	var owners []User
	for _, u := range users {
		for _, inv := range u.Invitations {
			row := &gatehousev1.ImportInvitation{UserExternalId: u.ExternalID, UserEmail: u.Email,
				OrganizationExternalId: inv.OrganizationExternalID, OrganizationId: inv.OrganizationID, Roles: inv.Roles,
				Metadata: inv.Metadata, Status: wireStatus(inv.Status), InviterEmail: inv.InviterEmail}
			if !inv.ExpiresAt.IsZero() {
				row.ExpireTime = timestamppb.New(inv.ExpiresAt)
			}
			rows = append(rows, row)
			owners = append(owners, u)
		}
	}
	switch {
	case len(rows) == 0:
		return nil, nil
	case r.cfg.Compat:
		r.note(fmt.Sprintf("--compat: %d memberships that are not active (invitations, inactive members) were not imported: the Scalekit API sends an email with every invitation (import without --compat to write them)", len(rows)))
		return nil, nil
	case r.cfg.DryRun:
		r.note(fmt.Sprintf("dry run: %d memberships that are not active (invitations, inactive members) were not checked: their users are not written yet", len(rows)))
		return nil, nil
	}
	var n Counts
	var failures []Rejection
	c := r.cfg.Conn
	for start := 0; start < len(rows); start += MaxBatchSize {
		end := min(start+MaxBatchSize, len(rows))
		res, err := Call(ctx, c, c.Import.ImportInvitations, &gatehousev1.ImportInvitationsRequest{Invitations: rows[start:end]})
		if err != nil {
			return failures, fmt.Errorf("importing invitations: %s", describe(err))
		}
		for i, row := range res.GetInvitations() {
			tally(&n, row.GetStatus())
			u := owners[start+i]
			for _, e := range row.GetErrors() {
				failures = append(failures, Rejection{Kind: "invitation", Source: u.Source, ExternalID: u.ExternalID, Email: u.Email,
					Field: e.GetField(), Rule: e.GetRule(), Reason: e.GetDescription()})
			}
		}
	}
	r.note(fmt.Sprintf("invitations and inactive memberships: %d created, %d updated, %d unchanged, %d failed", n.Created, n.Updated, n.Unchanged, n.Failed))
	return failures, nil
}
