// Package rbac owns the rules for roles and permissions, apart from the
// membership rules in accounts because roles are defined once and assigned
// many times: what a valid role or permission name is, which roles a role
// may extend (its base, whose permissions it inherits transitively, never
// in a cycle), which roles are given by default, and what happens to the
// members of a role that is deleted. Accounts assigns roles to memberships;
// this package defines them.
//
// Every write runs in one transaction with its event, so a refused request
// changes nothing. Nothing is cached: each call reads the database, so
// every node sharing it enforces a change from its next request on.
package rbac

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Name rules and limits, documented in docs/api.md.
const (
	// RoleNamePattern is Scalekit's documented rule: letters, digits and
	// underscores, 1 to 64 characters.
	RoleNamePattern = `^[A-Za-z0-9_]{1,64}$`
	// PermissionNamePattern admits resource:action names (projects:create,
	// dept:members:read): lowercase segments joined by colons; the first
	// starts with a letter or digit, later ones may also hold *.
	PermissionNamePattern = `^[a-z0-9][a-z0-9_.-]*(:[a-z0-9_.*-]+)*$`
	MaxPermissionNameLen  = 128
	MaxDescriptionLen     = 2000
)

var (
	roleNameRule       = regexp.MustCompile(RoleNamePattern)
	permissionNameRule = regexp.MustCompile(PermissionNamePattern)
)

// Service implements the role and permission rules for one environment.
type Service struct {
	Store *store.Store
	IDs   *id.Generator
	Now   func() time.Time
	EnvID string
	// Accounts resolves organizations (by id or external id) and pages
	// lists, the same way the account API does.
	Accounts *accounts.Service
}

// Role is a role as the API shows it: the stored role, whether it is a
// default, and its permissions (direct, or effective when asked).
type Role struct {
	store.Role
	DefaultCreator bool
	DefaultMember  bool
	Permissions    []store.RolePermission
}

// IsOrgRole reports whether the role belongs to one organization.
func (r *Role) IsOrgRole() bool { return r.OrgID != "" }

// include says which permissions a role read lists.
type include int

const (
	includeDirect    include = iota // the role's own permissions
	includeEffective                // its own and every base role's
)

// parseInclude reads the include parameter of GetRole and ListRoles.
func parseInclude(s string) (include, error) {
	switch strings.TrimSpace(s) {
	case "", "permissions":
		return includeDirect, nil
	case "permissions:all":
		return includeEffective, nil
	}
	return 0, apierr.InvalidArgument(apierr.Violation{Field: "include",
		Description: `must be empty, "permissions" (the role's own permissions) or "permissions:all" (inherited ones too)`})
}

func checkRoleName(v *apierr.Violations, field, name string) {
	if !roleNameRule.MatchString(name) {
		*v = append(*v, apierr.Violation{Field: field, Constraint: "pattern:" + RoleNamePattern,
			Description: "must be 1 to 64 characters, each a letter, a digit or an underscore"})
	}
}

func checkPermissionName(v *apierr.Violations, field, name string) {
	if len(name) > MaxPermissionNameLen || !permissionNameRule.MatchString(name) {
		*v = append(*v, apierr.Violation{Field: field, Constraint: "pattern:" + PermissionNamePattern,
			Description: fmt.Sprintf("must be 1 to %d characters in resource:action form such as projects:create: "+
				"lowercase letters, digits, '_', '.' and '-', in segments joined by ':' ('*' allowed after the first ':')", MaxPermissionNameLen)})
	}
}

func checkDescription(v *apierr.Violations, field string, s *string) {
	if s != nil && utf8.RuneCountInString(*s) > MaxDescriptionLen {
		v.Add(field, fmt.Sprintf("must be at most %d characters", MaxDescriptionLen))
	}
}

// pathName checks a name taken from the request path is present.
func pathName(field, name string) error {
	if strings.TrimSpace(name) == "" {
		return apierr.InvalidArgument(apierr.Violation{Field: field, Description: "must not be empty"})
	}
	return nil
}

// scope is where a call acts: the environment's roles (org nil), or one
// organization's own roles plus the environment's.
type scope struct{ org *store.Organization }

func (sc scope) orgID() string {
	if sc.org == nil {
		return ""
	}
	return sc.org.ID
}

