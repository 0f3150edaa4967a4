package store_test

// A storage conformance suite in the style of Dex's storage/conformance: one
// function per behaviour, each run on a fresh SQLite file and on a fresh
// PostgreSQL database (testdb.Each), so the one schema and the one set of
// queries are held to the same contract on both.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testdb"
)

// conformanceTests is the suite; every entry runs once per database.
var conformanceTests = []struct {
	name string
	run  func(t *testing.T, dsn string)
}{
	{"MigrationsApplyAndReopenIsNoop", testMigrations},
	{"Environments", testEnvironments},
	{"SigningKeys", testSigningKeys},
	{"APIClients", testAPIClients},
	{"OrganizationCRUD", testOrganizationCRUD},
	{"OrganizationConflictsAndIsolation", testOrganizationConflicts},
	{"UserCRUD", testUserCRUD},
	{"UserConflictsAndIsolation", testUserConflicts},
	{"Roles", testRoles},
	{"Memberships", testMemberships},
	{"DeleteUserKeepsOrganizations", testDeleteUserCascade},
	{"DeleteOrganizationKeepsUsers", testDeleteOrganizationCascade},
	{"ListOrganizationsPagination", testListOrganizationsPagination},
	{"ListOrganizationsFilters", testListOrganizationsFilters},
	{"ListUsersPagination", testListUsersPagination},
	{"ListUsersFilters", testListUsersFilters},
	{"PaginationStableUnderInserts", testPaginationStableUnderInserts},
	{"PaginationStableUnderConcurrentInserts", testPaginationStableUnderConcurrentInserts},
	{"TxRollsBackOnError", testTxRollback},
	{"TxCommits", testTxCommit},
	{"Events", testEvents},
	{"Emails", testEmails},
	{"ConcurrentWrites", testConcurrentWrites},
	{"ConcurrentConflictingWrites", testConcurrentConflicts},
}

func TestConformance(t *testing.T) {
	for _, c := range conformanceTests {
		t.Run(c.name, func(t *testing.T) { testdb.Each(t, c.run) })
	}
}

// ---------------------------------------------------------------------------
// Fixtures and helpers

// t0 carries nanoseconds and a non-UTC zone, so every round-trip proves that
// times come back truncated to the microsecond and in UTC.
var t0 = time.Date(2025, time.March, 14, 15, 9, 26, 535_897_932, time.FixedZone("IST", 5*3600+1800))

func at(d time.Duration) time.Time { return t0.Add(d) }

// utc is what the store must give back for a time it was given.
func utc(x time.Time) time.Time { return x.Truncate(time.Microsecond).UTC() }

func ptr[T any](v T) *T { return &v }

// schemaTables are the tables 00001_foundation.sql creates.
var schemaTables = []string{
	"environments", "signing_keys", "api_clients", "client_secrets", "organizations", "users",
	"roles", "memberships", "membership_roles", "events", "emails",
}

type fixture struct {
	ctx context.Context
	s   *store.Store
	q   *store.Q
	ids *id.Generator
}

func open(t *testing.T, dsn string) *fixture {
	t.Helper()
	s, err := store.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &fixture{ctx: t.Context(), s: s, q: s.Q(), ids: id.NewGenerator(time.Now)}
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantNotFound(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: got error %v, want store.ErrNotFound", what, err)
	}
}

func wantConflict(t *testing.T, err error, field, what string) {
	t.Helper()
	var c *store.ErrConflict
	if !errors.As(err, &c) {
		t.Errorf("%s: got error %v, want *store.ErrConflict{Field: %q}", what, err, field)
		return
	}
	if field != "" && c.Field != field {
		t.Errorf("%s: got ErrConflict{Field: %q}, want Field %q", what, c.Field, field)
	}
}

// show renders a value for failure messages (pointers dereferenced).
func show(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	return string(b)
}

func wantEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got: %s\nwant: %s", what, show(got), show(want))
	}
}

func wantUTC(t *testing.T, what string, times ...time.Time) {
	t.Helper()
	for i, x := range times {
		if !x.IsZero() && x.Location() != time.UTC {
			t.Errorf("%s: time #%d is in %v, want UTC", what, i, x.Location())
		}
	}
}

func count(t *testing.T, f *fixture, query string, args ...any) int {
	t.Helper()
	var n int
	must(t, f.s.DB().QueryRowContext(f.ctx, query, args...).Scan(&n), query)
	return n
}

func (f *fixture) env(t *testing.T) *store.Environment {
	t.Helper()
	e := &store.Environment{ID: f.ids.New(id.Environment), Type: "development", PageTokenKey: "cGFnZS10b2tlbi1rZXk=", CreatedAt: t0}
	must(t, f.q.CreateEnvironment(f.ctx, e), "CreateEnvironment")
	return e
}

func (f *fixture) org(t *testing.T, envID, name string, ext *string) *store.Organization {
	t.Helper()
	o := &store.Organization{ID: f.ids.New(id.Organization), EnvID: envID, DisplayName: name, ExternalID: ext, CreatedAt: t0, UpdatedAt: t0}
	must(t, f.q.CreateOrganization(f.ctx, o), "CreateOrganization "+name)
	return o
}

func (f *fixture) user(t *testing.T, envID, email string, mod func(*store.User)) *store.User {
	t.Helper()
	u := &store.User{ID: f.ids.New(id.User), EnvID: envID, Email: email, CreatedAt: t0, UpdatedAt: t0}
	if mod != nil {
		mod(u)
	}
	must(t, f.q.CreateUser(f.ctx, u, strings.ToLower(u.Email)), "CreateUser "+email)
	return u
}

func (f *fixture) role(t *testing.T, envID, orgID, name string) store.RoleRef {
	t.Helper()
	r := &store.Role{ID: f.ids.New(id.Role), EnvID: envID, OrgID: orgID, Name: name,
		DisplayName: strings.ToUpper(name[:1]) + name[1:], Description: "the " + name + " role", CreatedAt: t0, UpdatedAt: t0}
	must(t, f.q.CreateRole(f.ctx, r), "CreateRole "+name)
	return store.RoleRef{ID: r.ID, Name: r.Name, DisplayName: r.DisplayName}
}

func (f *fixture) member(t *testing.T, envID, orgID, userID string, created time.Time, roles ...store.RoleRef) *store.Membership {
	t.Helper()
	m := &store.Membership{EnvID: envID, OrgID: orgID, UserID: userID, Status: store.MembershipActive,
		CreatedAt: created, UpdatedAt: created, AcceptedAt: created, Roles: roles}
	must(t, f.q.CreateMembership(f.ctx, m), "CreateMembership")
	return m
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// wantOrg is how o must read back.
func wantOrg(o *store.Organization) *store.Organization {
	w := *o
	w.Metadata = nonNil(o.Metadata)
	if w.Features == nil {
		w.Features = map[string]bool{}
	}
	w.CreatedAt, w.UpdatedAt = utc(o.CreatedAt), utc(o.UpdatedAt)
	return &w
}

func checkOrg(t *testing.T, what string, got, want *store.Organization) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: got nil organization", what)
		return
	}
	wantUTC(t, what, got.CreatedAt, got.UpdatedAt)
	wantEqual(t, what, got, wantOrg(want))
}

// wantUser is how u must read back, memberships aside (checked on their own).
func wantUser(u *store.User) *store.User {
	w := *u
	w.Metadata, w.ProfileMetadata, w.CustomAttributes = nonNil(u.Metadata), nonNil(u.ProfileMetadata), nonNil(u.CustomAttributes)
	if len(w.Groups) == 0 {
		w.Groups = nil
	}
	w.CreatedAt, w.UpdatedAt, w.LastLoginAt = utc(u.CreatedAt), utc(u.UpdatedAt), utc(u.LastLoginAt)
	w.Memberships = nil
	return &w
}

func checkUser(t *testing.T, what string, got, want *store.User) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: got nil user", what)
		return
	}
	wantUTC(t, what, got.CreatedAt, got.UpdatedAt, got.LastLoginAt)
	g := *got
	if len(g.Groups) == 0 {
		g.Groups = nil
	}
	g.Memberships = nil
	wantEqual(t, what, &g, wantUser(want))
}

// wantMembership is how m must read back: roles sorted by name, org name filled.
func wantMembership(m *store.Membership, orgName string) *store.Membership {
	w := *m
	w.Metadata = nonNil(m.Metadata)
	w.CreatedAt, w.UpdatedAt = utc(m.CreatedAt), utc(m.UpdatedAt)
	w.AcceptedAt, w.ExpiresAt, w.ResentAt = utc(m.AcceptedAt), utc(m.ExpiresAt), utc(m.ResentAt)
	w.OrgName = orgName
	w.Roles = slices.SortedFunc(slices.Values(m.Roles), func(a, b store.RoleRef) int { return cmp.Compare(a.Name, b.Name) })
	if len(w.Roles) == 0 {
		w.Roles = nil
	}
	return &w
}

func checkMemberships(t *testing.T, what string, got []*store.Membership, want ...*store.Membership) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d memberships, want %d:\n got: %s\nwant: %s", what, len(got), len(want), show(got), show(want))
		return
	}
	for i := range got {
		g := *got[i]
		if len(g.Roles) == 0 {
			g.Roles = nil
		}
		wantUTC(t, what, g.CreatedAt, g.UpdatedAt, g.AcceptedAt, g.ExpiresAt, g.ResentAt)
		wantEqual(t, fmt.Sprintf("%s: membership %d", what, i), &g, want[i])
	}
}

func orgIDs(orgs []*store.Organization) []string {
	out := make([]string, len(orgs))
	for i, o := range orgs {
		out[i] = o.ID
	}
	return out
}

func userIDs(users []*store.User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.ID
	}
	return out
}

func sorted(ids []string) []string { return slices.Sorted(slices.Values(ids)) }

// walk pages through a list with the given limit and checks every page's
// Total, size and More against a list of wantTotal rows; it returns the ids
// in the order the pages gave them.
func walk[T any](t *testing.T, what string, limit, wantTotal int, list func(store.Page) (store.Result[T], error), idOf func(T) string) []string {
	t.Helper()
	var ids []string
	after := ""
	for page := 1; ; page++ {
		if page > wantTotal+2 {
			t.Fatalf("%s (limit %d): still paging after %d pages", what, limit, page)
		}
		res, err := list(store.Page{AfterID: after, Limit: limit})
		must(t, err, fmt.Sprintf("%s (limit %d) page %d", what, limit, page))
		if res.Total != wantTotal {
			t.Errorf("%s (limit %d) page %d: Total = %d, want %d", what, limit, page, res.Total, wantTotal)
		}
		if want := min(limit, wantTotal-len(ids)); len(res.Items) != want {
			t.Errorf("%s (limit %d) page %d: %d items, want %d", what, limit, page, len(res.Items), want)
		}
		for _, it := range res.Items {
			ids = append(ids, idOf(it))
		}
		if more := len(ids) < wantTotal; res.More != more {
			t.Errorf("%s (limit %d) page %d: More = %v with %d of %d rows seen", what, limit, page, res.More, len(ids), wantTotal)
		}
		if !res.More || len(res.Items) == 0 {
			return ids
		}
		after = ids[len(ids)-1]
	}
}

