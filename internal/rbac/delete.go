package rbac

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/store"
)

// deleteRole deletes a role once nothing depends on it: no role extends it,
// no default names it, and its users (if any) move to the role to names.
// Any refusal leaves everything as it was.
func (s *Service) deleteRole(ctx context.Context, orgRef, name string, to Reassign) error {
	return s.Store.Tx(ctx, func(q *store.Q) error {
		sc, r, err := s.roleIn(ctx, q, orgRef, name)
		if err != nil {
			return err
		}
		if err := q.LockRoleGraph(ctx); err != nil {
			return err
		}
		deps, err := q.DependentRoles(ctx, s.EnvID, r.ID)
		if err != nil {
			return err
		}
		if len(deps) > 0 {
			var names []string
			for _, d := range deps {
				names = append(names, d.Name)
			}
			return apierr.FailedPrecondition(fmt.Sprintf("role %q cannot be deleted while %s extend%s it; remove their base role or delete them first",
				r.Name, quoted(names), map[bool]string{true: "s", false: ""}[len(names) == 1]))
		}
		uses, err := q.RoleDefaultUses(ctx, s.EnvID, r.ID)
		if err != nil {
			return err
		}
		if len(uses) > 0 {
			return apierr.FailedPrecondition(fmt.Sprintf("role %q cannot be deleted while it is a default %s role; make another role the default first",
				r.Name, uses[0].Kind))
		}
		var target *store.Role
		if to.ID != "" || to.Name != "" {
			field := "reassign_role_name"
			if to.ID != "" {
				field = "reassign_role_id"
			}
			if target, err = s.choose(ctx, q, scope{org: sc.org}, field, to); err != nil {
				return err
			}
			if target.ID == r.ID {
				return apierr.InvalidArgument(apierr.Violation{Field: field, Description: "must name a role other than the one being deleted"})
			}
		}
		holders, err := q.CountRoleUsers(ctx, s.EnvID, "", r.ID)
		if err != nil {
			return err
		}
		if holders > 0 && target == nil {
			e := apierr.FailedPrecondition(fmt.Sprintf("role %q is assigned to %d user(s); name a role to move them to with reassign_role_name, or remove the role from them first",
				r.Name, holders))
			e.Violations = []apierr.Violation{{Field: "reassign_role_name", Description: "is required while the role is assigned to users"}}
			return e
		}
		moved := 0
		ev := roleEvent(r)
		if target != nil {
			if moved, err = q.ReassignRole(ctx, s.EnvID, r.ID, target.ID, s.Now()); err != nil {
				return err
			}
			ev["reassigned_to"] = target.Name
		}
		ev["reassigned_memberships"] = moved
		if err := q.DeleteRole(ctx, s.EnvID, r.ID); err != nil {
			return apierr.FromStore(err, "role", name)
		}
		return s.emit(ctx, q, "role.deleted", r.ID, ev)
	})
}

// deleteRoleBase makes a role extend no role; it keeps its own permissions.
func (s *Service) deleteRoleBase(ctx context.Context, orgRef, name string) error {
	return s.Store.Tx(ctx, func(q *store.Q) error {
		_, r, err := s.roleIn(ctx, q, orgRef, name)
		if err != nil || r.BaseRoleID == "" {
			return err
		}
		old := r.BaseName
		r.BaseRoleID, r.BaseName, r.UpdatedAt = "", "", s.Now()
		if err := q.UpdateRole(ctx, r); err != nil {
			return apierr.FromStore(err, "role", name)
		}
		ev := roleEvent(r)
		ev["removed_base"] = old
		return s.emit(ctx, q, "role.updated", r.ID, ev)
	})
}
