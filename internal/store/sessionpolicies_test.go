package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testdb"
)

// TestGetSessionPolicies: the one-statement read answers what
// GetSessionPolicy and GetOrgSessionPolicy answer (nil for their
// ErrNotFound), for an environment with and without its policy and an
// organization with and without its own, none (""), one of another
// environment, and one that does not exist; and it reads through a
// transaction.
func TestGetSessionPolicies(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		f := open(t, dsn)
		a, b := f.env(t), f.env(t)
		custom := f.org(t, a.ID, "Custom", nil)
		plain := f.org(t, a.ID, "Plain", nil)
		elsewhere := f.org(t, b.ID, "Elsewhere", nil)
		orgs := []string{"", custom.ID, plain.ID, elsewhere.ID, "org_missing"}
		agree := func(when string, q *store.Q) {
			t.Helper()
			for _, env := range []string{a.ID, b.ID} {
				for _, org := range orgs {
					gotEnv, gotOrg, err := q.GetSessionPolicies(f.ctx, env, org)
					must(t, err, "GetSessionPolicies "+when)
					wantEnv, err := f.q.GetSessionPolicy(f.ctx, env)
					if errors.Is(err, store.ErrNotFound) {
						wantEnv, err = nil, nil
					}
					must(t, err, "GetSessionPolicy "+when)
					var wantOrg *store.OrgSessionPolicy
					if org != "" {
						if wantOrg, err = f.q.GetOrgSessionPolicy(f.ctx, env, org); errors.Is(err, store.ErrNotFound) {
							wantOrg, err = nil, nil
						}
						must(t, err, "GetOrgSessionPolicy "+when)
					}
					wantEqual(t, when+": the environment's policy of "+env+" for "+org, gotEnv, wantEnv)
					wantEqual(t, when+": the organization's policy of "+env+"/"+org, gotOrg, wantOrg)
				}
			}
		}
		agree("before any policy", f.q)

		must(t, f.q.PutOrgSessionPolicy(f.ctx, &store.OrgSessionPolicy{EnvID: a.ID, OrgID: custom.ID, AbsoluteTimeout: 8,
			AbsoluteTimeoutUnit: "HOURS", IdleTimeoutEnabled: true, IdleTimeout: 30, IdleTimeoutUnit: "MINUTES", UpdatedAt: t0}), "PutOrgSessionPolicy")
		must(t, f.q.PutOrgSessionPolicy(f.ctx, &store.OrgSessionPolicy{EnvID: b.ID, OrgID: elsewhere.ID, AbsoluteTimeout: 2,
			AbsoluteTimeoutUnit: "DAYS", IdleTimeoutUnit: "MINUTES", UpdatedAt: at(time.Hour)}), "PutOrgSessionPolicy elsewhere")
		agree("organizations' policies without the environment's", f.q)

		must(t, f.q.PutSessionPolicy(f.ctx, &store.SessionPolicy{EnvID: a.ID, AccessTokenTTLSeconds: 600, AbsoluteTimeoutMinutes: 1440,
			IdleTimeoutEnabled: true, IdleTimeoutMinutes: 60, UpdatedAt: at(2 * time.Hour)}), "PutSessionPolicy")
		agree("with the environment's policy", f.q)

		// The answer is what the old reads give, and not merely both nil.
		env, org, err := f.q.GetSessionPolicies(f.ctx, a.ID, custom.ID)
		must(t, err, "GetSessionPolicies")
		if env == nil || env.AccessTokenTTLSeconds != 600 || org == nil || org.AbsoluteTimeout != 8 || org.IdleTimeoutUnit != "MINUTES" {
			t.Fatalf("GetSessionPolicies(a, custom) = %+v, %+v", env, org)
		}

		err = f.s.Tx(f.ctx, func(q *store.Q) error {
			agree("inside a transaction", q)
			return nil
		})
		must(t, err, "Tx")
	})
}
