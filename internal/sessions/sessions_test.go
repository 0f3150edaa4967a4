package sessions_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/pagetoken"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testdb"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type policies map[string]sessions.Policy

func (p policies) EffectivePolicy(_ context.Context, orgID string) (sessions.Policy, error) {
	if orgID == "org_broken" {
		return sessions.Policy{}, errors.New("settings unavailable")
	}
	return p[orgID], nil
}

func (p policies) EffectivePolicyIn(ctx context.Context, _ *store.Q, orgID string) (sessions.Policy, error) {
	return p.EffectivePolicy(ctx, orgID)
}

type world struct {
	svc    *sessions.Service
	clk    *clock
	userID string
	orgID  string
	ended  []string
}

func newWorld(t *testing.T, dsn string) *world {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{t: t0}
	ids := id.NewGenerator(clk.Now)
	env := &store.Environment{ID: ids.New(id.Environment), Type: "development", PageTokenKey: "a2V5", CreatedAt: t0}
	if err := st.Q().CreateEnvironment(ctx, env); err != nil {
		t.Fatal(err)
	}
	org := &store.Organization{ID: ids.New(id.Organization), EnvID: env.ID, DisplayName: "Acme", CreatedAt: t0, UpdatedAt: t0}
	u := &store.User{ID: ids.New(id.User), EnvID: env.ID, Email: "ada@acme.example", CreatedAt: t0, UpdatedAt: t0}
	if err := st.Q().CreateOrganization(ctx, org); err != nil {
		t.Fatal(err)
	}
	if err := st.Q().CreateUser(ctx, u, u.Email); err != nil {
		t.Fatal(err)
	}
	w := &world{clk: clk, userID: u.ID, orgID: org.ID}
	w.svc = &sessions.Service{Store: st, IDs: ids, Now: clk.Now, EnvID: env.ID, Pages: pagetoken.New([]byte(strings.Repeat("k", 32))),
		Ended: func(_ context.Context, ss []*sessions.Session) {
			for _, s := range ss {
				w.ended = append(w.ended, s.ID)
			}
		}}
	return w
}

func (w *world) create(t *testing.T, orgID string, cookie bool) (*sessions.Session, string) {
	t.Helper()
	s, c, err := w.svc.Create(context.Background(), sessions.NewSession{UserID: w.userID, OrgID: orgID, AMR: []string{"otp"}, Cookie: cookie})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func TestPolicies(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		w := newWorld(t, dsn)
		s, _ := w.create(t, "", false)
		if !s.IdleExpiresAt.Equal(t0.Add(sessions.DefaultIdleTimeout)) || !s.AbsoluteExpiresAt.Equal(t0.Add(sessions.DefaultAbsoluteTimeout)) {
			t.Errorf("default policy: idle %v absolute %v", s.IdleExpiresAt, s.AbsoluteExpiresAt)
		}
		w.svc.Policies = policies{
			w.orgID: {IdleTimeout: time.Hour, AbsoluteTimeout: 8 * time.Hour},
			"":      {IdleTimeout: 0, AbsoluteTimeout: 2 * time.Hour},
		}
		s, _ = w.create(t, w.orgID, false)
		if !s.IdleExpiresAt.Equal(t0.Add(time.Hour)) || !s.AbsoluteExpiresAt.Equal(t0.Add(8*time.Hour)) {
			t.Errorf("organization policy: idle %v absolute %v", s.IdleExpiresAt, s.AbsoluteExpiresAt)
		}
		// Idle off: only the absolute timeout applies.
		s2, _ := w.create(t, "", false)
		if !s2.IdleExpiresAt.Equal(t0.Add(2*time.Hour)) || !s2.AbsoluteExpiresAt.Equal(t0.Add(2*time.Hour)) {
			t.Errorf("idle off: idle %v absolute %v", s2.IdleExpiresAt, s2.AbsoluteExpiresAt)
		}
		if _, _, err := w.svc.Create(context.Background(), sessions.NewSession{UserID: w.userID, OrgID: "org_broken"}); err == nil {
			t.Error("a policy error did not stop the session")
		}
		// Use slides the idle expiry; the absolute one holds.
		w.clk.Add(50 * time.Minute)
		if err := w.svc.Touch(context.Background(), w.svc.Store.Q(), s.ID); err != nil {
			t.Fatal(err)
		}
		got, _ := w.svc.Get(context.Background(), s.ID)
		if !got.IdleExpiresAt.Equal(t0.Add(110*time.Minute)) || sessions.Status(got, w.clk.Now()) != "ACTIVE" {
			t.Errorf("after a use: idle %v status %s", got.IdleExpiresAt, sessions.Status(got, w.clk.Now()))
		}
		w.clk.Add(61 * time.Minute)
		if err := w.svc.Touch(context.Background(), w.svc.Store.Q(), s.ID); !errors.Is(err, sessions.ErrNoSession) {
			t.Errorf("touch after the idle timeout: %v", err)
		}
		got, _ = w.svc.Get(context.Background(), s.ID)
		if sessions.Status(got, w.clk.Now()) != "EXPIRED" || !sessions.ExpiredAt(got, w.clk.Now()).Equal(t0.Add(110*time.Minute)) {
			t.Errorf("expired: status %s at %v", sessions.Status(got, w.clk.Now()), sessions.ExpiredAt(got, w.clk.Now()))
		}
	})
}

