package accounts

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The account rules of the hosted login (package login): finding a user by
// the email typed in, passwords, sign-up, and what a successful sign-in
// changes (a pending invitation becomes ACTIVE, the email becomes verified
// when the user proved they read it, last_login_at).

// UserByEmail finds a user by email, case-insensitively, with memberships
// as callers see them (expired invitations show as INVITE_EXPIRED).
// store.ErrNotFound when there is none or the address is malformed.
func (s *Service) UserByEmail(ctx context.Context, email string) (*store.User, error) {
	norm := strings.ToLower(strings.TrimSpace(email))
	if norm == "" {
		return nil, store.ErrNotFound
	}
	u, err := s.Store.Q().GetUserByEmail(ctx, s.EnvID, norm)
	if err != nil {
		return nil, err
	}
	return s.present(u), nil
}

// PasswordHash returns the user's stored password hash; store.ErrNotFound
// when the user has no password.
func (s *Service) PasswordHash(ctx context.Context, userID string) (string, error) {
	return s.Store.Q().PasswordHash(ctx, s.EnvID, userID)
}

// SetPasswordHash stores a new password hash for a user (hashing and the
// password policy are the caller's), with a user.password_changed event.
// verifiedEmail marks the email verified too (the user proved they read
// it by following an emailed link).
func (s *Service) SetPasswordHash(ctx context.Context, userID, hash string, verifiedEmail bool) error {
	return s.Store.Tx(ctx, func(q *store.Q) error {
		return s.setPasswordHash(ctx, q, userID, hash, verifiedEmail)
	})
}

func (s *Service) setPasswordHash(ctx context.Context, q *store.Q, userID, hash string, verifiedEmail bool) error {
	if err := q.SetPasswordHash(ctx, s.EnvID, userID, hash, s.Now()); err != nil {
		var c *store.ErrConflict
		if errors.As(err, &c) {
			return err
		}
		return apierr.FromStore(err, "user", userID)
	}
	if verifiedEmail {
		u, err := q.GetUser(ctx, s.EnvID, userID)
		if err != nil {
			return apierr.FromStore(err, "user", userID)
		}
		if !u.EmailVerified {
			u.EmailVerified, u.UpdatedAt = true, s.Now()
			if err := q.UpdateUser(ctx, u, strings.ToLower(u.Email)); err != nil {
				return err
			}
		}
	}
	return s.emit(ctx, q, "user.password_changed", userID, map[string]string{"id": userID})
}

// RehashPassword replaces a legacy or outdated hash after a successful
// login, silently (no event: the password did not change).
func (s *Service) RehashPassword(ctx context.Context, userID, hash string) error {
	return s.Store.Q().SetPasswordHash(ctx, s.EnvID, userID, hash, s.Now())
}

// LazyFields describe a user the environment's legacy endpoint has just
// verified (lazy migration, docs/lazy-migration.md): the email typed in and
// the profile the endpoint may have answered with.
type LazyFields struct {
	Email         string
	GivenName     string
	FamilyName    string
	EmailVerified bool
}

// MigrateLazily stores the password the legacy endpoint just verified
// (hash is its argon2id) and marks the user as lazily migrated now
// (origin lazy). For userID "" it creates the user from f first, with no
// organization: the environment's organization rules apply at sign-in as
// for any user. An existing user (one without a password) keeps their
// profile. One transaction, with user.created or user.password_migrated;
// it returns the user's id.
func (s *Service) MigrateLazily(ctx context.Context, userID string, f LazyFields, hash string) (string, error) {
	now := s.Now()
	var u *store.User
	if userID == "" {
		var v apierr.Violations
		email, _ := NormalizeEmail(&v, "email", f.Email)
		if err := v.Err(); err != nil {
			return "", err
		}
		given, family := truncate(strings.TrimSpace(f.GivenName), 255), truncate(strings.TrimSpace(f.FamilyName), 255)
		u = &store.User{ID: s.IDs.New(id.User), EnvID: s.EnvID, Email: email, EmailVerified: f.EmailVerified,
			GivenName: given, FamilyName: family, Name: strings.TrimSpace(given + " " + family),
			CreatedAt: now, UpdatedAt: now, Origin: store.OriginLazy, MigratedAt: now}
		userID = u.ID
	}
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		if u != nil {
			if err := q.CreateUser(ctx, u, strings.ToLower(u.Email)); err != nil {
				return apierr.FromStore(err, "user", u.ID)
			}
			if err := s.emit(ctx, q, "user.created", u.ID, userEvent(u)); err != nil {
				return err
			}
		} else if err := q.MarkMigrated(ctx, s.EnvID, userID, store.OriginLazy, now); err != nil {
			return apierr.FromStore(err, "user", userID)
		}
		if err := q.SetPasswordHash(ctx, s.EnvID, userID, hash, now); err != nil {
			return err
		}
		return s.emit(ctx, q, "user.password_migrated", userID, map[string]string{"id": userID})
	})
	if err != nil {
		return "", err
	}
	return userID, nil
}

