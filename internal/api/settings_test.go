package api_test

// The gatehouse.v1 SettingsService (redirects, branding, session policy)
// and Scalekit's organization session-policy calls, over REST, gRPC and
// Connect, on both databases. Every refusal names the field and the rule
// (the violation's constraint), and a refused request changes nothing.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/wrapperspb"

	gatehousev1 "github.com/gatehouse/gatehouse/gen/gatehouse/v1"
	"github.com/gatehouse/gatehouse/gen/gatehouse/v1/gatehousev1connect"
	commonsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/commons"
	errdetailsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/errdetails"
	organizationsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/redirects"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

const (
	redirectsPath     = "/api/v1/settings/redirects"
	brandingPath      = "/api/v1/settings/branding"
	sessionPolicyPath = "/api/v1/settings/session-policy"
)

// production runs fn on production servers (no --dev).
func production(t *testing.T, fn func(t *testing.T, h *harness)) {
	eachWith(t, servertest.Options{Configure: func(c *config.Config) { c.Dev = false }}, fn)
}

type settingsClient struct {
	name string
	c    gatehousev1connect.SettingsServiceClient
}

func (h *harness) settingsClients() []settingsClient {
	auth := connect.WithInterceptors(bearer(h.token))
	h2c := h2cClient()
	h.t.Cleanup(h2c.CloseIdleConnections)
	return []settingsClient{
		{"grpc", gatehousev1connect.NewSettingsServiceClient(h2c, h.URL, connect.WithGRPC(), auth)},
		{"connect", gatehousev1connect.NewSettingsServiceClient(http.DefaultClient, h.URL, auth)},
		{"connect+json", gatehousev1connect.NewSettingsServiceClient(http.DefaultClient, h.URL, connect.WithProtoJSON(), auth)},
	}
}

// fullViolation is a field violation with its constraint: the rule broken.
type fullViolation struct{ Field, Description, Constraint string }

func restViolations(body map[string]any) []fullViolation {
	var out []fullViolation
	for _, d := range list(body, "details") {
		for _, v := range list(d, "validation_error_info.field_violations") {
			out = append(out, fullViolation{str(v, "field"), str(v, "description"), str(v, "constraint")})
		}
	}
	return out
}

func rpcViolations(err error) []fullViolation {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return nil
	}
	var out []fullViolation
	for _, d := range ce.Details() {
		if m, derr := d.Value(); derr == nil {
			if info, ok := m.(*errdetailsv1.ErrorInfo); ok {
				for _, v := range info.GetValidationErrorInfo().GetFieldViolations() {
					out = append(out, fullViolation{v.GetField(), v.GetDescription(), v.GetConstraint()})
				}
			}
		}
	}
	return out
}

// wantRule fails unless vs has a violation of field breaking rule, with a
// description that says something.
func wantRule(t *testing.T, vs []fullViolation, field, rule string) {
	t.Helper()
	for _, v := range vs {
		if v.Field == field && v.Constraint == rule && v.Description != "" {
			return
		}
	}
	t.Errorf("no violation of %s naming rule %q; got %+v", field, rule, vs)
}

// wantRefused checks a REST refusal (400 naming field and rule) and that
// the resource at path still reads as before.
func (h *harness) wantRefused(method, path, body string, before map[string]any, field, rule string) {
	h.t.Helper()
	status, out := h.rest(method, path, body)
	wantREST(h.t, status, out, http.StatusBadRequest, "INVALID_ARGUMENT", field)
	wantRule(h.t, restViolations(out), field, rule)
	if after := h.mustREST("GET", path, ""); !reflect.DeepEqual(after, before) {
		h.t.Errorf("%s %s with %s changed %s:\n before %v\n after  %v", method, path, body, path, before, after)
	}
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return m
}

func TestRedirectsJSONIsExactlyTheFourKinds(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		resp, raw := h.raw(h.newRequest("GET", redirectsPath, nil))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", redirectsPath, resp.StatusCode, raw)
		}
		want := decode(t, `{"callback_urls":[],"initiate_login_url":"","post_logout_urls":[],"backchannel_logout_url":""}`)
		if got := decode(t, string(raw)); !reflect.DeepEqual(got, want) {
			t.Errorf("GET %s on a new environment = %s, want %v", redirectsPath, raw, want)
		}

		body := `{"callback_urls":["https://app.example.com/callback","http://localhost:3000/callback","com.example.app://callback"],
			"initiate_login_url":"https://app.example.com/login","post_logout_urls":["https://app.example.com/"],
			"backchannel_logout_url":"https://app.example.com/backchannel"}`
		put := h.mustREST("PUT", redirectsPath, body)
		if !reflect.DeepEqual(put, decode(t, body)) {
			t.Errorf("PUT answered %v, want the redirects sent", put)
		}
		if got := h.mustREST("GET", redirectsPath, ""); !reflect.DeepEqual(got, decode(t, body)) {
			t.Errorf("GET after PUT = %v", got)
		}

		// lowerCamelCase input works; surrounding spaces are trimmed; the
		// whole object is replaced (PUT).
		h.mustREST("PUT", redirectsPath, `{"callbackUrls":[" https://b.example.com/cb "]}`)
		want = decode(t, `{"callback_urls":["https://b.example.com/cb"],"initiate_login_url":"","post_logout_urls":[],"backchannel_logout_url":""}`)
		before := h.mustREST("GET", redirectsPath, "")
		if !reflect.DeepEqual(before, want) {
			t.Errorf("after a PUT of callback URLs only: %v, want %v", before, want)
		}

		// Unknown fields and wrong types are refused by name.
		status, out := h.rest("PUT", redirectsPath, `{"callback_urls":["https://c.example.com/cb"],"redirect_uris":[]}`)
		wantREST(t, status, out, http.StatusBadRequest, "INVALID_ARGUMENT", "redirect_uris")
		status, out = h.rest("PUT", redirectsPath, `{"callback_urls":"https://c.example.com/cb"}`)
		wantREST(t, status, out, http.StatusBadRequest, "INVALID_ARGUMENT", "body")
		// An RPC update without its object would clear everything: refused.
		_, err := h.settingsClients()[0].c.UpdateRedirects(ctx, connect.NewRequest(&gatehousev1.UpdateRedirectsRequest{}))
		wantRPC(t, err, connect.CodeInvalidArgument, "redirects")
		if after := h.mustREST("GET", redirectsPath, ""); !reflect.DeepEqual(after, before) {
			t.Errorf("refused PUTs changed the redirects: %v", after)
		}
	})
}

