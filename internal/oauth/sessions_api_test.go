package oauth_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"

	sessionsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/sessions"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/sessions/sessionsv1connect"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

func sessionsClient(in *servertest.Instance) sessionsv1connect.SessionServiceClient {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	hc := &http.Client{Transport: &http.Transport{Protocols: &p}}
	return sessionsv1connect.NewSessionServiceClient(hc, in.URL, connect.WithGRPC())
}

func withBearer[T any](msg *T, token string) *connect.Request[T] {
	req := connect.NewRequest(msg)
	req.Header().Set("Authorization", "Bearer "+token)
	return req
}

// TestSessionServiceREST drives GetSession, GetUserSessions and
// RevokeSession over REST: revoking a session kills its refresh tokens at
// once and sends a back-channel logout token.
func TestSessionServiceREST(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		tok := f.in.Token(t)
		tk, ses, _ := f.signIn(t)
		f.clk.Set(t0.Add(time.Second))
		f.signIn(t)
		f.clk.Set(t0.Add(2 * time.Second))
		f.login(t)

		st, body := f.in.Do(t, tok, http.MethodGet, "/api/v1/sessions/"+ses.ID, "")
		if st != 200 || body["session_id"] != ses.ID || body["user_id"] != f.userID || body["organization_id"] != f.orgID ||
			body["status"] != "ACTIVE" {
			t.Fatalf("GetSession: %d %v", st, body)
		}
		for _, k := range []string{"created_at", "idle_expires_at", "absolute_expires_at", "last_active_at"} {
			if body[k] == nil {
				t.Errorf("GetSession has no %s: %v", k, body)
			}
		}
		if cl, _ := body["authenticated_clients"].([]any); len(cl) != 1 || cl[0].(map[string]any)["client_id"] != servertest.ClientID {
			t.Errorf("authenticated_clients = %v", body["authenticated_clients"])
		}
		if dev, _ := body["device"].(map[string]any); dev["user_agent"] != "test" || dev["ip"] != "127.0.0.1" {
			t.Errorf("device = %v", body["device"])
		}

		st, body = f.in.Do(t, tok, http.MethodGet, "/api/v1/users/"+f.userID+"/sessions?page_size=2", "")
		list, _ := body["sessions"].([]any)
		if st != 200 || len(list) != 2 || body["total_size"] != float64(3) || body["next_page_token"] == "" {
			t.Fatalf("GetUserSessions page 1: %d %v", st, body)
		}
		st, body = f.in.Do(t, tok, http.MethodGet, "/api/v1/users/"+f.userID+"/sessions?page_size=2&page_token="+body["next_page_token"].(string), "")
		if list, _ := body["sessions"].([]any); st != 200 || len(list) != 1 {
			t.Fatalf("GetUserSessions page 2: %d %v", st, body)
		}

		st, body = f.in.Do(t, tok, http.MethodPost, "/api/v1/sessions/"+ses.ID+"/revoke", "")
		rs, _ := body["revoked_session"].(map[string]any)
		if st != 200 || rs["session_id"] != ses.ID || rs["status"] != "REVOKED" || rs["logout_at"] == nil {
			t.Fatalf("RevokeSession: %d %v", st, body)
		}
		wantGrantError(t, "refresh of a revoked session", f.refresh(t, appBasic, tk.refresh), "invalid_grant")
		if f.active(t, tk.access) {
			t.Error("access token of a revoked session is active")
		}
		checkLogoutToken(t, f, f.bc.wait(t), ses.ID)

		st, body = f.in.Do(t, tok, http.MethodGet, "/api/v1/users/"+f.userID+"/sessions?filter.status=REVOKED", "")
		if list, _ := body["sessions"].([]any); st != 200 || len(list) != 1 || body["total_size"] != float64(1) {
			t.Errorf("GetUserSessions filtered by REVOKED: %d %v", st, body)
		}
		st, body = f.in.Do(t, tok, http.MethodGet, "/api/v1/users/"+f.userID+"/sessions?filter.status=ACTIVE", "")
		if list, _ := body["sessions"].([]any); st != 200 || len(list) != 2 {
			t.Errorf("GetUserSessions filtered by ACTIVE: %d %v", st, body)
		}

		for name, c := range map[string]struct {
			method, path string
			status       int
		}{
			"unknown session":        {http.MethodGet, "/api/v1/sessions/ses_nosuchsession", 404},
			"revoke unknown session": {http.MethodPost, "/api/v1/sessions/ses_nosuchsession/revoke", 404},
			"unknown user":           {http.MethodGet, "/api/v1/users/usr_nosuchuser/sessions", 404},
			"page_size over 100":     {http.MethodGet, "/api/v1/users/" + f.userID + "/sessions?page_size=101", 400},
			"bad status filter":      {http.MethodGet, "/api/v1/users/" + f.userID + "/sessions?filter.status=SLEEPING", 400},
			"bad page token":         {http.MethodGet, "/api/v1/users/" + f.userID + "/sessions?page_token=forged", 400},
		} {
			if st, body := f.in.Do(t, tok, c.method, c.path, ""); st != c.status {
				t.Errorf("%s: %d %v, want %d", name, st, body, c.status)
			}
		}
		if st, _ := f.in.Do(t, "", http.MethodGet, "/api/v1/sessions/"+ses.ID, ""); st != 401 {
			t.Errorf("GetSession without a token: %d", st)
		}
		// A user access token is no management credential.
		if st, _ := f.in.Do(t, tk.access, http.MethodGet, "/api/v1/sessions/"+ses.ID, ""); st != 401 {
			t.Errorf("GetSession with a user access token: %d", st)
		}
	})
}