// truncate cuts s to at most n bytes on a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// SignUpFields describe a user signing themselves up on the login page.
type SignUpFields struct {
	Email      string
	GivenName  string
	FamilyName string
	// OrgName names the organization created for the new user, who gets
	// the default creator role in it.
	OrgName string
}

// SignUp creates a user whose email was just verified by an emailed code,
// with a new organization of their own: the user is an ACTIVE member with
// the environment's default creator role (admin unless changed). One
// transaction; user.created, organization.created and membership.created
// events. A taken email is an AlreadyExists error.
func (s *Service) SignUp(ctx context.Context, f SignUpFields) (*store.User, error) {
	var v apierr.Violations
	email, norm := NormalizeEmail(&v, "email", f.Email)
	orgName := normDisplayName(&v, "organization_name", f.OrgName)
	given, family := strings.TrimSpace(f.GivenName), strings.TrimSpace(f.FamilyName)
	if len(given) > 255 {
		v.Add("given_name", "must be at most 255 characters")
	}
	if len(family) > 255 {
		v.Add("family_name", "must be at most 255 characters")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.Now()
	u := &store.User{ID: s.IDs.New(id.User), EnvID: s.EnvID, Email: email, EmailVerified: true, GivenName: given,
		FamilyName: family, Name: strings.TrimSpace(given + " " + family), CreatedAt: now, UpdatedAt: now}
	org := &store.Organization{ID: s.IDs.New(id.Organization), EnvID: s.EnvID, DisplayName: orgName,
		Features: map[string]bool{}, CreatedAt: now, UpdatedAt: now}
	var out *store.User
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		if err := q.CreateOrganization(ctx, org); err != nil {
			return apierr.FromStore(err, "organization", org.ID)
		}
		if err := s.emit(ctx, q, "organization.created", org.ID, orgEvent(org)); err != nil {
			return err
		}
		if err := q.CreateUser(ctx, u, norm); err != nil {
			return apierr.FromStore(err, "user", u.ID)
		}
		if err := s.emit(ctx, q, "user.created", u.ID, userEvent(u)); err != nil {
			return err
		}
		roles, err := s.creatorRoles(ctx, q)
		if err != nil {
			return err
		}
		m, err := s.addMembership(ctx, q, org, u, roles, MembershipFields{}, false)
		if err != nil {
			return err
		}
		u.Memberships, out = []*store.Membership{m}, u
		fillDefaults(u)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// creatorRoles is the environment's default creator role, or admin.
func (s *Service) creatorRoles(ctx context.Context, q *store.Q) ([]store.RoleRef, error) {
	defaults, err := q.RoleDefaults(ctx, s.EnvID, "")
	if err != nil {
		return nil, err
	}
	name := RoleAdmin
	if rid := defaults[store.DefaultCreator]; rid != "" {
		r, err := q.GetRole(ctx, s.EnvID, rid)
		if err == nil {
			name = r.Name
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	return s.resolveRoles(ctx, q, "", "roles", []string{name})
}

// RecordLogin notes a successful sign-in of a user into an organization
// ("" for none): a PENDING_INVITE membership there becomes ACTIVE (the
// invitation is accepted), the email becomes verified when verifiedEmail
// (the user entered an emailed code or followed an emailed link), and
// last_login_at is set. An expired invitation is not accepted.
func (s *Service) RecordLogin(ctx context.Context, userID, orgID string, verifiedEmail bool) error {
	return s.Store.Tx(ctx, func(q *store.Q) error {
		u, err := q.GetUser(ctx, s.EnvID, userID)
		if err != nil {
			return apierr.FromStore(err, "user", userID)
		}
		now := s.Now()
		for _, m := range u.Memberships {
			if m.OrgID != orgID || m.Status != store.MembershipPendingInvite {
				continue
			}
			if !m.ExpiresAt.IsZero() && now.After(m.ExpiresAt) {
				continue
			}
			m.Status, m.AcceptedAt, m.UpdatedAt = store.MembershipActive, now, now
			if err := q.UpdateMembership(ctx, m); err != nil {
				return apierr.FromStore(err, "membership", orgID+"/"+userID)
			}
			if err := s.emit(ctx, q, "membership.accepted", userID, membershipEvent(m)); err != nil {
				return err
			}
		}
		if verifiedEmail {
			u.EmailVerified = true
		}
		u.LastLoginAt, u.UpdatedAt = now, now
		return q.UpdateUser(ctx, u, strings.ToLower(u.Email))
	})
}

// ResetPassword consumes an emailed password reset token (by its hash)
// and stores the new password hash in the same transaction, marking the
// email verified. It returns the user; store.ErrNotFound when the token is
// unknown, used or expired. Every other open reset token of the user ends.
func (s *Service) ResetPassword(ctx context.Context, tokenHash, newHash string) (*store.User, error) {
	var u *store.User
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		userID, err := q.UsePasswordReset(ctx, s.EnvID, tokenHash, s.Now())
		if err != nil {
			return err
		}
		if err := s.setPasswordHash(ctx, q, userID, newHash, true); err != nil {
			return err
		}
		u, err = q.GetUser(ctx, s.EnvID, userID)
		return err
	})
	return u, err
}
