package login

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Rule is one throttling rule: within Window (which starts at the first
// hit), the first Free hits go through at once; after that each hit makes
// the next one wait Delay, doubling per hit up to MaxDelay; Cap hits end
// the window's allowance. A window always ends, so no one can lock an
// account for good (SECURITY-BAR A01).
type Rule struct {
	Window   time.Duration
	Free     int
	Delay    time.Duration
	MaxDelay time.Duration
	Cap      int
}

// Limits are the login's throttling rules, documented in docs/login.md.
type Limits struct {
	PasswordPerAccount Rule // wrong passwords for one email
	FailuresPerIP      Rule // wrong passwords and codes from one address
	CodePerAccount     Rule // wrong codes for one email, across codes
	SendPerEmail       Rule // codes and reset links emailed to one address
	SendPerIP          Rule // emails asked for from one address
	LookupsPerIP       Rule // emails typed in from one address
}

// throttleWindowMax bounds every window, for sweeping old counters.
const throttleWindowMax = time.Hour

// DefaultLimits are the rules used for zero fields of Limits.
var DefaultLimits = Limits{
	// ASVS 2.2.1: at most 100 failed attempts per hour per account; the
	// doubling delays keep the real number far lower (about 17).
	PasswordPerAccount: Rule{Window: time.Hour, Free: 5, Delay: time.Second, MaxDelay: 15 * time.Minute, Cap: 100},
	FailuresPerIP:      Rule{Window: time.Hour, Free: 50, Delay: time.Second, MaxDelay: 15 * time.Minute, Cap: 1000},
	// At most 20 wrong codes per hour for an account, whatever the number
	// of codes asked for: a success chance of 2e-5 per hour (A09).
	CodePerAccount: Rule{Window: time.Hour, Free: 10, Delay: time.Second, MaxDelay: 15 * time.Minute, Cap: 20},
	SendPerEmail:   Rule{Window: time.Hour, Free: 5, Delay: 30 * time.Second, MaxDelay: 15 * time.Minute, Cap: 20},
	SendPerIP:      Rule{Window: time.Hour, Free: 30, Delay: 10 * time.Second, MaxDelay: 15 * time.Minute, Cap: 200},
	LookupsPerIP:   Rule{Window: time.Hour, Free: 200, Delay: time.Second, MaxDelay: 15 * time.Minute, Cap: 2000},
}

func (l Limits) withDefaults() Limits {
	for _, p := range []struct{ r, d *Rule }{
		{&l.PasswordPerAccount, &DefaultLimits.PasswordPerAccount}, {&l.FailuresPerIP, &DefaultLimits.FailuresPerIP},
		{&l.CodePerAccount, &DefaultLimits.CodePerAccount}, {&l.SendPerEmail, &DefaultLimits.SendPerEmail},
		{&l.SendPerIP, &DefaultLimits.SendPerIP}, {&l.LookupsPerIP, &DefaultLimits.LookupsPerIP},
	} {
		if p.r.Window == 0 {
			*p.r = *p.d
		}
	}
	return l
}

// wait reports how long the bucket must wait before its next attempt (0:
// go ahead).
func (h *Handler) wait(ctx context.Context, bucket string, rule Rule) (time.Duration, error) {
	t, err := h.Store.Q().GetThrottle(ctx, h.EnvID, bucket)
	if err != nil {
		return 0, err
	}
	return waitFor(t, rule, h.Now()), nil
}

func waitFor(t store.Throttle, rule Rule, now time.Time) time.Duration {
	if t.Hits == 0 || !now.Before(t.WindowStart.Add(rule.Window)) {
		return 0
	}
	if t.Hits >= rule.Cap {
		return t.WindowStart.Add(rule.Window).Sub(now)
	}
	if now.Before(t.NextAt) {
		return t.NextAt.Sub(now)
	}
	return 0
}

// waitAny is the longest wait of several buckets.
func (h *Handler) waitAny(ctx context.Context, checks ...check) (time.Duration, error) {
	var longest time.Duration
	for _, c := range checks {
		d, err := h.wait(ctx, c.bucket, c.rule)
		if err != nil {
			return 0, err
		}
		longest = max(longest, d)
	}
	return longest, nil
}

type check struct {
	bucket string
	rule   Rule
}

// hit counts one attempt against each bucket.
func (h *Handler) hit(ctx context.Context, checks ...check) error {
	return h.Store.Tx(ctx, func(q *store.Q) error { return h.hitIn(ctx, q, checks...) })
}

// hitIn is hit inside the caller's transaction.
func (h *Handler) hitIn(ctx context.Context, q *store.Q, checks ...check) error {
	now := h.Now()
	{
		for _, c := range checks {
			t, err := q.GetThrottle(ctx, h.EnvID, c.bucket)
			if err != nil {
				return err
			}
			if t.Hits == 0 || !now.Before(t.WindowStart.Add(c.rule.Window)) {
				t = store.Throttle{Bucket: c.bucket, WindowStart: now}
			}
			t.Hits++
			t.NextAt = now.Add(delayAfter(t.Hits, c.rule))
			if err := q.PutThrottle(ctx, h.EnvID, t); err != nil {
				return err
			}
		}
	}
	return nil
}

// delayAfter is the wait after the n-th hit of a window.
func delayAfter(n int, rule Rule) time.Duration {
	if n < rule.Free {
		return 0
	}
	d := rule.Delay
	for i := rule.Free; i < n && d < rule.MaxDelay; i++ {
		d *= 2
	}
	return min(d, rule.MaxDelay)
}

// clear resets a bucket (after a successful sign-in).
func (h *Handler) clear(ctx context.Context, bucket string) error {
	return h.Store.Q().DeleteThrottle(ctx, h.EnvID, bucket)
}

// waitText says a wait in words for a page.
func waitText(d time.Duration) string {
	switch {
	case d <= time.Minute:
		s := int((d + time.Second - 1) / time.Second)
		if s <= 1 {
			return "a second"
		}
		return fmt.Sprintf("%d seconds", s)
	default:
		m := int((d + time.Minute - 1) / time.Minute)
		return fmt.Sprintf("%d minutes", m)
	}
}

// Bucket names.
func passwordBucket(emailNorm string) string { return "pw:" + emailNorm }
func codeBucket(emailNorm string) string     { return "otp:" + emailNorm }
func sendBucket(emailNorm string) string     { return "send:" + emailNorm }
func failIPBucket(ip string) string          { return "ip:" + ip }
func sendIPBucket(ip string) string          { return "ipsend:" + ip }
func lookupIPBucket(ip string) string        { return "iplookup:" + ip }