// ---------------------------------------------------------------------------
// Migrations

func gooseVersions(t *testing.T, s *store.Store) []int64 {
	t.Helper()
	rows, err := s.DB().QueryContext(t.Context(), `SELECT version_id FROM goose_db_version ORDER BY id`)
	must(t, err, "reading goose_db_version")
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		must(t, rows.Scan(&v), "scanning goose_db_version")
		out = append(out, v)
	}
	must(t, rows.Err(), "reading goose_db_version")
	return out
}

func testMigrations(t *testing.T, dsn string) {
	ctx := t.Context()
	s1, err := store.Open(ctx, dsn)
	must(t, err, "first Open")
	t.Cleanup(func() { _ = s1.Close() })

	wantDialect := store.SQLite
	if store.IsPostgresURL(dsn) {
		wantDialect = store.Postgres
	}
	if s1.Dialect() != wantDialect {
		t.Errorf("Dialect() = %q, want %q", s1.Dialect(), wantDialect)
	}
	must(t, s1.Ping(ctx), "Ping")
	for _, table := range schemaTables {
		var n int
		if err := s1.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			t.Errorf("table %s after migrating: %v", table, err)
		} else if n != 0 {
			t.Errorf("table %s holds %d rows on a fresh database", table, n)
		}
	}
	before := gooseVersions(t, s1)
	if n := len(slices.DeleteFunc(slices.Clone(before), func(v int64) bool { return v != 1 })); n != 1 {
		t.Errorf("goose_db_version records migration 1 %d times, want once: %v", n, before)
	}

	f := &fixture{ctx: ctx, s: s1, q: s1.Q(), ids: id.NewGenerator(time.Now)}
	e := f.env(t)
	o := f.org(t, e.ID, "Survivor", ptr("keep"))

	// Open again while the first handle is still open (a rolling restart).
	s2, err := store.Open(ctx, dsn)
	must(t, err, "second Open")
	if got := gooseVersions(t, s2); !slices.Equal(got, before) {
		t.Errorf("second Open changed goose_db_version: %v, was %v", got, before)
	}
	got, err := s2.Q().GetOrganization(ctx, e.ID, o.ID)
	must(t, err, "GetOrganization through the second handle")
	checkOrg(t, "organization through the second handle", got, o)
	must(t, s2.Close(), "closing the second handle")
	must(t, s1.Close(), "closing the first handle")

	// And once more after everything is closed.
	s3, err := store.Open(ctx, dsn)
	must(t, err, "third Open")
	t.Cleanup(func() { _ = s3.Close() })
	if got := gooseVersions(t, s3); !slices.Equal(got, before) {
		t.Errorf("third Open changed goose_db_version: %v, was %v", got, before)
	}
	first, err := s3.Q().FirstEnvironment(ctx)
	must(t, err, "FirstEnvironment after reopening")
	wantEqual(t, "environment after reopening", first, &store.Environment{ID: e.ID, Type: e.Type, PageTokenKey: e.PageTokenKey, CreatedAt: utc(e.CreatedAt)})
	got, err = s3.Q().GetOrganizationByExternalID(ctx, e.ID, "keep")
	must(t, err, "GetOrganizationByExternalID after reopening")
	checkOrg(t, "organization after reopening", got, o)
}

// ---------------------------------------------------------------------------
// Environments, signing keys, API clients

func testEnvironments(t *testing.T, dsn string) {
	f := open(t, dsn)
	_, err := f.q.FirstEnvironment(f.ctx)
	wantNotFound(t, err, "FirstEnvironment on an empty database")

	// The newer environment is inserted first: FirstEnvironment goes by created_at.
	newer := &store.Environment{ID: f.ids.New(id.Environment), Type: "production", PageTokenKey: "bmV3ZXI=", CreatedAt: at(time.Hour)}
	older := &store.Environment{ID: f.ids.New(id.Environment), Type: "development", PageTokenKey: "b2xkZXI=", CreatedAt: t0}
	must(t, f.q.CreateEnvironment(f.ctx, newer), "CreateEnvironment newer")
	must(t, f.q.CreateEnvironment(f.ctx, older), "CreateEnvironment older")

	got, err := f.q.FirstEnvironment(f.ctx)
	must(t, err, "FirstEnvironment")
	wantUTC(t, "FirstEnvironment", got.CreatedAt)
	wantEqual(t, "FirstEnvironment", got, &store.Environment{ID: older.ID, Type: "development", PageTokenKey: "b2xkZXI=", CreatedAt: utc(t0)})

	dup := *older
	wantConflict(t, f.q.CreateEnvironment(f.ctx, &dup), "", "CreateEnvironment with a taken id")

	must(t, f.q.SetEnvironmentType(f.ctx, older.ID, "production"), "SetEnvironmentType")
	got, err = f.q.FirstEnvironment(f.ctx)
	must(t, err, "FirstEnvironment after SetEnvironmentType")
	if got.Type != "production" {
		t.Errorf("Type after SetEnvironmentType = %q, want production", got.Type)
	}
	wantNotFound(t, f.q.SetEnvironmentType(f.ctx, f.ids.New(id.Environment), "production"), "SetEnvironmentType on an unknown environment")
}

func testSigningKeys(t *testing.T, dsn string) {
	f := open(t, dsn)
	a, b := f.env(t), f.env(t)

	keys, err := f.q.ListSigningKeys(f.ctx, a.ID)
	must(t, err, "ListSigningKeys on an empty environment")
	if len(keys) != 0 {
		t.Errorf("ListSigningKeys on an empty environment returned %d keys", len(keys))
	}

	mk := func(envID string, created, retired time.Time) *store.SigningKey {
		k := &store.SigningKey{ID: f.ids.New(id.Key), EnvID: envID, Alg: "RS256", PrivateEnc: "enc:" + envID,
			PublicJWK: `{"kty":"RSA","n":"AQAB"}`, CreatedAt: created, RetiredAt: retired}
		must(t, f.q.CreateSigningKey(f.ctx, k), "CreateSigningKey")
		return k
	}
	k1 := mk(a.ID, t0, time.Time{})
	k2 := mk(a.ID, at(time.Minute), at(2*time.Minute))
	mk(b.ID, at(90*time.Second), time.Time{})
	k3 := mk(a.ID, at(2*time.Minute), time.Time{})
	k4 := mk(a.ID, at(2*time.Minute), time.Time{}) // same created_at as k3: the later id comes first

	keys, err = f.q.ListSigningKeys(f.ctx, a.ID)
	must(t, err, "ListSigningKeys")
	var want []*store.SigningKey
	for _, k := range []*store.SigningKey{k4, k3, k2, k1} {
		w := *k
		w.CreatedAt, w.RetiredAt = utc(k.CreatedAt), utc(k.RetiredAt)
		w.ActiveAt = w.CreatedAt // CreateSigningKey: an unset ActiveAt means active from creation
		want = append(want, &w)
	}
	for _, k := range keys {
		wantUTC(t, "signing key", k.CreatedAt, k.RetiredAt)
	}
	wantEqual(t, "ListSigningKeys newest first", keys, want)
	if !keys[1].RetiredAt.IsZero() || keys[2].RetiredAt.IsZero() {
		t.Errorf("RetiredAt did not round-trip: %s", show(keys))
	}

	wantConflict(t, f.q.CreateSigningKey(f.ctx, k1), "", "CreateSigningKey with a taken id")
}

func testAPIClients(t *testing.T, dsn string) {
	f := open(t, dsn)
	a, b := f.env(t), f.env(t)

	n, err := f.q.CountAPIClients(f.ctx, a.ID)
	must(t, err, "CountAPIClients")
	if n != 0 {
		t.Errorf("CountAPIClients on an empty environment = %d", n)
	}

	mk := func(envID, name, hash string) *store.APIClient {
		c := &store.APIClient{ID: f.ids.New(id.Client), EnvID: envID, Name: name, CreatedAt: t0}
		s := &store.ClientSecret{ID: f.ids.New(id.ClientSecret), EnvID: envID, ClientID: c.ID, SecretHash: hash, Hint: hash[len(hash)-4:], CreatedAt: t0}
		must(t, f.q.CreateAPIClient(f.ctx, c, s), "CreateAPIClient "+name)
		return c
	}
	c1 := mk(a.ID, "first", "$argon2id$hash-one")
	c2 := mk(a.ID, "second", "$argon2id$hash-two")
	c3 := mk(b.ID, "other env", "$argon2id$hash-three")

	for _, tc := range []struct {
		env, client, hash string
	}{{a.ID, c1.ID, "$argon2id$hash-one"}, {a.ID, c2.ID, "$argon2id$hash-two"}, {b.ID, c3.ID, "$argon2id$hash-three"}} {
		hashes, err := f.q.ClientSecretHashes(f.ctx, tc.env, tc.client)
		must(t, err, "ClientSecretHashes")
		wantEqual(t, "ClientSecretHashes "+tc.client, hashes, []string{tc.hash})
	}

	for env, want := range map[string]int{a.ID: 2, b.ID: 1} {
		n, err := f.q.CountAPIClients(f.ctx, env)
		must(t, err, "CountAPIClients")
		if n != want {
			t.Errorf("CountAPIClients(%s) = %d, want %d", env, n, want)
		}
	}

	_, err = f.q.ClientSecretHashes(f.ctx, a.ID, f.ids.New(id.Client))
	wantNotFound(t, err, "ClientSecretHashes of an unknown client")
	_, err = f.q.ClientSecretHashes(f.ctx, b.ID, c1.ID)
	wantNotFound(t, err, "ClientSecretHashes of another environment's client")

	dup := &store.APIClient{ID: c1.ID, EnvID: a.ID, Name: "dup", CreatedAt: t0}
	err = f.s.Tx(f.ctx, func(q *store.Q) error {
		return q.CreateAPIClient(f.ctx, dup, &store.ClientSecret{ID: f.ids.New(id.ClientSecret), EnvID: a.ID, ClientID: c1.ID, SecretHash: "x", Hint: "x", CreatedAt: t0})
	})
	wantConflict(t, err, "", "CreateAPIClient with a taken id")
}

