package settings_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/redirects"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/settings"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testdb"
)

// The service is what the authorization server and the sessions ask.
var (
	_ oauth.RedirectPolicy  = (*settings.Service)(nil)
	_ sessions.PolicySource = (*settings.Service)(nil)
)

type fixture struct {
	ctx context.Context
	st  *store.Store
	svc *settings.Service
}

func newFixture(t *testing.T, dsn, envType string) *fixture {
	t.Helper()
	ctx := t.Context()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	ids := id.NewGenerator(time.Now)
	env := &store.Environment{ID: ids.New(id.Environment), Type: envType, PageTokenKey: "a2V5", CreatedAt: time.Now()}
	if err := st.Q().CreateEnvironment(ctx, env); err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
	return &fixture{ctx: ctx, st: st, svc: &settings.Service{Store: st, IDs: ids, Now: now, EnvID: env.ID}}
}

func (f *fixture) org(t *testing.T, logo string) string {
	t.Helper()
	o := &store.Organization{ID: f.svc.IDs.New(id.Organization), EnvID: f.svc.EnvID, DisplayName: "Org", CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if logo != "" {
		o.LogoURL = &logo
	}
	if err := f.st.Q().CreateOrganization(f.ctx, o); err != nil {
		t.Fatal(err)
	}
	return o.ID
}

func (f *fixture) events(t *testing.T) []string {
	t.Helper()
	es, err := f.st.Q().ListEvents(f.ctx, f.svc.EnvID, store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Type)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func TestEffectivePolicyIsTheStricterOfOrganizationAndEnvironment(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn, "development")
		org := f.org(t, "")
		e, err := f.svc.Effective(f.ctx, org)
		if err != nil || e != (settings.Effective{Source: "APPLICATION", AccessTokenTTL: 299 * time.Second,
			AbsoluteTimeout: 30 * 24 * time.Hour, IdleTimeout: 7 * 24 * time.Hour}) {
			t.Fatalf("defaults: %+v, %v", e, err)
		}
		if _, err := f.svc.UpdateSessionPolicy(f.ctx, settings.SessionPolicy{AccessTokenTTLSeconds: 600, AbsoluteTimeoutMinutes: 8 * 60,
			IdleTimeoutEnabled: false}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name     string
			in       settings.OrgSessionPolicyUpdate
			abs      time.Duration
			idle     time.Duration
			source   string
			noChange bool
		}{
			{"a longer absolute timeout does not loosen the environment's",
				settings.OrgSessionPolicyUpdate{Source: "CUSTOM", AbsoluteTimeout: ptr(int32(2)), AbsoluteTimeoutUnit: settings.Days},
				8 * time.Hour, 0, "CUSTOM", false},
			{"a shorter absolute timeout applies",
				settings.OrgSessionPolicyUpdate{Source: "CUSTOM", AbsoluteTimeout: ptr(int32(90)), AbsoluteTimeoutUnit: settings.Minutes},
				90 * time.Minute, 0, "CUSTOM", false},
			{"the organization's idle timeout applies where the environment has none",
				settings.OrgSessionPolicyUpdate{Source: "CUSTOM", IdleTimeoutEnabled: ptr(true), IdleTimeout: ptr(int32(15)), IdleTimeoutUnit: settings.Minutes},
				90 * time.Minute, 15 * time.Minute, "CUSTOM", false},
			{"a disabled idle timeout is no idle timeout",
				settings.OrgSessionPolicyUpdate{Source: "CUSTOM", IdleTimeoutEnabled: ptr(false)},
				90 * time.Minute, 0, "CUSTOM", false},
			{"APPLICATION follows the environment",
				settings.OrgSessionPolicyUpdate{Source: "APPLICATION", AbsoluteTimeout: ptr(int32(1))},
				8 * time.Hour, 0, "APPLICATION", false},
		} {
			if _, err := f.svc.UpdateOrganizationSessionPolicy(f.ctx, org, tc.in); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			e, err := f.svc.Effective(f.ctx, org)
			if err != nil || e.AbsoluteTimeout != tc.abs || e.IdleTimeout != tc.idle || e.Source != tc.source || e.AccessTokenTTL != 600*time.Second {
				t.Errorf("%s: %+v, %v; want absolute %s, idle %s, source %s", tc.name, e, err, tc.abs, tc.idle, tc.source)
			}
			p, err := f.svc.EffectivePolicy(f.ctx, org)
			if err != nil || p.AbsoluteTimeout != tc.abs || p.IdleTimeout != tc.idle || p.AccessTokenTTL != 600*time.Second {
				t.Errorf("%s: EffectivePolicy = %+v, %v", tc.name, p, err)
			}
		}
		// With the environment's idle timeout on, the shorter one wins.
		if _, err := f.svc.UpdateSessionPolicy(f.ctx, settings.SessionPolicy{AccessTokenTTLSeconds: 600, AbsoluteTimeoutMinutes: 8 * 60,
			IdleTimeoutEnabled: true, IdleTimeoutMinutes: 30}); err != nil {
			t.Fatal(err)
		}
		for _, orgIdle := range []int32{10, 60} {
			if _, err := f.svc.UpdateOrganizationSessionPolicy(f.ctx, org, settings.OrgSessionPolicyUpdate{Source: "CUSTOM",
				AbsoluteTimeout: ptr(int32(4)), AbsoluteTimeoutUnit: settings.Hours, IdleTimeoutEnabled: ptr(true),
				IdleTimeout: ptr(orgIdle), IdleTimeoutUnit: settings.Minutes}); err != nil {
				t.Fatal(err)
			}
			want := time.Duration(min(orgIdle, 30)) * time.Minute
			if e, err := f.svc.Effective(f.ctx, org); err != nil || e.IdleTimeout != want || e.AbsoluteTimeout != 4*time.Hour {
				t.Errorf("organization idle %d min, environment 30 min: %+v, %v; want idle %s", orgIdle, e, err, want)
			}
		}
		// Sessions without an organization, or of an organization without
		// its own policy, get the environment's.
		for _, o := range []string{"", f.org(t, "")} {
			if e, err := f.svc.Effective(f.ctx, o); err != nil || e.Source != "APPLICATION" || e.IdleTimeout != 30*time.Minute {
				t.Errorf("Effective(%q) = %+v, %v", o, e, err)
			}
		}
		if ttl, err := f.svc.AccessTokenTTL(f.ctx); err != nil || ttl != 600*time.Second {
			t.Errorf("AccessTokenTTL = %s, %v", ttl, err)
		}
	})
}

