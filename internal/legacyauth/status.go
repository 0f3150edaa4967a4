package legacyauth

import (
	"context"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Origins as the migration status names them, in the order it lists them.
var originNames = []struct{ stored, name string }{
	{store.OriginNative, "native"},
	{store.OriginImportHash, "import_hash"},
	{store.OriginImportNoHash, "import_no_hash"},
	{store.OriginLazy, "lazy"},
}

// OriginStatus counts the users who arrived one way.
type OriginStatus struct {
	Origin                    string `json:"origin"`
	Users                     int64  `json:"users"`
	SignedInSinceMigration    int64  `json:"signed_in_since_migration"`
	NotSignedInSinceMigration int64  `json:"not_signed_in_since_migration"`
	WithoutPassword           int64  `json:"without_password"`
}

// Status is the environment's migration status: whether the legacy system
// is still needed.
type Status struct {
	TotalUsers int64
	Origins    []OriginStatus // every origin, in originNames order
	// DependingOnLegacy counts the users imported without a hash who have
	// no password and have not signed in since: only the legacy system
	// (through lazy migration) or a password reset gets them a password.
	DependingOnLegacy int64
	LazyMigration     Settings
}

// Status counts the environment's users by origin and sign-in since
// their migration, with the lazy migration setting.
func (s *Service) Status(ctx context.Context) (Status, error) {
	counts, err := s.Store.Q().MigrationCounts(ctx, s.EnvID)
	if err != nil {
		return Status{}, err
	}
	byOrigin := map[string]store.OriginCount{}
	for _, c := range counts {
		byOrigin[c.Origin] = c
	}
	var st Status
	for _, o := range originNames {
		c := byOrigin[o.stored]
		st.Origins = append(st.Origins, OriginStatus{Origin: o.name, Users: c.Users, SignedInSinceMigration: c.SignedInSince,
			NotSignedInSinceMigration: c.Users - c.SignedInSince, WithoutPassword: c.NoPasswordNotSignedIn})
		st.TotalUsers += c.Users
	}
	st.DependingOnLegacy = byOrigin[store.OriginImportNoHash].NoPasswordNotSignedIn
	if st.LazyMigration, err = s.Get(ctx); err != nil {
		return Status{}, err
	}
	return st, nil
}