// validRedirects is what the rule tests start from and must find again
// after every refusal.
const validRedirects = `{"callback_urls":["https://app.example.com/callback"],"initiate_login_url":"",
	"post_logout_urls":["https://app.example.com/"],"backchannel_logout_url":""}`

type redirectCase struct {
	body, field, rule string
}

func TestRedirectRulesInDevelopment(t *testing.T) {
	long := "https://app.example.com/" + strings.Repeat("a", 233)
	many := make([]string, 65)
	for i := range many {
		many[i] = fmt.Sprintf("https://app.example.com/cb%d", i)
	}
	cases := []redirectCase{
		{`{"callback_urls":["https://*.com/cb"]}`, "callback_urls[0]", "wildcard_root"},
		{`{"callback_urls":["https://*.co.uk/cb"]}`, "callback_urls[0]", "wildcard_root"},
		{`{"callback_urls":["https://*.*.acmecorp.com/cb"]}`, "callback_urls[0]", "wildcard_count"},
		{`{"callback_urls":["https://acmecorp.*.com/cb"]}`, "callback_urls[0]", "wildcard_subdomain"},
		{`{"callback_urls":["https://auth.*.acmecorp.com/cb"]}`, "callback_urls[0]", "wildcard_leftmost"},
		{`{"callback_urls":["https://app.acmecorp.com/*"]}`, "callback_urls[0]", "wildcard_host"},
		{`{"initiate_login_url":"https://*.acmecorp.com/login"}`, "initiate_login_url", "wildcard_kind"},
		{`{"callback_urls":["https://app.example.com/cb?next=1"]}`, "callback_urls[0]", "query"},
		{`{"callback_urls":["https://app.example.com/cb#top"]}`, "callback_urls[0]", "fragment"},
		{`{"callback_urls":["` + long + `"]}`, "callback_urls[0]", "max_length"},
		{`{"callback_urls":["javascript:alert(1)"]}`, "callback_urls[0]", "scheme"},
		{`{"backchannel_logout_url":"com.example.app://logout"}`, "backchannel_logout_url", "scheme"},
		{`{"callback_urls":["/callback"]}`, "callback_urls[0]", "absolute"},
		{`{"callback_urls":["https://app.example.com@evil.example/cb"]}`, "callback_urls[0]", "userinfo"},
		{`{"callback_urls":["https://app..example.com/cb"]}`, "callback_urls[0]", "host"},
		{`{"callback_urls":["https://app.example.com/a b"]}`, "callback_urls[0]", "characters"},
		{`{"callback_urls":[""]}`, "callback_urls[0]", "required"},
		{`{"callback_urls":["https://a.example.com/cb","https://a.example.com/cb"]}`, "callback_urls[1]", "unique"},
		{`{"post_logout_urls":["https://app.example.com/","https://*.com/"]}`, "post_logout_urls[1]", "wildcard_root"},
	}
	each(t, func(t *testing.T, h *harness) {
		before := h.mustREST("PUT", redirectsPath, validRedirects)
		for _, c := range cases {
			h.wantRefused("PUT", redirectsPath, c.body, before, c.field, c.rule)
		}
		// Too many URLs.
		status, out := h.rest("PUT", redirectsPath, jsonString(t, map[string]any{"callback_urls": many}))
		wantREST(t, status, out, http.StatusBadRequest, "INVALID_ARGUMENT", "callback_urls")
		// Several problems at once are all reported.
		status, out = h.rest("PUT", redirectsPath, `{"callback_urls":["https://*.com/cb"],"post_logout_urls":["https://a.example.com/?x"],"backchannel_logout_url":"ftp://x.example.com"}`)
		wantREST(t, status, out, http.StatusBadRequest, "INVALID_ARGUMENT", "callback_urls[0]", "post_logout_urls[0]", "backchannel_logout_url")
		if after := h.mustREST("GET", redirectsPath, ""); !reflect.DeepEqual(after, before) {
			t.Errorf("refused PUTs changed the redirects: %v", after)
		}

		// What development accepts.
		ok := `{"callback_urls":["http://localhost:3000/callback","https://*.acmecorp.com/callback","https://auth-*.acmecorp.com/cb",
			"http://127.0.0.1/cb","com.example.app://callback"],"initiate_login_url":"http://localhost:3000/login",
			"post_logout_urls":["https://*.preview.acmecorp.com/"],"backchannel_logout_url":"http://localhost:3000/bc"}`
		if got := h.mustREST("PUT", redirectsPath, ok); !reflect.DeepEqual(got, decode(t, ok)) {
			t.Errorf("PUT answered %v", got)
		}
		// The stored URLs are what the server matches against.
		for _, m := range []struct {
			kind redirects.Kind
			uri  string
			want bool
		}{
			{redirects.Callback, "https://pr-7.acmecorp.com/callback", true},
			{redirects.Callback, "https://a.b.acmecorp.com/callback", false},
			{redirects.Callback, "http://127.0.0.1:54321/cb", true},
			{redirects.Callback, "http://localhost:3000/callback", true},
			{redirects.Callback, "http://localhost:3001/callback", false},
			{redirects.PostLogout, "https://x.preview.acmecorp.com/", true},
			{redirects.PostLogout, "https://x.acmecorp.com/", false},
		} {
			got, err := h.Server.Settings.MatchRedirect(ctx, m.kind, m.uri)
			if err != nil || got != m.want {
				t.Errorf("MatchRedirect(%s, %q) = %v, %v; want %v", m.kind, m.uri, got, err, m.want)
			}
		}
	})
}

