package store_test

// Conformance of the authorization server's tables (00004_oauth.sql) on
// SQLite and PostgreSQL: clients, sessions, authorization requests, codes,
// grants, refresh and access tokens, and the atomic single-use updates the
// security rules rest on.

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testdb"
)

var oauthConformanceTests = []struct {
	name string
	run  func(t *testing.T, dsn string)
}{
	{"OAuthClients", testOAuthClients},
	{"SessionsCRUDAndTouch", testSessionsCRUD},
	{"SessionsList", testSessionsList},
	{"SessionRevocationCascades", testSessionRevocation},
	{"DeletesCascadeToSessionsAndTokens", testOAuthDeleteCascades},
	{"AuthRequests", testAuthRequests},
	{"LoginFlowWithAuthRequest", testLoginFlowWithAuthRequest},
	{"AuthCodesSingleUse", testAuthCodes},
	{"WriteSignIn", testWriteSignIn},
	{"RefreshTokensSingleUse", testRefreshTokens},
	{"AccessTokenState", testAccessTokenState},
	{"OAuthTenantIsolation", testOAuthIsolation},
}

func TestOAuthConformance(t *testing.T) {
	for _, c := range oauthConformanceTests {
		t.Run(c.name, func(t *testing.T) { testdb.Each(t, c.run) })
	}
}

// oauthWorld is an environment with an org, a user in it and a session.
type oauthWorld struct {
	*fixture
	e   *store.Environment
	o   *store.Organization
	u   *store.User
	ses *store.Session
}

func newOAuthWorld(t *testing.T, dsn string) *oauthWorld {
	t.Helper()
	f := open(t, dsn)
	w := &oauthWorld{fixture: f, e: f.env(t)}
	w.o = f.org(t, w.e.ID, "Acme", nil)
	w.u = f.user(t, w.e.ID, "ada@acme.example", nil)
	f.member(t, w.e.ID, w.o.ID, w.u.ID, t0, f.role(t, w.e.ID, "", "admin"))
	w.ses = w.session(t, w.u.ID, w.o.ID, "cookie-1")
	return w
}

func (w *oauthWorld) session(t *testing.T, userID, orgID, cookie string) *store.Session {
	t.Helper()
	s := &store.Session{ID: w.ids.New(id.Session), EnvID: w.e.ID, UserID: userID, OrgID: orgID, AuthTime: t0,
		AMR: []string{"pwd"}, CookieHash: cookie, UserAgent: "ua", IP: "127.0.0.1", IdleTimeout: time.Hour,
		CreatedAt: t0, UpdatedAt: t0, LastSeenAt: t0, IdleExpiresAt: at(time.Hour), AbsoluteExpiresAt: at(3 * time.Hour)}
	must(t, w.q.CreateSession(w.ctx, s), "CreateSession")
	return s
}

// authRequest is a pending request of w's user for w's organization,
// created at t0 for a minute, with every field set (not stored).
func (w *oauthWorld) authRequest() *store.AuthRequest {
	return &store.AuthRequest{ID: w.ids.New("areq"), EnvID: w.e.ID, ClientID: "skc_app", RedirectURI: "https://a/cb", Scope: "openid",
		State: "s", Nonce: "n", CodeChallenge: "c", Prompt: "login", MaxAge: 30, LoginHint: "ada@acme.example", HintSubject: w.u.ID,
		OrganizationID: w.o.ID, Extra: map[string]string{"ui_locales": "fr"}, Status: store.AuthRequestPending,
		CreatedAt: t0, ExpiresAt: at(time.Minute)}
}

// grant makes a grant under ses with one refresh token and one access token.
func (w *oauthWorld) grant(t *testing.T, ses *store.Session, client, rtHash, jti string) *store.Grant {
	t.Helper()
	g := &store.Grant{ID: w.ids.New("grt"), EnvID: w.e.ID, SessionID: ses.ID, ClientID: client, UserID: ses.UserID,
		Scope: "openid offline_access", CreatedAt: t0}
	must(t, w.q.CreateGrant(w.ctx, g), "CreateGrant")
	must(t, w.q.CreateRefreshToken(w.ctx, &store.RefreshToken{TokenHash: rtHash, EnvID: w.e.ID, FamilyID: g.ID, SessionID: ses.ID,
		ClientID: client, Scope: g.Scope, CreatedAt: t0}), "CreateRefreshToken")
	must(t, w.q.CreateAccessToken(w.ctx, &store.AccessToken{JTI: jti, EnvID: w.e.ID, GrantID: g.ID, ExpiresAt: at(5 * time.Minute)}),
		"CreateAccessToken")
	return g
}

