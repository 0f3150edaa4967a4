// Package accounts owns the rules for organizations, users and memberships:
// what a valid value is, what must be unique, which status a membership
// starts in, and which event each write emits. It runs every write in one
// transaction with its event and email, so a failure leaves nothing behind.
// It knows nothing of HTTP or protobuf.
package accounts

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/pagetoken"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Default roles every new environment has.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// Limits, documented in docs/api.md.
const (
	MaxMetadataKeys     = 64
	MaxMetadataKeyLen   = 64
	MaxMetadataValueLen = 512
	MaxDisplayNameLen   = 200
	MaxExternalIDLen    = 255
	DefaultPageSize     = 10
	MaxPageSize         = 100
	DefaultInviteTTL    = 7 * 24 * time.Hour
)

// Service implements the account rules for one environment.
type Service struct {
	Store     *store.Store
	IDs       *id.Generator
	Now       func() time.Time
	EnvID     string
	Pages     *pagetoken.Codec
	PublicURL string
	InviteTTL time.Duration
	// Sessions ends the sessions a membership removal, an organization
	// deletion or a user deletion takes away, in the same transaction
	// (SECURITY-BAR S04). Required for those calls.
	Sessions *sessions.Service
}

// PageRequest is a list call's paging input.
type PageRequest struct {
	Size  uint32
	Token string
}

// PageInfo is a list call's paging output.
type PageInfo struct {
	NextToken string
	Total     uint32
}

// page decodes a request into a store page bound to the list (kind, filter).
func (s *Service) page(p PageRequest, kind, filter string) (store.Page, error) {
	size := int(p.Size)
	if size == 0 {
		size = DefaultPageSize
	}
	if size > MaxPageSize {
		return store.Page{}, apierr.InvalidArgument(apierr.Violation{Field: "page_size", Description: "must be at most 100", Constraint: "max:100"})
	}
	after, err := s.Pages.Decode(p.Token, kind, filter)
	if err != nil {
		return store.Page{}, apierr.InvalidArgument(apierr.Violation{Field: "page_token", Description: err.Error()})
	}
	return store.Page{AfterID: after, Limit: size}, nil
}

// info builds the paging output for a result whose last item has lastID.
func info[T any](s *Service, r store.Result[T], lastID func(T) string, kind, filter string) PageInfo {
	pi := PageInfo{Total: uint32(r.Total)}
	if r.More && len(r.Items) > 0 {
		pi.NextToken = s.Pages.Encode(kind, filter, lastID(r.Items[len(r.Items)-1]))
	}
	return pi
}

// Page decodes a list request for another service's list (kind, filter),
// under the same rules as this service's lists.
func (s *Service) Page(p PageRequest, kind, filter string) (store.Page, error) {
	return s.page(p, kind, filter)
}

// Info builds the paging output of another service's list.
func Info[T any](s *Service, r store.Result[T], lastID func(T) string, kind, filter string) PageInfo {
	return info(s, r, lastID, kind, filter)
}

// emit appends an event to the outbox inside the caller's transaction.
func (s *Service) emit(ctx context.Context, q *store.Q, typ, objectID string, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	return q.AddEvent(ctx, &store.Event{ID: s.IDs.New(id.Event), EnvID: s.EnvID, Type: typ, ObjectID: objectID, Payload: string(b), CreatedAt: s.Now()})
}

// EnsureDefaultRoles gives a new environment its admin and member roles
// and makes them the default creator and member roles. Once the
// environment has both defaults it does nothing, so a role the operator
// later deleted stays deleted. Nodes starting at once take turns.
func (s *Service) EnsureDefaultRoles(ctx context.Context) error {
	return s.Store.Tx(ctx, func(q *store.Q) error {
		if err := q.LockBootstrap(ctx); err != nil {
			return err
		}
		defaults, err := q.RoleDefaults(ctx, s.EnvID, "")
		if err != nil || (defaults[store.DefaultCreator] != "" && defaults[store.DefaultMember] != "") {
			return err
		}
		have, err := q.RolesByName(ctx, s.EnvID, "", []string{RoleAdmin, RoleMember})
		if err != nil {
			return err
		}
		for _, r := range []struct{ name, display, desc, kind string }{
			{RoleAdmin, "Admin", "Manages the organization and its members", store.DefaultCreator},
			{RoleMember, "Member", "A member of the organization", store.DefaultMember},
		} {
			role, ok := have[r.name]
			if !ok {
				now := s.Now()
				role = store.RoleRef{ID: s.IDs.New(id.Role), Name: r.name, DisplayName: r.display}
				if err := q.CreateRole(ctx, &store.Role{ID: role.ID, EnvID: s.EnvID, Name: r.name, DisplayName: r.display,
					Description: r.desc, CreatedAt: now, UpdatedAt: now}); err != nil {
					return err
				}
			}
			if err := q.EnsureRoleDefault(ctx, s.EnvID, "", r.kind, role.ID); err != nil {
				return err
			}
		}
		return nil
	})
}