func TestRedirectRulesInProduction(t *testing.T) {
	cases := []redirectCase{
		{`{"callback_urls":["http://app.example.com/cb"]}`, "callback_urls[0]", "scheme"},
		{`{"callback_urls":["http://localhost:3000/cb"]}`, "callback_urls[0]", "scheme"},
		{`{"callback_urls":["https://localhost:3000/cb"]}`, "callback_urls[0]", "localhost"},
		{`{"callback_urls":["https://127.0.0.1/cb"]}`, "callback_urls[0]", "localhost"},
		{`{"callback_urls":["https://[::1]:8443/cb"]}`, "callback_urls[0]", "localhost"},
		{`{"callback_urls":["https://*.acmecorp.com/cb"]}`, "callback_urls[0]", "wildcard"},
		{`{"post_logout_urls":["https://*.acmecorp.com/"]}`, "post_logout_urls[0]", "wildcard"},
		{`{"initiate_login_url":"http://app.example.com/login"}`, "initiate_login_url", "scheme"},
		{`{"backchannel_logout_url":"https://localhost/bc"}`, "backchannel_logout_url", "localhost"},
		{`{"callback_urls":["https://app.example.com/cb?x=1"]}`, "callback_urls[0]", "query"},
		{`{"callback_urls":["https://app.example.com/cb#x"]}`, "callback_urls[0]", "fragment"},
	}
	production(t, func(t *testing.T, h *harness) {
		if typ, err := h.Server.Settings.EnvironmentType(ctx); err != nil || typ != redirects.Production {
			t.Fatalf("environment type %q, %v; want production", typ, err)
		}
		before := h.mustREST("PUT", redirectsPath, validRedirects)
		for _, c := range cases {
			h.wantRefused("PUT", redirectsPath, c.body, before, c.field, c.rule)
		}
		ok := `{"callback_urls":["https://app.example.com/callback","com.example.app://callback","com.example.app:/oauth2redirect"],
			"initiate_login_url":"https://app.example.com/login","post_logout_urls":["https://app.example.com/"],
			"backchannel_logout_url":"https://app.example.com/bc"}`
		if got := h.mustREST("PUT", redirectsPath, ok); !reflect.DeepEqual(got, decode(t, ok)) {
			t.Errorf("PUT answered %v", got)
		}
	})
}

// TestExplicitEnvironmentType: --environment-type decides the rules.
func TestExplicitEnvironmentType(t *testing.T) {
	t.Parallel()
	dev := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) { c.Dev, c.EnvType = false, "development" }})
	h := newHarness(t, dev, dev.Token(t))
	h.mustREST("PUT", redirectsPath, `{"callback_urls":["http://localhost:3000/cb","https://*.acmecorp.com/cb"]}`)

	prod := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) { c.EnvType = "production"; c.Dev = false }})
	h = newHarness(t, prod, prod.Token(t))
	status, out := h.rest("PUT", redirectsPath, `{"callback_urls":["http://localhost:3000/cb"]}`)
	wantREST(t, status, out, http.StatusBadRequest, "INVALID_ARGUMENT", "callback_urls[0]")
	wantRule(t, restViolations(out), "callback_urls[0]", "scheme")
}

// TestProductionOnLoopbackHTTPStartsWithAWarning: a local trial of a
// production environment is allowed, with a warning.
func TestProductionOnLoopbackHTTPStartsWithAWarning(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		dev  bool
		warn bool
	}{{"production", false, true}, {"development", true, false}} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &syncBuf{}
			servertest.Start(t, servertest.Options{Log: slog.New(slog.NewJSONHandler(logs, nil)),
				Configure: func(c *config.Config) { c.Dev = tc.dev }})
			var found bool
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, `"level":"WARN"`) && strings.Contains(line, "loopback http public URL") {
					found = true
				}
			}
			if found != tc.warn {
				t.Errorf("warning logged: %v, want %v; logs:\n%s", found, tc.warn, logs.String())
			}
		})
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRedirectsRegisteredInDevelopmentStayButStopMatchingInProduction: when
// an environment becomes production, URLs production refuses are kept (so
// the others can still be edited) but no longer honoured.
func TestRedirectsRegisteredInDevelopmentStayButStopMatchingInProduction(t *testing.T) {
	t.Parallel()
	const key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // base64 of 32 bytes
	dsn := ""
	dev := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) { dsn, c.SecretKey = c.DSN(), key }})
	h := newHarness(t, dev, dev.Token(t))
	h.mustREST("PUT", redirectsPath, `{"callback_urls":["http://localhost:3000/cb","https://app.example.com/cb"]}`)
	if ok, _ := dev.Server.Settings.MatchRedirect(ctx, redirects.Callback, "http://localhost:3000/cb"); !ok {
		t.Fatal("development does not match its localhost callback")
	}

	prod := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) {
		c.Dev, c.DatabaseURL, c.SecretKey = false, "sqlite://"+dsn, key
	}})
	h = newHarness(t, prod, prod.Token(t))
	if ok, _ := prod.Server.Settings.MatchRedirect(ctx, redirects.Callback, "http://localhost:3000/cb"); ok {
		t.Error("production honours a localhost callback registered in development")
	}
	if ok, _ := prod.Server.Settings.MatchRedirect(ctx, redirects.Callback, "https://app.example.com/cb"); !ok {
		t.Error("production does not honour an https callback")
	}
	// Adding a URL keeps the old ones; a new localhost URL is refused.
	h.mustREST("PUT", redirectsPath, `{"callback_urls":["http://localhost:3000/cb","https://app.example.com/cb","https://b.example.com/cb"]}`)
	status, out := h.rest("PUT", redirectsPath, `{"callback_urls":["http://localhost:3000/cb","http://localhost:4000/cb"]}`)
	wantREST(t, status, out, http.StatusBadRequest, "INVALID_ARGUMENT", "callback_urls[1]")
	if vs := restViolations(out); len(vs) != 1 {
		t.Errorf("violations %+v, want only the new URL's", vs)
	}
}