func testOAuthClients(t *testing.T, dsn string) {
	f := open(t, dsn)
	e := f.env(t)
	c := &store.OAuthClient{ID: "skc_spa", EnvID: e.ID, Name: "SPA", Public: true, RedirectURIs: []string{"https://a/cb", "https://b/cb?x=1"},
		PostLogoutRedirectURIs: []string{"https://a/bye"}, BackChannelLogoutURI: "https://a/bcl", CreatedAt: t0, UpdatedAt: t0}
	must(t, f.q.PutOAuthClient(f.ctx, c), "PutOAuthClient")
	got, err := f.q.GetOAuthClient(f.ctx, e.ID, "skc_spa")
	must(t, err, "GetOAuthClient")
	want := *c
	want.CreatedAt, want.UpdatedAt = utc(t0), utc(t0)
	wantEqual(t, "client", got, &want)

	// Put again replaces the settings.
	c.RedirectURIs, c.Public, c.UpdatedAt = nil, false, at(time.Minute)
	must(t, f.q.PutOAuthClient(f.ctx, c), "PutOAuthClient again")
	got, err = f.q.GetOAuthClient(f.ctx, e.ID, "skc_spa")
	must(t, err, "GetOAuthClient")
	if got.Public || len(got.RedirectURIs) != 0 || !got.UpdatedAt.Equal(utc(at(time.Minute))) || !got.CreatedAt.Equal(utc(t0)) {
		t.Errorf("after replacing: %+v", got)
	}

	// An API client without OAuth settings is a confidential client with nothing registered.
	must(t, f.q.CreateAPIClient(f.ctx, &store.APIClient{ID: "skc_api", EnvID: e.ID, Name: "API", CreatedAt: t0},
		&store.ClientSecret{ID: f.ids.New(id.ClientSecret), EnvID: e.ID, ClientID: "skc_api", SecretHash: "h", Hint: "abcd", CreatedAt: t0}),
		"CreateAPIClient")
	got, err = f.q.GetOAuthClient(f.ctx, e.ID, "skc_api")
	must(t, err, "GetOAuthClient of an API client")
	if got.ID != "skc_api" || got.Public || len(got.RedirectURIs) != 0 || got.Name != "API" {
		t.Errorf("API client as OAuth client: %+v", got)
	}
	_, err = f.q.GetOAuthClient(f.ctx, e.ID, "skc_none")
	wantNotFound(t, err, "unknown client")

	// Another environment sees neither, and cannot take the id.
	e2 := f.env(t)
	_, err = f.q.GetOAuthClient(f.ctx, e2.ID, "skc_spa")
	wantNotFound(t, err, "client of another environment")
	_, err = f.q.GetOAuthClient(f.ctx, e2.ID, "skc_api")
	wantNotFound(t, err, "API client of another environment")
	c2 := *c
	c2.EnvID = e2.ID
	wantConflict(t, f.q.PutOAuthClient(f.ctx, &c2), "id", "taking another environment's client id")
}