func TestBrandingForInProduction(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn, "production")
		if _, err := f.svc.UpdateBranding(f.ctx, settings.Branding{LogoURL: "https://cdn.example.com/env.png", CompanyName: "Acme"}); err != nil {
			t.Fatal(err)
		}
		// An organization's http logo would be blocked as mixed content on
		// an https login page: the environment's logo stays.
		for logo, want := range map[string]string{
			"https://org.example.com/logo.png": "https://org.example.com/logo.png",
			"http://org.example.com/logo.png":  "https://cdn.example.com/env.png",
		} {
			b, err := f.svc.BrandingFor(f.ctx, f.org(t, logo))
			if err != nil || b.LogoURL != want || b.CompanyName != "Acme" {
				t.Errorf("organization logo %s: %+v, %v; want logo %s", logo, b, err, want)
			}
		}
		var ae *apierr.Error
		if _, err := f.svc.BrandingFor(f.ctx, "org_missing"); !errors.As(err, &ae) || ae.ErrorCode != "NOT_FOUND" {
			t.Errorf("BrandingFor(unknown organization): %v", err)
		}
	})
}

func TestEveryUpdateEmitsAnEventAndARefusalNone(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn, "development")
		org := f.org(t, "")
		if _, err := f.svc.UpdateRedirects(f.ctx, settings.Redirects{CallbackURLs: []string{"https://*.com/cb"}}); err == nil {
			t.Fatal("a root wildcard was accepted")
		}
		if _, err := f.svc.UpdateBranding(f.ctx, settings.Branding{PrimaryColor: "blue"}); err == nil {
			t.Fatal("a named colour was accepted")
		}
		if _, err := f.svc.UpdateSessionPolicy(f.ctx, settings.SessionPolicy{}); err == nil {
			t.Fatal("an empty policy was accepted")
		}
		if got := f.events(t); len(got) != 0 {
			t.Fatalf("refused updates emitted %v", got)
		}
		if _, err := f.svc.UpdateRedirects(f.ctx, settings.Redirects{CallbackURLs: []string{"https://a.example.com/cb"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.UpdateBranding(f.ctx, settings.Branding{PrimaryColor: "#00f"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.UpdateSessionPolicy(f.ctx, settings.DefaultSessionPolicy); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.UpdateOrganizationSessionPolicy(f.ctx, org, settings.OrgSessionPolicyUpdate{Source: "APPLICATION"}); err != nil {
			t.Fatal(err)
		}
		want := []string{"settings.redirects.updated", "settings.branding.updated", "settings.session_policy.updated", "organization.session_policy.updated"}
		got := f.events(t)
		if len(got) != len(want) {
			t.Fatalf("events %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("event %d = %s, want %s", i, got[i], want[i])
			}
		}
	})
}

func TestRedirectPolicyForTheAuthorizationServer(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn, "production")
		if _, err := f.svc.UpdateRedirects(f.ctx, settings.Redirects{CallbackURLs: []string{"https://app.example.com/cb"},
			InitiateLoginURL: "https://app.example.com/login", PostLogoutURLs: []string{"https://app.example.com/"},
			BackchannelLogoutURL: "https://app.example.com/bc"}); err != nil {
			t.Fatal(err)
		}
		c := &store.OAuthClient{RedirectURIs: []string{"com.example.app://cb", "http://localhost:3000/cb"},
			PostLogoutRedirectURIs: []string{"com.example.app://bye"}}
		for _, tc := range []struct {
			post bool
			uri  string
			want bool
		}{
			{false, "https://app.example.com/cb", true},
			{false, "com.example.app://cb", true},
			{false, "http://localhost:3000/cb", false}, // a client's own URLs obey the environment's rules too
			{false, "https://app.example.com/cb?x=1", false},
			{true, "https://app.example.com/", true},
			{true, "com.example.app://bye", true},
			{true, "https://app.example.com/cb", false},
		} {
			allow := f.svc.AllowRedirect
			if tc.post {
				allow = f.svc.AllowPostLogoutRedirect
			}
			if got, err := allow(f.ctx, c, tc.uri); err != nil || got != tc.want {
				t.Errorf("post-logout %v %q: %v, %v; want %v", tc.post, tc.uri, got, err, tc.want)
			}
		}
		if got, _ := f.svc.AllowRedirect(f.ctx, nil, "https://app.example.com/cb"); !got {
			t.Error("AllowRedirect without a client refused the environment's callback")
		}
		if u, err := f.svc.BackChannelLogoutURI(f.ctx, c); err != nil || u != "https://app.example.com/bc" {
			t.Errorf("BackChannelLogoutURI = %q, %v", u, err)
		}
		c.BackChannelLogoutURI = "https://client.example.com/bc"
		if u, err := f.svc.BackChannelLogoutURI(f.ctx, c); err != nil || u != c.BackChannelLogoutURI {
			t.Errorf("BackChannelLogoutURI with the client's own = %q, %v", u, err)
		}
		if u, err := f.svc.InitiateLoginURL(f.ctx); err != nil || u != "https://app.example.com/login" {
			t.Errorf("InitiateLoginURL = %q, %v", u, err)
		}
		if typ, err := f.svc.EnvironmentType(f.ctx); err != nil || typ != redirects.Production {
			t.Errorf("EnvironmentType = %q, %v", typ, err)
		}
	})
}
