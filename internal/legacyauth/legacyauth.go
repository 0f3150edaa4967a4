// Package legacyauth is lazy migration (docs/lazy-migration.md): an
// environment may name the verification endpoint of the auth system it is
// leaving, and the hosted login asks that endpoint to check the password
// of a user Gatehouse holds no password for (or, if allowed, of an unknown
// email). This package owns the endpoint's settings (validated, the HMAC
// secret sealed at rest with the master key like signing keys and never
// shown again) and the signed call itself. It knows nothing of the login
// pages or of protobuf.
package legacyauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/redirects"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Limits of the settings, documented in docs/lazy-migration.md.
const (
	DefaultTimeout  = 3 * time.Second
	MaxTimeout      = 10 * time.Second
	MinTimeout      = 100 * time.Millisecond
	MaxURLLen       = 2048
	SecretPrefix    = "whsec_"
	MinSecretBytes  = 24
	MaxSecretBytes  = 64
	MaxResponseSize = 16 << 10 // bytes of the endpoint's answer read at most
)

// The rules a setting can break, reported as the violation's constraint.
const (
	ruleRequired = "required" // a URL, or a secret when none is stored
	ruleURL      = "url"      // not an absolute http(s) URL with a host
	ruleHTTPS    = "https"    // http to anything but loopback in development
	ruleRange    = "range"    // timeout outside 100 to 10,000 ms
	ruleSecret   = "secret_format"
	ruleLength   = "max_length"
)

// EnvTypes reads the environment's type (settings.Service does), which
// decides whether http is allowed for a loopback endpoint.
type EnvTypes interface {
	EnvironmentType(ctx context.Context) (redirects.EnvType, error)
}

// Service owns one environment's legacy endpoint.
type Service struct {
	Store *store.Store
	Env   EnvTypes
	IDs   *id.Generator
	Now   func() time.Time
	EnvID string
	// MasterKey (32 bytes) seals the HMAC secret at rest.
	MasterKey []byte
	Log       *slog.Logger

	// lat estimates how long a call to the endpoint takes, so that failed
	// password logins that do not call it can take as long (Pad).
	lat latency
}

// Settings are the legacy endpoint's settings as the API shows them: the
// secret never leaves the server, only whether one is stored.
type Settings struct {
	Enabled            bool          `json:"enabled"`
	URL                string        `json:"url"`
	SecretSet          bool          `json:"secret_set"`
	Timeout            time.Duration `json:"timeout"`
	CreateUnknownUsers bool          `json:"create_unknown_users"`
}

// Update is a new set of settings. An empty Secret keeps the stored one; a
// zero Timeout means DefaultTimeout.
type Update struct {
	URL                string
	Secret             string
	Timeout            time.Duration
	CreateUnknownUsers bool
}

// Get reads the settings; Enabled is false when lazy migration is off.
func (s *Service) Get(ctx context.Context) (Settings, error) {
	l, err := s.Store.Q().GetLegacyAuth(ctx, s.EnvID)
	if errors.Is(err, store.ErrNotFound) {
		return Settings{}, nil
	}
	if err != nil {
		return Settings{}, err
	}
	return view(l), nil
}

func view(l *store.LegacyAuth) Settings {
	return Settings{Enabled: true, URL: l.URL, SecretSet: l.SecretEnc != "", Timeout: l.Timeout, CreateUnknownUsers: l.CreateUnknownUsers}
}

