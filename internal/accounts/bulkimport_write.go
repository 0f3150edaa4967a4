package accounts

import (
	"context"
	"strings"

	"github.com/gatehouse/gatehouse/internal/store"
)

// write applies a plan inside the caller's transaction: organizations
// first, since the batch's users may be members of them, then each user
// with their memberships, password hash and import record, every write
// with its event. A unique constraint refusing a row aborts the whole
// write with a *rowConflict, for ImportBatch to plan again.
func (s *Service) write(ctx context.Context, q *store.Q, p *importPlan) error {
	for _, r := range p.orgs {
		switch {
		case r.failed():
		case r.create:
			if err := q.CreateOrganization(ctx, r.stored); err != nil {
				return asConflict(err, nil, r)
			}
			if err := s.emit(ctx, q, "organization.created", r.stored.ID, orgEvent(r.stored)); err != nil {
				return err
			}
		case r.update:
			if err := q.UpdateOrganization(ctx, r.stored); err != nil {
				return asConflict(err, nil, r)
			}
			if err := s.emit(ctx, q, "organization.updated", r.stored.ID, orgEvent(r.stored)); err != nil {
				return err
			}
		}
	}
	for _, r := range p.users {
		if r.failed() || r.status == ImportUnchanged {
			continue
		}
		if err := s.writeUser(ctx, q, p, r); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) writeUser(ctx context.Context, q *store.Q, p *importPlan, r *userRow) error {
	u := r.stored
	norm := strings.ToLower(u.Email)
	switch {
	case r.create:
		if err := q.CreateUser(ctx, u, norm); err != nil {
			return asConflict(err, r, nil)
		}
		if err := s.emit(ctx, q, "user.created", u.ID, userEvent(u)); err != nil {
			return err
		}
	case r.update:
		if err := q.UpdateUser(ctx, u, norm); err != nil {
			return asConflict(err, r, nil)
		}
		if err := s.emit(ctx, q, "user.updated", u.ID, userEvent(u)); err != nil {
			return err
		}
	}
	for _, mp := range r.memberships {
		switch {
		case mp.create:
			if err := q.CreateMembership(ctx, mp.m); err != nil {
				return asConflict(err, r, nil)
			}
			if err := s.emit(ctx, q, "membership.created", u.ID, membershipEvent(mp.m)); err != nil {
				return err
			}
		case mp.update:
			if err := q.UpdateMembership(ctx, mp.m); err != nil {
				return asConflict(err, r, nil)
			}
			if err := s.emit(ctx, q, "membership.updated", u.ID, membershipEvent(mp.m)); err != nil {
				return err
			}
		}
	}
	switch {
	case r.writeHash:
		if err := q.PutImportedPasswordHash(ctx, s.EnvID, u.ID, r.imported, p.now); err != nil {
			return err
		}
		if err := q.PutUserImport(ctx, store.UserImport{EnvID: s.EnvID, UserID: u.ID, HashSource: r.hashSource,
			HashFormat: string(r.hashFormat), CreatedAt: p.now, UpdatedAt: p.now}); err != nil {
			return err
		}
		return s.emit(ctx, q, "user.password_imported", u.ID, map[string]string{"id": u.ID, "format": string(r.hashFormat)})
	case r.create:
		// Record how the user arrived, for the migration status.
		return q.PutUserImport(ctx, store.UserImport{EnvID: s.EnvID, UserID: u.ID, CreatedAt: p.now, UpdatedAt: p.now})
	}
	return nil
}
