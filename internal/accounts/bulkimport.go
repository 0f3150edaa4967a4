package accounts

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The bulk import (gatehouse.v1.ImportService, docs/migrating.md): a batch
// of organizations and users with memberships, roles, metadata and password
// hashes, each row matched against what is stored and then created, updated
// or left alone. A row that breaks a rule fails alone; the rows that pass
// are written in one transaction with their events, so a batch is never
// half-written. The same rules as the single-object calls apply (email,
// external_id, metadata, roles), checked by the same code.
//
// The work is in three steps: check (bulkimport_check.go: each row on its
// own, no database), plan (bulkimport_plan.go: match rows to stored
// objects, resolve organizations and roles, and decide what changes), and
// write (bulkimport_write.go). Password hashes are prepared before the
// transaction (bulkimport_hash.go), since wrapping a fast digest costs one
// argon2id.

// MaxImportBatch bounds the organizations and the users of one batch.
const MaxImportBatch = 1000

// ImportBatch is one request to the bulk import.
type ImportBatch struct {
	DryRun        bool
	Organizations []ImportOrg
	Users         []ImportUser
}

// ImportOrg is an organization keyed by its external id, or, for one
// without (as `gatehouse export` writes it), by its id: matched by that id
// and created with it, so importing again finds it.
type ImportOrg struct {
	ExternalID  string
	ID          string
	DisplayName string
	Metadata    map[string]string
	// Empty (or 0) leaves what a stored organization has.
	Slug, LogoURL string
	RegionCode    int32
}

// orgKey is how a batch names an organization: its external id, or its id
// for one without, marked so that it never equals an external id.
func orgKey(externalID, id string) string {
	if externalID != "" {
		return externalID
	}
	return "\x00" + id
}

// ImportUser is a user row; empty fields leave what a stored user has.
type ImportUser struct {
	Email, ExternalID, FirstName, LastName, Name, Locale string
	EmailVerified                                        *bool
	Metadata                                             map[string]string
	PasswordHash                                         string
	Memberships                                          []ImportMembership
	// The rest of the profile, so that an export comes back whole. Empty
	// groups and maps, like empty strings, leave what a stored user has.
	PhoneNumber, PreferredUsername, Picture, Gender string
	Groups                                          []string
	ProfileMetadata, CustomAttributes               map[string]string
}

// ImportMembership makes the user a member of an organization named by
// external id, or by id for one without (one of the batch or a stored one).
type ImportMembership struct {
	OrgExternalID string
	OrgID         string
	Roles         []string
	Metadata      map[string]string
}

// ImportStatus is what happened to a row.
type ImportStatus int

// The outcomes of a row, numbered as gatehouse.v1.ImportStatus.
const (
	ImportCreated   ImportStatus = 1
	ImportUpdated   ImportStatus = 2
	ImportUnchanged ImportStatus = 3
	ImportFailed    ImportStatus = 4
)

// RowError is one rule a row broke.
type RowError struct {
	Field, Rule, Description string
}

// RowResult is the outcome of one row.
type RowResult struct {
	Index          int
	Status         ImportStatus
	ID             string
	ExternalID     string
	Email          string
	Errors         []RowError
	PasswordFormat string
}

// ImportResult has one result per organization and per user, in request
// order.
type ImportResult struct {
	DryRun        bool
	Organizations []RowResult
	Users         []RowResult
}

// maxConflictRetries bounds how often a batch is planned again after a
// concurrent writer took an email or external id a row was about to use.
const maxConflictRetries = 3

// ImportBatch imports b (see the comment at the top of this file).
func (s *Service) ImportBatch(ctx context.Context, b ImportBatch) (*ImportResult, error) {
	var v apierr.Violations
	if len(b.Organizations) > MaxImportBatch {
		v.Add("organizations", fmt.Sprintf("must have at most %d rows per batch", MaxImportBatch))
	}
	if len(b.Users) > MaxImportBatch {
		v.Add("users", fmt.Sprintf("must have at most %d rows per batch", MaxImportBatch))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	orgs := checkOrgs(b.Organizations)
	users := checkUsers(b.Users)
	if err := s.prepareHashes(ctx, users, b.DryRun); err != nil {
		return nil, err
	}
	if b.DryRun {
		p, err := s.plan(ctx, s.Store.Q(), orgs, users, true)
		if err != nil {
			return nil, err
		}
		return p.result(true), nil
	}
	conflicts := map[*userRow]int{}
	orgConflicts := map[*orgRow]int{}
	aborted := 0
	batched := true
	for {
		var p *importPlan
		err := s.Store.Tx(ctx, func(q *store.Q) error {
			var err error
			if p, err = s.plan(ctx, q, orgs, users, false); err != nil {
				return err
			}
			return s.write(ctx, q, p, batched)
		})
		if errors.Is(err, errBatchConflict) && batched {
			batched = false // find the row: write row by row
			continue
		}
		if store.IsRetryable(err) && aborted < maxConflictRetries {
			aborted++ // a deadlock with a concurrent import: run again
			continue
		}
		var rc *rowConflict
		if !errors.As(err, &rc) {
			if err != nil {
				return nil, err
			}
			// Keep the planner's picture of the growing tables current;
			// failing that only costs speed, so it is not the caller's error.
			_ = s.Store.AnalyzeIfStale(ctx)
			return p.result(false), nil
		}
		// A concurrent writer took an email or external id between the
		// plan and the write. Plan again, which now sees it; a row that
		// keeps conflicting fails alone.
		desc := fmt.Sprintf("was taken by a concurrent write; %d attempts failed", maxConflictRetries)
		switch {
		case rc.user != nil:
			if conflicts[rc.user]++; conflicts[rc.user] >= maxConflictRetries {
				rc.user.fail(rc.field, "conflict", desc)
			}
		case rc.org != nil:
			if orgConflicts[rc.org]++; orgConflicts[rc.org] >= maxConflictRetries {
				rc.org.fail(rc.field, "conflict", desc)
			}
		}
	}
}

// rowConflict aborts a write when a unique constraint refuses a row.
type rowConflict struct {
	user  *userRow
	org   *orgRow
	field string
	err   error
}

func (e *rowConflict) Error() string {
	return "import row conflict on " + e.field + ": " + e.err.Error()
}
func (e *rowConflict) Unwrap() error { return e.err }

// asConflict wraps a store conflict for row; other errors pass through.
func asConflict(err error, user *userRow, org *orgRow) error {
	var c *store.ErrConflict
	if errors.As(err, &c) {
		return &rowConflict{user: user, org: org, field: c.Field, err: err}
	}
	return err
}

// result renders the plan's outcome per row.
func (p *importPlan) result(dry bool) *ImportResult {
	out := &ImportResult{DryRun: dry, Organizations: make([]RowResult, len(p.orgs)), Users: make([]RowResult, len(p.users))}
	for i, r := range p.orgs {
		res := RowResult{Index: i, Status: r.status, ExternalID: r.in.ExternalID, Errors: r.errs}
		if r.failed() {
			res.Status = ImportFailed
		} else if r.stored != nil && !(dry && r.status == ImportCreated) {
			res.ID = r.stored.ID
		}
		out.Organizations[i] = res
	}
	for i, r := range p.users {
		res := RowResult{Index: i, Status: r.status, ExternalID: r.in.ExternalID, Email: r.in.Email, Errors: r.errs,
			PasswordFormat: string(r.hashFormat)}
		if r.failed() {
			res.Status = ImportFailed
		} else if r.stored != nil && !(dry && r.status == ImportCreated) {
			res.ID = r.stored.ID
		}
		out.Users[i] = res
	}
	return out
}
