package accounts

import (
	"context"
	"errors"
	"strings"

	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/store"
)

// OrgFields are the writable fields of an organization. Nil pointers and
// nil maps mean "not set in the request".
type OrgFields struct {
	DisplayName *string
	ExternalID  *string
	RegionCode  *int32
	Slug        *string
	LogoURL     *string
	Metadata    map[string]string
}

// Ref names an object by id or by external id.
type Ref struct {
	ID         string
	ExternalID string
}

func (r Ref) String() string {
	if r.ID != "" {
		return r.ID
	}
	return r.ExternalID
}

// CreateOrganization validates f and stores a new organization.
func (s *Service) CreateOrganization(ctx context.Context, f OrgFields) (*store.Organization, error) {
	var v apierr.Violations
	name := ""
	if f.DisplayName != nil {
		name = *f.DisplayName
	}
	now := s.Now()
	o := &store.Organization{
		ID: s.IDs.New(id.Organization), EnvID: s.EnvID,
		DisplayName: normDisplayName(&v, "display_name", name),
		ExternalID:  normExternalID(&v, "external_id", f.ExternalID),
		Slug:        f.Slug, LogoURL: f.LogoURL, Metadata: f.Metadata,
		Features: map[string]bool{}, CreatedAt: now, UpdatedAt: now,
	}
	if f.RegionCode != nil {
		o.RegionCode = *f.RegionCode
	}
	checkURL(&v, "logo_url", f.LogoURL)
	checkMetadata(&v, "metadata", f.Metadata)
	if err := v.Err(); err != nil {
		return nil, err
	}
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		if err := q.CreateOrganization(ctx, o); err != nil {
			return apierr.FromStore(err, "organization", o.ID)
		}
		return s.emit(ctx, q, "organization.created", o.ID, orgEvent(o))
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// GetOrganization reads an organization by id or external id.
func (s *Service) GetOrganization(ctx context.Context, ref Ref) (*store.Organization, error) {
	return s.getOrg(ctx, s.Store.Q(), ref)
}

func (s *Service) getOrg(ctx context.Context, q *store.Q, ref Ref) (*store.Organization, error) {
	var o *store.Organization
	var err error
	switch {
	case ref.ID != "":
		o, err = q.GetOrganization(ctx, s.EnvID, ref.ID)
	case ref.ExternalID != "":
		o, err = q.GetOrganizationByExternalID(ctx, s.EnvID, ref.ExternalID)
	default:
		return nil, apierr.InvalidArgument(apierr.Violation{Field: "id", Description: "id or external_id is required"})
	}
	return o, apierr.FromStore(err, "organization", ref.String())
}

// ResolveOrganization finds the organization a path segment names: its id,
// or, as the guide's examples do, its external id when no organization has
// that id.
func (s *Service) ResolveOrganization(ctx context.Context, q *store.Q, idOrExternal string) (*store.Organization, error) {
	if strings.TrimSpace(idOrExternal) == "" {
		return nil, apierr.InvalidArgument(apierr.Violation{Field: "organization_id", Description: "must not be empty"})
	}
	o, err := q.GetOrganization(ctx, s.EnvID, idOrExternal)
	if errors.Is(err, store.ErrNotFound) {
		o, err = q.GetOrganizationByExternalID(ctx, s.EnvID, idOrExternal)
	}
	return o, apierr.FromStore(err, "organization", idOrExternal)
}

// UpdateOrganization applies f to the organization under update-mask rules:
// without a mask, the fields the request set; with one, exactly its paths.
func (s *Service) UpdateOrganization(ctx context.Context, ref Ref, f OrgFields, paths []string) (*store.Organization, error) {
	var v apierr.Violations
	m := newMask(&v, paths, "display_name", "external_id", "slug", "logo_url", "metadata")
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *store.Organization
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		o, err := s.getOrg(ctx, q, ref)
		if err != nil {
			return err
		}
		if m.applies("display_name", f.DisplayName != nil) {
			o.DisplayName = normDisplayName(&v, "display_name", deref(f.DisplayName))
		}
		if m.applies("external_id", f.ExternalID != nil) {
			o.ExternalID = normExternalID(&v, "external_id", f.ExternalID)
		}
		if m.applies("slug", f.Slug != nil) {
			o.Slug = emptyNil(f.Slug)
		}
		if m.applies("logo_url", f.LogoURL != nil) {
			checkURL(&v, "logo_url", f.LogoURL)
			o.LogoURL = emptyNil(f.LogoURL)
		}
		if m.applies("metadata", len(f.Metadata) > 0) {
			checkMetadata(&v, "metadata", f.Metadata)
			o.Metadata = f.Metadata
		}
		if err := v.Err(); err != nil {
			return err
		}
		o.UpdatedAt = s.Now()
		if err := q.UpdateOrganization(ctx, o); err != nil {
			return apierr.FromStore(err, "organization", ref.String())
		}
		out = o
		return s.emit(ctx, q, "organization.updated", o.ID, orgEvent(o))
	})
	return out, err
}

