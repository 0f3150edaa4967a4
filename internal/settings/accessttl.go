package settings

import (
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// AccessTokenTTLOf is EffectivePolicy's AccessTokenTTL worked out from the
// environment's session policy as stored (nil when none is stored: the
// default applies), for a caller that has read the row itself inside its
// transaction: the refresh grant reads it in the same query as the grant
// and the user, which saves two round trips per rotation. Organizations'
// policies never change the access-token lifetime, so nothing else is
// needed.
func (s *Service) AccessTokenTTLOf(stored *store.SessionPolicy) time.Duration {
	return effective(appPolicy(stored), nil).AccessTokenTTL
}