// ---------------------------------------------------------------------------
// Organizations

func testOrganizationCRUD(t *testing.T, dsn string) {
	f := open(t, dsn)
	e := f.env(t)

	full := &store.Organization{
		ID: f.ids.New(id.Organization), EnvID: e.ID, DisplayName: "Acme, Inc. ü", ExternalID: ptr("acme-1"),
		RegionCode: 2, Slug: ptr("acme"), LogoURL: ptr("https://acme.example/logo.png"),
		Metadata:  map[string]string{"tier": "gold", "unicode": "日本語", "quote": `"x"`},
		Features:  map[string]bool{"sso": true, "scim": false},
		CreatedAt: t0, UpdatedAt: at(time.Second),
	}
	must(t, f.q.CreateOrganization(f.ctx, full), "CreateOrganization")
	got, err := f.q.GetOrganization(f.ctx, e.ID, full.ID)
	must(t, err, "GetOrganization")
	checkOrg(t, "GetOrganization", got, full)
	if got.CreatedAt.Nanosecond()%1000 != 0 || !got.CreatedAt.Equal(utc(t0)) {
		t.Errorf("CreatedAt = %v, want %v (microsecond precision)", got.CreatedAt, utc(t0))
	}

	got, err = f.q.GetOrganizationByExternalID(f.ctx, e.ID, "acme-1")
	must(t, err, "GetOrganizationByExternalID")
	checkOrg(t, "GetOrganizationByExternalID", got, full)

	// Nil maps and pointers come back as empty maps and nil pointers.
	bare := f.org(t, e.ID, "Bare", nil)
	got, err = f.q.GetOrganization(f.ctx, e.ID, bare.ID)
	must(t, err, "GetOrganization bare")
	checkOrg(t, "bare organization", got, bare)
	if got.Metadata == nil || got.Features == nil {
		t.Errorf("bare organization: Metadata %v, Features %v, want empty non-nil maps", got.Metadata, got.Features)
	}

	// Update writes every mutable field, and only those.
	upd := *full
	upd.DisplayName = "Acme Renamed"
	upd.ExternalID = nil
	upd.RegionCode = 0
	upd.Slug = ptr("acme-renamed")
	upd.LogoURL = nil
	upd.Metadata = map[string]string{"tier": "platinum"}
	upd.Features = map[string]bool{"sso": false}
	upd.UpdatedAt = at(time.Hour + 123456789*time.Nanosecond)
	upd.CreatedAt = at(99 * time.Hour) // not mutable: must be ignored
	must(t, f.q.UpdateOrganization(f.ctx, &upd), "UpdateOrganization")
	got, err = f.q.GetOrganization(f.ctx, e.ID, full.ID)
	must(t, err, "GetOrganization after update")
	want := upd
	want.CreatedAt = full.CreatedAt
	checkOrg(t, "organization after update", got, &want)
	_, err = f.q.GetOrganizationByExternalID(f.ctx, e.ID, "acme-1")
	wantNotFound(t, err, "GetOrganizationByExternalID of a cleared external id")

	missing := upd
	missing.ID = f.ids.New(id.Organization)
	wantNotFound(t, f.q.UpdateOrganization(f.ctx, &missing), "UpdateOrganization of an unknown id")

	_, err = f.q.GetOrganization(f.ctx, e.ID, f.ids.New(id.Organization))
	wantNotFound(t, err, "GetOrganization of an unknown id")
	_, err = f.q.GetOrganizationByExternalID(f.ctx, e.ID, "nobody")
	wantNotFound(t, err, "GetOrganizationByExternalID of an unknown external id")

	must(t, f.q.DeleteOrganization(f.ctx, e.ID, full.ID), "DeleteOrganization")
	_, err = f.q.GetOrganization(f.ctx, e.ID, full.ID)
	wantNotFound(t, err, "GetOrganization after delete")
	wantNotFound(t, f.q.DeleteOrganization(f.ctx, e.ID, full.ID), "DeleteOrganization twice")
	if _, err := f.q.GetOrganization(f.ctx, e.ID, bare.ID); err != nil {
		t.Errorf("deleting one organization affected another: %v", err)
	}
}

func testOrganizationConflicts(t *testing.T, dsn string) {
	f := open(t, dsn)
	a, b := f.env(t), f.env(t)

	acmeA := f.org(t, a.ID, "Acme A", ptr("acme"))
	dup := &store.Organization{ID: f.ids.New(id.Organization), EnvID: a.ID, DisplayName: "Acme again", ExternalID: ptr("acme"), CreatedAt: t0, UpdatedAt: t0}
	wantConflict(t, f.q.CreateOrganization(f.ctx, dup), "external_id", "duplicate external_id in one environment")
	_, err := f.q.GetOrganization(f.ctx, a.ID, dup.ID)
	wantNotFound(t, err, "the rejected duplicate")

	// The same external id in another environment is another organization.
	acmeB := f.org(t, b.ID, "Acme B", ptr("acme"))
	got, err := f.q.GetOrganizationByExternalID(f.ctx, b.ID, "acme")
	must(t, err, "GetOrganizationByExternalID in env B")
	checkOrg(t, "env B's acme", got, acmeB)
	got, err = f.q.GetOrganizationByExternalID(f.ctx, a.ID, "acme")
	must(t, err, "GetOrganizationByExternalID in env A")
	checkOrg(t, "env A's acme", got, acmeA)

	// Env B cannot read, change or delete env A's organization.
	_, err = f.q.GetOrganization(f.ctx, b.ID, acmeA.ID)
	wantNotFound(t, err, "GetOrganization of env A's org with env B's id")
	hijack := *acmeA
	hijack.EnvID, hijack.DisplayName = b.ID, "Hijacked"
	wantNotFound(t, f.q.UpdateOrganization(f.ctx, &hijack), "UpdateOrganization of env A's org with env B's id")
	wantNotFound(t, f.q.DeleteOrganization(f.ctx, b.ID, acmeA.ID), "DeleteOrganization of env A's org with env B's id")
	got, err = f.q.GetOrganization(f.ctx, a.ID, acmeA.ID)
	must(t, err, "env A's org after env B's attempts")
	checkOrg(t, "env A's org after env B's attempts", got, acmeA)
	res, err := f.q.ListOrganizations(f.ctx, b.ID, store.OrgFilter{}, store.Page{Limit: 10})
	must(t, err, "ListOrganizations env B")
	wantEqual(t, "env B's organizations", orgIDs(res.Items), []string{acmeB.ID})

	// Any number of organizations may have no external id.
	n1 := f.org(t, a.ID, "No ext 1", nil)
	n2 := f.org(t, a.ID, "No ext 2", nil)
	f.org(t, a.ID, "No ext 3", nil)

	// Updating into a taken external id conflicts too, and changes nothing.
	taken := *n1
	taken.ExternalID = ptr("acme")
	taken.DisplayName = "Should not stick"
	wantConflict(t, f.q.UpdateOrganization(f.ctx, &taken), "external_id", "UpdateOrganization to a taken external_id")
	got, err = f.q.GetOrganization(f.ctx, a.ID, n1.ID)
	must(t, err, "GetOrganization after a failed update")
	checkOrg(t, "organization after a failed update", got, n1)

	sameID := *n2
	sameID.ExternalID = ptr("fresh")
	wantConflict(t, f.q.CreateOrganization(f.ctx, &sameID), "", "CreateOrganization with a taken id")
}

// ---------------------------------------------------------------------------
// Users

func testUserCRUD(t *testing.T, dsn string) {
	f := open(t, dsn)
	e := f.env(t)

	full := &store.User{
		ID: f.ids.New(id.User), EnvID: e.ID, Email: "Alice.Smith@Example.COM", EmailVerified: true, ExternalID: ptr("crm-42"),
		GivenName: "Alice", FamilyName: "Smith", Name: "Alice Smith", Locale: "en-GB", PhoneNumber: "+441234567890",
		PreferredUsername: "alice", Picture: "https://example.com/a.png", Gender: "female",
		Groups:           []string{"admins", "eng"},
		Metadata:         map[string]string{"plan": "pro"},
		ProfileMetadata:  map[string]string{"title": "CTO"},
		CustomAttributes: map[string]string{"badge": "42", "emoji": "🚀"},
		CreatedAt:        t0, UpdatedAt: at(time.Second), LastLoginAt: at(time.Minute + 999*time.Nanosecond),
	}
	must(t, f.q.CreateUser(f.ctx, full, "alice.smith@example.com"), "CreateUser")

	for name, get := range map[string]func() (*store.User, error){
		"GetUser":             func() (*store.User, error) { return f.q.GetUser(f.ctx, e.ID, full.ID) },
		"GetUserByExternalID": func() (*store.User, error) { return f.q.GetUserByExternalID(f.ctx, e.ID, "crm-42") },
		"GetUserByEmail":      func() (*store.User, error) { return f.q.GetUserByEmail(f.ctx, e.ID, "alice.smith@example.com") },
	} {
		got, err := get()
		must(t, err, name)
		checkUser(t, name, got, full)
		if got.Memberships == nil || len(got.Memberships) != 0 {
			t.Errorf("%s: Memberships = %#v, want an empty list", name, got.Memberships)
		}
	}

	bare := f.user(t, e.ID, "bare@example.com", nil)
	got, err := f.q.GetUser(f.ctx, e.ID, bare.ID)
	must(t, err, "GetUser bare")
	checkUser(t, "bare user", got, bare)
	if got.ExternalID != nil || !got.LastLoginAt.IsZero() || got.Metadata == nil {
		t.Errorf("bare user: ExternalID %v, LastLoginAt %v, Metadata %v", got.ExternalID, got.LastLoginAt, got.Metadata)
	}

	// Update writes every mutable field; the old email no longer finds the user.
	upd := *full
	upd.Email, upd.EmailVerified, upd.ExternalID = "alice@new.example", false, nil
	upd.GivenName, upd.FamilyName, upd.Name, upd.Locale = "Alicia", "Smythe", "Alicia Smythe", "fr-FR"
	upd.PhoneNumber, upd.PreferredUsername, upd.Picture, upd.Gender = "", "alicia", "", ""
	upd.Groups = nil
	upd.Metadata = map[string]string{"plan": "enterprise"}
	upd.ProfileMetadata, upd.CustomAttributes = nil, map[string]string{"badge": "43"}
	upd.UpdatedAt, upd.LastLoginAt = at(time.Hour), time.Time{}
	must(t, f.q.UpdateUser(f.ctx, &upd, "alice@new.example"), "UpdateUser")
	got, err = f.q.GetUserByEmail(f.ctx, e.ID, "alice@new.example")
	must(t, err, "GetUserByEmail after update")
	checkUser(t, "user after update", got, &upd)
	_, err = f.q.GetUserByEmail(f.ctx, e.ID, "alice.smith@example.com")
	wantNotFound(t, err, "GetUserByEmail of the old email")
	_, err = f.q.GetUserByExternalID(f.ctx, e.ID, "crm-42")
	wantNotFound(t, err, "GetUserByExternalID of a cleared external id")

	missing := upd
	missing.ID = f.ids.New(id.User)
	wantNotFound(t, f.q.UpdateUser(f.ctx, &missing, "missing@example.com"), "UpdateUser of an unknown id")

	_, err = f.q.GetUser(f.ctx, e.ID, f.ids.New(id.User))
	wantNotFound(t, err, "GetUser of an unknown id")
	_, err = f.q.GetUserByExternalID(f.ctx, e.ID, "nobody")
	wantNotFound(t, err, "GetUserByExternalID of an unknown external id")
	_, err = f.q.GetUserByEmail(f.ctx, e.ID, "nobody@example.com")
	wantNotFound(t, err, "GetUserByEmail of an unknown email")

	must(t, f.q.DeleteUser(f.ctx, e.ID, full.ID), "DeleteUser")
	_, err = f.q.GetUser(f.ctx, e.ID, full.ID)
	wantNotFound(t, err, "GetUser after delete")
	wantNotFound(t, f.q.DeleteUser(f.ctx, e.ID, full.ID), "DeleteUser twice")
	if _, err := f.q.GetUser(f.ctx, e.ID, bare.ID); err != nil {
		t.Errorf("deleting one user affected another: %v", err)
	}
}