func testSessionsCRUD(t *testing.T, dsn string) {
	w := newOAuthWorld(t, dsn)
	got, err := w.q.GetSessionDetails(w.ctx, w.e.ID, w.ses.ID)
	must(t, err, "GetSessionDetails")
	if got.UserID != w.u.ID || got.OrgID != w.o.ID || got.CookieHash != "cookie-1" || got.IdleTimeout != time.Hour ||
		!got.AuthTime.Equal(utc(t0)) || !got.IdleExpiresAt.Equal(utc(at(time.Hour))) || !got.AbsoluteExpiresAt.Equal(utc(at(3*time.Hour))) ||
		len(got.AMR) != 1 || got.AMR[0] != "pwd" || len(got.ClientIDs) != 0 || !got.RevokedAt.IsZero() {
		t.Errorf("session read back: %+v", got)
	}
	wantUTC(t, "session times", got.AuthTime, got.CreatedAt, got.IdleExpiresAt, got.AbsoluteExpiresAt)
	byCookie, err := w.q.GetSessionByCookie(w.ctx, w.e.ID, "cookie-1")
	must(t, err, "GetSessionByCookie")
	if byCookie.ID != w.ses.ID {
		t.Errorf("by cookie: %s", byCookie.ID)
	}
	_, err = w.q.GetSessionByCookie(w.ctx, w.e.ID, "cookie-2")
	wantNotFound(t, err, "unknown cookie")
	// Cookie hashes are unique; sessions without a cookie are many.
	dup := &store.Session{ID: w.ids.New(id.Session), EnvID: w.e.ID, UserID: w.u.ID, CookieHash: "cookie-1", AuthTime: t0,
		CreatedAt: t0, UpdatedAt: t0, LastSeenAt: t0, IdleExpiresAt: at(time.Hour), AbsoluteExpiresAt: at(time.Hour)}
	wantConflict(t, w.q.CreateSession(w.ctx, dup), "", "duplicate cookie hash")
	w.session(t, w.u.ID, "", "")
	w.session(t, w.u.ID, "", "")

	// Touch slides the idle expiry, never past the absolute one.
	must(t, w.q.TouchSession(w.ctx, w.e.ID, w.ses.ID, at(30*time.Minute)), "TouchSession")
	got, _ = w.q.GetSession(w.ctx, w.e.ID, w.ses.ID)
	if !got.LastSeenAt.Equal(utc(at(30*time.Minute))) || !got.IdleExpiresAt.Equal(utc(at(90*time.Minute))) {
		t.Errorf("after touch: last seen %v idle %v", got.LastSeenAt, got.IdleExpiresAt)
	}
	must(t, w.q.TouchSession(w.ctx, w.e.ID, w.ses.ID, at(80*time.Minute)), "TouchSession again")
	must(t, w.q.TouchSession(w.ctx, w.e.ID, w.ses.ID, at(130*time.Minute)), "TouchSession near the end")
	got, _ = w.q.GetSession(w.ctx, w.e.ID, w.ses.ID)
	if !got.IdleExpiresAt.Equal(utc(at(3 * time.Hour))) {
		t.Errorf("idle expiry %v went past the absolute %v", got.IdleExpiresAt, at(3*time.Hour))
	}
	wantNotFound(t, w.q.TouchSession(w.ctx, w.e.ID, w.ses.ID, at(3*time.Hour)), "touching at the absolute expiry")
	s2 := w.session(t, w.u.ID, "", "")
	wantNotFound(t, w.q.TouchSession(w.ctx, w.e.ID, s2.ID, at(61*time.Minute)), "touching past the idle expiry")
	wantNotFound(t, w.q.TouchSession(w.ctx, w.e.ID, "ses_none", t0), "touching an unknown session")
}

