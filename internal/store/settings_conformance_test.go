package store_test

// The storage contract for environment settings (00003_settings.sql):
// redirect URLs, branding, the environment's session policy and the
// organizations' own session policies, on SQLite and PostgreSQL alike.

import (
	"database/sql"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testdb"
)

var settingsConformanceTests = []struct {
	name string
	run  func(t *testing.T, dsn string)
}{
	{"MigrationUpDown", testSettingsMigration},
	{"GetEnvironment", testGetEnvironment},
	{"Redirects", testRedirectSettings},
	{"Branding", testBrandingSettings},
	{"SessionPolicy", testSessionPolicySettings},
	{"OrgSessionPolicy", testOrgSessionPolicy},
	{"OrgSessionPolicyGoesWithTheOrganization", testOrgSessionPolicyCascade},
	{"SettingsTxRollsBack", testSettingsTxRollback},
}

func TestSettingsConformance(t *testing.T) {
	for _, c := range settingsConformanceTests {
		t.Run(c.name, func(t *testing.T) { testdb.Each(t, c.run) })
	}
}

// settingsTables are the tables 00003_settings.sql creates.
var settingsTables = []string{"redirect_settings", "branding_settings", "session_policies", "organization_session_policies"}

func testSettingsMigration(t *testing.T, dsn string) {
	ctx := t.Context()
	driver, dialect, src := "sqlite", goose.DialectSQLite3, "file:"+dsn+"?_pragma=foreign_keys(1)"
	if store.IsPostgresURL(dsn) {
		driver, dialect, src = "pgx", goose.DialectPostgres, dsn
	}
	db, err := sql.Open(driver, src)
	must(t, err, "sql.Open")
	t.Cleanup(func() { _ = db.Close() })
	p, err := goose.NewProvider(dialect, db, os.DirFS("migrations"))
	must(t, err, "goose.NewProvider")
	_, err = p.UpTo(ctx, 3)
	must(t, err, "migrating to version 3")
	for _, table := range settingsTables {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil || n != 0 {
			t.Errorf("table %s after migrating: %d rows, %v", table, n, err)
		}
	}
	_, err = p.DownTo(ctx, 2)
	must(t, err, "migrating back down to version 2")
	for _, table := range settingsTables {
		if _, err := db.ExecContext(ctx, `SELECT COUNT(*) FROM `+table); err == nil {
			t.Errorf("table %s still exists after migrating down", table)
		}
	}
	_, err = db.ExecContext(ctx, `INSERT INTO environments (id, type, page_token_key, created_at) VALUES ('env_before', 'production', 'a2V5', 1)`)
	must(t, err, "an environment made before the migration")
	must(t, db.Close(), "closing the raw handle")

	// Open applies the migration again; the old environment has no settings
	// rows, which the settings package reads as its defaults.
	s, err := store.Open(ctx, dsn)
	must(t, err, "store.Open")
	t.Cleanup(func() { _ = s.Close() })
	q := s.Q()
	_, err = q.GetRedirects(ctx, "env_before")
	wantNotFound(t, err, "GetRedirects of an environment made before the migration")
	_, err = q.GetBranding(ctx, "env_before")
	wantNotFound(t, err, "GetBranding of an environment made before the migration")
	_, err = q.GetSessionPolicy(ctx, "env_before")
	wantNotFound(t, err, "GetSessionPolicy of an environment made before the migration")
}

func testGetEnvironment(t *testing.T, dsn string) {
	f := open(t, dsn)
	e := f.env(t)
	got, err := f.q.GetEnvironment(f.ctx, e.ID)
	must(t, err, "GetEnvironment")
	wantEqual(t, "GetEnvironment", got, &store.Environment{ID: e.ID, Type: e.Type, PageTokenKey: e.PageTokenKey, CreatedAt: utc(e.CreatedAt)})
	must(t, f.q.SetEnvironmentType(f.ctx, e.ID, "production"), "SetEnvironmentType")
	got, err = f.q.GetEnvironment(f.ctx, e.ID)
	must(t, err, "GetEnvironment after SetEnvironmentType")
	if got.Type != "production" {
		t.Errorf("Type = %q after SetEnvironmentType production", got.Type)
	}
	_, err = f.q.GetEnvironment(f.ctx, f.ids.New(id.Environment))
	wantNotFound(t, err, "GetEnvironment of an unknown id")
}