func testUserConflicts(t *testing.T, dsn string) {
	f := open(t, dsn)
	a, b := f.env(t), f.env(t)

	alice := f.user(t, a.ID, "Alice@Example.com", func(u *store.User) { u.ExternalID = ptr("ext-alice") })

	sameEmail := &store.User{ID: f.ids.New(id.User), EnvID: a.ID, Email: "ALICE@example.com", CreatedAt: t0, UpdatedAt: t0}
	wantConflict(t, f.q.CreateUser(f.ctx, sameEmail, "alice@example.com"), "email", "duplicate email_norm")
	_, err := f.q.GetUser(f.ctx, a.ID, sameEmail.ID)
	wantNotFound(t, err, "the rejected duplicate email")

	sameExt := &store.User{ID: f.ids.New(id.User), EnvID: a.ID, Email: "other@example.com", ExternalID: ptr("ext-alice"), CreatedAt: t0, UpdatedAt: t0}
	wantConflict(t, f.q.CreateUser(f.ctx, sameExt, "other@example.com"), "external_id", "duplicate external_id")

	// Users without external ids coexist.
	bob := f.user(t, a.ID, "bob@example.com", nil)
	f.user(t, a.ID, "carol@example.com", nil)

	// Updates hit the same constraints.
	steal := *bob
	steal.Email = "alice@example.com"
	wantConflict(t, f.q.UpdateUser(f.ctx, &steal, "alice@example.com"), "email", "UpdateUser to a taken email")
	steal = *bob
	steal.ExternalID = ptr("ext-alice")
	wantConflict(t, f.q.UpdateUser(f.ctx, &steal, "bob@example.com"), "external_id", "UpdateUser to a taken external_id")
	got, err := f.q.GetUser(f.ctx, a.ID, bob.ID)
	must(t, err, "GetUser after failed updates")
	checkUser(t, "user after failed updates", got, bob)

	// Another environment has its own namespace, and cannot see env A's users.
	aliceB := f.user(t, b.ID, "alice@example.com", func(u *store.User) { u.ExternalID = ptr("ext-alice") })
	got, err = f.q.GetUserByEmail(f.ctx, b.ID, "alice@example.com")
	must(t, err, "GetUserByEmail env B")
	checkUser(t, "env B's alice", got, aliceB)
	got, err = f.q.GetUserByExternalID(f.ctx, a.ID, "ext-alice")
	must(t, err, "GetUserByExternalID env A")
	checkUser(t, "env A's alice", got, alice)
	_, err = f.q.GetUser(f.ctx, b.ID, alice.ID)
	wantNotFound(t, err, "GetUser of env A's user with env B's id")
	hijack := *alice
	hijack.EnvID, hijack.Name = b.ID, "Hijacked"
	wantNotFound(t, f.q.UpdateUser(f.ctx, &hijack, "hijack@example.com"), "UpdateUser of env A's user with env B's id")
	wantNotFound(t, f.q.DeleteUser(f.ctx, b.ID, alice.ID), "DeleteUser of env A's user with env B's id")
	got, err = f.q.GetUser(f.ctx, a.ID, alice.ID)
	must(t, err, "env A's user after env B's attempts")
	checkUser(t, "env A's user after env B's attempts", got, alice)
}

// ---------------------------------------------------------------------------
// Roles and memberships

func testRoles(t *testing.T, dsn string) {
	f := open(t, dsn)
	a, b := f.env(t), f.env(t)
	org1 := f.org(t, a.ID, "One", nil)
	org2 := f.org(t, a.ID, "Two", nil)

	viewer := f.role(t, a.ID, "", "viewer")
	admin := f.role(t, a.ID, "", "admin")
	member := f.role(t, a.ID, "", "member")
	billing := f.role(t, a.ID, org1.ID, "billing")
	org1Member := f.role(t, a.ID, org1.ID, "member") // an org role shadowing an env role
	f.role(t, b.ID, "", "admin")

	wantConflict(t, f.q.CreateRole(f.ctx, &store.Role{ID: f.ids.New(id.Role), EnvID: a.ID, Name: "admin", CreatedAt: t0, UpdatedAt: t0}),
		"name", "duplicate environment role name")
	wantConflict(t, f.q.CreateRole(f.ctx, &store.Role{ID: f.ids.New(id.Role), EnvID: a.ID, OrgID: org1.ID, Name: "billing", CreatedAt: t0, UpdatedAt: t0}),
		"name", "duplicate organization role name")
	f.role(t, a.ID, org2.ID, "billing") // the same name in another organization is fine

	got, err := f.q.RolesByName(f.ctx, a.ID, org1.ID, []string{"admin", "member", "billing", "nope"})
	must(t, err, "RolesByName org1")
	wantEqual(t, "RolesByName org1", got, map[string]store.RoleRef{"admin": admin, "member": org1Member, "billing": billing})

	got, err = f.q.RolesByName(f.ctx, a.ID, "", []string{"admin", "member", "billing"})
	must(t, err, "RolesByName environment only")
	wantEqual(t, "RolesByName environment only", got, map[string]store.RoleRef{"admin": admin, "member": member})

	got, err = f.q.RolesByName(f.ctx, a.ID, org1.ID, nil)
	must(t, err, "RolesByName no names")
	if len(got) != 0 {
		t.Errorf("RolesByName with no names = %v", got)
	}
	got, err = f.q.RolesByName(f.ctx, b.ID, org1.ID, []string{"billing", "viewer"})
	must(t, err, "RolesByName other env")
	if len(got) != 0 {
		t.Errorf("RolesByName in env B found env A's roles: %v", got)
	}

	roles, err := f.q.ListRoles(f.ctx, a.ID)
	must(t, err, "ListRoles")
	var names []string
	for _, r := range roles {
		names = append(names, r.Name)
		wantUTC(t, "role", r.CreatedAt, r.UpdatedAt)
		if r.EnvID != a.ID || r.OrgID != "" || !r.CreatedAt.Equal(utc(t0)) {
			t.Errorf("ListRoles row %s", show(r))
		}
	}
	wantEqual(t, "ListRoles names (environment roles, by name)", names, []string{"admin", "member", "viewer"})
	if roles[2].ID != viewer.ID || roles[2].DisplayName != "Viewer" || roles[2].Description != "the viewer role" {
		t.Errorf("ListRoles viewer = %s", show(roles[2]))
	}
}

