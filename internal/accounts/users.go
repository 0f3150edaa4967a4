package accounts

import (
	"context"
	"strings"

	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ProfileFields are a user's writable profile fields; nil means not set.
// FirstName and LastName are Scalekit's names for GivenName and FamilyName
// and win when both are set.
type ProfileFields struct {
	GivenName, FamilyName, FirstName, LastName, Name *string
	Locale, PhoneNumber, PreferredUsername, Picture  *string
	Gender                                           *string
	Metadata, CustomAttributes                       map[string]string
	Groups                                           []string
}

// UserFields are a user's writable fields; nil means not set.
type UserFields struct {
	Email      *string
	ExternalID *string
	Metadata   map[string]string
	Profile    ProfileFields
}

// MembershipFields are a membership's writable fields; nil Roles means not set.
type MembershipFields struct {
	Roles        []string
	Metadata     map[string]string
	InviterEmail *string
}

// CreateUserAndMembership creates a user inside an organization. With
// sendInvite false the membership is ACTIVE and the email verified (the
// user was vetted by the system they come from); otherwise it is
// PENDING_INVITE and an invitation email is queued.
func (s *Service) CreateUserAndMembership(ctx context.Context, orgRef string, f UserFields, mf MembershipFields, sendInvite bool) (*store.User, error) {
	var v apierr.Violations
	now := s.Now()
	email, norm := NormalizeEmail(&v, "user.email", deref(f.Email))
	u := &store.User{ID: s.IDs.New(id.User), EnvID: s.EnvID, Email: email, CreatedAt: now, UpdatedAt: now,
		ExternalID: normExternalID(&v, "user.external_id", f.ExternalID), Metadata: f.Metadata}
	checkMetadata(&v, "user.metadata", f.Metadata)
	applyProfile(&v, "user.user_profile", u, f.Profile)
	checkMetadata(&v, "user.membership.metadata", mf.Metadata)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *store.User
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		org, err := s.ResolveOrganization(ctx, q, orgRef)
		if err != nil {
			return err
		}
		roles, err := s.resolveRoles(ctx, q, org.ID, "user.membership.roles", mf.Roles)
		if err != nil {
			return err
		}
		u.EmailVerified = !sendInvite
		if err := q.CreateUser(ctx, u, norm); err != nil {
			return apierr.FromStore(err, "user", u.ID)
		}
		if err := s.emit(ctx, q, "user.created", u.ID, userEvent(u)); err != nil {
			return err
		}
		m, err := s.addMembership(ctx, q, org, u, roles, mf, sendInvite)
		if err != nil {
			return err
		}
		// The new user has exactly this membership: answer from memory
		// rather than reading back what was just written.
		u.Memberships, out = []*store.Membership{m}, u
		fillDefaults(u)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.present(out), nil
}

// applyProfile validates profile fields and writes the set ones into u.
func applyProfile(v *apierr.Violations, field string, u *store.User, p ProfileFields) {
	set := func(dst *string, vals ...*string) {
		for _, val := range vals {
			if val != nil {
				*dst = strings.TrimSpace(*val)
				return
			}
		}
	}
	set(&u.GivenName, p.FirstName, p.GivenName)
	set(&u.FamilyName, p.LastName, p.FamilyName)
	set(&u.Name, p.Name)
	set(&u.Locale, p.Locale)
	set(&u.PhoneNumber, p.PhoneNumber)
	set(&u.PreferredUsername, p.PreferredUsername)
	set(&u.Picture, p.Picture)
	set(&u.Gender, p.Gender)
	for name, val := range map[string]string{"first_name": u.GivenName, "last_name": u.FamilyName, "name": u.Name,
		"locale": u.Locale, "phone_number": u.PhoneNumber, "preferred_username": u.PreferredUsername, "gender": u.Gender} {
		if len(val) > MaxDisplayNameLen {
			v.Add(field+"."+name, "must be at most 200 characters")
		}
	}
	if p.Picture != nil {
		checkURL(v, field+".picture", p.Picture)
	}
	if p.Metadata != nil {
		checkMetadata(v, field+".metadata", p.Metadata)
		u.ProfileMetadata = p.Metadata
	}
	if p.CustomAttributes != nil {
		checkMetadata(v, field+".custom_attributes", p.CustomAttributes)
		u.CustomAttributes = p.CustomAttributes
	}
	if p.Groups != nil {
		u.Groups = p.Groups
	}
}

// GetUser reads a user by id or external id.
func (s *Service) GetUser(ctx context.Context, ref Ref) (*store.User, error) {
	u, err := s.getUser(ctx, s.Store.Q(), ref)
	if err != nil {
		return nil, err
	}
	return s.present(u), nil
}

func (s *Service) getUser(ctx context.Context, q *store.Q, ref Ref) (*store.User, error) {
	var u *store.User
	var err error
	switch {
	case ref.ID != "":
		u, err = q.GetUser(ctx, s.EnvID, ref.ID)
	case ref.ExternalID != "":
		u, err = q.GetUserByExternalID(ctx, s.EnvID, ref.ExternalID)
	default:
		return nil, apierr.InvalidArgument(apierr.Violation{Field: "id", Description: "id or external_id is required"})
	}
	return u, apierr.FromStore(err, "user", ref.String())
}

// UpdateUser applies the set fields of f to a user.
func (s *Service) UpdateUser(ctx context.Context, ref Ref, f UserFields) (*store.User, error) {
	var out *store.User
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		u, err := s.getUser(ctx, q, ref)
		if err != nil {
			return err
		}
		var v apierr.Violations
		if f.ExternalID != nil {
			u.ExternalID = normExternalID(&v, "user.external_id", f.ExternalID)
		}
		if len(f.Metadata) > 0 {
			checkMetadata(&v, "user.metadata", f.Metadata)
			u.Metadata = f.Metadata
		}
		applyProfile(&v, "user.user_profile", u, f.Profile)
		if err := v.Err(); err != nil {
			return err
		}
		u.UpdatedAt = s.Now()
		if err := q.UpdateUser(ctx, u, strings.ToLower(u.Email)); err != nil {
			return apierr.FromStore(err, "user", ref.String())
		}
		out, err = q.GetUser(ctx, s.EnvID, u.ID)
		if err != nil {
			return err
		}
		return s.emit(ctx, q, "user.updated", u.ID, userEvent(out))
	})
	if err != nil {
		return nil, err
	}
	return s.present(out), nil
}