func testRedirectSettings(t *testing.T, dsn string) {
	f := open(t, dsn)
	a, b := f.env(t), f.env(t)
	_, err := f.q.GetRedirects(f.ctx, a.ID)
	wantNotFound(t, err, "GetRedirects before any write")

	r := &store.Redirects{EnvID: a.ID, CallbackURLs: []string{"https://b.example.com/cb", "https://a.example.com/cb", "com.example.app://cb"},
		InitiateLoginURL: "https://a.example.com/login", PostLogoutURLs: []string{"https://a.example.com/"},
		BackchannelLogoutURL: "https://a.example.com/bc", UpdatedAt: t0}
	must(t, f.q.PutRedirects(f.ctx, r), "PutRedirects")
	got, err := f.q.GetRedirects(f.ctx, a.ID)
	must(t, err, "GetRedirects")
	want := *r
	want.UpdatedAt = utc(t0)
	wantEqual(t, "redirects read back (order kept)", got, &want)
	wantUTC(t, "redirects", got.UpdatedAt)

	// A second write replaces everything, and empty lists read back empty,
	// never nil.
	r2 := &store.Redirects{EnvID: a.ID, UpdatedAt: at(time.Minute)}
	must(t, f.q.PutRedirects(f.ctx, r2), "PutRedirects again")
	got, err = f.q.GetRedirects(f.ctx, a.ID)
	must(t, err, "GetRedirects after the replacement")
	wantEqual(t, "redirects after the replacement", got, &store.Redirects{EnvID: a.ID, CallbackURLs: []string{}, PostLogoutURLs: []string{},
		UpdatedAt: utc(at(time.Minute))})

	// Environments do not see each other's settings.
	_, err = f.q.GetRedirects(f.ctx, b.ID)
	wantNotFound(t, err, "GetRedirects of another environment")
	if err := f.q.PutRedirects(f.ctx, &store.Redirects{EnvID: f.ids.New(id.Environment), UpdatedAt: t0}); err == nil {
		t.Error("PutRedirects for an environment that does not exist succeeded")
	}
	if n := count(t, f, `SELECT COUNT(*) FROM redirect_settings`); n != 1 {
		t.Errorf("redirect_settings has %d rows, want 1", n)
	}
}

func testBrandingSettings(t *testing.T, dsn string) {
	f := open(t, dsn)
	a, b := f.env(t), f.env(t)
	_, err := f.q.GetBranding(f.ctx, a.ID)
	wantNotFound(t, err, "GetBranding before any write")
	br := &store.Branding{EnvID: a.ID, LogoURL: "https://cdn.example.com/logo.png", FaviconURL: "https://cdn.example.com/f.ico",
		PrimaryColor: "#336699", BackgroundColor: "#fff", CompanyName: "Acme, Inc. — ünïcode", TermsURL: "https://example.com/terms",
		PrivacyURL: "https://example.com/privacy", LoginHeading: "Sign in to Acme", UpdatedAt: t0}
	must(t, f.q.PutBranding(f.ctx, br), "PutBranding")
	got, err := f.q.GetBranding(f.ctx, a.ID)
	must(t, err, "GetBranding")
	want := *br
	want.UpdatedAt = utc(t0)
	wantEqual(t, "branding read back", got, &want)

	br2 := &store.Branding{EnvID: a.ID, CompanyName: "Acme", UpdatedAt: at(time.Hour)}
	must(t, f.q.PutBranding(f.ctx, br2), "PutBranding again")
	got, err = f.q.GetBranding(f.ctx, a.ID)
	must(t, err, "GetBranding after the replacement")
	wantEqual(t, "branding after the replacement", got, &store.Branding{EnvID: a.ID, CompanyName: "Acme", UpdatedAt: utc(at(time.Hour))})

	_, err = f.q.GetBranding(f.ctx, b.ID)
	wantNotFound(t, err, "GetBranding of another environment")
	if err := f.q.PutBranding(f.ctx, &store.Branding{EnvID: f.ids.New(id.Environment), UpdatedAt: t0}); err == nil {
		t.Error("PutBranding for an environment that does not exist succeeded")
	}
}