func testMemberships(t *testing.T, dsn string) {
	f := open(t, dsn)
	e := f.env(t)
	acme := f.org(t, e.ID, "Acme", nil)
	beta := f.org(t, e.ID, "Beta", nil)
	u := f.user(t, e.ID, "u@example.com", nil)
	other := f.user(t, e.ID, "other@example.com", nil)

	admin := f.role(t, e.ID, "", "admin")
	viewer := f.role(t, e.ID, "", "viewer")
	member := f.role(t, e.ID, "", "member")
	billing := f.role(t, e.ID, acme.ID, "billing")
	refs, err := f.q.RolesByName(f.ctx, e.ID, acme.ID, []string{"viewer", "admin", "billing"})
	must(t, err, "RolesByName")

	m1 := &store.Membership{
		EnvID: e.ID, OrgID: acme.ID, UserID: u.ID, Status: store.MembershipPendingInvite,
		Metadata: map[string]string{"source": "invite"}, InviterEmail: ptr("boss@example.com"),
		CreatedAt: t0, UpdatedAt: at(time.Second), ExpiresAt: at(7 * 24 * time.Hour), ResentAt: at(time.Hour), ResentCount: 2,
		Roles: []store.RoleRef{refs["viewer"], refs["admin"], refs["billing"]}, // unsorted on purpose
	}
	must(t, f.q.CreateMembership(f.ctx, m1), "CreateMembership acme")
	m2 := f.member(t, e.ID, beta.ID, u.ID, at(time.Minute), member)

	got, err := f.q.GetUser(f.ctx, e.ID, u.ID)
	must(t, err, "GetUser with memberships")
	checkMemberships(t, "GetUser memberships", got.Memberships, wantMembership(m1, "Acme"), wantMembership(m2, "Beta"))
	if rs := got.Memberships[0].Roles; len(rs) == 3 && (rs[0] != admin || rs[1] != billing || rs[2] != viewer) {
		t.Errorf("roles not sorted by name: %s", show(rs))
	}

	list, err := f.q.ListUsers(f.ctx, e.ID, store.UserFilter{}, store.Page{Limit: 10})
	must(t, err, "ListUsers")
	wantEqual(t, "ListUsers ids", userIDs(list.Items), sorted([]string{u.ID, other.ID}))
	for _, lu := range list.Items {
		if lu.ID == u.ID {
			checkMemberships(t, "ListUsers memberships", lu.Memberships, wantMembership(m1, "Acme"), wantMembership(m2, "Beta"))
		} else {
			checkMemberships(t, "ListUsers memberships of a user with none", lu.Memberships)
		}
	}

	// A second membership of the same user in the same organization conflicts.
	dup := &store.Membership{EnvID: e.ID, OrgID: acme.ID, UserID: u.ID, Status: store.MembershipActive, CreatedAt: t0, UpdatedAt: t0}
	wantConflict(t, f.q.CreateMembership(f.ctx, dup), "membership", "duplicate membership")
	// The same role twice in one membership conflicts, inside a Tx so nothing sticks.
	err = f.s.Tx(f.ctx, func(q *store.Q) error {
		return q.CreateMembership(f.ctx, &store.Membership{EnvID: e.ID, OrgID: acme.ID, UserID: other.ID, Status: store.MembershipActive,
			CreatedAt: t0, UpdatedAt: t0, Roles: []store.RoleRef{admin, admin}})
	})
	wantConflict(t, err, "roles", "the same role twice in one membership")
	got, err = f.q.GetUser(f.ctx, e.ID, other.ID)
	must(t, err, "GetUser other")
	checkMemberships(t, "memberships after a rolled back duplicate role", got.Memberships)

	// Update replaces the fields and the whole role set.
	upd := *m1
	upd.Status, upd.AcceptedAt, upd.ExpiresAt, upd.ResentAt, upd.ResentCount = store.MembershipActive, at(2*time.Hour), time.Time{}, time.Time{}, 0
	upd.Metadata, upd.InviterEmail, upd.UpdatedAt = nil, nil, at(2*time.Hour)
	upd.Roles = []store.RoleRef{member}
	must(t, f.q.UpdateMembership(f.ctx, &upd), "UpdateMembership")
	got, err = f.q.GetUser(f.ctx, e.ID, u.ID)
	must(t, err, "GetUser after UpdateMembership")
	checkMemberships(t, "memberships after update", got.Memberships, wantMembership(&upd, "Acme"), wantMembership(m2, "Beta"))

	upd.Roles = nil
	must(t, f.q.UpdateMembership(f.ctx, &upd), "UpdateMembership to no roles")
	got, err = f.q.GetUser(f.ctx, e.ID, u.ID)
	must(t, err, "GetUser after clearing roles")
	checkMemberships(t, "memberships after clearing roles", got.Memberships, wantMembership(&upd, "Acme"), wantMembership(m2, "Beta"))
	if n := count(t, f, `SELECT COUNT(*) FROM membership_roles WHERE org_id = $1 AND user_id = $2`, acme.ID, u.ID); n != 0 {
		t.Errorf("%d membership_roles rows left after clearing roles", n)
	}

	nobody := &store.Membership{EnvID: e.ID, OrgID: beta.ID, UserID: other.ID, Status: store.MembershipActive, UpdatedAt: t0}
	wantNotFound(t, f.q.UpdateMembership(f.ctx, nobody), "UpdateMembership of a missing membership")

	must(t, f.q.DeleteMembership(f.ctx, e.ID, beta.ID, u.ID), "DeleteMembership")
	got, err = f.q.GetUser(f.ctx, e.ID, u.ID)
	must(t, err, "GetUser after DeleteMembership")
	checkMemberships(t, "memberships after delete", got.Memberships, wantMembership(&upd, "Acme"))
	if n := count(t, f, `SELECT COUNT(*) FROM membership_roles WHERE org_id = $1`, beta.ID); n != 0 {
		t.Errorf("%d membership_roles rows left after DeleteMembership", n)
	}
	wantNotFound(t, f.q.DeleteMembership(f.ctx, e.ID, beta.ID, u.ID), "DeleteMembership twice")
	wantNotFound(t, f.q.DeleteMembership(f.ctx, f.ids.New(id.Environment), acme.ID, u.ID), "DeleteMembership with another env id")
}

func testDeleteUserCascade(t *testing.T, dsn string) {
	f := open(t, dsn)
	e := f.env(t)
	org1, org2 := f.org(t, e.ID, "One", nil), f.org(t, e.ID, "Two", nil)
	admin, viewer := f.role(t, e.ID, "", "admin"), f.role(t, e.ID, "", "viewer")
	gone, stays := f.user(t, e.ID, "gone@example.com", nil), f.user(t, e.ID, "stays@example.com", nil)
	f.member(t, e.ID, org1.ID, gone.ID, t0, admin, viewer)
	f.member(t, e.ID, org2.ID, gone.ID, t0, viewer)
	kept := f.member(t, e.ID, org1.ID, stays.ID, t0, admin)

	must(t, f.q.DeleteUser(f.ctx, e.ID, gone.ID), "DeleteUser")
	_, err := f.q.GetUser(f.ctx, e.ID, gone.ID)
	wantNotFound(t, err, "GetUser after DeleteUser")
	for _, o := range []*store.Organization{org1, org2} {
		if _, err := f.q.GetOrganization(f.ctx, e.ID, o.ID); err != nil {
			t.Errorf("organization %s after deleting a member: %v", o.DisplayName, err)
		}
	}
	if n := count(t, f, `SELECT COUNT(*) FROM memberships WHERE user_id = $1`, gone.ID); n != 0 {
		t.Errorf("%d memberships left for a deleted user", n)
	}
	if n := count(t, f, `SELECT COUNT(*) FROM membership_roles WHERE user_id = $1`, gone.ID); n != 0 {
		t.Errorf("%d membership_roles left for a deleted user", n)
	}
	got, err := f.q.GetUser(f.ctx, e.ID, stays.ID)
	must(t, err, "GetUser of the other member")
	checkMemberships(t, "other member's memberships", got.Memberships, wantMembership(kept, "One"))
	res, err := f.q.ListUsers(f.ctx, e.ID, store.UserFilter{OrgID: org2.ID}, store.Page{Limit: 10})
	must(t, err, "ListUsers org2")
	if res.Total != 0 || len(res.Items) != 0 {
		t.Errorf("org2 still lists %d members (Total %d) after its only member was deleted", len(res.Items), res.Total)
	}
	roles, err := f.q.ListRoles(f.ctx, e.ID)
	must(t, err, "ListRoles")
	if len(roles) != 2 {
		t.Errorf("deleting a user removed roles: %d left", len(roles))
	}
}

func testDeleteOrganizationCascade(t *testing.T, dsn string) {
	f := open(t, dsn)
	e := f.env(t)
	gone, stays := f.org(t, e.ID, "Gone", nil), f.org(t, e.ID, "Stays", nil)
	admin := f.role(t, e.ID, "", "admin")
	orgRole := f.role(t, e.ID, gone.ID, "billing")
	u1, u2 := f.user(t, e.ID, "one@example.com", nil), f.user(t, e.ID, "two@example.com", nil)
	f.member(t, e.ID, gone.ID, u1.ID, t0, admin, orgRole)
	f.member(t, e.ID, gone.ID, u2.ID, t0, admin)
	kept := f.member(t, e.ID, stays.ID, u2.ID, t0, admin)

	must(t, f.q.DeleteOrganization(f.ctx, e.ID, gone.ID), "DeleteOrganization")
	_, err := f.q.GetOrganization(f.ctx, e.ID, gone.ID)
	wantNotFound(t, err, "GetOrganization after delete")
	if n := count(t, f, `SELECT COUNT(*) FROM memberships WHERE org_id = $1`, gone.ID); n != 0 {
		t.Errorf("%d memberships left for a deleted organization", n)
	}
	if n := count(t, f, `SELECT COUNT(*) FROM membership_roles WHERE org_id = $1`, gone.ID); n != 0 {
		t.Errorf("%d membership_roles left for a deleted organization", n)
	}
	got, err := f.q.GetUser(f.ctx, e.ID, u1.ID)
	must(t, err, "GetUser u1 after its organization was deleted")
	checkMemberships(t, "u1 memberships", got.Memberships)
	got, err = f.q.GetUser(f.ctx, e.ID, u2.ID)
	must(t, err, "GetUser u2 after one organization was deleted")
	checkMemberships(t, "u2 memberships", got.Memberships, wantMembership(kept, "Stays"))
	res, err := f.q.ListUsers(f.ctx, e.ID, store.UserFilter{}, store.Page{Limit: 10})
	must(t, err, "ListUsers")
	if res.Total != 2 {
		t.Errorf("users after deleting an organization: Total %d, want 2", res.Total)
	}
}

// ---------------------------------------------------------------------------
// Lists and pagination

func testListOrganizationsPagination(t *testing.T, dsn string) {
	f := open(t, dsn)
	a, b := f.env(t), f.env(t)

	var want []string
	for i := range 23 {
		want = append(want, f.org(t, a.ID, fmt.Sprintf("Org %02d", i), nil).ID)
		if i%4 == 0 {
			f.org(t, b.ID, fmt.Sprintf("Other %02d", i), nil) // interleaved ids from another env
		}
	}
	want = sorted(want)
	list := func(p store.Page) (store.Result[*store.Organization], error) {
		return f.q.ListOrganizations(f.ctx, a.ID, store.OrgFilter{}, p)
	}
	idOf := func(o *store.Organization) string { return o.ID }
	for _, limit := range []int{1, 2, 5, 22, 23, 24, 100} {
		got := walk(t, "ListOrganizations", limit, len(want), list, idOf)
		wantEqual(t, fmt.Sprintf("ListOrganizations ids (limit %d)", limit), got, want)
	}

	// After the last id: nothing, no more, same total.
	res, err := list(store.Page{AfterID: want[len(want)-1], Limit: 5})
	must(t, err, "ListOrganizations after the last id")
	if len(res.Items) != 0 || res.More || res.Total != len(want) {
		t.Errorf("after the last id: %d items, More %v, Total %d", len(res.Items), res.More, res.Total)
	}
	// A page's items are whole organizations.
	res, err = list(store.Page{Limit: 1})
	must(t, err, "ListOrganizations first")
	if len(res.Items) == 1 && (res.Items[0].EnvID != a.ID || res.Items[0].DisplayName != "Org 00" || res.Items[0].Metadata == nil) {
		t.Errorf("first organization = %s", show(res.Items[0]))
	}
}

func orgMatches(o *store.Organization, q string) bool {
	q = strings.ToLower(q)
	ext := ""
	if o.ExternalID != nil {
		ext = *o.ExternalID
	}
	return strings.Contains(strings.ToLower(o.DisplayName), q) || strings.Contains(strings.ToLower(ext), q) ||
		strings.Contains(strings.ToLower(o.ID), q)
}