func TestRedirectsOverRPC(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		for i, c := range h.settingsClients() {
			want := &gatehousev1.Redirects{CallbackUrls: []string{fmt.Sprintf("https://app%d.example.com/cb", i)},
				InitiateLoginUrl: "https://app.example.com/login", PostLogoutUrls: []string{"https://app.example.com/"}}
			got, err := c.c.UpdateRedirects(ctx, connect.NewRequest(&gatehousev1.UpdateRedirectsRequest{Redirects: want}))
			if err != nil {
				t.Fatalf("%s: UpdateRedirects: %v", c.name, err)
			}
			if got.Msg.GetCallbackUrls()[0] != want.CallbackUrls[0] || got.Msg.GetInitiateLoginUrl() != want.InitiateLoginUrl {
				t.Errorf("%s: UpdateRedirects answered %v", c.name, got.Msg)
			}
			_, err = c.c.UpdateRedirects(ctx, connect.NewRequest(&gatehousev1.UpdateRedirectsRequest{Redirects: &gatehousev1.Redirects{
				CallbackUrls: []string{"https://ok.example.com/cb", "https://auth.*.example.com/cb"}}}))
			wantRPC(t, err, connect.CodeInvalidArgument, "callback_urls[1]")
			wantRule(t, rpcViolations(err), "callback_urls[1]", "wildcard_leftmost")
			read, err := c.c.GetRedirects(ctx, connect.NewRequest(&gatehousev1.GetRedirectsRequest{}))
			if err != nil {
				t.Fatalf("%s: GetRedirects: %v", c.name, err)
			}
			if len(read.Msg.GetCallbackUrls()) != 1 || read.Msg.GetCallbackUrls()[0] != want.CallbackUrls[0] {
				t.Errorf("%s: after a refused update, GetRedirects = %v", c.name, read.Msg)
			}
			if rest := h.mustREST("GET", redirectsPath, ""); str(rest, "callback_urls.0") != want.CallbackUrls[0] {
				t.Errorf("%s: REST reads %v", c.name, rest)
			}
		}
	})
}

func TestSettingsNeedAManagementToken(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		before := h.mustREST("GET", redirectsPath, "")
		for _, r := range []struct{ method, path, body string }{
			{"GET", redirectsPath, ""}, {"PUT", redirectsPath, `{"callback_urls":["https://x.example.com/cb"]}`},
			{"GET", brandingPath, ""}, {"PUT", brandingPath, `{"company_name":"X"}`},
			{"GET", sessionPolicyPath, ""}, {"PUT", sessionPolicyPath, `{"access_token_ttl_seconds":60}`},
		} {
			status, body := h.Do(t, "", r.method, r.path, r.body)
			wantREST(t, status, body, http.StatusUnauthorized, "UNAUTHENTICATED")
			status, body = h.Do(t, "not-a-token", r.method, r.path, r.body)
			wantREST(t, status, body, http.StatusUnauthorized, "UNAUTHENTICATED")
		}
		h2c := h2cClient()
		t.Cleanup(h2c.CloseIdleConnections)
		anon := gatehousev1connect.NewSettingsServiceClient(h2c, h.URL, connect.WithGRPC())
		_, err := anon.UpdateRedirects(ctx, connect.NewRequest(&gatehousev1.UpdateRedirectsRequest{}))
		if connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Errorf("gRPC UpdateRedirects without a token: %v", err)
		}
		if after := h.mustREST("GET", redirectsPath, ""); !reflect.DeepEqual(after, before) {
			t.Errorf("unauthenticated calls changed the redirects: %v", after)
		}
	})
}