func testSessionsList(t *testing.T, dsn string) {
	w := newOAuthWorld(t, dsn)
	other := w.user2(t)
	var ids []string
	ids = append(ids, w.ses.ID)
	for i := 0; i < 4; i++ {
		ids = append(ids, w.session(t, w.u.ID, "", "").ID)
	}
	w.session(t, other.ID, "", "")
	must(t, w.q.RevokeSession(w.ctx, w.e.ID, ids[1], at(time.Minute), "revoked"), "RevokeSession")

	var seen []string
	p := store.Page{Limit: 2}
	for {
		res, err := w.q.ListUserSessions(w.ctx, w.e.ID, w.u.ID, store.SessionFilter{}, p)
		must(t, err, "ListUserSessions")
		if res.Total != 5 {
			t.Fatalf("total = %d, want 5", res.Total)
		}
		for _, s := range res.Items {
			seen = append(seen, s.ID)
		}
		if !res.More {
			break
		}
		p.AfterID = res.Items[len(res.Items)-1].ID
	}
	wantEqual(t, "all sessions in id order", seen, ids)

	live, dead := true, false
	res, err := w.q.ListUserSessions(w.ctx, w.e.ID, w.u.ID, store.SessionFilter{Live: &live, Now: at(2 * time.Minute)}, store.Page{Limit: 10})
	must(t, err, "live sessions")
	if res.Total != 4 || len(res.Items) != 4 {
		t.Errorf("live: %d", res.Total)
	}
	res, err = w.q.ListUserSessions(w.ctx, w.e.ID, w.u.ID, store.SessionFilter{Live: &dead, Now: at(2 * time.Minute)}, store.Page{Limit: 10})
	must(t, err, "ended sessions")
	if res.Total != 1 || res.Items[0].ID != ids[1] {
		t.Errorf("ended: %+v", res)
	}
	res, err = w.q.ListUserSessions(w.ctx, w.e.ID, w.u.ID, store.SessionFilter{Live: &dead, Now: at(2 * time.Hour)}, store.Page{Limit: 10})
	must(t, err, "ended sessions later")
	if res.Total != 5 {
		t.Errorf("after the idle timeout all 5 have ended, got %d", res.Total)
	}
	res, err = w.q.ListUserSessions(w.ctx, w.e.ID, w.u.ID, store.SessionFilter{CreatedAfter: at(time.Second)}, store.Page{Limit: 10})
	must(t, err, "created after")
	if res.Total != 0 {
		t.Errorf("created after t0+1s: %d", res.Total)
	}
	ls, err := w.q.ListLiveUserSessions(w.ctx, w.e.ID, w.u.ID, at(2*time.Minute))
	must(t, err, "ListLiveUserSessions")
	if len(ls) != 4 {
		t.Errorf("ListLiveUserSessions: %d", len(ls))
	}
}

func (w *oauthWorld) user2(t *testing.T) *store.User {
	t.Helper()
	return w.user(t, w.e.ID, "grace@acme.example", nil)
}

func testSessionRevocation(t *testing.T, dsn string) {
	w := newOAuthWorld(t, dsn)
	g := w.grant(t, w.ses, "skc_app", "rt-hash-1", "tkn_1")
	other := w.session(t, w.u.ID, w.o.ID, "cookie-2")
	g2 := w.grant(t, other, "skc_app", "rt-hash-2", "tkn_2")
	got, _ := w.q.GetSessionDetails(w.ctx, w.e.ID, w.ses.ID)
	wantEqual(t, "clients of the session", got.ClientIDs, []string{"skc_app"})

	err := w.s.Tx(w.ctx, func(q *store.Q) error { return q.RevokeSession(w.ctx, w.e.ID, w.ses.ID, at(time.Minute), "logout") })
	must(t, err, "RevokeSession")
	got, _ = w.q.GetSession(w.ctx, w.e.ID, w.ses.ID)
	if !got.RevokedAt.Equal(utc(at(time.Minute))) || got.EndReason != "logout" || got.CookieHash != "" {
		t.Errorf("revoked session: %+v", got)
	}
	_, err = w.q.GetSessionByCookie(w.ctx, w.e.ID, "cookie-1")
	wantNotFound(t, err, "the cookie of a revoked session")
	rt, _ := w.q.GetRefreshToken(w.ctx, w.e.ID, "rt-hash-1")
	gg, _ := w.q.GetGrant(w.ctx, w.e.ID, g.ID)
	st, _ := w.q.GetAccessTokenState(w.ctx, w.e.ID, "tkn_1")
	if rt.RevokedAt.IsZero() || gg.RevokedAt.IsZero() || st.Token.RevokedAt.IsZero() || st.Session.RevokedAt.IsZero() {
		t.Errorf("tokens of a revoked session: rt %v grant %v at %v", rt.RevokedAt, gg.RevokedAt, st.Token.RevokedAt)
	}
	// The other session is untouched.
	rt2, _ := w.q.GetRefreshToken(w.ctx, w.e.ID, "rt-hash-2")
	gg2, _ := w.q.GetGrant(w.ctx, w.e.ID, g2.ID)
	if !rt2.RevokedAt.IsZero() || !gg2.RevokedAt.IsZero() {
		t.Error("revoking one session revoked another's tokens")
	}
	// Revoking again keeps the first time and reason.
	must(t, w.q.RevokeSession(w.ctx, w.e.ID, w.ses.ID, at(time.Hour), "revoked"), "RevokeSession again")
	got, _ = w.q.GetSession(w.ctx, w.e.ID, w.ses.ID)
	if !got.RevokedAt.Equal(utc(at(time.Minute))) || got.EndReason != "logout" {
		t.Errorf("second revocation changed the session: %+v", got)
	}
	wantNotFound(t, w.q.RevokeSession(w.ctx, w.e.ID, "ses_none", t0, "revoked"), "revoking an unknown session")

	// RevokeGrant revokes one family only.
	must(t, w.q.RevokeGrant(w.ctx, w.e.ID, g2.ID, at(time.Minute)), "RevokeGrant")
	rt2, _ = w.q.GetRefreshToken(w.ctx, w.e.ID, "rt-hash-2")
	st2, _ := w.q.GetAccessTokenState(w.ctx, w.e.ID, "tkn_2")
	if rt2.RevokedAt.IsZero() || st2.Grant.RevokedAt.IsZero() || st2.Token.RevokedAt.IsZero() || !st2.Session.RevokedAt.IsZero() {
		t.Errorf("after RevokeGrant: rt %v grant %v at %v session %v", rt2.RevokedAt, st2.Grant.RevokedAt, st2.Token.RevokedAt, st2.Session.RevokedAt)
	}
	wantNotFound(t, w.q.RevokeGrant(w.ctx, w.e.ID, "grt_none", t0), "revoking an unknown grant")
}