// DeleteUser removes a user and all their memberships. The user's
// sessions end first, in the same transaction, so their clients can be
// told (back-channel logout) before the deletion cascades the sessions and
// their tokens away.
func (s *Service) DeleteUser(ctx context.Context, ref Ref) error {
	var ended []*store.Session
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		u, err := s.getUser(ctx, q, ref)
		if err != nil {
			return err
		}
		if ended, err = s.endSessionsIn(ctx, q, store.SessionOwner{UserID: u.ID}, sessions.ReasonUserDeleted); err != nil {
			return err
		}
		if err := q.DeleteUser(ctx, s.EnvID, u.ID); err != nil {
			return apierr.FromStore(err, "user", ref.String())
		}
		return s.emit(ctx, q, "user.deleted", u.ID, map[string]string{"id": u.ID})
	})
	if err != nil {
		return err
	}
	s.notifyEnded(ctx, ended)
	return nil
}

// ListUsers pages through users, all or one organization's, optionally
// matching a search query.
func (s *Service) ListUsers(ctx context.Context, orgRef, query string, p PageRequest) ([]*store.User, PageInfo, error) {
	f := store.UserFilter{Query: query}
	if orgRef != "" {
		org, err := s.ResolveOrganization(ctx, s.Store.Q(), orgRef)
		if err != nil {
			return nil, PageInfo{}, err
		}
		f.OrgID = org.ID
	}
	filter := "org=" + f.OrgID + "&q=" + query
	pg, err := s.page(p, "users", filter)
	if err != nil {
		return nil, PageInfo{}, err
	}
	r, err := s.Store.Q().ListUsers(ctx, s.EnvID, f, pg)
	if err != nil {
		return nil, PageInfo{}, err
	}
	for _, u := range r.Items {
		s.present(u)
	}
	return r.Items, info(s, r, func(u *store.User) string { return u.ID }, "users", filter), nil
}

// present adjusts stored state to what callers see now: an invitation past
// its expiry shows as INVITE_EXPIRED.
func (s *Service) present(u *store.User) *store.User {
	now := s.Now()
	for _, m := range u.Memberships {
		if m.Status == store.MembershipPendingInvite && !m.ExpiresAt.IsZero() && now.After(m.ExpiresAt) {
			m.Status = store.MembershipInviteExpired
		}
	}
	return u
}

func userEvent(u *store.User) map[string]any {
	return map[string]any{"id": u.ID, "email": u.Email, "external_id": u.ExternalID, "metadata": u.Metadata}
}

// fillDefaults gives a freshly built user the empty collections a read
// from the store would, so a create answers exactly as a later get does.
func fillDefaults(u *store.User) {
	for _, m := range []*map[string]string{&u.Metadata, &u.ProfileMetadata, &u.CustomAttributes} {
		if *m == nil {
			*m = map[string]string{}
		}
	}
	if u.Groups == nil {
		u.Groups = []string{}
	}
}