func TestBranding(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		empty := decode(t, `{"logo_url":"","favicon_url":"","primary_color":"","background_color":"","company_name":"",
			"terms_url":"","privacy_url":"","login_heading":""}`)
		if got := h.mustREST("GET", brandingPath, ""); !reflect.DeepEqual(got, empty) {
			t.Errorf("GET %s on a new environment = %v", brandingPath, got)
		}
		body := `{"logo_url":" https://cdn.example.com/logo.png ","favicon_url":"http://localhost:3000/favicon.ico",
			"primary_color":"#1A73E8","background_color":"#fff","company_name":"Acme, Inc.","terms_url":"https://example.com/terms",
			"privacy_url":"https://example.com/privacy?lang=en","login_heading":"Sign in to Acme"}`
		want := decode(t, strings.Replace(body, " https://cdn.example.com/logo.png ", "https://cdn.example.com/logo.png", 1))
		if got := h.mustREST("PUT", brandingPath, body); !reflect.DeepEqual(got, want) {
			t.Errorf("PUT answered %v, want %v", got, want)
		}
		before := h.mustREST("GET", brandingPath, "")
		if !reflect.DeepEqual(before, want) {
			t.Errorf("GET after PUT = %v", before)
		}
		for _, c := range []redirectCase{
			{`{"logo_url":"ftp://cdn.example.com/logo.png"}`, "logo_url", "url"},
			{`{"logo_url":"javascript:alert(1)"}`, "logo_url", "url"},
			{`{"favicon_url":"https://"}`, "favicon_url", "url"},
			{`{"privacy_url":"https://user:pw@example.com/privacy"}`, "privacy_url", "url"},
			{`{"terms_url":"https://example.com/our terms"}`, "terms_url", "characters"},
			{`{"terms_url":"https://example.com/` + strings.Repeat("t", 2048) + `"}`, "terms_url", "max_length"},
			{`{"primary_color":"red"}`, "primary_color", "hex_color"},
			{`{"primary_color":"#12345"}`, "primary_color", "hex_color"},
			{`{"background_color":"#ggg"}`, "background_color", "hex_color"},
			{`{"company_name":"` + strings.Repeat("é", 101) + `"}`, "company_name", "max_length"},
			{`{"login_heading":"` + strings.Repeat("h", 121) + `"}`, "login_heading", "max_length"},
			{`{"login_heading":"Sign in\nnow"}`, "login_heading", "characters"},
		} {
			h.wantRefused("PUT", brandingPath, c.body, before, c.field, c.rule)
		}
		status, out := h.rest("PUT", brandingPath, `{"logo":"https://cdn.example.com/logo.png"}`)
		wantREST(t, status, out, http.StatusBadRequest, "INVALID_ARGUMENT", "logo")

		for _, c := range h.settingsClients() {
			got, err := c.c.UpdateBranding(ctx, connect.NewRequest(&gatehousev1.UpdateBrandingRequest{Branding: &gatehousev1.Branding{
				CompanyName: "Acme " + c.name, PrimaryColor: "#123"}}))
			if err != nil || got.Msg.GetCompanyName() != "Acme "+c.name || got.Msg.GetLogoUrl() != "" {
				t.Errorf("%s: UpdateBranding = %v, %v", c.name, got, err)
			}
			_, err = c.c.UpdateBranding(ctx, connect.NewRequest(&gatehousev1.UpdateBrandingRequest{Branding: &gatehousev1.Branding{
				CompanyName: "Changed", BackgroundColor: "blue"}}))
			wantRPC(t, err, connect.CodeInvalidArgument, "background_color")
			read, err := c.c.GetBranding(ctx, connect.NewRequest(&gatehousev1.GetBrandingRequest{}))
			if err != nil || read.Msg.GetCompanyName() != "Acme "+c.name {
				t.Errorf("%s: after a refused update GetBranding = %v, %v", c.name, read, err)
			}
		}
	})
}

func TestBrandingURLsMustBeHTTPSInProduction(t *testing.T) {
	production(t, func(t *testing.T, h *harness) {
		before := h.mustREST("PUT", brandingPath, `{"logo_url":"https://cdn.example.com/logo.png"}`)
		for _, f := range []string{"logo_url", "favicon_url", "terms_url", "privacy_url"} {
			h.wantRefused("PUT", brandingPath, `{"`+f+`":"http://cdn.example.com/x"}`, before, f, "https")
		}
	})
}

// TestBrandingForUsesTheOrganizationsLogo: the hosted login page's branding
// for an organization's login carries the organization's own logo.
func TestBrandingForUsesTheOrganizationsLogo(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		h.mustREST("PUT", brandingPath, `{"logo_url":"https://cdn.example.com/env.png","company_name":"Acme"}`)
		withLogo := str(h.mustREST("POST", "/api/v1/organizations", `{"display_name":"Org","logo_url":"https://org.example.com/logo.png"}`), "organization.id")
		plain := h.createOrg("Plain", "")
		b, err := h.Server.Settings.BrandingFor(ctx, withLogo)
		if err != nil || b.LogoURL != "https://org.example.com/logo.png" || b.CompanyName != "Acme" {
			t.Errorf("BrandingFor(organization with a logo) = %+v, %v", b, err)
		}
		b, err = h.Server.Settings.BrandingFor(ctx, plain)
		if err != nil || b.LogoURL != "https://cdn.example.com/env.png" {
			t.Errorf("BrandingFor(organization without a logo) = %+v, %v", b, err)
		}
		b, err = h.Server.Settings.BrandingFor(ctx, "")
		if err != nil || b.LogoURL != "https://cdn.example.com/env.png" {
			t.Errorf("BrandingFor(no organization) = %+v, %v", b, err)
		}
		if _, err := h.Server.Settings.BrandingFor(ctx, "org_unknown"); err == nil {
			t.Error("BrandingFor(an unknown organization) succeeded")
		}
	})
}