// orgScope resolves an organization named by id or external id.
func (s *Service) orgScope(ctx context.Context, q *store.Q, orgRef string) (scope, error) {
	if strings.TrimSpace(orgRef) == "" {
		return scope{}, apierr.InvalidArgument(apierr.Violation{Field: "org_id", Description: "must not be empty"})
	}
	org, err := s.Accounts.ResolveOrganization(ctx, q, orgRef)
	return scope{org: org}, err
}

// ownRole finds a role the scope itself defines, for changes.
func (s *Service) ownRole(ctx context.Context, q *store.Q, sc scope, field, name string) (*store.Role, error) {
	if err := pathName(field, name); err != nil {
		return nil, err
	}
	r, err := q.GetRoleByName(ctx, s.EnvID, sc.orgID(), name)
	if sc.org != nil {
		return r, apierr.FromStore(err, "organization role", name)
	}
	return r, apierr.FromStore(err, "role", name)
}

// visibleRole finds a role usable in the scope: in an organization, its
// own role of that name, else the environment's. The error is
// store.ErrNotFound when there is none.
func (s *Service) visibleRole(ctx context.Context, q *store.Q, sc scope, name string) (*store.Role, error) {
	if sc.org != nil {
		r, err := q.GetRoleByName(ctx, s.EnvID, sc.org.ID, name)
		if !errors.Is(err, store.ErrNotFound) {
			return r, err
		}
	}
	return q.GetRoleByName(ctx, s.EnvID, "", name)
}

// choose finds the role a request names by id or by name, among those
// visible in the scope; field names the request field for errors.
func (s *Service) choose(ctx context.Context, q *store.Q, sc scope, field string, c accounts.RoleChoice) (*store.Role, error) {
	var r *store.Role
	var err error
	ref := c.Name
	if c.ID != "" {
		ref = c.ID
		r, err = q.GetRole(ctx, s.EnvID, c.ID)
		if err == nil && r.OrgID != "" && r.OrgID != sc.orgID() {
			err = store.ErrNotFound // another organization's role
		}
	} else {
		r, err = s.visibleRole(ctx, q, sc, c.Name)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, apierr.InvalidArgument(apierr.Violation{Field: field, Description: fmt.Sprintf("role %q does not exist", ref)})
	}
	return r, err
}

// present adds defaults and permissions to roles read in a scope.
func (s *Service) present(ctx context.Context, q *store.Q, sc scope, roles []*store.Role, inc include) ([]*Role, error) {
	defaults, err := q.RoleDefaults(ctx, s.EnvID, "")
	if err != nil {
		return nil, err
	}
	member := defaults[store.DefaultMember]
	if sc.org != nil {
		own, err := q.RoleDefaults(ctx, s.EnvID, sc.org.ID)
		if err != nil {
			return nil, err
		}
		if m := own[store.DefaultMember]; m != "" {
			member = m
		}
	}
	ids := make([]string, len(roles))
	for i, r := range roles {
		ids[i] = r.ID
	}
	perms, err := q.RolePermissions(ctx, s.EnvID, ids)
	if inc == includeEffective {
		perms, err = q.EffectivePermissions(ctx, s.EnvID, ids)
	}
	if err != nil {
		return nil, err
	}
	out := make([]*Role, len(roles))
	for i, r := range roles {
		out[i] = &Role{Role: *r, DefaultCreator: r.ID == defaults[store.DefaultCreator], DefaultMember: r.ID == member,
			Permissions: perms[r.ID]}
		if out[i].Permissions == nil {
			out[i].Permissions = []store.RolePermission{}
		}
	}
	return out, nil
}

func (s *Service) presentOne(ctx context.Context, q *store.Q, sc scope, r *store.Role, inc include) (*Role, error) {
	out, err := s.present(ctx, q, sc, []*store.Role{r}, inc)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// emit appends an event to the outbox inside the caller's transaction.
func (s *Service) emit(ctx context.Context, q *store.Q, typ, objectID string, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	return q.AddEvent(ctx, &store.Event{ID: s.IDs.New(id.Event), EnvID: s.EnvID, Type: typ, ObjectID: objectID, Payload: string(b), CreatedAt: s.Now()})
}

func roleEvent(r *store.Role) map[string]any {
	return map[string]any{"id": r.ID, "name": r.Name, "organization_id": r.OrgID, "display_name": r.DisplayName,
		"description": r.Description, "extends": r.BaseName}
}

// quoted renders names for messages: "a", "b" and "c".
func quoted(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	sort.Strings(q)
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}