func testOAuthDeleteCascades(t *testing.T, dsn string) {
	w := newOAuthWorld(t, dsn)
	w.grant(t, w.ses, "skc_app", "rt-hash-1", "tkn_1")
	must(t, w.q.CreateAuthCode(w.ctx, &store.AuthCode{CodeHash: "code-1", EnvID: w.e.ID, SessionID: w.ses.ID, ClientID: "skc_app",
		RedirectURI: "https://a/cb", Scope: "openid", CreatedAt: t0, ExpiresAt: at(time.Minute)}), "CreateAuthCode")
	must(t, w.s.Tx(w.ctx, func(q *store.Q) error { return q.DeleteUser(w.ctx, w.e.ID, w.u.ID) }), "DeleteUser")
	_, err := w.q.GetSession(w.ctx, w.e.ID, w.ses.ID)
	wantNotFound(t, err, "session of a deleted user")
	_, err = w.q.GetRefreshToken(w.ctx, w.e.ID, "rt-hash-1")
	wantNotFound(t, err, "refresh token of a deleted user")
	_, err = w.q.GetAccessTokenState(w.ctx, w.e.ID, "tkn_1")
	wantNotFound(t, err, "access token of a deleted user")
	_, err = w.q.GetAuthCode(w.ctx, w.e.ID, "code-1")
	wantNotFound(t, err, "code of a deleted user")

	// Deleting the organization ends its sessions.
	w2 := newOAuthWorld(t, dsn)
	w2.grant(t, w2.ses, "skc_app", "rt-hash-9", "tkn_9")
	loose := w2.session(t, w2.u.ID, "", "")
	must(t, w2.s.Tx(w2.ctx, func(q *store.Q) error { return q.DeleteOrganization(w2.ctx, w2.e.ID, w2.o.ID) }), "DeleteOrganization")
	_, err = w2.q.GetSession(w2.ctx, w2.e.ID, w2.ses.ID)
	wantNotFound(t, err, "session of a deleted organization")
	_, err = w2.q.GetRefreshToken(w2.ctx, w2.e.ID, "rt-hash-9")
	wantNotFound(t, err, "refresh token of a deleted organization")
	if _, err := w2.q.GetSession(w2.ctx, w2.e.ID, loose.ID); err != nil {
		t.Errorf("a session without organization went with the organization: %v", err)
	}
}