func TestEnvironmentSessionPolicy(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		defaults := decode(t, `{"access_token_ttl_seconds":299,"absolute_timeout_minutes":43200,"idle_timeout_enabled":true,"idle_timeout_minutes":10080}`)
		if got := h.mustREST("GET", sessionPolicyPath, ""); !reflect.DeepEqual(got, defaults) {
			t.Errorf("GET %s on a new environment = %v, want %v", sessionPolicyPath, got, defaults)
		}
		body := `{"access_token_ttl_seconds":600,"absolute_timeout_minutes":480,"idle_timeout_enabled":true,"idle_timeout_minutes":60}`
		if got := h.mustREST("PUT", sessionPolicyPath, body); !reflect.DeepEqual(got, decode(t, body)) {
			t.Errorf("PUT answered %v", got)
		}
		before := h.mustREST("GET", sessionPolicyPath, "")
		for _, c := range []redirectCase{
			{`{"access_token_ttl_seconds":0,"absolute_timeout_minutes":480}`, "access_token_ttl_seconds", "positive"},
			{`{"access_token_ttl_seconds":-5,"absolute_timeout_minutes":480}`, "access_token_ttl_seconds", "positive"},
			{`{"access_token_ttl_seconds":86401,"absolute_timeout_minutes":480}`, "access_token_ttl_seconds", "max"},
			{`{"access_token_ttl_seconds":600}`, "absolute_timeout_minutes", "positive"},
			{`{"access_token_ttl_seconds":600,"absolute_timeout_minutes":-1}`, "absolute_timeout_minutes", "positive"},
			{`{"access_token_ttl_seconds":600,"absolute_timeout_minutes":525601}`, "absolute_timeout_minutes", "max"},
			{`{"access_token_ttl_seconds":600,"absolute_timeout_minutes":60,"idle_timeout_enabled":true,"idle_timeout_minutes":61}`, "idle_timeout_minutes", "idle_le_absolute"},
			{`{"access_token_ttl_seconds":600,"absolute_timeout_minutes":60,"idle_timeout_enabled":true}`, "idle_timeout_minutes", "positive"},
			{`{"access_token_ttl_seconds":600,"absolute_timeout_minutes":60,"idle_timeout_minutes":-1}`, "idle_timeout_minutes", "positive"},
		} {
			h.wantRefused("PUT", sessionPolicyPath, c.body, before, c.field, c.rule)
		}
		// Idle off.
		off := `{"access_token_ttl_seconds":300,"absolute_timeout_minutes":1440,"idle_timeout_enabled":false,"idle_timeout_minutes":0}`
		if got := h.mustREST("PUT", sessionPolicyPath, off); !reflect.DeepEqual(got, decode(t, off)) {
			t.Errorf("PUT with the idle timeout off answered %v", got)
		}
		for _, c := range h.settingsClients() {
			got, err := c.c.UpdateSessionPolicy(ctx, connect.NewRequest(&gatehousev1.UpdateSessionPolicyRequest{SessionPolicy: &gatehousev1.SessionPolicy{
				AccessTokenTtlSeconds: 120, AbsoluteTimeoutMinutes: 720, IdleTimeoutEnabled: true, IdleTimeoutMinutes: 30}}))
			if err != nil || got.Msg.GetAbsoluteTimeoutMinutes() != 720 {
				t.Fatalf("%s: UpdateSessionPolicy = %v, %v", c.name, got, err)
			}
			_, err = c.c.UpdateSessionPolicy(ctx, connect.NewRequest(&gatehousev1.UpdateSessionPolicyRequest{SessionPolicy: &gatehousev1.SessionPolicy{
				AccessTokenTtlSeconds: 120, AbsoluteTimeoutMinutes: 10, IdleTimeoutEnabled: true, IdleTimeoutMinutes: 30}}))
			wantRPC(t, err, connect.CodeInvalidArgument, "idle_timeout_minutes")
			read, err := c.c.GetSessionPolicy(ctx, connect.NewRequest(&gatehousev1.GetSessionPolicyRequest{}))
			if err != nil || read.Msg.GetAbsoluteTimeoutMinutes() != 720 || read.Msg.GetIdleTimeoutMinutes() != 30 {
				t.Errorf("%s: after a refused update GetSessionPolicy = %v, %v", c.name, read, err)
			}
		}
	})
}

func orgPolicyPath(org string) string { return "/api/v1/organizations/" + org + "/session-policy" }

func TestOrganizationSessionPolicyOverREST(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		org := h.createOrg("Acme", "")
		// An organization follows the environment's policy until it has its own.
		app := decode(t, `{"policy":{"policy_source":"APPLICATION","absolute_session_timeout":30,"absolute_session_timeout_unit":"DAYS",
			"idle_session_timeout_enabled":true,"idle_session_timeout":7,"idle_session_timeout_unit":"DAYS"}}`)
		if got := h.mustREST("GET", orgPolicyPath(org), ""); !reflect.DeepEqual(got, app) {
			t.Errorf("GET %s = %v, want %v", orgPolicyPath(org), got, app)
		}
		// The SDK's documented example.
		custom := `{"policy_source":"CUSTOM","absolute_session_timeout":360,"absolute_session_timeout_unit":"MINUTES",
			"idle_session_timeout_enabled":true,"idle_session_timeout":84,"idle_session_timeout_unit":"MINUTES"}`
		want := map[string]any{"policy": decode(t, custom)}
		if got := h.mustREST("PATCH", orgPolicyPath(org), custom); !reflect.DeepEqual(got, want) {
			t.Errorf("PATCH answered %v, want %v", got, want)
		}
		before := h.mustREST("GET", orgPolicyPath(org), "")
		if !reflect.DeepEqual(before, want) {
			t.Errorf("GET after PATCH = %v", before)
		}
		for _, c := range []redirectCase{
			{`{"policy_source":"CUSTOM","absolute_session_timeout":1,"absolute_session_timeout_unit":"HOURS"}`, "idle_session_timeout", "idle_le_absolute"},
			{`{"policy_source":"CUSTOM","absolute_session_timeout":-1}`, "absolute_session_timeout", "positive"},
			{`{"policy_source":"CUSTOM","absolute_session_timeout":0}`, "absolute_session_timeout", "required"},
			{`{"policy_source":"CUSTOM","absolute_session_timeout":366,"absolute_session_timeout_unit":"DAYS"}`, "absolute_session_timeout", "max"},
			{`{"policy_source":"CUSTOM","idle_session_timeout":0}`, "idle_session_timeout", "required"},
			{`{"policy_source":"CUSTOM","idle_session_timeout":-3}`, "idle_session_timeout", "positive"},
			{`{"absolute_session_timeout":60}`, "policy_source", "required"},
			{`{"policy_source":"SESSION_POLICY_TYPE_UNSPECIFIED"}`, "policy_source", "required"},
		} {
			h.wantRefused("PATCH", orgPolicyPath(org), c.body, before, c.field, c.rule)
		}
		// A new organization's CUSTOM policy needs its units.
		other := h.createOrg("Other", "")
		otherBefore := h.mustREST("GET", orgPolicyPath(other), "")
		h.wantRefused("PATCH", orgPolicyPath(other), `{"policy_source":"CUSTOM","absolute_session_timeout":60}`, otherBefore,
			"absolute_session_timeout_unit", "required")
		h.wantRefused("PATCH", orgPolicyPath(other), `{"policy_source":"CUSTOM","absolute_session_timeout":8,"absolute_session_timeout_unit":"HOURS",
			"idle_session_timeout_enabled":true}`, otherBefore, "idle_session_timeout", "required")
		h.wantRefused("PATCH", orgPolicyPath(other), `{"policy_source":"CUSTOM"}`, otherBefore, "absolute_session_timeout", "required")

		// A PATCH changes the fields it names and keeps the rest.
		got := h.mustREST("PATCH", orgPolicyPath(org), `{"policy_source":"CUSTOM","absolute_session_timeout":12,"absolute_session_timeout_unit":"HOURS"}`)
		if num(got, "policy.absolute_session_timeout") != 12 || str(got, "policy.absolute_session_timeout_unit") != "HOURS" ||
			num(got, "policy.idle_session_timeout") != 84 || get(got, "policy.idle_session_timeout_enabled") != true {
			t.Errorf("PATCH of the absolute timeout only = %v", got)
		}
		// Unknown organizations are 404.
		status, out := h.rest("GET", orgPolicyPath("org_unknown"), "")
		wantREST(t, status, out, http.StatusNotFound, "NOT_FOUND")
		status, out = h.rest("PATCH", orgPolicyPath("org_unknown"), custom)
		wantREST(t, status, out, http.StatusNotFound, "NOT_FOUND")

		// The effective policy is the stricter of the organization's and
		// the environment's.
		eff, err := h.Server.Settings.Effective(ctx, org)
		if err != nil || eff.Source != "CUSTOM" || eff.AbsoluteTimeout.Hours() != 12 || eff.IdleTimeout.Minutes() != 84 {
			t.Errorf("Effective = %+v, %v", eff, err)
		}

		// Back to the environment's policy.
		if got := h.mustREST("PATCH", orgPolicyPath(org), `{"policy_source":"APPLICATION"}`); !reflect.DeepEqual(got, app) {
			t.Errorf("PATCH APPLICATION answered %v, want %v", got, app)
		}
		if eff, err := h.Server.Settings.Effective(ctx, org); err != nil || eff.Source != "APPLICATION" || eff.AbsoluteTimeout.Hours() != 720 {
			t.Errorf("Effective after APPLICATION = %+v, %v", eff, err)
		}
	})
}