// UpdateOrganizationSettings switches the named features on or off.
func (s *Service) UpdateOrganizationSettings(ctx context.Context, orgID string, features map[string]bool) (*store.Organization, error) {
	var v apierr.Violations
	for name := range features {
		if strings.TrimSpace(name) == "" {
			v.Add("settings.features.name", "must not be empty")
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *store.Organization
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		o, err := s.getOrg(ctx, q, Ref{ID: orgID})
		if err != nil {
			return err
		}
		for name, on := range features {
			o.Features[name] = on
		}
		o.UpdatedAt = s.Now()
		if err := q.UpdateOrganization(ctx, o); err != nil {
			return apierr.FromStore(err, "organization", orgID)
		}
		out = o
		return s.emit(ctx, q, "organization.updated", o.ID, orgEvent(o))
	})
	return out, err
}

// DeleteOrganization removes an organization and its memberships; the
// users stay. Every session for the organization ends first, in the same
// transaction, so its clients can be told (back-channel logout) before the
// deletion cascades the sessions and their tokens away.
func (s *Service) DeleteOrganization(ctx context.Context, ref Ref) error {
	var ended []*store.Session
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		o, err := s.getOrg(ctx, q, ref)
		if err != nil {
			return err
		}
		if ended, err = s.endSessionsIn(ctx, q, store.SessionOwner{OrgID: o.ID}, sessions.ReasonOrgDeleted); err != nil {
			return err
		}
		if err := q.DeleteOrganization(ctx, s.EnvID, o.ID); err != nil {
			return apierr.FromStore(err, "organization", ref.String())
		}
		return s.emit(ctx, q, "organization.deleted", o.ID, map[string]string{"id": o.ID})
	})
	if err != nil {
		return err
	}
	s.notifyEnded(ctx, ended)
	return nil
}

// ListOrganizations pages through organizations, optionally by external id
// or a search query.
func (s *Service) ListOrganizations(ctx context.Context, f store.OrgFilter, p PageRequest) ([]*store.Organization, PageInfo, error) {
	filter := "q=" + f.Query
	if f.ExternalID != nil {
		filter = "ext=" + *f.ExternalID
	}
	pg, err := s.page(p, "organizations", filter)
	if err != nil {
		return nil, PageInfo{}, err
	}
	r, err := s.Store.Q().ListOrganizations(ctx, s.EnvID, f, pg)
	if err != nil {
		return nil, PageInfo{}, err
	}
	return r.Items, info(s, r, func(o *store.Organization) string { return o.ID }, "organizations", filter), nil
}

func orgEvent(o *store.Organization) map[string]any {
	return map[string]any{"id": o.ID, "display_name": o.DisplayName, "external_id": o.ExternalID, "metadata": o.Metadata}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func emptyNil(s *string) *string {
	if s == nil || *s == "" {
		return nil
	}
	return s
}