func testAuthRequests(t *testing.T, dsn string) {
	w := newOAuthWorld(t, dsn)
	a := w.authRequest()
	must(t, w.q.CreateAuthRequest(w.ctx, a), "CreateAuthRequest")
	got, err := w.q.GetAuthRequest(w.ctx, w.e.ID, a.ID)
	must(t, err, "GetAuthRequest")
	want := *a
	want.CreatedAt, want.ExpiresAt = utc(t0), utc(at(time.Minute))
	wantEqual(t, "auth request", got, &want)

	b := *a
	b.ID, b.MaxAge, b.Extra = w.ids.New("areq"), -1, nil
	must(t, w.q.CreateAuthRequest(w.ctx, &b), "CreateAuthRequest without max_age")
	gb, _ := w.q.GetAuthRequest(w.ctx, w.e.ID, b.ID)
	if gb.MaxAge != -1 || gb.Extra == nil {
		t.Errorf("max_age %d extra %v", gb.MaxAge, gb.Extra)
	}

	// One transition, concurrently: exactly one wins.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := w.s.Tx(w.ctx, func(q *store.Q) error {
				return q.FinishAuthRequest(w.ctx, w.e.ID, a.ID, store.AuthRequestCompleted, w.ses.ID, at(time.Second))
			})
			if err == nil {
				wins.Add(1)
			} else if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("FinishAuthRequest: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d concurrent completions won, want 1", wins.Load())
	}
	got, _ = w.q.GetAuthRequest(w.ctx, w.e.ID, a.ID)
	if got.Status != store.AuthRequestCompleted || got.SessionID != w.ses.ID {
		t.Errorf("completed request: %+v", got)
	}
	wantNotFound(t, w.q.FinishAuthRequest(w.ctx, w.e.ID, b.ID, store.AuthRequestDenied, "", at(time.Minute)), "finishing an expired request")
	wantNotFound(t, w.q.FinishAuthRequest(w.ctx, w.e.ID, "areq_none", "", "", t0), "finishing an unknown request")
}

// testLoginFlowWithAuthRequest: the flow read brings its authorization
// request exactly as GetAuthRequest reads it (whatever its status), nil
// for a flow without one or whose request is gone, and nothing for an
// expired flow or another cookie.
func testLoginFlowWithAuthRequest(t *testing.T, dsn string) {
	w := newOAuthWorld(t, dsn)
	a := w.authRequest()
	b := *a
	b.ID, b.MaxAge, b.Extra, b.Prompt = w.ids.New("areq"), -1, nil, ""
	for _, r := range []*store.AuthRequest{a, &b} {
		must(t, w.q.CreateAuthRequest(w.ctx, r), "CreateAuthRequest")
	}
	must(t, w.q.FinishAuthRequest(w.ctx, w.e.ID, b.ID, store.AuthRequestCompleted, w.ses.ID, t0), "FinishAuthRequest")
	flows := map[string]string{"with": a.ID, "finished": b.ID, "none": "", "gone": "areq_gone"}
	for cookie, arID := range flows {
		f := &store.LoginFlow{ID: w.ids.New("lgf"), EnvID: w.e.ID, CookieHash: "cookie-" + cookie, AuthRequestID: arID,
			Data: `{"step":"email"}`, CreatedAt: t0, UpdatedAt: t0, ExpiresAt: at(time.Hour)}
		must(t, w.q.CreateLoginFlow(w.ctx, f), "CreateLoginFlow")
	}
	for cookie, arID := range flows {
		f, ar, err := w.q.LoginFlowByCookie(w.ctx, w.e.ID, "cookie-"+cookie, at(time.Second))
		must(t, err, "LoginFlowByCookie "+cookie)
		if f.AuthRequestID != arID || f.Data != `{"step":"email"}` || !f.ExpiresAt.Equal(utc(at(time.Hour))) {
			t.Errorf("flow %s: %+v", cookie, f)
		}
		switch cookie {
		case "with", "finished":
			want, err := w.q.GetAuthRequest(w.ctx, w.e.ID, arID)
			must(t, err, "GetAuthRequest")
			wantEqual(t, "request read with the flow "+cookie, ar, want)
		default:
			if ar != nil {
				t.Errorf("flow %s: request %+v, want none", cookie, ar)
			}
		}
	}
	_, _, err := w.q.LoginFlowByCookie(w.ctx, w.e.ID, "cookie-with", at(2*time.Hour))
	wantNotFound(t, err, "an expired flow")
	_, _, err = w.q.LoginFlowByCookie(w.ctx, w.e.ID, "cookie-other", t0)
	wantNotFound(t, err, "another cookie")
}

