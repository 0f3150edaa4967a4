package sdk_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	organizationsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

// The examples below run against a real Gatehouse that TestMain starts on
// loopback (SQLite), seeded by sdktest: envURL, clientID and clientSecret
// are its values, and example.Code stands in for the browser and the
// hosted login page.
var (
	envURL, clientID, clientSecret string
	example                        *sdktest.Env
	exampleTB                      *mainTB
)

func TestMain(m *testing.M) {
	exampleTB = &mainTB{}
	example = sdktest.Start(exampleTB, sdktest.Options{CallbackURLs: []string{"https://app.example/callback"},
		PostLogoutURLs: []string{"https://app.example/bye"}})
	envURL, clientID, clientSecret = example.URL, example.ClientID, example.Secret
	code := m.Run()
	exampleTB.close()
	os.Exit(code)
}

// mainTB lets TestMain use the test helpers outside any test: it provides
// what they call (TempDir, Cleanup, Helper, Fatal, Errorf, Logf).
type mainTB struct {
	testing.TB
	cleanups []func()
	dirs     []string
}

func (m *mainTB) Helper()                   {}
func (m *mainTB) Name() string              { return "TestMain" }
func (m *mainTB) Cleanup(f func())          { m.cleanups = append(m.cleanups, f) }
func (m *mainTB) Fatal(args ...any)         { panic(fmt.Sprint(args...)) }
func (m *mainTB) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }
func (m *mainTB) Errorf(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }
func (m *mainTB) Logf(f string, a ...any)   { fmt.Fprintf(os.Stderr, f+"\n", a...) }
func (m *mainTB) Skip(args ...any)          { panic(fmt.Sprint(args...)) }
func (m *mainTB) TempDir() string {
	d, err := os.MkdirTemp("", "gatehouse-sdk-example")
	if err != nil {
		panic(err)
	}
	m.dirs = append(m.dirs, d)
	return d
}

func (m *mainTB) close() {
	for i := len(m.cleanups) - 1; i >= 0; i-- {
		m.cleanups[i]()
	}
	for _, d := range m.dirs {
		os.RemoveAll(d)
	}
}

// Calling the management API: the client fetches and renews its token.
func ExampleNew() {
	c, err := sdk.New(envURL, clientID, clientSecret)
	if err != nil {
		panic(err)
	}
	ext := "megasoft"
	res, err := c.Organizations().CreateOrganization(context.Background(), connect.NewRequest(&organizationsv1.CreateOrganizationRequest{
		Organization: &organizationsv1.CreateOrganization{DisplayName: "Megasoft Inc", ExternalId: &ext},
	}))
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Msg.GetOrganization().GetDisplayName(), strings.HasPrefix(res.Msg.GetOrganization().GetId(), "org_"))
	// Output: Megasoft Inc true
}

// The whole sign-in: build the authorization URL with state and PKCE,
// send the browser there, and redeem the code the callback receives.
func ExampleClient_AuthenticateWithCode() {
	c, _ := sdk.New(envURL, clientID, clientSecret)
	ctx := context.Background()
	pkce, _ := sdk.NewPKCE()
	state, _ := sdk.RandomString()
	authURL := c.AuthorizationURL("https://app.example/callback", sdk.AuthorizationURLOptions{
		State: state, Scopes: []string{"openid", "profile", "email", "offline_access"},
		CodeChallenge: pkce.Challenge, CodeChallengeMethod: pkce.Method,
	})

	// The browser goes to authURL, the user signs in, and the callback
	// receives ?code=...&state=... (here example.Code plays both parts).
	code := example.Code(exampleTB, authURL)

	res, err := c.AuthenticateWithCode(ctx, code, "https://app.example/callback", sdk.AuthenticationOptions{CodeVerifier: pkce.Verifier})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.User.Email, res.Claims.Roles, res.RefreshToken != "")
	// Output: ada@acme.example [admin] true
}

// Validating the bearer token of an API request: claims are typed.
func ExampleClient_ValidateAccessToken() {
	c, _ := sdk.New(envURL, clientID, clientSecret)
	pkce, _ := sdk.NewPKCE()
	code := example.Code(exampleTB, c.AuthorizationURL("https://app.example/callback", sdk.AuthorizationURLOptions{
		State: "s", CodeChallenge: pkce.Challenge, CodeChallengeMethod: pkce.Method}))
	res, _ := c.AuthenticateWithCode(context.Background(), code, "https://app.example/callback",
		sdk.AuthenticationOptions{CodeVerifier: pkce.Verifier})

	claims, err := c.ValidateAccessToken(context.Background(), res.AccessToken)
	if err != nil {
		panic(err)
	}
	fmt.Println(claims.Subject == example.UserID, claims.OrganizationID == example.OrgID, claims.HasPermission("projects:create"))

	_, err = c.ValidateAccessToken(context.Background(), res.IDToken) // an ID token is not an access token
	fmt.Println(err)
	// Output:
	// true true true
	// gatehouse: invalid token: wrong token type JWT
}

