// Package metrics holds Gatehouse's own Prometheus counters. They are
// registered on the registry the server builds (never the global one), so
// tests can run many servers in one process, and every method is safe on
// a nil *Metrics, so code under test may leave it unset.
package metrics

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Login methods and outcomes: the only label values the login counter
// takes, so its cardinality stays fixed.
const (
	MethodPassword  = "password"
	MethodOTP       = "otp"
	MethodMagicLink = "magic_link"
	MethodSignup    = "signup"

	OutcomeSuccess   = "success"
	OutcomeFailure   = "failure"
	OutcomeThrottled = "throttled"
)

// Metrics are the counters of one server.
type Metrics struct {
	logins       *prometheus.CounterVec
	grants       *prometheus.CounterVec
	refreshReuse prometheus.Counter
}

// New creates the counters and registers them on reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_logins_total",
			Help: "Sign-in attempts at the hosted login page, by method (password, otp, magic_link, signup) and outcome (success, failure, throttled).",
		}, []string{"method", "outcome"}),
		grants: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_token_grants_total",
			Help: "Token endpoint requests, by grant type and outcome (success, failure).",
		}, []string{"grant_type", "outcome"}),
		refreshReuse: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatehouse_refresh_token_reuse_total",
			Help: "Refresh tokens presented again after rotation (outside the grace period): each revoked its token family and session.",
		}),
	}
	reg.MustRegister(m.logins, m.grants, m.refreshReuse)
	// Every series exists from the start at zero, so rate() and alerts
	// work before the first event.
	for _, method := range []string{MethodPassword, MethodOTP, MethodMagicLink, MethodSignup} {
		for _, o := range []string{OutcomeSuccess, OutcomeFailure, OutcomeThrottled} {
			m.logins.WithLabelValues(method, o)
		}
	}
	for _, g := range []string{"authorization_code", "refresh_token", "client_credentials", "token_exchange"} {
		for _, o := range []string{OutcomeSuccess, OutcomeFailure} {
			m.grants.WithLabelValues(g, o)
		}
	}
	return m
}

// Login counts one sign-in attempt.
func (m *Metrics) Login(method, outcome string) {
	if m == nil {
		return
	}
	m.logins.WithLabelValues(method, outcome).Inc()
}

// Grant counts one token request by its grant_type parameter and the HTTP
// status of the answer. Grant types other than the supported ones count
// as "other", so a client cannot grow the label set.
func (m *Metrics) Grant(grantType string, status int) {
	if m == nil {
		return
	}
	switch {
	case grantType == "authorization_code", grantType == "refresh_token", grantType == "client_credentials":
	case strings.HasSuffix(grantType, ":token-exchange"):
		grantType = "token_exchange"
	default:
		grantType = "other"
	}
	outcome := OutcomeSuccess
	if status < 200 || status > 299 {
		outcome = OutcomeFailure
	}
	m.grants.WithLabelValues(grantType, outcome).Inc()
}

// RefreshReuse counts one detected refresh token reuse.
func (m *Metrics) RefreshReuse() {
	if m == nil {
		return
	}
	m.refreshReuse.Inc()
}
