package store_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/store"
)

// testWriteSignIn: WriteSignIn writes a sign-in's session and event, the
// request completed by the session, its code, the user's last_login_at,
// the flow's end (its challenges with it) and the attempt, all or nothing:
// a request that is finished or expired gives ErrRequestNotPending (first,
// when the user may not sign in either), a user who is gone or not an
// active member of the session's organization ErrNotActiveMember, and a
// failing write an error, each with nothing written.
func testWriteSignIn(t *testing.T, dsn string) {
	w := newOAuthWorld(t, dsn)
	count := func(query string, args ...any) int {
		t.Helper()
		var n int
		must(t, w.s.DB().QueryRowContext(w.ctx, query, args...).Scan(&n), query)
		return n
	}
	request := func(expires time.Duration) *store.AuthRequest {
		t.Helper()
		a := w.authRequest()
		a.ExpiresAt = at(expires)
		must(t, w.q.CreateAuthRequest(w.ctx, a), "CreateAuthRequest")
		return a
	}
	flow := func(arID string) *store.LoginFlow {
		t.Helper()
		f := &store.LoginFlow{ID: w.ids.New("lgf"), EnvID: w.e.ID, CookieHash: "flow-" + arID, AuthRequestID: arID,
			Data: `{"step":"password"}`, CreatedAt: t0, UpdatedAt: t0, ExpiresAt: at(time.Hour)}
		must(t, w.q.CreateLoginFlow(w.ctx, f), "CreateLoginFlow")
		must(t, w.q.CreateLoginChallenge(w.ctx, &store.LoginChallenge{ID: w.ids.New("lgc"), EnvID: w.e.ID, FlowID: f.ID,
			EmailNorm: "ada@acme.example", CodeHash: "code-" + f.ID, LinkHash: "link-" + f.ID, CreatedAt: t0,
			ExpiresAt: at(10 * time.Minute)}), "CreateLoginChallenge")
		return f
	}
	now := at(time.Minute)
	prepare := func(ar *store.AuthRequest, userID, orgID string, f *store.LoginFlow, logged bool) *store.SignIn {
		ses := &store.Session{ID: w.ids.New(id.Session), EnvID: w.e.ID, UserID: userID, OrgID: orgID, AuthTime: now,
			AMR: []string{"pwd"}, UserAgent: "ua", IP: "203.0.113.9", IdleTimeout: time.Hour,
			CreatedAt: now, UpdatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(8 * time.Hour)}
		ses.CookieHash = "cookie-" + ses.ID
		s := &store.SignIn{Session: ses, RequestID: ar.ID, Now: now,
			Event: &store.Event{ID: w.ids.New(id.Event), EnvID: w.e.ID, Type: "session.created", ObjectID: ses.ID,
				Payload: fmt.Sprintf(`{"session_id":%q}`, ses.ID), CreatedAt: now},
			Code: &store.AuthCode{CodeHash: "code-" + ses.ID, EnvID: w.e.ID, SessionID: ses.ID, ClientID: ar.ClientID,
				RedirectURI: ar.RedirectURI, Scope: ar.Scope, Nonce: ar.Nonce, CodeChallenge: ar.CodeChallenge,
				CreatedAt: now, ExpiresAt: now.Add(time.Minute)}}
		if f != nil {
			s.FlowID, s.Challenges = f.ID, true
		}
		if logged {
			s.Attempt = &store.AuthAttempt{ID: w.ids.New("lga"), EnvID: w.e.ID, CreatedAt: now, EmailHash: "eh", Method: "password",
				Outcome: "success", IP: ses.IP, UserID: userID, OrgID: orgID, AuthRequestID: ar.ID, ClientID: ar.ClientID}
		}
		return s
	}
	signIn := func(ar *store.AuthRequest, userID, orgID string, f *store.LoginFlow, logged bool) (*store.SignIn, error) {
		s := prepare(ar, userID, orgID, f, logged)
		return s, w.s.WriteSignIn(w.ctx, s)
	}

	ar, f := request(10*time.Minute), flow("one")
	s, err := signIn(ar, w.u.ID, w.o.ID, f, true)
	must(t, err, "WriteSignIn")
	firstAttempt := s.Attempt.ID
	got, err := w.q.GetSession(w.ctx, w.e.ID, s.Session.ID)
	must(t, err, "GetSession")
	want := *s.Session
	want.AuthTime, want.CreatedAt, want.UpdatedAt, want.LastSeenAt = utc(now), utc(now), utc(now), utc(now)
	want.IdleExpiresAt, want.AbsoluteExpiresAt = utc(want.IdleExpiresAt), utc(want.AbsoluteExpiresAt)
	wantEqual(t, "the session", got, &want)
	code, err := w.q.GetAuthCode(w.ctx, w.e.ID, s.Code.CodeHash)
	must(t, err, "GetAuthCode")
	wantCode := *s.Code
	wantCode.CreatedAt, wantCode.ExpiresAt = utc(wantCode.CreatedAt), utc(wantCode.ExpiresAt)
	wantEqual(t, "the code", code, &wantCode)
	req, err := w.q.GetAuthRequest(w.ctx, w.e.ID, ar.ID)
	must(t, err, "GetAuthRequest")
	if req.Status != store.AuthRequestCompleted || req.SessionID != s.Session.ID {
		t.Errorf("the request after the sign-in: status %q session %q", req.Status, req.SessionID)
	}
	u, err := w.q.GetUser(w.ctx, w.e.ID, w.u.ID)
	must(t, err, "GetUser")
	if !u.LastLoginAt.Equal(utc(now)) || !u.UpdatedAt.Equal(utc(now)) {
		t.Errorf("the user's last login %v, updated %v; want %v", u.LastLoginAt, u.UpdatedAt, now)
	}
	if n := count(`SELECT COUNT(*) FROM events WHERE id = $1 AND type = 'session.created' AND object_id = $2 AND payload = $3 AND created_at = $4`,
		s.Event.ID, s.Session.ID, s.Event.Payload, now.UnixMicro()); n != 1 {
		t.Errorf("%d session.created events as written, want 1", n)
	}
	if n := count(`SELECT COUNT(*) FROM auth_attempts WHERE id = $1 AND outcome = 'success' AND user_id = $2 AND org_id = $3 AND auth_request_id = $4`,
		s.Attempt.ID, w.u.ID, w.o.ID, ar.ID); n != 1 {
		t.Errorf("%d attempts as written, want 1", n)
	}
	if n := count(`SELECT COUNT(*) FROM login_flows WHERE id = $1`, f.ID) + count(`SELECT COUNT(*) FROM login_challenges WHERE flow_id = $1`, f.ID); n != 0 {
		t.Errorf("the flow or its challenge is still there (%d rows)", n)
	}

	// Without an organization, a flow or an attempt: only the rest.
	attempts := count(`SELECT COUNT(*) FROM auth_attempts`)
	other := flow("other")
	s, err = signIn(request(10*time.Minute), w.u.ID, "", nil, false)
	must(t, err, "WriteSignIn without organization, flow or attempt")
	if got, err := w.q.GetSession(w.ctx, w.e.ID, s.Session.ID); err != nil || got.OrgID != "" {
		t.Errorf("session without organization: %+v %v", got, err)
	}
	if n := count(`SELECT COUNT(*) FROM auth_attempts`); n != attempts {
		t.Errorf("%d attempts, want %d: none was given", n, attempts)
	}
	if n := count(`SELECT COUNT(*) FROM login_flows WHERE id = $1`, other.ID); n != 1 {
		t.Errorf("another flow was deleted")
	}

	outsider := w.user(t, w.e.ID, "eve@elsewhere.example", nil)
	expired := request(30 * time.Second)
	pending := request(10 * time.Minute)
	tables := []string{"sessions", "events", "oauth_codes", "auth_attempts", "login_flows", "login_challenges"}
	snapshot := func() map[string]int {
		m := map[string]int{}
		for _, tb := range tables {
			m[tb] = count(`SELECT COUNT(*) FROM ` + tb)
		}
		return m
	}
	before := snapshot()
	refused := func(what string, ar *store.AuthRequest, userID, orgID string, want error) {
		t.Helper()
		if _, err := signIn(ar, userID, orgID, other, true); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", what, err, want)
		}
		wantEqual(t, what+": rows", snapshot(), before)
		if n := count(`SELECT COUNT(*) FROM users WHERE id = $1 AND last_login_at IS NOT NULL`, userID); userID == outsider.ID && n != 0 {
			t.Errorf("%s: the user's last login was recorded", what)
		}
	}
	refused("a completed request", ar, w.u.ID, w.o.ID, store.ErrRequestNotPending)
	refused("an expired request", expired, w.u.ID, w.o.ID, store.ErrRequestNotPending)
	refused("an unknown request", &store.AuthRequest{ID: "areq_none"}, w.u.ID, w.o.ID, store.ErrRequestNotPending)
	refused("a completed request and a user who is no member", ar, outsider.ID, w.o.ID, store.ErrRequestNotPending)
	refused("a user who is no member", pending, outsider.ID, w.o.ID, store.ErrNotActiveMember)
	refused("an unknown user", pending, "usr_none", "", store.ErrNotActiveMember)
	if req, err := w.q.GetAuthRequest(w.ctx, w.e.ID, pending.ID); err != nil || req.Status != store.AuthRequestPending || req.SessionID != "" {
		t.Errorf("a refused request: %+v %v, want it still pending", req, err)
	}
	// A write that fails (the attempt's id taken) takes the rest with it.
	bad := prepare(pending, w.u.ID, w.o.ID, other, true)
	bad.Attempt.ID = firstAttempt
	if err := w.s.WriteSignIn(w.ctx, bad); err == nil || errors.Is(err, store.ErrRequestNotPending) || errors.Is(err, store.ErrNotActiveMember) {
		t.Errorf("a sign-in whose attempt cannot be written: %v, want the write's error", err)
	}
	wantEqual(t, "after a failed write: rows", snapshot(), before)
	if req, err := w.q.GetAuthRequest(w.ctx, w.e.ID, pending.ID); err != nil || req.Status != store.AuthRequestPending {
		t.Errorf("after a failed write the request is %+v %v, want it still pending", req, err)
	}
}
