package cli_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/sessions"
)

// userTokens runs the code flow for a confidential client (a seeded user
// and session stand in for the login page) and returns the token response.
func userTokens(t *testing.T, in *servertest.Instance, clientID, secret, cb string) map[string]any {
	t.Helper()
	verifier := strings.Repeat("pkce-verifier-", 4)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {cb}, "scope": {"openid offline_access"},
		"state": {"s1"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	resp, err := noRedirects.Get(in.URL + "/oauth/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	prefix := in.URL + oauth.LoginPath + "?auth_request="
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, prefix) {
		t.Fatalf("authorize: %d Location %q", resp.StatusCode, loc)
	}
	ctx := context.Background()
	name, email := "Acme", "grace@example.com"
	org, err := in.Server.Accounts.CreateOrganization(ctx, accounts.OrgFields{DisplayName: &name})
	if err != nil {
		t.Fatal(err)
	}
	u, err := in.Server.Accounts.CreateUserAndMembership(ctx, org.ID, accounts.UserFields{Email: &email}, accounts.MembershipFields{}, false)
	if err != nil {
		t.Fatal(err)
	}
	ses, _, err := in.Server.Sessions.Create(ctx, sessions.NewSession{UserID: u.ID, OrgID: org.ID, AMR: []string{"otp"}, Cookie: true})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := in.Server.OAuth.CompleteAuthorization(ctx, rec, httptest.NewRequest("POST", "/login", nil), strings.TrimPrefix(loc, prefix), ses); err != nil {
		t.Fatal(err)
	}
	back, _ := url.Parse(rec.Header().Get("Location"))
	form := url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")}, "redirect_uri": {cb}, "code_verifier": {verifier}}
	status, body := postForm(t, in, form, clientID, secret)
	if status != 200 || body["refresh_token"] == nil {
		t.Fatalf("code exchange: %d %v", status, body)
	}
	return body
}

func listClientsCLI(t *testing.T, in *servertest.Instance) map[string]bool {
	t.Helper()
	out := mustRun(t, append([]string{"clients", "list", "--json"}, dbFlags(in)...)...)
	var list []struct {
		ClientID string `json:"client_id"`
		Public   bool   `json:"public"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("clients list: %v: %s", err, out)
	}
	ids := map[string]bool{}
	for _, c := range list {
		ids[c.ClientID] = c.Public
	}
	return ids
}

// TestClientsListAndDelete: list shows every client and no secret; delete
// stops a client at once: its management token gets 401 (though the
// server has it cached), its refresh token invalid_client, its users'
// access tokens are inactive; the last API client cannot be deleted.
func TestClientsListAndDelete(t *testing.T) {
	servertest.Each(t, servertest.Options{}, func(t *testing.T, in *servertest.Instance) {
		const cb = "https://app.example/cb"
		backend := createClientCLI(t, in, "--name", "Backend", "--redirect-uri", cb)
		spa := createClientCLI(t, in, "--name", "SPA", "--public", "--redirect-uri", "http://localhost:5173/cb")
		ids := listClientsCLI(t, in)
		if len(ids) != 3 || ids[servertest.ClientID] || ids[backend.ClientID] || !ids[spa.ClientID] {
			t.Fatalf("list = %v", ids)
		}
		text := mustRun(t, append([]string{"clients", "list"}, dbFlags(in)...)...)
		if !strings.Contains(text, "Backend") || !strings.Contains(text, "public") || strings.Contains(text, backend.ClientSecret) {
			t.Errorf("list text: %s", text)
		}

		status, body := postForm(t, in, url.Values{"grant_type": {"client_credentials"}}, backend.ClientID, backend.ClientSecret)
		mgmt, _ := body["access_token"].(string)
		if status != 200 || mgmt == "" {
			t.Fatalf("client_credentials: %d %v", status, body)
		}
		if code, _ := in.Do(t, mgmt, "GET", "/api/v1/organizations", ""); code != 200 {
			t.Fatalf("management call before delete: %d", code)
		}
		user := userTokens(t, in, backend.ClientID, backend.ClientSecret, cb)

		out := mustRun(t, append([]string{"clients", "delete", backend.ClientID}, dbFlags(in)...)...)
		if !strings.Contains(out, "deleted "+backend.ClientID) {
			t.Errorf("delete output %q", out)
		}
		if code, _ := in.Do(t, mgmt, "GET", "/api/v1/organizations", ""); code != 401 {
			t.Errorf("a deleted client's management token: %d, want 401", code)
		}
		rt, _ := user["refresh_token"].(string)
		if status, body := postForm(t, in, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, backend.ClientID, backend.ClientSecret); status != 401 || body["error"] != "invalid_client" {
			t.Errorf("a deleted client's refresh token: %d %v", status, body)
		}
		if status, _ := postForm(t, in, url.Values{"grant_type": {"client_credentials"}}, backend.ClientID, backend.ClientSecret); status != 401 {
			t.Errorf("client_credentials after delete: %d", status)
		}
		at, _ := user["access_token"].(string)
		if status, body := postIntrospect(t, in, at); status != 200 || body["active"] != false {
			t.Errorf("introspection of a deleted client's user token: %d %v", status, body)
		}
		if ids := listClientsCLI(t, in); len(ids) != 2 {
			t.Errorf("list after delete: %v", ids)
		}

		// A public client can go; the last API client cannot.
		mustRun(t, append([]string{"clients", "delete", spa.ClientID}, dbFlags(in)...)...)
		code, _, errOut := run(t, append([]string{"clients", "delete", servertest.ClientID}, dbFlags(in)...)...)
		if code == 0 || !strings.Contains(errOut, "last API client") {
			t.Errorf("deleting the last API client: exit %d %q", code, errOut)
		}
		if code, _ := in.Do(t, in.Token(t), "GET", "/api/v1/organizations", ""); code != 200 {
			t.Errorf("the remaining client: %d", code)
		}
		if code, _, errOut := run(t, append([]string{"clients", "delete", "skc_nope"}, dbFlags(in)...)...); code == 0 || !strings.Contains(errOut, "no client") {
			t.Errorf("an unknown client: exit %d %q", code, errOut)
		}
	})
}

// postIntrospect asks /oauth/introspect about a token as the bootstrap client.
func postIntrospect(t *testing.T, in *servertest.Instance, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, in.URL+"/oauth/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(servertest.ClientID, servertest.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}
