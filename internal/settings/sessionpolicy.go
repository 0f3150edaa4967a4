package settings

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Session policy defaults and bounds, documented in docs/settings.md. The
// defaults agree with internal/sessions (a week idle, 30 days in all) and
// with the expires_in 299 Scalekit's docs show for user access tokens.
const (
	DefaultAccessTokenTTLSeconds  = 299
	DefaultAbsoluteTimeoutMinutes = 30 * 24 * 60
	DefaultIdleTimeoutMinutes     = 7 * 24 * 60
	MaxAccessTokenTTLSeconds      = 24 * 60 * 60
	MaxTimeoutMinutes             = 365 * 24 * 60
)

// SessionPolicy is the environment's session policy: Scalekit's
// "application" policy.
type SessionPolicy struct {
	AccessTokenTTLSeconds  int32 `json:"access_token_ttl_seconds"`
	AbsoluteTimeoutMinutes int32 `json:"absolute_timeout_minutes"`
	IdleTimeoutEnabled     bool  `json:"idle_timeout_enabled"`
	IdleTimeoutMinutes     int32 `json:"idle_timeout_minutes"` // 0: unset
}

// DefaultSessionPolicy applies until the environment's policy is set.
var DefaultSessionPolicy = SessionPolicy{
	AccessTokenTTLSeconds: DefaultAccessTokenTTLSeconds, AbsoluteTimeoutMinutes: DefaultAbsoluteTimeoutMinutes,
	IdleTimeoutEnabled: true, IdleTimeoutMinutes: DefaultIdleTimeoutMinutes,
}

// SessionPolicy reads the environment's session policy.
func (s *Service) SessionPolicy(ctx context.Context) (SessionPolicy, error) {
	return s.sessionPolicy(ctx, s.Store.Q())
}

func (s *Service) sessionPolicy(ctx context.Context, q *store.Q) (SessionPolicy, error) {
	p, err := q.GetSessionPolicy(ctx, s.EnvID)
	if errors.Is(err, store.ErrNotFound) {
		p, err = nil, nil
	}
	if err != nil {
		return SessionPolicy{}, err
	}
	return appPolicy(p), nil
}

// appPolicy is the environment's stored policy p, or the defaults when it
// has none (nil).
func appPolicy(p *store.SessionPolicy) SessionPolicy {
	if p == nil {
		return DefaultSessionPolicy
	}
	return SessionPolicy{AccessTokenTTLSeconds: p.AccessTokenTTLSeconds, AbsoluteTimeoutMinutes: p.AbsoluteTimeoutMinutes,
		IdleTimeoutEnabled: p.IdleTimeoutEnabled, IdleTimeoutMinutes: p.IdleTimeoutMinutes}
}

// UpdateSessionPolicy replaces the environment's session policy. Values
// must be positive and within bounds, and the idle timeout at most the
// absolute one.
func (s *Service) UpdateSessionPolicy(ctx context.Context, in SessionPolicy) (SessionPolicy, error) {
	var v apierr.Violations
	bounded(&v, "access_token_ttl_seconds", int64(in.AccessTokenTTLSeconds), MaxAccessTokenTTLSeconds, "seconds")
	absOK := bounded(&v, "absolute_timeout_minutes", int64(in.AbsoluteTimeoutMinutes), MaxTimeoutMinutes, "minutes")
	switch {
	case in.IdleTimeoutMinutes < 0:
		v = append(v, apierr.Violation{Field: "idle_timeout_minutes", Description: "must not be negative", Constraint: "positive"})
	case in.IdleTimeoutEnabled && in.IdleTimeoutMinutes == 0:
		v = append(v, apierr.Violation{Field: "idle_timeout_minutes", Description: "must be positive when idle_timeout_enabled is true", Constraint: "positive"})
	case absOK && in.IdleTimeoutMinutes > in.AbsoluteTimeoutMinutes:
		v = append(v, apierr.Violation{Field: "idle_timeout_minutes", Constraint: "idle_le_absolute",
			Description: fmt.Sprintf("must be at most absolute_timeout_minutes (%d), not %d", in.AbsoluteTimeoutMinutes, in.IdleTimeoutMinutes)})
	}
	if err := v.Err(); err != nil {
		return SessionPolicy{}, err
	}
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		if err := q.PutSessionPolicy(ctx, &store.SessionPolicy{EnvID: s.EnvID, AccessTokenTTLSeconds: in.AccessTokenTTLSeconds,
			AbsoluteTimeoutMinutes: in.AbsoluteTimeoutMinutes, IdleTimeoutEnabled: in.IdleTimeoutEnabled,
			IdleTimeoutMinutes: in.IdleTimeoutMinutes, UpdatedAt: s.Now()}); err != nil {
			return err
		}
		return s.emit(ctx, q, "settings.session_policy.updated", s.EnvID, in)
	})
	if err != nil {
		return SessionPolicy{}, err
	}
	return in, nil
}