func TestOrganizationSessionPolicyOverRPC(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		for _, c := range h.transports() {
			org := h.createOrg("Org "+c.name, "")
			got, err := c.orgs.UpdateOrganizationSessionPolicy(ctx, connect.NewRequest(&organizationsv1.UpdateOrganizationSessionPolicyRequest{
				OrganizationId: org, PolicySource: organizationsv1.SessionPolicyType_CUSTOM,
				AbsoluteSessionTimeout: wrapperspb.Int32(8), AbsoluteSessionTimeoutUnit: commonsv1.TimeUnit_HOURS.Enum(),
				IdleSessionTimeoutEnabled: wrapperspb.Bool(true), IdleSessionTimeout: wrapperspb.Int32(30), IdleSessionTimeoutUnit: commonsv1.TimeUnit_MINUTES.Enum(),
			}))
			if err != nil {
				t.Fatalf("%s: UpdateOrganizationSessionPolicy: %v", c.name, err)
			}
			p := got.Msg.GetPolicy()
			if p.GetPolicySource() != organizationsv1.SessionPolicyType_CUSTOM || p.GetAbsoluteSessionTimeout().GetValue() != 8 ||
				p.GetAbsoluteSessionTimeoutUnit() != commonsv1.TimeUnit_HOURS || p.GetIdleSessionTimeout().GetValue() != 30 {
				t.Errorf("%s: policy %v", c.name, p)
			}
			_, err = c.orgs.UpdateOrganizationSessionPolicy(ctx, connect.NewRequest(&organizationsv1.UpdateOrganizationSessionPolicyRequest{
				OrganizationId: org, PolicySource: organizationsv1.SessionPolicyType_CUSTOM,
				IdleSessionTimeout: wrapperspb.Int32(9), IdleSessionTimeoutUnit: commonsv1.TimeUnit_HOURS.Enum()}))
			wantRPC(t, err, connect.CodeInvalidArgument, "idle_session_timeout")
			_, err = c.orgs.UpdateOrganizationSessionPolicy(ctx, connect.NewRequest(&organizationsv1.UpdateOrganizationSessionPolicyRequest{
				OrganizationId: org, PolicySource: organizationsv1.SessionPolicyType_CUSTOM,
				AbsoluteSessionTimeout: wrapperspb.Int32(2), AbsoluteSessionTimeoutUnit: commonsv1.TimeUnit(9).Enum()}))
			wantRPC(t, err, connect.CodeInvalidArgument, "absolute_session_timeout_unit")
			read, err := c.orgs.GetOrganizationSessionPolicy(ctx, connect.NewRequest(&organizationsv1.GetOrganizationSessionPolicyRequest{OrganizationId: org}))
			if err != nil || read.Msg.GetPolicy().GetIdleSessionTimeout().GetValue() != 30 || read.Msg.GetPolicy().GetAbsoluteSessionTimeout().GetValue() != 8 {
				t.Errorf("%s: after refused updates GetOrganizationSessionPolicy = %v, %v", c.name, read, err)
			}
			_, err = c.orgs.GetOrganizationSessionPolicy(ctx, connect.NewRequest(&organizationsv1.GetOrganizationSessionPolicyRequest{}))
			wantRPC(t, err, connect.CodeInvalidArgument, "organization_id")
			_, err = c.orgs.GetOrganizationSessionPolicy(ctx, connect.NewRequest(&organizationsv1.GetOrganizationSessionPolicyRequest{OrganizationId: "org_nope"}))
			wantRPC(t, err, connect.CodeNotFound)
		}
	})
}

