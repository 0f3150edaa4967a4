package cli_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
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

// dbFlags are the database flags of the server in.
func dbFlags(in *servertest.Instance) []string {
	if in.Config.DatabaseURL != "" {
		return []string{"--database-url", in.Config.DatabaseURL}
	}
	return []string{"--data-dir", in.Config.DataDir}
}

type created struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	Public       bool   `json:"public"`
}

func createClientCLI(t *testing.T, in *servertest.Instance, args ...string) created {
	t.Helper()
	out := mustRun(t, append(append([]string{"clients", "create", "--json"}, args...), dbFlags(in)...)...)
	var c created
	if err := json.Unmarshal([]byte(out), &c); err != nil || c.ClientID == "" {
		t.Fatalf("clients create: %v: %s", err, out)
	}
	return c
}

func postForm(t *testing.T, in *servertest.Instance, v url.Values, user, pass string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, in.URL+"/oauth/token", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	body := map[string]any{}
	_ = json.Unmarshal(b, &body)
	return resp.StatusCode, body
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestClientsCreatePublic: a public client made by the CLI runs the
// authorization code flow with PKCE and no secret, and cannot skip PKCE.
func TestClientsCreatePublic(t *testing.T) {
	servertest.Each(t, servertest.Options{}, func(t *testing.T, in *servertest.Instance) {
		const cb = "http://localhost:5173/callback"
		c := createClientCLI(t, in, "--name", "My SPA", "--public", "--redirect-uri", cb)
		if !c.Public || c.ClientSecret != "" {
			t.Fatalf("public client = %+v, want no secret", c)
		}
		verifier := strings.Repeat("pkce-verifier-", 4)
		sum := sha256.Sum256([]byte(verifier))
		q := url.Values{"response_type": {"code"}, "client_id": {c.ClientID}, "redirect_uri": {cb}, "scope": {"openid"},
			"state": {"s1"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}

		// Without PKCE the request is refused.
		noPKCE := url.Values{}
		for k, v := range q {
			if !strings.HasPrefix(k, "code_challenge") {
				noPKCE[k] = v
			}
		}
		resp, err := noRedirects.Get(in.URL + "/oauth/authorize?" + noPKCE.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); strings.Contains(loc, "auth_request=") || (!strings.Contains(loc, "error=") && resp.StatusCode < 400) {
			t.Errorf("a public client without PKCE: %d Location %q, want an error", resp.StatusCode, loc)
		}

		resp, err = noRedirects.Get(in.URL + "/oauth/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		prefix := in.URL + oauth.LoginPath + "?auth_request="
		loc := resp.Header.Get("Location")
		if !strings.HasPrefix(loc, prefix) {
			t.Fatalf("authorize: %d Location %q, want the login page", resp.StatusCode, loc)
		}
		ctx := context.Background()
		name, email := "Acme", "ada@example.com"
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
			t.Fatalf("CompleteAuthorization: %v", err)
		}
		back, _ := url.Parse(rec.Header().Get("Location"))
		code := back.Query().Get("code")
		if !strings.HasPrefix(back.String(), cb+"?") || code == "" {
			t.Fatalf("redirect = %q, want the SPA callback with a code", back)
		}
		form := url.Values{"grant_type": {"authorization_code"}, "client_id": {c.ClientID}, "code": {code}, "redirect_uri": {cb}, "code_verifier": {verifier}}
		if status, body := postForm(t, in, form, "", ""); status != 200 || body["access_token"] == nil || body["id_token"] == nil {
			t.Fatalf("code exchange by the public client: %d %v", status, body)
		}
		// A public client cannot use client_credentials.
		if status, _ := postForm(t, in, url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID}}, "", ""); status == 200 {
			t.Errorf("client_credentials for a public client succeeded")
		}
	})
}

// TestClientsCreateConfidential: a confidential client gets a secret once,
// stored hashed, and authenticates at /oauth/token with it.
func TestClientsCreateConfidential(t *testing.T) {
	servertest.Each(t, servertest.Options{}, func(t *testing.T, in *servertest.Instance) {
		c := createClientCLI(t, in, "--name", "Backend", "--redirect-uri", "https://app.example/cb")
		if c.Public || !strings.HasPrefix(c.ClientSecret, "skcs_") {
			t.Fatalf("confidential client = %+v, want a secret", c)
		}
		var n int
		if err := in.Server.Store().DB().QueryRow(`SELECT COUNT(*) FROM client_secrets WHERE client_id = $1 AND secret_hash = $2`,
			c.ClientID, c.ClientSecret).Scan(&n); err != nil || n != 0 {
			t.Errorf("the secret is stored in clear (%d rows, %v)", n, err)
		}
		if status, body := postForm(t, in, url.Values{"grant_type": {"client_credentials"}}, c.ClientID, c.ClientSecret); status != 200 || body["access_token"] == nil {
			t.Fatalf("client_credentials with the new client: %d %v", status, body)
		}
		if status, _ := postForm(t, in, url.Values{"grant_type": {"client_credentials"}}, c.ClientID, c.ClientSecret+"x"); status != 401 {
			t.Errorf("wrong secret: %d, want 401", status)
		}
		// The text form prints the id and the secret.
		out := mustRun(t, append([]string{"clients", "create", "--name", "Other"}, dbFlags(in)...)...)
		if !strings.Contains(out, "client_id: skc_") || !strings.Contains(out, "client_secret: skcs_") {
			t.Errorf("output = %q", out)
		}
	})
}

func TestClientsCreateRefusesBadInput(t *testing.T) {
	in := servertest.Start(t, servertest.Options{})
	if code, _, errOut := run(t, append([]string{"clients", "create", "--public"}, dbFlags(in)...)...); code == 0 || !strings.Contains(errOut, "--name") {
		t.Errorf("no --name: exit %d %q", code, errOut)
	}
	if code, _, errOut := run(t, append([]string{"clients", "create", "--name", "x", "--redirect-uri", "not a url"}, dbFlags(in)...)...); code == 0 || !strings.Contains(errOut, "--redirect-uri") {
		t.Errorf("bad redirect: exit %d %q", code, errOut)
	}
	if code, _, errOut := run(t, "clients", "create", "--name", "x", "--data-dir", t.TempDir()); code == 0 || !strings.Contains(errOut, "serve once") {
		t.Errorf("empty database: exit %d %q", code, errOut)
	}
}
