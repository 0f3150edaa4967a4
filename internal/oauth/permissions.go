package oauth

import (
	"context"
	"sort"

	"github.com/gatehouse/gatehouse/internal/store"
)

// StorePermissions resolves permissions from the roles-and-permissions
// tables, base roles included, at each token issuance: a permission added
// to or removed from a role shows in the next access token.
type StorePermissions struct {
	Store *store.Store
	EnvID string
}

// Permissions implements PermissionResolver.
func (p StorePermissions) Permissions(ctx context.Context, roleIDs []string) ([]string, error) {
	byRole, err := p.Store.Q().EffectivePermissions(ctx, p.EnvID, roleIDs)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, ps := range byRole {
		for _, perm := range ps {
			if !seen[perm.Name] {
				seen[perm.Name] = true
				out = append(out, perm.Name)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}
