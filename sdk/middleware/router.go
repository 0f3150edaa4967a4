package middleware

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// RouterConfig configures Router.
type RouterConfig struct {
	// Percent of users (0 to 100) sent to the Gatehouse login. 0 is the
	// rollback: everyone (but the allow-list) goes to the legacy login.
	Percent int
	// Allow always go to Gatehouse, Deny always to the legacy login (Deny
	// wins). Entries are user keys: emails (compared ignoring case) or ids.
	Allow, Deny []string
	// Salt changes which users a percentage picks, so two rollouts do not
	// pick the same users.
	Salt string
	// Key returns the user key of a login request, "" when unknown. The
	// default reads the login_hint or email query parameter. Without a key,
	// the browser gets a random one in a cookie, so it stays on its side.
	Key func(*http.Request) string
	// Gatehouse and Legacy serve the two logins (for example
	// Sessions.LoginHandler and the old login page).
	Gatehouse, Legacy http.Handler
	// CookieName is the cohort cookie (default __Host-gatehouse_cohort;
	// gatehouse_cohort when Insecure).
	CookieName string
	// Insecure drops the cookie's Secure attribute (plain-http
	// development only).
	Insecure bool
	// Registerer receives gatehouse_cutover_logins_total{path,reason}.
	Registerer prometheus.Registerer
}

// Router sends a configurable share of users to the Gatehouse login and
// the rest to the legacy one, sticky per user: a user's side is decided
// by a hash of their key, so they land on the same side on every login,
// and raising the percentage only moves users from legacy to Gatehouse.
// The percentage and the lists can change while serving (SetPercent,
// SetLists); SetPercent(0) is the rollback. Logins are counted per path in
// gatehouse_cutover_logins_total{path="gatehouse"|"legacy",reason}.
type Router struct {
	cfg     RouterConfig
	percent atomic.Int32
	lists   atomic.Pointer[userLists]
	logins  *prometheus.CounterVec
}

type userLists struct{ allow, deny map[string]bool }

// Decision is where a user goes, and why: "deny_list", "allow_list" or
// "percentage".
type Decision struct {
	Gatehouse bool
	Reason    string
}

// Path is "gatehouse" or "legacy".
func (d Decision) Path() string {
	if d.Gatehouse {
		return "gatehouse"
	}
	return "legacy"
}

// NewRouter checks cfg and returns the router.
func NewRouter(cfg RouterConfig) (*Router, error) {
	if cfg.Gatehouse == nil || cfg.Legacy == nil {
		return nil, errors.New("middleware: RouterConfig needs the Gatehouse and Legacy handlers")
	}
	if cfg.Key == nil {
		cfg.Key = func(r *http.Request) string {
			q := r.URL.Query()
			if h := q.Get("login_hint"); h != "" {
				return h
			}
			return q.Get("email")
		}
	}
	if cfg.CookieName == "" {
		cfg.CookieName = "__Host-gatehouse_cohort"
		if cfg.Insecure {
			cfg.CookieName = "gatehouse_cohort"
		}
	}
	logins, err := counterVec(cfg.Registerer, "gatehouse_cutover_logins_total",
		"Logins routed during the cut-over, by path (gatehouse or legacy) and reason (allow_list, deny_list, percentage).", "path", "reason")
	if err != nil {
		return nil, err
	}
	rt := &Router{cfg: cfg, logins: logins}
	if err := rt.SetPercent(cfg.Percent); err != nil {
		return nil, err
	}
	rt.SetLists(cfg.Allow, cfg.Deny)
	return rt, nil
}

// SetPercent changes the share of users sent to Gatehouse (0 to 100).
func (rt *Router) SetPercent(p int) error {
	if p < 0 || p > 100 {
		return fmt.Errorf("middleware: percentage %d must be between 0 and 100", p)
	}
	rt.percent.Store(int32(p))
	return nil
}

// Percent returns the share of users sent to Gatehouse.
func (rt *Router) Percent() int { return int(rt.percent.Load()) }

// SetLists replaces the allow- and deny-lists.
func (rt *Router) SetLists(allow, deny []string) {
	l := &userLists{allow: map[string]bool{}, deny: map[string]bool{}}
	for _, a := range allow {
		l.allow[normalizeKey(a)] = true
	}
	for _, d := range deny {
		l.deny[normalizeKey(d)] = true
	}
	rt.lists.Store(l)
}

func normalizeKey(k string) string { return strings.ToLower(strings.TrimSpace(k)) }

// Decide says where the user with key goes: the deny-list first, then the
// allow-list, then the user's bucket (0 to 99, from a hash of the salt and
// the key) against the percentage.
func (rt *Router) Decide(key string) Decision {
	k := normalizeKey(key)
	l := rt.lists.Load()
	switch {
	case l.deny[k]:
		return Decision{false, "deny_list"}
	case l.allow[k]:
		return Decision{true, "allow_list"}
	}
	return Decision{Bucket(rt.cfg.Salt, k) < rt.Percent(), "percentage"}
}

// Bucket is the user's fixed place, 0 to 99, in the rollout: the first 8
// bytes of SHA-256(salt, 0, key) modulo 100.
func Bucket(salt, key string) int {
	sum := sha256.Sum256([]byte(salt + "\x00" + normalizeKey(key)))
	return int(binary.BigEndian.Uint64(sum[:8]) % 100)
}

// ServeHTTP routes a login request to one of the two logins.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := rt.cfg.Key(r)
	if key == "" {
		key = rt.cohort(w, r)
	}
	d := rt.Decide(key)
	rt.logins.WithLabelValues(d.Path(), d.Reason).Inc()
	w.Header().Add("Vary", "Cookie")
	if d.Gatehouse {
		rt.cfg.Gatehouse.ServeHTTP(w, r)
		return
	}
	rt.cfg.Legacy.ServeHTTP(w, r)
}

// cohort returns the browser's random cohort key, setting one if needed.
func (rt *Router) cohort(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(rt.cfg.CookieName); err == nil && len(c.Value) >= 16 && len(c.Value) <= 64 {
		return "cohort:" + c.Value
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	v := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: rt.cfg.CookieName, Value: v, Path: "/", MaxAge: int(365 * 24 * time.Hour / time.Second),
		HttpOnly: true, Secure: !rt.cfg.Insecure, SameSite: http.SameSiteLaxMode})
	return "cohort:" + v
}