func testAuthCodes(t *testing.T, dsn string) {
	w := newOAuthWorld(t, dsn)
	c := &store.AuthCode{CodeHash: "code-1", EnvID: w.e.ID, SessionID: w.ses.ID, ClientID: "skc_app", RedirectURI: "https://a/cb",
		Scope: "openid", Nonce: "n", CodeChallenge: "ch", CreatedAt: t0, ExpiresAt: at(time.Minute)}
	must(t, w.q.CreateAuthCode(w.ctx, c), "CreateAuthCode")
	got, err := w.q.GetAuthCode(w.ctx, w.e.ID, "code-1")
	must(t, err, "GetAuthCode")
	want := *c
	want.CreatedAt, want.ExpiresAt = utc(t0), utc(at(time.Minute))
	wantEqual(t, "code", got, &want)

	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := w.s.Tx(w.ctx, func(q *store.Q) error { return q.UseAuthCode(w.ctx, w.e.ID, "code-1", at(time.Second)) })
			if err == nil {
				wins.Add(1)
			} else if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("UseAuthCode: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d concurrent redemptions won, want exactly 1", wins.Load())
	}
	must(t, w.q.SetAuthCodeGrant(w.ctx, w.e.ID, "code-1", "grt_x"), "SetAuthCodeGrant")
	got, _ = w.q.GetAuthCode(w.ctx, w.e.ID, "code-1")
	if !got.UsedAt.Equal(utc(at(time.Second))) || got.GrantID != "grt_x" {
		t.Errorf("used code: %+v", got)
	}
	wantNotFound(t, w.q.UseAuthCode(w.ctx, w.e.ID, "code-1", at(time.Minute)), "using a used code")
	wantNotFound(t, w.q.UseAuthCode(w.ctx, w.e.ID, "code-none", t0), "using an unknown code")
}

func testRefreshTokens(t *testing.T, dsn string) {
	w := newOAuthWorld(t, dsn)
	g := w.grant(t, w.ses, "skc_app", "rt-1", "tkn_1")
	got, err := w.q.GetRefreshToken(w.ctx, w.e.ID, "rt-1")
	must(t, err, "GetRefreshToken")
	if got.FamilyID != g.ID || got.ClientID != "skc_app" || got.SessionID != w.ses.ID || got.Scope != g.Scope ||
		!got.UsedAt.IsZero() || !got.RevokedAt.IsZero() || !got.CreatedAt.Equal(utc(t0)) {
		t.Errorf("refresh token: %+v", got)
	}
	wantNotFound(t, w.q.UseRefreshToken(w.ctx, w.e.ID, "rt-1", "skc_other", t0), "another client's token")

	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := w.s.Tx(w.ctx, func(q *store.Q) error { return q.UseRefreshToken(w.ctx, w.e.ID, "rt-1", "skc_app", at(time.Second)) })
			if err == nil {
				wins.Add(1)
			} else if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("UseRefreshToken: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d concurrent rotations won, want exactly 1", wins.Load())
	}
	must(t, w.q.CreateRefreshToken(w.ctx, &store.RefreshToken{TokenHash: "rt-2", EnvID: w.e.ID, FamilyID: g.ID, ParentHash: "rt-1",
		SessionID: w.ses.ID, ClientID: "skc_app", Scope: g.Scope, CreatedAt: at(time.Second)}), "child token")
	child, _ := w.q.GetRefreshToken(w.ctx, w.e.ID, "rt-2")
	if child.ParentHash != "rt-1" || child.FamilyID != g.ID {
		t.Errorf("child: %+v", child)
	}
	must(t, w.q.RevokeGrant(w.ctx, w.e.ID, g.ID, at(time.Minute)), "RevokeGrant")
	wantNotFound(t, w.q.UseRefreshToken(w.ctx, w.e.ID, "rt-2", "skc_app", at(2*time.Minute)), "a token of a revoked family")
	_, err = w.q.GetRefreshToken(w.ctx, w.e.ID, "rt-none")
	wantNotFound(t, err, "unknown refresh token")
}