func testListOrganizationsFilters(t *testing.T, dsn string) {
	f := open(t, dsn)
	a, b := f.env(t), f.env(t)

	orgs := []*store.Organization{
		f.org(t, a.ID, "Acme Corp", ptr("ACME-1")),
		f.org(t, a.ID, "acme labs", nil),
		f.org(t, a.ID, "Globex", ptr("was-acme")),
		f.org(t, a.ID, "Initech", ptr("initech")),
		f.org(t, a.ID, "100% Real", ptr("pct")),
		f.org(t, a.ID, "1000 Real", ptr("no-pct")),
		f.org(t, a.ID, "under_score", nil),
		f.org(t, a.ID, "underXscore", nil),
		f.org(t, a.ID, `back\slash`, nil),
		f.org(t, a.ID, "backslash", nil),
	}
	f.org(t, b.ID, "Acme in B", ptr("ACME-1"))

	byID := func(want ...*store.Organization) []string { return sorted(orgIDs(want)) }
	idQuery := strings.ToUpper(orgs[3].ID[len(orgs[3].ID)-12:])
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"acme", byID(orgs[0], orgs[1], orgs[2])},
		{"ACME", byID(orgs[0], orgs[1], orgs[2])},
		{"0% r", byID(orgs[4])},   // '%' is literal, not "anything"
		{"r_s", byID(orgs[6])},    // '_' is literal, not "any character"
		{`k\s`, byID(orgs[8])},    // '\' is literal too
		{"ACME-1", byID(orgs[0])}, // external id
		{idQuery, byID(orgs[3])},  // id, case-insensitively
		{"zzz-nothing", nil},
	} {
		var want []string
		for _, o := range orgs {
			if orgMatches(o, tc.query) {
				want = append(want, o.ID)
			}
		}
		want = sorted(want)
		if !slices.Equal(want, tc.want) {
			t.Fatalf("test oracle disagrees with the table for %q: %v vs %v", tc.query, want, tc.want)
		}
		list := func(p store.Page) (store.Result[*store.Organization], error) {
			return f.q.ListOrganizations(f.ctx, a.ID, store.OrgFilter{Query: tc.query}, p)
		}
		for _, limit := range []int{1, 2, 50} {
			got := walk(t, fmt.Sprintf("ListOrganizations Query %q", tc.query), limit, len(want), list, func(o *store.Organization) string { return o.ID })
			if !slices.Equal(got, want) {
				t.Errorf("ListOrganizations Query %q (limit %d) = %v, want %v", tc.query, limit, got, want)
			}
		}
	}

	for _, tc := range []struct {
		ext  string
		want []string
	}{
		{"ACME-1", byID(orgs[0])},
		{"acme-1", nil}, // exact match
		{"acme", nil},   // not a substring match
		{"pct", byID(orgs[4])},
		{"nope", nil},
	} {
		res, err := f.q.ListOrganizations(f.ctx, a.ID, store.OrgFilter{ExternalID: ptr(tc.ext)}, store.Page{Limit: 10})
		must(t, err, "ListOrganizations ExternalID "+tc.ext)
		if got := orgIDs(res.Items); !slices.Equal(got, tc.want) || res.Total != len(tc.want) || res.More {
			t.Errorf("ListOrganizations ExternalID %q = %v (Total %d, More %v), want %v", tc.ext, got, res.Total, res.More, tc.want)
		}
	}
}

func testListUsersPagination(t *testing.T, dsn string) {
	f := open(t, dsn)
	a, b := f.env(t), f.env(t)
	org := f.org(t, a.ID, "Org", nil)
	otherOrg := f.org(t, a.ID, "Other org", nil)
	orgB := f.org(t, b.ID, "B org", nil)

	var all, members []string
	for i := range 12 {
		u := f.user(t, a.ID, fmt.Sprintf("user%02d@example.com", i), nil)
		all = append(all, u.ID)
		if i%3 == 1 {
			f.member(t, a.ID, org.ID, u.ID, t0)
			members = append(members, u.ID)
		}
		if i == 4 {
			f.member(t, a.ID, otherOrg.ID, u.ID, at(time.Second))
		}
		if i%5 == 0 {
			ub := f.user(t, b.ID, fmt.Sprintf("user%02d@example.com", i), nil)
			f.member(t, b.ID, orgB.ID, ub.ID, t0)
		}
	}
	all, members = sorted(all), sorted(members)
	idOf := func(u *store.User) string { return u.ID }

	for _, limit := range []int{1, 3, 4, 5, 11, 12, 13} {
		got := walk(t, "ListUsers", limit, len(all), func(p store.Page) (store.Result[*store.User], error) {
			return f.q.ListUsers(f.ctx, a.ID, store.UserFilter{}, p)
		}, idOf)
		wantEqual(t, fmt.Sprintf("ListUsers ids (limit %d)", limit), got, all)
	}

	for _, limit := range []int{1, 3, 4, 10} {
		got := walk(t, "ListUsers OrgID", limit, len(members), func(p store.Page) (store.Result[*store.User], error) {
			return f.q.ListUsers(f.ctx, a.ID, store.UserFilter{OrgID: org.ID}, p)
		}, idOf)
		wantEqual(t, fmt.Sprintf("ListUsers OrgID ids (limit %d)", limit), got, members)
	}

	// Members come with all their memberships, not just the filtered one.
	res, err := f.q.ListUsers(f.ctx, a.ID, store.UserFilter{OrgID: org.ID}, store.Page{Limit: 10})
	must(t, err, "ListUsers OrgID")
	for _, u := range res.Items {
		want := 1
		if u.Email == "user04@example.com" {
			want = 2
		}
		if len(u.Memberships) != want || u.Memberships[0].OrgID != org.ID || u.Memberships[0].OrgName != "Org" {
			t.Errorf("ListUsers OrgID: %s has memberships %s", u.Email, show(u.Memberships))
		}
	}

	res, err = f.q.ListUsers(f.ctx, a.ID, store.UserFilter{OrgID: orgB.ID}, store.Page{Limit: 10})
	must(t, err, "ListUsers with another env's org")
	if res.Total != 0 || len(res.Items) != 0 {
		t.Errorf("ListUsers in env A with env B's org: %d items, Total %d", len(res.Items), res.Total)
	}
	res, err = f.q.ListUsers(f.ctx, a.ID, store.UserFilter{OrgID: f.ids.New(id.Organization)}, store.Page{Limit: 10})
	must(t, err, "ListUsers with an unknown org")
	if res.Total != 0 || len(res.Items) != 0 || res.More {
		t.Errorf("ListUsers with an unknown org: %d items, Total %d, More %v", len(res.Items), res.Total, res.More)
	}
}

func userMatches(u *store.User, q string) bool {
	q = strings.ToLower(q)
	ext := ""
	if u.ExternalID != nil {
		ext = *u.ExternalID
	}
	for _, s := range []string{u.Email, u.GivenName, u.FamilyName, u.Name, ext, u.ID} {
		if strings.Contains(strings.ToLower(s), q) {
			return true
		}
	}
	return false
}

func testListUsersFilters(t *testing.T, dsn string) {
	f := open(t, dsn)
	a, b := f.env(t), f.env(t)
	org := f.org(t, a.ID, "Org", nil)

	users := []*store.User{
		f.user(t, a.ID, "alice@example.com", nil),
		f.user(t, a.ID, "bob@example.com", func(u *store.User) { u.GivenName = "Bob" }),
		f.user(t, a.ID, "c@x.io", func(u *store.User) { u.FamilyName = "Smith" }),
		f.user(t, a.ID, "d@x.io", func(u *store.User) { u.Name = "Dan Brown" }),
		f.user(t, a.ID, "e@x.io", func(u *store.User) { u.ExternalID = ptr("EXT-smith") }),
		f.user(t, a.ID, "100%off@x.io", nil),
		f.user(t, a.ID, "1000ff@x.io", nil),
		f.user(t, a.ID, "under_score@x.io", nil),
		f.user(t, a.ID, "underxscore@x.io", nil),
		f.user(t, a.ID, `back\slash@x.io`, nil),
		f.user(t, a.ID, "backslash@x.io", nil),
	}
	f.user(t, b.ID, "smith@example.com", func(u *store.User) { u.FamilyName = "Smith" })
	for _, i := range []int{2, 5, 7, 9} {
		f.member(t, a.ID, org.ID, users[i].ID, t0)
	}
	byID := func(idx ...int) []string {
		var out []string
		for _, i := range idx {
			out = append(out, users[i].ID)
		}
		return sorted(out)
	}
	idQuery := strings.ToUpper(users[3].ID[len(users[3].ID)-12:])

	for _, tc := range []struct {
		org   string
		query string
		want  []string
	}{
		{"", "SMITH", byID(2, 4)},
		{"", "example.COM", byID(0, 1)},
		{"", "bob", byID(1)},
		{"", "dan b", byID(3)},
		{"", "0%o", byID(5)},   // '%' literal
		{"", "r_s", byID(7)},   // '_' literal
		{"", `k\s`, byID(9)},   // '\' literal
		{"", idQuery, byID(3)}, // id
		{"", "nothing-matches", nil},
		{org.ID, "", byID(2, 5, 7, 9)},
		{org.ID, "x.io", byID(2, 5, 7, 9)},
		{org.ID, "smith", byID(2)},
		{org.ID, "r_s", byID(7)},
		{org.ID, "bob", nil},
	} {
		var want []string
		for i, u := range users {
			if (tc.org == "" || slices.Contains([]int{2, 5, 7, 9}, i)) && userMatches(u, tc.query) {
				want = append(want, u.ID)
			}
		}
		want = sorted(want)
		if !slices.Equal(want, tc.want) {
			t.Fatalf("test oracle disagrees with the table for %q: %v vs %v", tc.query, want, tc.want)
		}
		filter := store.UserFilter{OrgID: tc.org, Query: tc.query}
		for _, limit := range []int{1, 2, 50} {
			got := walk(t, fmt.Sprintf("ListUsers %+v", filter), limit, len(want), func(p store.Page) (store.Result[*store.User], error) {
				return f.q.ListUsers(f.ctx, a.ID, filter, p)
			}, func(u *store.User) string { return u.ID })
			if !slices.Equal(got, want) {
				t.Errorf("ListUsers %+v (limit %d) = %v, want %v", filter, limit, got, want)
			}
		}
	}
}

