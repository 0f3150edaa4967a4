package api

import (
	"context"
	"time"

	"connectrpc.com/connect"

	gatehousev1 "github.com/gatehouse/gatehouse/gen/gatehouse/v1"
	"github.com/gatehouse/gatehouse/gen/gatehouse/v1/gatehousev1connect"
	"github.com/gatehouse/gatehouse/internal/legacyauth"
)

// migrationAPI implements gatehouse.v1.MigrationService: the lazy
// migration setting and the migration status (docs/lazy-migration.md).
type migrationAPI struct {
	gatehousev1connect.UnimplementedMigrationServiceHandler
	svc *legacyauth.Service
}

func (h *migrationAPI) GetLazyMigration(ctx context.Context, _ *connect.Request[gatehousev1.GetLazyMigrationRequest]) (*connect.Response[gatehousev1.LazyMigration], error) {
	s, err := h.svc.Get(ctx)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(lazyMigrationProto(s)), nil
}

func (h *migrationAPI) UpdateLazyMigration(ctx context.Context, req *connect.Request[gatehousev1.UpdateLazyMigrationRequest]) (*connect.Response[gatehousev1.LazyMigration], error) {
	in := req.Msg.GetLazyMigration()
	if in == nil {
		return nil, missingBody("lazy_migration")
	}
	s, err := h.svc.Put(ctx, legacyauth.Update{URL: in.GetUrl(), Secret: in.GetSecret(),
		Timeout: time.Duration(in.GetTimeoutMs()) * time.Millisecond, CreateUnknownUsers: in.GetCreateUnknownUsers()})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(lazyMigrationProto(s)), nil
}

func (h *migrationAPI) DisableLazyMigration(ctx context.Context, _ *connect.Request[gatehousev1.DisableLazyMigrationRequest]) (*connect.Response[gatehousev1.LazyMigration], error) {
	if err := h.svc.Disable(ctx); err != nil {
		return nil, err
	}
	return connect.NewResponse(&gatehousev1.LazyMigration{}), nil
}

// lazyMigrationProto never carries the secret: the API is write-only for it.
func lazyMigrationProto(s legacyauth.Settings) *gatehousev1.LazyMigration {
	return &gatehousev1.LazyMigration{Enabled: s.Enabled, Url: s.URL, SecretSet: s.SecretSet,
		TimeoutMs: int32(s.Timeout.Milliseconds()), CreateUnknownUsers: s.CreateUnknownUsers}
}

func (h *migrationAPI) GetMigrationStatus(ctx context.Context, _ *connect.Request[gatehousev1.GetMigrationStatusRequest]) (*connect.Response[gatehousev1.MigrationStatus], error) {
	st, err := h.svc.Status(ctx)
	if err != nil {
		return nil, err
	}
	out := &gatehousev1.MigrationStatus{TotalUsers: st.TotalUsers, DependingOnLegacy: st.DependingOnLegacy,
		LazyMigration: lazyMigrationProto(st.LazyMigration)}
	for _, o := range st.Origins {
		out.Origins = append(out.Origins, &gatehousev1.OriginStatus{Origin: o.Origin, Users: o.Users,
			SignedInSinceMigration: o.SignedInSinceMigration, NotSignedInSinceMigration: o.NotSignedInSinceMigration,
			WithoutPassword: o.WithoutPassword})
	}
	return connect.NewResponse(out), nil
}