func testAccessTokenState(t *testing.T, dsn string) {
	w := newOAuthWorld(t, dsn)
	w.grant(t, w.ses, "skc_app", "rt-1", "tkn_1")
	st, err := w.q.GetAccessTokenState(w.ctx, w.e.ID, "tkn_1")
	must(t, err, "GetAccessTokenState")
	if !st.MemberOK || !st.HasOrg || st.Session.ID != w.ses.ID || st.Grant.ClientID != "skc_app" || st.Grant.UserID != w.u.ID ||
		!st.Token.ExpiresAt.Equal(utc(at(5*time.Minute))) || !st.Session.IdleExpiresAt.Equal(utc(at(time.Hour))) {
		t.Errorf("state: %+v", st)
	}
	status, roles, err := w.q.MembershipRoles(w.ctx, w.e.ID, w.o.ID, w.u.ID)
	must(t, err, "MembershipRoles")
	if status != store.MembershipActive || len(roles) != 1 || roles[0].Name != "admin" {
		t.Errorf("membership roles: %d %+v", status, roles)
	}
	// Membership removed: the token's state says so.
	must(t, w.s.Tx(w.ctx, func(q *store.Q) error { return q.DeleteMembership(w.ctx, w.e.ID, w.o.ID, w.u.ID) }), "DeleteMembership")
	st, err = w.q.GetAccessTokenState(w.ctx, w.e.ID, "tkn_1")
	must(t, err, "GetAccessTokenState after removal")
	if st.MemberOK {
		t.Error("MemberOK after the membership was removed")
	}
	_, _, err = w.q.MembershipRoles(w.ctx, w.e.ID, w.o.ID, w.u.ID)
	wantNotFound(t, err, "roles of a removed membership")
	// A session without organization needs no membership.
	loose := w.session(t, w.u.ID, "", "")
	w.grant(t, loose, "skc_app", "rt-2", "tkn_2")
	st, _ = w.q.GetAccessTokenState(w.ctx, w.e.ID, "tkn_2")
	if !st.MemberOK || st.HasOrg {
		t.Errorf("session without organization: %+v", st)
	}
	must(t, w.q.RevokeAccessToken(w.ctx, w.e.ID, "tkn_2", at(time.Minute)), "RevokeAccessToken")
	st, _ = w.q.GetAccessTokenState(w.ctx, w.e.ID, "tkn_2")
	if !st.Token.RevokedAt.Equal(utc(at(time.Minute))) || !st.Grant.RevokedAt.IsZero() {
		t.Errorf("after RevokeAccessToken: %+v", st)
	}
	wantNotFound(t, w.q.RevokeAccessToken(w.ctx, w.e.ID, "tkn_none", t0), "revoking an unknown access token")
}

func testOAuthIsolation(t *testing.T, dsn string) {
	w := newOAuthWorld(t, dsn)
	w.grant(t, w.ses, "skc_app", "rt-1", "tkn_1")
	must(t, w.q.CreateAuthCode(w.ctx, &store.AuthCode{CodeHash: "code-1", EnvID: w.e.ID, SessionID: w.ses.ID, ClientID: "skc_app",
		RedirectURI: "https://a/cb", Scope: "openid", CreatedAt: t0, ExpiresAt: at(time.Minute)}), "CreateAuthCode")
	e2 := w.env(t).ID
	_, err := w.q.GetSession(w.ctx, e2, w.ses.ID)
	wantNotFound(t, err, "session from another environment")
	_, err = w.q.GetSessionByCookie(w.ctx, e2, "cookie-1")
	wantNotFound(t, err, "cookie from another environment")
	_, err = w.q.GetRefreshToken(w.ctx, e2, "rt-1")
	wantNotFound(t, err, "refresh token from another environment")
	_, err = w.q.GetAccessTokenState(w.ctx, e2, "tkn_1")
	wantNotFound(t, err, "access token from another environment")
	wantNotFound(t, w.q.UseAuthCode(w.ctx, e2, "code-1", t0), "code from another environment")
	wantNotFound(t, w.q.UseRefreshToken(w.ctx, e2, "rt-1", "skc_app", t0), "rotation from another environment")
	wantNotFound(t, w.q.RevokeSession(w.ctx, e2, w.ses.ID, t0, "revoked"), "revocation from another environment")
	wantNotFound(t, w.q.TouchSession(w.ctx, e2, w.ses.ID, t0), "touch from another environment")
	if st, _ := w.q.GetSession(w.ctx, w.e.ID, w.ses.ID); !st.RevokedAt.IsZero() {
		t.Error("another environment revoked the session")
	}
}