func testPaginationStableUnderInserts(t *testing.T, dsn string) {
	f := open(t, dsn)
	e := f.env(t)

	// Organizations.
	var orgs []string
	for i := range 10 {
		orgs = append(orgs, f.org(t, e.ID, fmt.Sprintf("Org %d", i), nil).ID)
	}
	listOrgs := func(after string, limit int) store.Result[*store.Organization] {
		t.Helper()
		res, err := f.q.ListOrganizations(f.ctx, e.ID, store.OrgFilter{}, store.Page{AfterID: after, Limit: limit})
		must(t, err, "ListOrganizations")
		return res
	}
	// newOrgs inserts n organizations with ids from a brand-new generator, as
	// another server process would; ids are time-ordered, so they sort last.
	newOrgs := func(n int) {
		time.Sleep(2 * time.Millisecond)
		g := id.NewGenerator(time.Now)
		for i := range n {
			o := &store.Organization{ID: g.New("org"), EnvID: e.ID, DisplayName: fmt.Sprintf("Late %d", i), CreatedAt: time.Now(), UpdatedAt: time.Now()}
			must(t, f.q.CreateOrganization(f.ctx, o), "CreateOrganization late")
			orgs = append(orgs, o.ID)
		}
	}

	p1 := listOrgs("", 4)
	wantEqual(t, "organization page 1", orgIDs(p1.Items), orgs[:4])
	newOrgs(5)
	must(t, f.q.DeleteOrganization(f.ctx, e.ID, orgs[1]), "DeleteOrganization of an already-seen row")
	p2 := listOrgs(p1.Items[3].ID, 4)
	wantEqual(t, "organization page 2 after inserts", orgIDs(p2.Items), orgs[4:8])
	if p2.Total != 14 || !p2.More {
		t.Errorf("organization page 2: Total %d, More %v; want 14, true", p2.Total, p2.More)
	}
	newOrgs(3)
	var rest []string
	after := p2.Items[3].ID
	for {
		p := listOrgs(after, 4)
		rest = append(rest, orgIDs(p.Items)...)
		if !p.More {
			break
		}
		after = p.Items[len(p.Items)-1].ID
	}
	wantEqual(t, "organization pages after page 2", rest, orgs[8:])
	seen := slices.Concat(orgIDs(p1.Items), orgIDs(p2.Items), rest)
	wantEqual(t, "all organization pages", seen, orgs)

	// Users, the same way.
	var users []string
	for i := range 7 {
		users = append(users, f.user(t, e.ID, fmt.Sprintf("early%d@example.com", i), nil).ID)
	}
	listUsers := func(after string, limit int) store.Result[*store.User] {
		t.Helper()
		res, err := f.q.ListUsers(f.ctx, e.ID, store.UserFilter{}, store.Page{AfterID: after, Limit: limit})
		must(t, err, "ListUsers")
		return res
	}
	u1 := listUsers("", 3)
	wantEqual(t, "user page 1", userIDs(u1.Items), users[:3])
	time.Sleep(2 * time.Millisecond)
	g := id.NewGenerator(time.Now)
	for i := range 4 {
		u := &store.User{ID: g.New(id.User), EnvID: e.ID, Email: fmt.Sprintf("late%d@example.com", i), CreatedAt: time.Now(), UpdatedAt: time.Now()}
		must(t, f.q.CreateUser(f.ctx, u, u.Email), "CreateUser late")
		users = append(users, u.ID)
	}
	u2 := listUsers(u1.Items[2].ID, 3)
	wantEqual(t, "user page 2 after inserts", userIDs(u2.Items), users[3:6])
	u3 := listUsers(u2.Items[2].ID, 10)
	wantEqual(t, "user page 3", userIDs(u3.Items), users[6:])
	if u3.More || u3.Total != 11 {
		t.Errorf("user page 3: More %v, Total %d; want false, 11", u3.More, u3.Total)
	}
}

func testPaginationStableUnderConcurrentInserts(t *testing.T, dsn string) {
	f := open(t, dsn)
	e := f.env(t)
	var initial []string
	for i := range 30 {
		initial = append(initial, f.org(t, e.ID, fmt.Sprintf("Org %d", i), nil).ID)
	}

	done := make(chan error, 1)
	go func() {
		time.Sleep(2 * time.Millisecond)
		g := id.NewGenerator(time.Now)
		for i := range 30 {
			o := &store.Organization{ID: g.New("org"), EnvID: e.ID, DisplayName: fmt.Sprintf("Concurrent %d", i), CreatedAt: time.Now(), UpdatedAt: time.Now()}
			if err := f.q.CreateOrganization(f.ctx, o); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()

	var seen []string
	after := ""
	for {
		res, err := f.q.ListOrganizations(f.ctx, e.ID, store.OrgFilter{}, store.Page{AfterID: after, Limit: 3})
		must(t, err, "ListOrganizations while inserting")
		seen = append(seen, orgIDs(res.Items)...)
		if !res.More {
			break
		}
		after = seen[len(seen)-1]
	}
	must(t, <-done, "concurrent CreateOrganization")

	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Fatalf("pages went backwards or repeated: %s after %s", seen[i], seen[i-1])
		}
	}
	for _, want := range initial {
		if !slices.Contains(seen, want) {
			t.Errorf("row %s existing before paging began was skipped", want)
		}
	}
	res, err := f.q.ListOrganizations(f.ctx, e.ID, store.OrgFilter{}, store.Page{Limit: 100})
	must(t, err, "ListOrganizations after inserts")
	if res.Total != 60 || len(res.Items) != 60 {
		t.Errorf("after concurrent inserts: Total %d, %d items; want 60", res.Total, len(res.Items))
	}
	if got := orgIDs(res.Items); !slices.Equal(got[:len(seen)], seen) {
		t.Errorf("the concurrent walk is not a prefix of the final list")
	}
}

// ---------------------------------------------------------------------------
// Transactions