// Put validates in and replaces the settings, turning lazy migration on.
// A refused update changes nothing and names each field and its rule.
func (s *Service) Put(ctx context.Context, in Update) (Settings, error) {
	env, err := s.Env.EnvironmentType(ctx)
	if err != nil {
		return Settings{}, err
	}
	var out Settings
	err = s.Store.Tx(ctx, func(q *store.Q) error {
		old, err := q.GetLegacyAuth(ctx, s.EnvID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		var v apierr.Violations
		l := &store.LegacyAuth{EnvID: s.EnvID, URL: checkEndpoint(&v, env, in.URL), Timeout: checkTimeout(&v, in.Timeout),
			CreateUnknownUsers: in.CreateUnknownUsers, UpdatedAt: s.Now()}
		switch secret := strings.TrimSpace(in.Secret); {
		case secret != "":
			if _, ok := secretKey(&v, secret); ok {
				if l.SecretEnc, err = signing.Seal(s.MasterKey, []byte(secret)); err != nil {
					return err
				}
			}
		case old != nil:
			l.SecretEnc = old.SecretEnc
		default:
			v = append(v, apierr.Violation{Field: "secret", Constraint: ruleRequired,
				Description: "is required when none is stored: a Standard Webhooks secret, whsec_ and base64 of 24 to 64 random bytes"})
		}
		if err := v.Err(); err != nil {
			return err
		}
		if err := q.PutLegacyAuth(ctx, l); err != nil {
			return err
		}
		out = view(l)
		return s.emit(ctx, q, "settings.lazy_migration.updated", out)
	})
	if err != nil {
		return Settings{}, err
	}
	return out, nil
}

// Disable turns lazy migration off and forgets the endpoint and secret.
func (s *Service) Disable(ctx context.Context) error {
	return s.Store.Tx(ctx, func(q *store.Q) error {
		if err := q.DeleteLegacyAuth(ctx, s.EnvID); err != nil {
			return err
		}
		return s.emit(ctx, q, "settings.lazy_migration.disabled", Settings{})
	})
}

func (s *Service) emit(ctx context.Context, q *store.Q, typ string, payload Settings) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	return q.AddEvent(ctx, &store.Event{ID: s.IDs.New(id.Event), EnvID: s.EnvID, Type: typ, ObjectID: s.EnvID,
		Payload: string(b), CreatedAt: s.Now()})
}

// checkEndpoint accepts an absolute https URL with a host and without user
// information or fragment; http only for a loopback host in a development
// environment (the same environment rule as branding and redirect URLs).
func checkEndpoint(v *apierr.Violations, env redirects.EnvType, raw string) string {
	s := strings.TrimSpace(raw)
	bad := func(rule, desc string) string {
		*v = append(*v, apierr.Violation{Field: "url", Constraint: rule, Description: desc})
		return s
	}
	switch {
	case s == "":
		return bad(ruleRequired, "is required: the https URL of the legacy system's verification endpoint")
	case len(s) > MaxURLLen:
		return bad(ruleLength, fmt.Sprintf("must be at most %d characters", MaxURLLen))
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" || (u.Scheme != "https" && u.Scheme != "http") ||
		strings.ContainsAny(s, " \t\r\n") {
		return bad(ruleURL, "must be an absolute https URL with a host and no user information or fragment, such as https://legacy.example.com/verify")
	}
	if u.Scheme == "http" && (env != redirects.Development || !redirects.IsLocal(u.Hostname())) {
		return bad(ruleHTTPS, "must use https; http is allowed only for a loopback host (localhost, 127.0.0.1, ::1) in a development environment")
	}
	return s
}

func checkTimeout(v *apierr.Violations, d time.Duration) time.Duration {
	if d == 0 {
		return DefaultTimeout
	}
	if d < MinTimeout || d > MaxTimeout {
		*v = append(*v, apierr.Violation{Field: "timeout_ms", Constraint: ruleRange,
			Description: fmt.Sprintf("must be from %d to %d milliseconds (0 for the default, %d)",
				MinTimeout.Milliseconds(), MaxTimeout.Milliseconds(), DefaultTimeout.Milliseconds())})
	}
	return d
}

// secretKey returns the HMAC key of a Standard Webhooks secret: the bytes
// that the base64 after "whsec_" encodes.
func secretKey(v *apierr.Violations, secret string) ([]byte, bool) {
	b64, ok := strings.CutPrefix(secret, SecretPrefix)
	key, err := base64.StdEncoding.DecodeString(b64)
	if !ok || err != nil || len(key) < MinSecretBytes || len(key) > MaxSecretBytes {
		*v = append(*v, apierr.Violation{Field: "secret", Constraint: ruleSecret,
			Description: fmt.Sprintf("must be whsec_ followed by the standard base64 of %d to %d random bytes (gatehouse lazy-migration set --generate-secret makes one)",
				MinSecretBytes, MaxSecretBytes)})
		return nil, false
	}
	return key, true
}

// latency is a moving estimate of the endpoint's answer time.
type latency struct {
	mu  sync.Mutex
	avg time.Duration
}

func (l *latency) add(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.avg == 0 {
		l.avg = d
		return
	}
	l.avg += (d - l.avg) / 8
}

func (l *latency) get() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.avg
}