func testSessionPolicySettings(t *testing.T, dsn string) {
	f := open(t, dsn)
	a, b := f.env(t), f.env(t)
	_, err := f.q.GetSessionPolicy(f.ctx, a.ID)
	wantNotFound(t, err, "GetSessionPolicy before any write")
	p := &store.SessionPolicy{EnvID: a.ID, AccessTokenTTLSeconds: 600, AbsoluteTimeoutMinutes: 480, IdleTimeoutEnabled: true,
		IdleTimeoutMinutes: 60, UpdatedAt: t0}
	must(t, f.q.PutSessionPolicy(f.ctx, p), "PutSessionPolicy")
	got, err := f.q.GetSessionPolicy(f.ctx, a.ID)
	must(t, err, "GetSessionPolicy")
	want := *p
	want.UpdatedAt = utc(t0)
	wantEqual(t, "session policy read back", got, &want)

	p2 := &store.SessionPolicy{EnvID: a.ID, AccessTokenTTLSeconds: 299, AbsoluteTimeoutMinutes: 43200, UpdatedAt: at(time.Hour)}
	must(t, f.q.PutSessionPolicy(f.ctx, p2), "PutSessionPolicy again")
	got, err = f.q.GetSessionPolicy(f.ctx, a.ID)
	must(t, err, "GetSessionPolicy after the replacement")
	want = *p2
	want.UpdatedAt = utc(at(time.Hour))
	wantEqual(t, "session policy after the replacement (idle off)", got, &want)

	_, err = f.q.GetSessionPolicy(f.ctx, b.ID)
	wantNotFound(t, err, "GetSessionPolicy of another environment")
}

func testOrgSessionPolicy(t *testing.T, dsn string) {
	f := open(t, dsn)
	a, b := f.env(t), f.env(t)
	o := f.org(t, a.ID, "Acme", nil)
	other := f.org(t, a.ID, "Other", nil)
	_, err := f.q.GetOrgSessionPolicy(f.ctx, a.ID, o.ID)
	wantNotFound(t, err, "GetOrgSessionPolicy before any write")

	p := &store.OrgSessionPolicy{EnvID: a.ID, OrgID: o.ID, AbsoluteTimeout: 8, AbsoluteTimeoutUnit: "HOURS", IdleTimeoutEnabled: true,
		IdleTimeout: 30, IdleTimeoutUnit: "MINUTES", UpdatedAt: t0}
	must(t, f.q.PutOrgSessionPolicy(f.ctx, p), "PutOrgSessionPolicy")
	got, err := f.q.GetOrgSessionPolicy(f.ctx, a.ID, o.ID)
	must(t, err, "GetOrgSessionPolicy")
	want := *p
	want.UpdatedAt = utc(t0)
	wantEqual(t, "organization policy read back", got, &want)
	_, err = f.q.GetOrgSessionPolicy(f.ctx, a.ID, other.ID)
	wantNotFound(t, err, "GetOrgSessionPolicy of an organization without one")

	p2 := &store.OrgSessionPolicy{EnvID: a.ID, OrgID: o.ID, AbsoluteTimeout: 2, AbsoluteTimeoutUnit: "DAYS", IdleTimeoutUnit: "MINUTES", UpdatedAt: at(time.Hour)}
	must(t, f.q.PutOrgSessionPolicy(f.ctx, p2), "PutOrgSessionPolicy again")
	got, err = f.q.GetOrgSessionPolicy(f.ctx, a.ID, o.ID)
	must(t, err, "GetOrgSessionPolicy after the replacement")
	want = *p2
	want.UpdatedAt = utc(at(time.Hour))
	wantEqual(t, "organization policy after the replacement", got, &want)

	// Another environment can neither read nor overwrite it.
	_, err = f.q.GetOrgSessionPolicy(f.ctx, b.ID, o.ID)
	wantNotFound(t, err, "GetOrgSessionPolicy through another environment")
	hijack := *p
	hijack.EnvID = b.ID
	wantNotFound(t, f.q.PutOrgSessionPolicy(f.ctx, &hijack), "PutOrgSessionPolicy through another environment")
	must(t, f.q.DeleteOrgSessionPolicy(f.ctx, b.ID, o.ID), "DeleteOrgSessionPolicy through another environment")
	got, err = f.q.GetOrgSessionPolicy(f.ctx, a.ID, o.ID)
	must(t, err, "GetOrgSessionPolicy after the other environment's attempts")
	wantEqual(t, "organization policy after the other environment's attempts", got, &want)

	// An organization that does not exist cannot have one.
	if err := f.q.PutOrgSessionPolicy(f.ctx, &store.OrgSessionPolicy{EnvID: a.ID, OrgID: f.ids.New(id.Organization),
		AbsoluteTimeout: 1, AbsoluteTimeoutUnit: "DAYS", IdleTimeoutUnit: "DAYS", UpdatedAt: t0}); err == nil {
		t.Error("PutOrgSessionPolicy for an organization that does not exist succeeded")
	}

	must(t, f.q.DeleteOrgSessionPolicy(f.ctx, a.ID, o.ID), "DeleteOrgSessionPolicy")
	_, err = f.q.GetOrgSessionPolicy(f.ctx, a.ID, o.ID)
	wantNotFound(t, err, "GetOrgSessionPolicy after DeleteOrgSessionPolicy")
	must(t, f.q.DeleteOrgSessionPolicy(f.ctx, a.ID, o.ID), "DeleteOrgSessionPolicy of none")
}