func testTxRollback(t *testing.T, dsn string) {
	f := open(t, dsn)
	e := f.env(t)

	// A conflict inside a Tx undoes the writes before it.
	first := &store.Organization{ID: f.ids.New(id.Organization), EnvID: e.ID, DisplayName: "First", ExternalID: ptr("dup"), CreatedAt: t0, UpdatedAt: t0}
	second := &store.Organization{ID: f.ids.New(id.Organization), EnvID: e.ID, DisplayName: "Second", ExternalID: ptr("dup"), CreatedAt: t0, UpdatedAt: t0}
	err := f.s.Tx(f.ctx, func(q *store.Q) error {
		if err := q.CreateOrganization(f.ctx, first); err != nil {
			return err
		}
		if _, err := q.GetOrganization(f.ctx, e.ID, first.ID); err != nil {
			return fmt.Errorf("reading its own write: %w", err)
		}
		return q.CreateOrganization(f.ctx, second)
	})
	wantConflict(t, err, "external_id", "conflicting create inside a Tx")
	for _, o := range []*store.Organization{first, second} {
		_, err := f.q.GetOrganization(f.ctx, e.ID, o.ID)
		wantNotFound(t, err, o.DisplayName+" after the Tx rolled back")
	}
	_, err = f.q.GetOrganizationByExternalID(f.ctx, e.ID, "dup")
	wantNotFound(t, err, "external id after the Tx rolled back")

	// Any error rolls back writes to every table, updates and deletes included.
	keepOrg := f.org(t, e.ID, "Keep", ptr("keep"))
	keepUser := f.user(t, e.ID, "keep@example.com", nil)
	boom := errors.New("boom")
	err = f.s.Tx(f.ctx, func(q *store.Q) error {
		o := &store.Organization{ID: f.ids.New(id.Organization), EnvID: e.ID, DisplayName: "Doomed", CreatedAt: t0, UpdatedAt: t0}
		u := &store.User{ID: f.ids.New(id.User), EnvID: e.ID, Email: "doomed@example.com", CreatedAt: t0, UpdatedAt: t0}
		r := &store.Role{ID: f.ids.New(id.Role), EnvID: e.ID, Name: "doomed", CreatedAt: t0, UpdatedAt: t0}
		c := &store.APIClient{ID: f.ids.New(id.Client), EnvID: e.ID, Name: "doomed", CreatedAt: t0}
		changed := *keepOrg
		changed.DisplayName = "Changed"
		for _, step := range []error{
			q.CreateOrganization(f.ctx, o),
			q.CreateUser(f.ctx, u, u.Email),
			q.CreateRole(f.ctx, r),
			q.CreateMembership(f.ctx, &store.Membership{EnvID: e.ID, OrgID: o.ID, UserID: u.ID, Status: store.MembershipActive,
				CreatedAt: t0, UpdatedAt: t0, Roles: []store.RoleRef{{ID: r.ID}}}),
			q.CreateAPIClient(f.ctx, c, &store.ClientSecret{ID: f.ids.New(id.ClientSecret), EnvID: e.ID, ClientID: c.ID, SecretHash: "h", Hint: "h", CreatedAt: t0}),
			q.CreateSigningKey(f.ctx, &store.SigningKey{ID: f.ids.New(id.Key), EnvID: e.ID, Alg: "RS256", PrivateEnc: "x", PublicJWK: "{}", CreatedAt: t0}),
			q.AddEvent(f.ctx, &store.Event{ID: f.ids.New(id.Event), EnvID: e.ID, Type: "x", ObjectID: o.ID, Payload: "{}", CreatedAt: t0}),
			q.AddEmail(f.ctx, &store.Email{ID: f.ids.New(id.Email), EnvID: e.ID, To: u.Email, Subject: "s", Body: "b", Kind: "invitation", CreatedAt: t0}),
			q.UpdateOrganization(f.ctx, &changed),
			q.DeleteUser(f.ctx, e.ID, keepUser.ID),
			q.SetEnvironmentType(f.ctx, e.ID, "production"),
		} {
			if step != nil {
				return fmt.Errorf("step inside the Tx failed: %v", step)
			}
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx returned %v, want the function's own error", err)
	}
	for table, want := range map[string]int{
		"environments": 1, "organizations": 1, "users": 1, "roles": 0, "memberships": 0, "membership_roles": 0,
		"api_clients": 0, "client_secrets": 0, "signing_keys": 0, "events": 0, "emails": 0,
	} {
		if n := count(t, f, `SELECT COUNT(*) FROM `+table); n != want {
			t.Errorf("%s holds %d rows after the rollback, want %d", table, n, want)
		}
	}
	got, err := f.q.GetOrganization(f.ctx, e.ID, keepOrg.ID)
	must(t, err, "GetOrganization after rollback")
	checkOrg(t, "organization updated in a rolled back Tx", got, keepOrg)
	gotUser, err := f.q.GetUser(f.ctx, e.ID, keepUser.ID)
	must(t, err, "user deleted in a rolled back Tx")
	checkUser(t, "user deleted in a rolled back Tx", gotUser, keepUser)
	env, err := f.q.FirstEnvironment(f.ctx)
	must(t, err, "FirstEnvironment")
	if env.Type != "development" {
		t.Errorf("environment type changed in a rolled back Tx: %q", env.Type)
	}
}

func testTxCommit(t *testing.T, dsn string) {
	f := open(t, dsn)
	e := f.env(t)
	o := &store.Organization{ID: f.ids.New(id.Organization), EnvID: e.ID, DisplayName: "Committed", CreatedAt: t0, UpdatedAt: t0}
	ev := &store.Event{ID: f.ids.New(id.Event), EnvID: e.ID, Type: "organization.created", ObjectID: o.ID, Payload: `{"id":"` + o.ID + `"}`, CreatedAt: t0}
	err := f.s.Tx(f.ctx, func(q *store.Q) error {
		if err := q.CreateOrganization(f.ctx, o); err != nil {
			return err
		}
		// Not visible outside the transaction before it commits.
		if _, err := f.q.GetOrganization(f.ctx, e.ID, o.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("uncommitted organization seen outside its Tx (err %v)", err)
		}
		return q.AddEvent(f.ctx, ev)
	})
	must(t, err, "Tx")
	got, err := f.q.GetOrganization(f.ctx, e.ID, o.ID)
	must(t, err, "GetOrganization after commit")
	checkOrg(t, "committed organization", got, o)
	evs, err := f.q.ListEvents(f.ctx, e.ID, store.Page{Limit: 10})
	must(t, err, "ListEvents after commit")
	if len(evs) != 1 || evs[0].ID != ev.ID {
		t.Errorf("events after commit: %s", show(evs))
	}
}

// ---------------------------------------------------------------------------
// Events and emails

func testEvents(t *testing.T, dsn string) {
	f := open(t, dsn)
	a, b := f.env(t), f.env(t)

	var want []*store.Event
	for i := range 5 {
		ev := &store.Event{ID: f.ids.New(id.Event), EnvID: a.ID, Type: "organization.updated", ObjectID: fmt.Sprintf("org_%d", i),
			Payload: fmt.Sprintf(`{"n": %d, "name": "ü \"q\""}`, i), CreatedAt: at(time.Duration(10-i) * time.Second)} // created_at runs backwards: order is by id
		must(t, f.q.AddEvent(f.ctx, ev), "AddEvent")
		w := *ev
		w.CreatedAt = utc(ev.CreatedAt)
		want = append(want, &w)
		must(t, f.q.AddEvent(f.ctx, &store.Event{ID: f.ids.New(id.Event), EnvID: b.ID, Type: "other", ObjectID: "x", Payload: "{}", CreatedAt: t0}), "AddEvent env B")
	}

	got, err := f.q.ListEvents(f.ctx, a.ID, store.Page{Limit: 100})
	must(t, err, "ListEvents")
	for _, ev := range got {
		wantUTC(t, "event", ev.CreatedAt)
	}
	wantEqual(t, "ListEvents", got, want)

	got, err = f.q.ListEvents(f.ctx, a.ID, store.Page{AfterID: want[1].ID, Limit: 2})
	must(t, err, "ListEvents after")
	wantEqual(t, "ListEvents after the second, limit 2", got, want[2:4])
	got, err = f.q.ListEvents(f.ctx, a.ID, store.Page{AfterID: want[4].ID, Limit: 10})
	must(t, err, "ListEvents after the last")
	if len(got) != 0 {
		t.Errorf("ListEvents after the last event: %d events", len(got))
	}
	got, err = f.q.ListEvents(f.ctx, b.ID, store.Page{Limit: 100})
	must(t, err, "ListEvents env B")
	if len(got) != 5 || slices.ContainsFunc(got, func(e *store.Event) bool { return e.EnvID != b.ID }) {
		t.Errorf("ListEvents env B: %s", show(got))
	}

	wantConflict(t, f.q.AddEvent(f.ctx, want[0]), "", "AddEvent with a taken id")
}

func testEmails(t *testing.T, dsn string) {
	f := open(t, dsn)
	a, b := f.env(t), f.env(t)

	var want []*store.Email
	for i := range 4 {
		m := &store.Email{ID: f.ids.New(id.Email), EnvID: a.ID, To: fmt.Sprintf("to%d@example.com", i), Subject: fmt.Sprintf("Subject %d", i),
			Body: "Hello,\n\nline two ü\n", Kind: "invitation", CreatedAt: at(time.Duration(i) * time.Second)}
		if i == 3 {
			m.SentAt = at(time.Hour) // already sent when queued
		}
		must(t, f.q.AddEmail(f.ctx, m), "AddEmail")
		w := *m
		w.CreatedAt, w.SentAt = utc(m.CreatedAt), utc(m.SentAt)
		want = append(want, &w)
	}
	other := &store.Email{ID: f.ids.New(id.Email), EnvID: b.ID, To: "b@example.com", Subject: "B", Body: "B", Kind: "invitation", CreatedAt: t0}
	must(t, f.q.AddEmail(f.ctx, other), "AddEmail env B")

	got, err := f.q.ListEmails(f.ctx, a.ID, store.Page{Limit: 100})
	must(t, err, "ListEmails")
	wantEqual(t, "ListEmails", got, want)

	sentAt := at(2*time.Hour + 777*time.Nanosecond)
	must(t, f.q.MarkEmailSent(f.ctx, a.ID, want[1].ID, sentAt), "MarkEmailSent")
	want[1].SentAt = utc(sentAt)
	wantNotFound(t, f.q.MarkEmailSent(f.ctx, b.ID, want[2].ID, sentAt), "MarkEmailSent with another env's id")
	wantNotFound(t, f.q.MarkEmailSent(f.ctx, a.ID, f.ids.New(id.Email), sentAt), "MarkEmailSent of an unknown email")

	got, err = f.q.ListEmails(f.ctx, a.ID, store.Page{Limit: 100})
	must(t, err, "ListEmails after MarkEmailSent")
	for _, m := range got {
		wantUTC(t, "email", m.CreatedAt, m.SentAt)
	}
	wantEqual(t, "ListEmails after MarkEmailSent", got, want)

	got, err = f.q.ListEmails(f.ctx, a.ID, store.Page{AfterID: want[0].ID, Limit: 2})
	must(t, err, "ListEmails page")
	wantEqual(t, "ListEmails after the first, limit 2", got, want[1:3])

	got, err = f.q.ListEmails(f.ctx, b.ID, store.Page{Limit: 100})
	must(t, err, "ListEmails env B")
	if len(got) != 1 || got[0].ID != other.ID || !got[0].SentAt.IsZero() {
		t.Errorf("ListEmails env B: %s", show(got))
	}
}

// ---------------------------------------------------------------------------
// Concurrency

func testConcurrentWrites(t *testing.T, dsn string) {
	f := open(t, dsn)
	e := f.env(t)
	const workers, each = 8, 50

	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			for i := range each {
				now := time.Now()
				u := &store.User{ID: f.ids.New(id.User), EnvID: e.ID, Email: fmt.Sprintf("w%d-u%d@example.com", w, i), CreatedAt: now, UpdatedAt: now}
				var err error
				if w%2 == 0 {
					err = f.q.CreateUser(f.ctx, u, u.Email)
				} else {
					// Half the writers use transactions, which must queue rather than fail.
					err = f.s.Tx(f.ctx, func(q *store.Q) error {
						if err := q.CreateUser(f.ctx, u, u.Email); err != nil {
							return err
						}
						return q.AddEvent(f.ctx, &store.Event{ID: f.ids.New(id.Event), EnvID: e.ID, Type: "user.created", ObjectID: u.ID, Payload: "{}", CreatedAt: now})
					})
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d, user %d: %w", w, i, err)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if failed++; failed <= 5 {
			t.Errorf("concurrent CreateUser: %v", err)
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d concurrent writes failed", failed, workers*each)
	}

	res, err := f.q.ListUsers(f.ctx, e.ID, store.UserFilter{}, store.Page{Limit: 1})
	must(t, err, "ListUsers")
	if res.Total != workers*each {
		t.Errorf("users after concurrent writes: %d, want %d", res.Total, workers*each)
	}
	ids := walk(t, "ListUsers", 64, workers*each, func(p store.Page) (store.Result[*store.User], error) {
		return f.q.ListUsers(f.ctx, e.ID, store.UserFilter{}, p)
	}, func(u *store.User) string { return u.ID })
	if len(slices.Compact(slices.Clone(ids))) != workers*each || !slices.IsSorted(ids) {
		t.Errorf("walking the users gave %d ids, sorted %v", len(slices.Compact(slices.Clone(ids))), slices.IsSorted(ids))
	}
	evs, err := f.q.ListEvents(f.ctx, e.ID, store.Page{Limit: 1000})
	must(t, err, "ListEvents")
	if len(evs) != workers/2*each {
		t.Errorf("events after concurrent transactions: %d, want %d", len(evs), workers/2*each)
	}
}

func testConcurrentConflicts(t *testing.T, dsn string) {
	f := open(t, dsn)
	e := f.env(t)
	const racers = 8

	race := func(what, field string, create func(i int) error) {
		t.Helper()
		var wg sync.WaitGroup
		results := make([]error, racers)
		start := make(chan struct{})
		for i := range racers {
			wg.Go(func() {
				<-start
				results[i] = create(i)
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for _, err := range results {
			if err == nil {
				won++
				continue
			}
			wantConflict(t, err, field, what)
		}
		if won != 1 {
			t.Errorf("%s: %d of %d racers succeeded, want exactly 1", what, won, racers)
		}
	}

	race("organizations racing for one external_id", "external_id", func(i int) error {
		return f.q.CreateOrganization(f.ctx, &store.Organization{ID: f.ids.New(id.Organization), EnvID: e.ID,
			DisplayName: fmt.Sprintf("Racer %d", i), ExternalID: ptr("contested"), CreatedAt: t0, UpdatedAt: t0})
	})
	race("users racing for one email, in transactions", "email", func(i int) error {
		return f.s.Tx(f.ctx, func(q *store.Q) error {
			return q.CreateUser(f.ctx, &store.User{ID: f.ids.New(id.User), EnvID: e.ID, Email: "Same@Example.com",
				Name: fmt.Sprintf("Racer %d", i), CreatedAt: t0, UpdatedAt: t0}, "same@example.com")
		})
	})
	res, err := f.q.ListOrganizations(f.ctx, e.ID, store.OrgFilter{}, store.Page{Limit: 100})
	must(t, err, "ListOrganizations")
	if res.Total != 1 {
		t.Errorf("organizations after the race: %d, want 1", res.Total)
	}
	users, err := f.q.ListUsers(f.ctx, e.ID, store.UserFilter{}, store.Page{Limit: 100})
	must(t, err, "ListUsers")
	if users.Total != 1 {
		t.Errorf("users after the race: %d, want 1", users.Total)
	}
}