// TestSessionServiceGRPC drives the service over gRPC, as the SDKs do, and
// RevokeAllUserSessions.
func TestSessionServiceGRPC(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		ctx := context.Background()
		c := sessionsClient(f.in)
		tok := f.in.Token(t)
		tk1, ses1, _ := f.signIn(t)
		tk2, _, _ := f.signIn(t)

		got, err := c.GetSession(ctx, withBearer(&sessionsv1.SessionDetailsRequest{SessionId: ses1.ID}, tok))
		if err != nil || got.Msg.GetSessionId() != ses1.ID || got.Msg.GetStatus() != "ACTIVE" {
			t.Fatalf("GetSession: %v %v", got, err)
		}
		list, err := c.GetUserSessions(ctx, withBearer(&sessionsv1.UserSessionDetailsRequest{UserId: f.userID}, tok))
		if err != nil || len(list.Msg.GetSessions()) != 2 || list.Msg.GetTotalSize() != 2 {
			t.Fatalf("GetUserSessions: %v %v", list, err)
		}
		all, err := c.RevokeAllUserSessions(ctx, withBearer(&sessionsv1.RevokeAllUserSessionsRequest{UserId: f.userID}, tok))
		if err != nil || all.Msg.GetTotalRevoked() != 2 || len(all.Msg.GetRevokedSessions()) != 2 {
			t.Fatalf("RevokeAllUserSessions: %v %v", all, err)
		}
		for _, rs := range all.Msg.GetRevokedSessions() {
			if rs.GetStatus() != "REVOKED" || rs.GetUserId() != f.userID {
				t.Errorf("revoked session %v", rs)
			}
		}
		for i, tk := range []tokens{tk1, tk2} {
			wantGrantError(t, "refresh after RevokeAllUserSessions", f.refresh(t, appBasic, tk.refresh), "invalid_grant")
			if f.active(t, tk.access) {
				t.Errorf("access token %d active after RevokeAllUserSessions", i)
			}
		}
		f.bc.wait(t)
		f.bc.wait(t)
		// Again: nothing left to revoke.
		all, err = c.RevokeAllUserSessions(ctx, withBearer(&sessionsv1.RevokeAllUserSessionsRequest{UserId: f.userID}, tok))
		if err != nil || all.Msg.GetTotalRevoked() != 0 {
			t.Errorf("second RevokeAllUserSessions: %v %v", all, err)
		}
		// Revoking a revoked session answers it unchanged.
		r, err := c.RevokeSession(ctx, withBearer(&sessionsv1.RevokeSessionRequest{SessionId: ses1.ID}, tok))
		if err != nil || r.Msg.GetRevokedSession().GetStatus() != "REVOKED" {
			t.Errorf("revoking twice: %v %v", r, err)
		}
		_, err = c.GetSession(ctx, withBearer(&sessionsv1.SessionDetailsRequest{SessionId: "ses_nosuchsession"}, tok))
		if connect.CodeOf(err) != connect.CodeNotFound {
			t.Errorf("unknown session over gRPC: %v", err)
		}
		_, err = c.GetSession(ctx, withBearer(&sessionsv1.SessionDetailsRequest{}, tok))
		if connect.CodeOf(err) != connect.CodeInvalidArgument {
			t.Errorf("no session_id over gRPC: %v", err)
		}
		_, err = c.GetSession(ctx, connect.NewRequest(&sessionsv1.SessionDetailsRequest{SessionId: ses1.ID}))
		if connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Errorf("no token over gRPC: %v", err)
		}
		// Expired sessions show as such.
		_, ses3, _ := f.signIn(t)
		f.clk.Set(t0.Add(8 * 24 * time.Hour))
		got, err = c.GetSession(ctx, withBearer(&sessionsv1.SessionDetailsRequest{SessionId: ses3.ID}, f.in.Token(t)))
		if err != nil || got.Msg.GetStatus() != "EXPIRED" || got.Msg.GetExpiredAt() == nil {
			t.Errorf("an idle session: %v %v", got, err)
		}
	})
}