// bounded checks 1 <= n <= max, reporting field; it returns whether n is
// in bounds.
func bounded(v *apierr.Violations, field string, n, max int64, unit string) bool {
	switch {
	case n <= 0:
		*v = append(*v, apierr.Violation{Field: field, Description: "must be positive", Constraint: "positive"})
	case n > max:
		*v = append(*v, apierr.Violation{Field: field, Description: fmt.Sprintf("must be at most %d %s", max, unit), Constraint: "max"})
	default:
		return true
	}
	return false
}

// TimeUnit is a unit of Scalekit's session timeouts.
type TimeUnit string

// The units.
const (
	Minutes TimeUnit = "MINUTES"
	Hours   TimeUnit = "HOURS"
	Days    TimeUnit = "DAYS"
)

func (u TimeUnit) minutes() int64 {
	switch u {
	case Minutes:
		return 1
	case Hours:
		return 60
	case Days:
		return 24 * 60
	}
	return 0
}

// InUnits expresses minutes in the largest unit that divides it exactly
// (43200 minutes are 30 DAYS), as Scalekit's messages carry a value and a
// unit.
func InUnits(minutes int32) (int32, TimeUnit) {
	switch {
	case minutes != 0 && minutes%(24*60) == 0:
		return minutes / (24 * 60), Days
	case minutes != 0 && minutes%60 == 0:
		return minutes / 60, Hours
	}
	return minutes, Minutes
}

// Where an organization's session policy comes from.
const (
	SourceApplication = "APPLICATION" // the environment's policy
	SourceCustom      = "CUSTOM"      // the organization's own
)

// OrgSessionPolicy is an organization's session policy as Scalekit's
// OrganizationSessionPolicySettings shows it. With SourceApplication the
// values are the environment's.
type OrgSessionPolicy struct {
	Source              string
	AbsoluteTimeout     int32
	AbsoluteTimeoutUnit TimeUnit
	IdleTimeoutEnabled  bool
	IdleTimeout         int32    // 0: unset
	IdleTimeoutUnit     TimeUnit // "" when IdleTimeout is unset
}

// OrgSessionPolicyUpdate is an UpdateOrganizationSessionPolicy request:
// nil pointers and empty units were not given.
type OrgSessionPolicyUpdate struct {
	Source              string
	AbsoluteTimeout     *int32
	AbsoluteTimeoutUnit TimeUnit
	IdleTimeoutEnabled  *bool
	IdleTimeout         *int32
	IdleTimeoutUnit     TimeUnit
}

// OrganizationSessionPolicy reads an organization's session policy.
func (s *Service) OrganizationSessionPolicy(ctx context.Context, orgID string) (OrgSessionPolicy, error) {
	q := s.Store.Q()
	if err := s.orgExists(ctx, q, orgID); err != nil {
		return OrgSessionPolicy{}, err
	}
	return s.orgPolicy(ctx, q, orgID)
}