// Refresh tokens rotate: keep the new one, the old one is spent.
func ExampleClient_RefreshToken() {
	c, _ := sdk.New(envURL, clientID, clientSecret)
	ctx := context.Background()
	pkce, _ := sdk.NewPKCE()
	code := example.Code(exampleTB, c.AuthorizationURL("https://app.example/callback", sdk.AuthorizationURLOptions{
		State: "s", Scopes: []string{"openid", "offline_access"}, CodeChallenge: pkce.Challenge, CodeChallengeMethod: pkce.Method}))
	first, _ := c.AuthenticateWithCode(ctx, code, "https://app.example/callback", sdk.AuthenticationOptions{CodeVerifier: pkce.Verifier})

	next, err := c.RefreshToken(ctx, first.RefreshToken)
	if err != nil {
		panic(err)
	}
	fmt.Println(next.RefreshToken != first.RefreshToken, next.Claims.SessionID == first.Claims.SessionID)
	// Output: true true
}

func ExampleClient_AuthorizationURL() {
	c, _ := sdk.New("https://auth.example.com", "skc_123", "")
	fmt.Println(c.AuthorizationURL("https://app.example/callback", sdk.AuthorizationURLOptions{
		State: "af0ifjsldkj", OrganizationID: "org_123", LoginHint: "ada@acme.example",
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", CodeChallengeMethod: "S256",
	}))
	// Output: https://auth.example.com/oauth/authorize?client_id=skc_123&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&login_hint=ada%40acme.example&organization_id=org_123&redirect_uri=https%3A%2F%2Fapp.example%2Fcallback&response_type=code&scope=openid+profile+email&state=af0ifjsldkj
}

func ExampleClient_LogoutURL() {
	c, _ := sdk.New("https://auth.example.com", "skc_123", "")
	fmt.Println(c.LogoutURL(sdk.LogoutURLOptions{IDTokenHint: "eyJhbGciOi...", PostLogoutRedirectURI: "https://app.example/bye", State: "x1"}))
	// Output: https://auth.example.com/oidc/logout?id_token_hint=eyJhbGciOi...&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fbye&state=x1
}

func ExampleCodeChallengeS256() {
	// The verifier and challenge of RFC 7636 appendix B.
	fmt.Println(sdk.CodeChallengeS256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"))
	// Output: E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM
}

func ExampleSignWebhookPayload() {
	// The Standard Webhooks reference vector.
	sig, _ := sdk.SignWebhookPayload("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
		time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	fmt.Println(sig)
	// Output: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
}

func ExampleVerifyWebhookPayloadAt() {
	h := http.Header{}
	h.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	body := []byte(`{"test": 2432232314}`)
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	fmt.Println(sdk.VerifyWebhookPayloadAt(secret, h, body, time.Unix(1614265330+60, 0)))
	fmt.Println(sdk.VerifyWebhookPayloadAt(secret, h, body, time.Unix(1614265330+600, 0)))
	fmt.Println(sdk.VerifyWebhookPayloadAt(secret, h, []byte(`{"test": 1}`), time.Unix(1614265330, 0)))
	// Output:
	// <nil>
	// gatehouse: webhook: timestamp missing, malformed, or more than 5 minutes from now
	// gatehouse: webhook: no valid v1 signature
}

// A webhook endpoint: read the raw body, verify, then decode.
func ExampleClient_VerifyWebhookPayload() {
	c, _ := sdk.New(envURL, clientID, clientSecret)
	secret := "whsec_c2VjcmV0LWtleS1mb3ItdGhlLWV4YW1wbGU="
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err := c.VerifyWebhookPayload(secret, r.Header, body); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		fmt.Println("verified:", string(body))
	})

	// A delivery, signed as Gatehouse signs it.
	body := `{"type":"user.created","data":{"id":"usr_1"}}`
	now := time.Now()
	sig, _ := sdk.SignWebhookPayload(secret, "evt_1", now, []byte(body))
	req := httptest.NewRequest(http.MethodPost, "/webhooks", strings.NewReader(body))
	req.Header.Set("webhook-id", "evt_1")
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	handler.ServeHTTP(httptest.NewRecorder(), req)
	// Output: verified: {"type":"user.created","data":{"id":"usr_1"}}
}
