package settings_test

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/settings"
	"github.com/gatehouse/gatehouse/internal/testdb"
)

// AccessTokenTTLOf, given the stored row, agrees with EffectivePolicy for
// every organization, with and without a stored policy and with an
// organization policy of its own.
func TestAccessTokenTTLOfAgreesWithEffectivePolicy(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn, "development")
		org := f.org(t, "")
		check := func(when string, want time.Duration) {
			t.Helper()
			stored, err := f.st.Q().GetSessionPolicy(f.ctx, f.svc.EnvID)
			if err != nil {
				stored = nil // none stored yet
			}
			got := f.svc.AccessTokenTTLOf(stored)
			for _, o := range []string{"", org} {
				p, err := f.svc.EffectivePolicy(f.ctx, o)
				if err != nil || p.AccessTokenTTL != got || got != want {
					t.Errorf("%s, org %q: AccessTokenTTLOf = %s, EffectivePolicy = %+v, %v; want %s", when, o, got, p, err, want)
				}
			}
		}
		check("defaults", 299*time.Second)
		if _, err := f.svc.UpdateSessionPolicy(f.ctx, settings.SessionPolicy{AccessTokenTTLSeconds: 600, AbsoluteTimeoutMinutes: 8 * 60}); err != nil {
			t.Fatal(err)
		}
		check("environment policy", 600*time.Second)
		if _, err := f.svc.UpdateOrganizationSessionPolicy(f.ctx, org, settings.OrgSessionPolicyUpdate{Source: "CUSTOM",
			AbsoluteTimeout: ptr(int32(90)), AbsoluteTimeoutUnit: settings.Minutes}); err != nil {
			t.Fatal(err)
		}
		check("organization policy", 600*time.Second)
	})
}