func (s *Service) orgPolicy(ctx context.Context, q *store.Q, orgID string) (OrgSessionPolicy, error) {
	p, err := q.GetOrgSessionPolicy(ctx, s.EnvID, orgID)
	if errors.Is(err, store.ErrNotFound) {
		app, err := s.sessionPolicy(ctx, q)
		if err != nil {
			return OrgSessionPolicy{}, err
		}
		out := OrgSessionPolicy{Source: SourceApplication, IdleTimeoutEnabled: app.IdleTimeoutEnabled}
		out.AbsoluteTimeout, out.AbsoluteTimeoutUnit = InUnits(app.AbsoluteTimeoutMinutes)
		if app.IdleTimeoutMinutes > 0 {
			out.IdleTimeout, out.IdleTimeoutUnit = InUnits(app.IdleTimeoutMinutes)
		}
		return out, nil
	}
	if err != nil {
		return OrgSessionPolicy{}, err
	}
	return OrgSessionPolicy{Source: SourceCustom, AbsoluteTimeout: p.AbsoluteTimeout, AbsoluteTimeoutUnit: TimeUnit(p.AbsoluteTimeoutUnit),
		IdleTimeoutEnabled: p.IdleTimeoutEnabled, IdleTimeout: p.IdleTimeout, IdleTimeoutUnit: TimeUnit(p.IdleTimeoutUnit)}, nil
}

func (s *Service) orgExists(ctx context.Context, q *store.Q, orgID string) error {
	if strings.TrimSpace(orgID) == "" {
		return apierr.InvalidArgument(apierr.Violation{Field: "organization_id", Description: "must not be empty", Constraint: "required"})
	}
	_, err := q.GetOrganization(ctx, s.EnvID, orgID)
	return apierr.FromStore(err, "organization", orgID)
}

// UpdateOrganizationSessionPolicy sets an organization's session policy.
// SourceApplication drops its own policy, so it follows the environment's
// (other fields are ignored). SourceCustom sets its own: the fields given
// replace those of its current custom policy (a PATCH), and the result
// must have a positive absolute timeout with a unit, and, when the idle
// timeout is enabled, a positive idle timeout with a unit that is at most
// the absolute one. Violations name Scalekit's fields.
func (s *Service) UpdateOrganizationSessionPolicy(ctx context.Context, orgID string, in OrgSessionPolicyUpdate) (OrgSessionPolicy, error) {
	var v apierr.Violations
	switch in.Source {
	case SourceApplication, SourceCustom:
	case "":
		v = append(v, apierr.Violation{Field: "policy_source", Description: "is required: APPLICATION or CUSTOM", Constraint: "required"})
	default:
		v = append(v, apierr.Violation{Field: "policy_source", Description: "must be APPLICATION or CUSTOM", Constraint: "enum"})
	}
	for _, u := range []struct {
		field string
		unit  TimeUnit
	}{{"absolute_session_timeout_unit", in.AbsoluteTimeoutUnit}, {"idle_session_timeout_unit", in.IdleTimeoutUnit}} {
		if u.unit != "" && u.unit.minutes() == 0 {
			v = append(v, apierr.Violation{Field: u.field, Description: "must be MINUTES, HOURS or DAYS", Constraint: "enum"})
		}
	}
	if err := v.Err(); err != nil {
		return OrgSessionPolicy{}, err
	}
	var out OrgSessionPolicy
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		if err := s.orgExists(ctx, q, orgID); err != nil {
			return err
		}
		if in.Source == SourceApplication {
			if err := q.DeleteOrgSessionPolicy(ctx, s.EnvID, orgID); err != nil {
				return err
			}
		} else {
			p, err := s.customPolicy(ctx, q, orgID, in)
			if err != nil {
				return err
			}
			if err := q.PutOrgSessionPolicy(ctx, p); err != nil {
				return apierr.FromStore(err, "organization", orgID)
			}
		}
		var err error
		if out, err = s.orgPolicy(ctx, q, orgID); err != nil {
			return err
		}
		return s.emit(ctx, q, "organization.session_policy.updated", orgID, orgPolicyEvent{OrgID: orgID, OrgSessionPolicy: out})
	})
	if err != nil {
		return OrgSessionPolicy{}, err
	}
	return out, nil
}

type orgPolicyEvent struct {
	OrgID string `json:"organization_id"`
	OrgSessionPolicy
}