func TestApplicationSessionPolicy(t *testing.T) {
	each(t, func(t *testing.T, h *harness) {
		org := h.createOrg("Acme", "")
		path := "/api/v1/organizations/" + org + "/application-session-policy"
		want := decode(t, `{"application_policy":{"absolute_session_timeout":30,"absolute_session_timeout_unit":"DAYS",
			"idle_session_timeout_enabled":true,"idle_session_timeout":7,"idle_session_timeout_unit":"DAYS","access_token_expiry":299}}`)
		if got := h.mustREST("GET", path, ""); !reflect.DeepEqual(got, want) {
			t.Errorf("GET %s = %v, want %v", path, got, want)
		}
		h.mustREST("PUT", sessionPolicyPath, `{"access_token_ttl_seconds":900,"absolute_timeout_minutes":480,"idle_timeout_enabled":true,"idle_timeout_minutes":45}`)
		want = decode(t, `{"application_policy":{"absolute_session_timeout":8,"absolute_session_timeout_unit":"HOURS",
			"idle_session_timeout_enabled":true,"idle_session_timeout":45,"idle_session_timeout_unit":"MINUTES","access_token_expiry":900}}`)
		if got := h.mustREST("GET", path, ""); !reflect.DeepEqual(got, want) {
			t.Errorf("GET %s after a policy change = %v, want %v", path, got, want)
		}
		got, err := h.grpcOrgs.GetApplicationSessionPolicy(ctx, connect.NewRequest(&organizationsv1.GetApplicationSessionPolicyRequest{OrganizationId: org}))
		if err != nil || got.Msg.GetApplicationPolicy().GetAccessTokenExpiry() != 900 || got.Msg.GetApplicationPolicy().GetAbsoluteSessionTimeoutUnit() != commonsv1.TimeUnit_HOURS {
			t.Errorf("gRPC GetApplicationSessionPolicy = %v, %v", got, err)
		}
		status, out := h.rest("GET", "/api/v1/organizations/org_unknown/application-session-policy", "")
		wantREST(t, status, out, http.StatusNotFound, "NOT_FOUND")
	})
}

// TestSettingsChangesReachEveryNode: two servers on one PostgreSQL; what
// one writes, the other reads and enforces on its next request (nothing is
// cached).
func TestSettingsChangesReachEveryNode(t *testing.T) {
	t.Parallel()
	const key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // base64 of 32 bytes
	a := servertest.Start(t, servertest.Options{Postgres: true, Configure: func(c *config.Config) { c.SecretKey = key }})
	b := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) { c.DatabaseURL, c.SecretKey = a.Config.DatabaseURL, key }})
	ha, hb := newHarness(t, a, a.Token(t)), newHarness(t, b, b.Token(t))
	const cb = "https://app.example.com/callback"

	if ok, err := b.Server.Settings.MatchRedirect(ctx, redirects.Callback, cb); err != nil || ok {
		t.Fatalf("node B matches %s before anyone registered it: %v, %v", cb, ok, err)
	}
	ha.mustREST("PUT", redirectsPath, `{"callback_urls":["`+cb+`"]}`)
	if got := hb.mustREST("GET", redirectsPath, ""); str(got, "callback_urls.0") != cb {
		t.Errorf("node B reads %v after node A registered %s", got, cb)
	}
	if ok, err := b.Server.Settings.MatchRedirect(ctx, redirects.Callback, cb); err != nil || !ok {
		t.Errorf("node B does not honour %s registered through node A: %v, %v", cb, ok, err)
	}
	// And back: B removes it, A stops honouring it at once.
	hb.mustREST("PUT", redirectsPath, `{"callback_urls":[]}`)
	if ok, err := a.Server.Settings.MatchRedirect(ctx, redirects.Callback, cb); err != nil || ok {
		t.Errorf("node A still honours %s after node B removed it: %v, %v", cb, ok, err)
	}
	// B enforces the same rules on what A stored: a duplicate of it is refused.
	ha.mustREST("PUT", redirectsPath, `{"callback_urls":["`+cb+`"]}`)
	status, out := hb.rest("PUT", redirectsPath, `{"callback_urls":["`+cb+`","`+cb+`"]}`)
	wantREST(t, status, out, http.StatusBadRequest, "INVALID_ARGUMENT", "callback_urls[1]")

	ha.mustREST("PUT", brandingPath, `{"company_name":"Acme","primary_color":"#123456"}`)
	if got := hb.mustREST("GET", brandingPath, ""); str(got, "company_name") != "Acme" {
		t.Errorf("node B reads branding %v", got)
	}
	hb.mustREST("PUT", sessionPolicyPath, `{"access_token_ttl_seconds":120,"absolute_timeout_minutes":60,"idle_timeout_enabled":false}`)
	if eff, err := a.Server.Settings.Effective(ctx, ""); err != nil || eff.AbsoluteTimeout.Minutes() != 60 || eff.IdleTimeout != 0 || eff.AccessTokenTTL.Seconds() != 120 {
		t.Errorf("node A's effective policy after node B's change: %+v, %v", eff, err)
	}
	org := ha.createOrg("Acme", "")
	hb.mustREST("PATCH", orgPolicyPath(org), `{"policy_source":"CUSTOM","absolute_session_timeout":30,"absolute_session_timeout_unit":"MINUTES"}`)
	if eff, err := a.Server.Settings.Effective(ctx, org); err != nil || eff.Source != "CUSTOM" || eff.AbsoluteTimeout.Minutes() != 30 {
		t.Errorf("node A's effective policy for the organization after node B's change: %+v, %v", eff, err)
	}
}
