package store_test

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testdb"
)

// TestCreateMemberAuthCode: the code is inserted, as CreateAuthCode
// inserts it, for a user who exists and is an ACTIVE member of the
// organization (or for a sign-in without one); for a user gone, not a
// member, a member of another environment's organization, or a member in
// any other status, nothing is inserted and the answer is ErrNotFound.
func TestCreateMemberAuthCode(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		w := newOAuthWorld(t, dsn)
		code := func(hash string) *store.AuthCode {
			return &store.AuthCode{CodeHash: hash, EnvID: w.e.ID, SessionID: w.ses.ID, ClientID: "skc_app",
				RedirectURI: "https://app.example/cb", Scope: "openid email", Nonce: "n-1", CodeChallenge: "chal",
				CreatedAt: t0, ExpiresAt: at(time.Minute)}
		}
		must(t, w.q.CreateMemberAuthCode(w.ctx, code("c-member"), w.u.ID, w.o.ID), "an active member")
		got, err := w.q.GetAuthCode(w.ctx, w.e.ID, "c-member")
		must(t, err, "GetAuthCode")
		want := code("c-member")
		want.CreatedAt, want.ExpiresAt = utc(t0), utc(at(time.Minute))
		wantEqual(t, "the code as read back", got, want)
		must(t, w.q.CreateMemberAuthCode(w.ctx, code("c-no-org"), w.u.ID, ""), "no organization")

		outsider := w.user(t, w.e.ID, "bob@acme.example", nil)
		wantNotFound(t, w.q.CreateMemberAuthCode(w.ctx, code("c-outsider"), outsider.ID, w.o.ID), "not a member")
		wantNotFound(t, w.q.CreateMemberAuthCode(w.ctx, code("c-gone"), "usr_gone", ""), "an unknown user")
		wantNotFound(t, w.q.CreateMemberAuthCode(w.ctx, code("c-gone-org"), "usr_gone", w.o.ID), "an unknown user in the org")
		other := w.env(t)
		otherOrg := w.org(t, other.ID, "Other", nil)
		wantNotFound(t, w.q.CreateMemberAuthCode(w.ctx, code("c-other-env"), w.u.ID, otherOrg.ID), "another environment's org")

		invited := w.user(t, w.e.ID, "carol@acme.example", nil)
		m := w.member(t, w.e.ID, w.o.ID, invited.ID, t0)
		for _, st := range []int32{store.MembershipInactive, store.MembershipPendingInvite, store.MembershipInviteExpired} {
			m.Status = st
			must(t, w.q.UpdateMembership(w.ctx, m), "UpdateMembership")
			wantNotFound(t, w.q.CreateMemberAuthCode(w.ctx, code("c-status"), invited.ID, w.o.ID), "a membership not active")
		}
		m.Status = store.MembershipActive
		must(t, w.q.UpdateMembership(w.ctx, m), "UpdateMembership")
		must(t, w.q.CreateMemberAuthCode(w.ctx, code("c-status"), invited.ID, w.o.ID), "the membership active again")

		if n := count(t, w.fixture, `SELECT COUNT(*) FROM oauth_codes`); n != 3 {
			t.Errorf("%d codes, want 3 (c-member, c-no-org, c-status)", n)
		}
	})
}