func TestCookieAndRevocation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		w := newWorld(t, dsn)
		s, cookie := w.create(t, w.orgID, true)
		raw, err := base64.RawURLEncoding.DecodeString(cookie)
		if err != nil || len(raw) < 16 {
			t.Fatalf("cookie %q: want at least 128 random bits", cookie)
		}
		rec := httptest.NewRecorder()
		sessions.SetCookie(rec, cookie, s)
		sc := rec.Header().Get("Set-Cookie")
		for _, want := range []string{sessions.CookieName + "=", "Path=/", "Secure", "HttpOnly", "SameSite=Lax"} {
			if !strings.Contains(sc, want) {
				t.Errorf("Set-Cookie %q lacks %s", sc, want)
			}
		}
		if strings.Contains(sc, "Domain") || !strings.HasPrefix(sessions.CookieName, "__Host-") {
			t.Errorf("Set-Cookie %q", sc)
		}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.AddCookie(&http.Cookie{Name: sessions.CookieName, Value: cookie})
		got, err := w.svc.FromRequest(req)
		if err != nil || got.ID != s.ID {
			t.Fatalf("FromRequest: %v %v", got, err)
		}
		bad := httptest.NewRequest(http.MethodGet, "/", nil)
		bad.AddCookie(&http.Cookie{Name: sessions.CookieName, Value: strings.Repeat("x", 43)})
		if _, err := w.svc.FromRequest(bad); !errors.Is(err, sessions.ErrNoSession) {
			t.Errorf("unknown cookie: %v", err)
		}
		if _, err := w.svc.Revoke(context.Background(), s.ID, sessions.ReasonLogout); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.FromRequest(req); !errors.Is(err, sessions.ErrNoSession) {
			t.Errorf("the cookie of a revoked session still works: %v", err)
		}
		if len(w.ended) != 1 || w.ended[0] != s.ID {
			t.Errorf("Ended hook saw %v", w.ended)
		}
		// Revoking again: unchanged, no second notice.
		again, err := w.svc.Revoke(context.Background(), s.ID, sessions.ReasonRevoked)
		if err != nil || again.EndReason != sessions.ReasonLogout || len(w.ended) != 1 {
			t.Errorf("second revoke: %+v %v, ended %v", again, err, w.ended)
		}
		if sessions.Status(again, w.clk.Now()) != "LOGOUT" {
			t.Errorf("status %s", sessions.Status(again, w.clk.Now()))
		}
		// One event per change, in the outbox.
		evs, err := w.svc.Store.Q().ListEvents(context.Background(), w.svc.EnvID, store.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, e := range evs {
			if e.ObjectID == s.ID {
				types = append(types, e.Type)
			}
		}
		if strings.Join(types, ",") != "session.created,session.revoked" {
			t.Errorf("events of the session: %v", types)
		}
	})
}

func TestListAndRevokeAll(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		w := newWorld(t, dsn)
		ctx := context.Background()
		var all []*sessions.Session
		for i := 0; i < 5; i++ {
			s, _ := w.create(t, "", false)
			all = append(all, s)
			w.clk.Add(time.Millisecond)
		}
		if _, err := w.svc.Revoke(ctx, all[0].ID, sessions.ReasonLogout); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Revoke(ctx, all[1].ID, sessions.ReasonRevoked); err != nil {
			t.Fatal(err)
		}
		count := func(statuses ...string) int {
			t.Helper()
			n, tok := 0, ""
			for {
				page, next, total, err := w.svc.ListForUser(ctx, w.userID, sessions.ListFilter{Statuses: statuses}, 2, tok)
				if err != nil {
					t.Fatal(err)
				}
				n += len(page)
				if next == "" {
					if n != total {
						t.Errorf("%v: %d listed, total %d", statuses, n, total)
					}
					return n
				}
				tok = next
			}
		}
		for want, statuses := range map[int][]string{5: nil, 3: {"ACTIVE"}, 1: {"LOGOUT"}, 2: {"logout", "REVOKED"}, 4: {"ACTIVE", "REVOKED"}} {
			if got := count(statuses...); got != want {
				t.Errorf("%v: %d sessions, want %d", statuses, got, want)
			}
		}
		if _, _, _, err := w.svc.ListForUser(ctx, w.userID, sessions.ListFilter{Statuses: []string{"NOPE"}}, 0, ""); err == nil {
			t.Error("an unknown status was accepted")
		}
		if _, _, _, err := w.svc.ListForUser(ctx, w.userID, sessions.ListFilter{}, 0, "forged"); err == nil {
			t.Error("a forged page token was accepted")
		}
		// A page token belongs to its filter.
		_, next, _, _ := w.svc.ListForUser(ctx, w.userID, sessions.ListFilter{}, 1, "")
		if _, _, _, err := w.svc.ListForUser(ctx, w.userID, sessions.ListFilter{Statuses: []string{"ACTIVE"}}, 1, next); err == nil {
			t.Error("a page token worked on another filter")
		}
		w.ended = nil
		revoked, err := w.svc.RevokeAllForUser(ctx, w.userID)
		if err != nil || len(revoked) != 3 || len(w.ended) != 3 {
			t.Errorf("RevokeAllForUser: %d %v, ended %v", len(revoked), err, w.ended)
		}
		if got := count("ACTIVE"); got != 0 {
			t.Errorf("%d active after RevokeAllForUser", got)
		}
		if _, err := w.svc.RevokeAllForUser(ctx, "usr_nosuchuser"); err == nil {
			t.Error("RevokeAllForUser of an unknown user succeeded")
		}
	})
}