func testOrgSessionPolicyCascade(t *testing.T, dsn string) {
	f := open(t, dsn)
	e := f.env(t)
	o, keep := f.org(t, e.ID, "Gone", nil), f.org(t, e.ID, "Kept", nil)
	for _, org := range []string{o.ID, keep.ID} {
		must(t, f.q.PutOrgSessionPolicy(f.ctx, &store.OrgSessionPolicy{EnvID: e.ID, OrgID: org, AbsoluteTimeout: 1,
			AbsoluteTimeoutUnit: "DAYS", IdleTimeoutUnit: "MINUTES", UpdatedAt: t0}), "PutOrgSessionPolicy")
	}
	must(t, f.q.DeleteOrganization(f.ctx, e.ID, o.ID), "DeleteOrganization")
	if n := count(t, f, `SELECT COUNT(*) FROM organization_session_policies WHERE org_id = $1`, o.ID); n != 0 {
		t.Errorf("the deleted organization's policy is still stored (%d rows)", n)
	}
	_, err := f.q.GetOrgSessionPolicy(f.ctx, e.ID, keep.ID)
	must(t, err, "the other organization's policy")
}

func testSettingsTxRollback(t *testing.T, dsn string) {
	f := open(t, dsn)
	e := f.env(t)
	boom := errors.New("boom")
	err := f.s.Tx(f.ctx, func(q *store.Q) error {
		must(t, q.PutRedirects(f.ctx, &store.Redirects{EnvID: e.ID, CallbackURLs: []string{"https://a.example.com/cb"}, UpdatedAt: t0}), "PutRedirects in Tx")
		must(t, q.PutBranding(f.ctx, &store.Branding{EnvID: e.ID, CompanyName: "Acme", UpdatedAt: t0}), "PutBranding in Tx")
		must(t, q.PutSessionPolicy(f.ctx, &store.SessionPolicy{EnvID: e.ID, AccessTokenTTLSeconds: 1, AbsoluteTimeoutMinutes: 1, UpdatedAt: t0}), "PutSessionPolicy in Tx")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx returned %v, want the callback's error", err)
	}
	for _, table := range settingsTables {
		if n := count(t, f, `SELECT COUNT(*) FROM `+table); n != 0 {
			t.Errorf("%s has %d rows after a rolled-back transaction", table, n)
		}
	}
}