// customPolicy applies a CUSTOM update to the organization's current
// custom policy (or to none) and checks the result.
func (s *Service) customPolicy(ctx context.Context, q *store.Q, orgID string, in OrgSessionPolicyUpdate) (*store.OrgSessionPolicy, error) {
	p, err := q.GetOrgSessionPolicy(ctx, s.EnvID, orgID)
	if errors.Is(err, store.ErrNotFound) {
		p, err = &store.OrgSessionPolicy{EnvID: s.EnvID, OrgID: orgID}, nil
	}
	if err != nil {
		return nil, err
	}
	if in.AbsoluteTimeout != nil {
		p.AbsoluteTimeout = *in.AbsoluteTimeout
	}
	if in.AbsoluteTimeoutUnit != "" {
		p.AbsoluteTimeoutUnit = string(in.AbsoluteTimeoutUnit)
	}
	if in.IdleTimeoutEnabled != nil {
		p.IdleTimeoutEnabled = *in.IdleTimeoutEnabled
	}
	if in.IdleTimeout != nil {
		p.IdleTimeout = *in.IdleTimeout
	}
	if in.IdleTimeoutUnit != "" {
		p.IdleTimeoutUnit = string(in.IdleTimeoutUnit)
	}
	p.UpdatedAt = s.Now()

	var v apierr.Violations
	absolute, absOK := timeout(&v, "absolute_session_timeout", p.AbsoluteTimeout, TimeUnit(p.AbsoluteTimeoutUnit), "policy_source is CUSTOM")
	idleNeeded := p.IdleTimeoutEnabled || p.IdleTimeout != 0
	idle, idleOK := int64(0), true
	if idleNeeded {
		why := ""
		if p.IdleTimeoutEnabled {
			why = "idle_session_timeout_enabled is true"
		}
		idle, idleOK = timeout(&v, "idle_session_timeout", p.IdleTimeout, TimeUnit(p.IdleTimeoutUnit), why)
	}
	if absOK && idleOK && idleNeeded && idle > absolute {
		v = append(v, apierr.Violation{Field: "idle_session_timeout", Constraint: "idle_le_absolute",
			Description: fmt.Sprintf("must be at most absolute_session_timeout (%d %s)", p.AbsoluteTimeout, p.AbsoluteTimeoutUnit)})
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return p, nil
}

// timeout checks a value and its unit and returns it in minutes. A zero
// value is "not given": an error when requiredWhen says why it is needed.
func timeout(v *apierr.Violations, field string, n int32, unit TimeUnit, requiredWhen string) (int64, bool) {
	switch {
	case n == 0 && requiredWhen != "":
		*v = append(*v, apierr.Violation{Field: field, Description: "is required (a positive number) when " + requiredWhen, Constraint: "required"})
		return 0, false
	case n == 0:
		return 0, true
	case n < 0:
		*v = append(*v, apierr.Violation{Field: field, Description: "must be positive", Constraint: "positive"})
		return 0, false
	case unit.minutes() == 0:
		*v = append(*v, apierr.Violation{Field: field + "_unit", Description: "is required with " + field + ": MINUTES, HOURS or DAYS", Constraint: "required"})
		return 0, false
	}
	m := int64(n) * unit.minutes()
	if m > MaxTimeoutMinutes {
		*v = append(*v, apierr.Violation{Field: field, Description: fmt.Sprintf("must be at most 365 days, not %d %s", n, unit), Constraint: "max"})
		return m, false
	}
	return m, true
}

// ApplicationSessionPolicy is the environment's session policy, as
// GetApplicationSessionPolicy shows it for an organization.
func (s *Service) ApplicationSessionPolicy(ctx context.Context, orgID string) (SessionPolicy, error) {
	q := s.Store.Q()
	if err := s.orgExists(ctx, q, orgID); err != nil {
		return SessionPolicy{}, err
	}
	return s.sessionPolicy(ctx, q)
}

// Effective is the session policy in force for an organization's sessions.
type Effective struct {
	Source          string        // SourceApplication or SourceCustom
	AccessTokenTTL  time.Duration // lifetime of user access tokens
	AbsoluteTimeout time.Duration
	IdleTimeout     time.Duration // 0: no idle timeout
}

// Effective returns the policy in force for orgID ("" for sessions without
// an organization). An organization with its own (CUSTOM) policy gets the
// stricter of each of its values and the environment's, as Scalekit
// applies them ("the stricter of application and organization values at
// session creation time"): the shorter absolute timeout, and the shorter
// idle timeout of those enabled. It reads the database on every call.
func (s *Service) Effective(ctx context.Context, orgID string) (Effective, error) {
	return s.effectiveIn(ctx, s.Store.Q(), orgID)
}

// effectiveIn is Effective read through q, so a caller inside a
// transaction does not take a second pooled connection (which can starve
// the pool under load and deadlock). One statement reads both policies
// (store.GetSessionPolicies): every sign-in comes here.
func (s *Service) effectiveIn(ctx context.Context, q *store.Q, orgID string) (Effective, error) {
	app, org, err := q.GetSessionPolicies(ctx, s.EnvID, orgID)
	if err != nil {
		return Effective{}, err
	}
	if orgID == "" {
		org = nil
	}
	return effective(appPolicy(app), org), nil
}

// effective combines the environment's policy app with an organization's
// own policy org (nil: none) as Effective describes.
func effective(app SessionPolicy, org *store.OrgSessionPolicy) Effective {
	e := Effective{Source: SourceApplication, AccessTokenTTL: time.Duration(app.AccessTokenTTLSeconds) * time.Second,
		AbsoluteTimeout: time.Duration(app.AbsoluteTimeoutMinutes) * time.Minute}
	if app.IdleTimeoutEnabled {
		e.IdleTimeout = time.Duration(app.IdleTimeoutMinutes) * time.Minute
	}
	if org == nil {
		return e
	}
	e.Source = SourceCustom
	if abs := time.Duration(int64(org.AbsoluteTimeout)*TimeUnit(org.AbsoluteTimeoutUnit).minutes()) * time.Minute; abs > 0 && abs < e.AbsoluteTimeout {
		e.AbsoluteTimeout = abs
	}
	if org.IdleTimeoutEnabled {
		if idle := time.Duration(int64(org.IdleTimeout)*TimeUnit(org.IdleTimeoutUnit).minutes()) * time.Minute; idle > 0 && (e.IdleTimeout == 0 || idle < e.IdleTimeout) {
			e.IdleTimeout = idle
		}
	}
	if e.IdleTimeout > e.AbsoluteTimeout {
		e.IdleTimeout = e.AbsoluteTimeout
	}
	return e
}

// EffectivePolicy is Effective as internal/sessions wants it; with it the
// service is the sessions' PolicySource.
func (s *Service) EffectivePolicy(ctx context.Context, orgID string) (sessions.Policy, error) {
	return s.EffectivePolicyIn(ctx, s.Store.Q(), orgID)
}

// EffectivePolicyIn is EffectivePolicy read through q (a transaction).
func (s *Service) EffectivePolicyIn(ctx context.Context, q *store.Q, orgID string) (sessions.Policy, error) {
	e, err := s.effectiveIn(ctx, q, orgID)
	if err != nil {
		return sessions.Policy{}, err
	}
	return e.sessions(), nil
}

// SessionsPolicyOf is EffectivePolicy of policies the caller read with
// something else (store.PasswordAttempt brings them with a password
// step): the environment's app (nil: the default) and the organization's
// own org (nil: none, or no organization).
func SessionsPolicyOf(app *store.SessionPolicy, org *store.OrgSessionPolicy) sessions.Policy {
	return effective(appPolicy(app), org).sessions()
}

func (e Effective) sessions() sessions.Policy {
	return sessions.Policy{IdleTimeout: e.IdleTimeout, AbsoluteTimeout: e.AbsoluteTimeout, AccessTokenTTL: e.AccessTokenTTL}
}

// AccessTokenTTL is the lifetime of user access tokens.
func (s *Service) AccessTokenTTL(ctx context.Context) (time.Duration, error) {
	p, err := s.SessionPolicy(ctx)
	if err != nil {
		return 0, err
	}
	return time.Duration(p.AccessTokenTTLSeconds) * time.Second, nil
}
