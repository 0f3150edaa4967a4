// Package config is the server's configuration: one struct, filled from
// flags over GATEHOUSE_* environment variables over defaults, then
// validated as a whole so every problem is reported at once.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpx"
)

// Config is everything `gatehouse serve` needs.
type Config struct {
	Addr        string // listen address
	DataDir     string // where the SQLite database and generated secret key live
	DatabaseURL string // postgres://... selects PostgreSQL; empty means SQLite in DataDir
	PublicURL   string // the issuer; defaults to http://Addr
	Dev         bool   // development environment and the dev outbox
	// EnvType is "development" or "production"; empty means development
	// under Dev and production otherwise (see EnvironmentType).
	EnvType string

	BootstrapClientID     string
	BootstrapClientSecret string
	SecretKey             string // base64 of 32 bytes; encrypts signing keys at rest

	TokenTTL        time.Duration // management access tokens
	APIRateLimit    float64       // requests per second per client; 0 disables
	APIRateBurst    int
	ShutdownTimeout time.Duration

	SMTPURL  string // smtp://user:pass@host:port or smtps://...
	MailFrom string

	// AllowSignup is "true" or "false": whether unknown emails may create
	// an account on the hosted login page; empty means true in development
	// environments and false in production (see SignupAllowed).
	AllowSignup string

	// Legacy is the issuer of the system being migrated from, whose tokens
	// /oauth/token exchanges for Gatehouse tokens (RFC 8693); off when
	// Legacy.Issuer is empty. See docs/configuration.md.
	Legacy LegacyIssuer

	LogFormat string // json or text
	LogLevel  string // debug, info, warn, error

	// TrustedProxies lists the reverse proxies (IP addresses and CIDR
	// ranges, comma-separated) whose X-Forwarded-For and Forwarded headers
	// give the client address; empty trusts none (see httpx.TrustedProxies).
	TrustedProxies string

	// AuthLogRetention is how long authentication log entries are kept
	// before the background pruner deletes them.
	AuthLogRetention time.Duration

	// EventRetention is how long outbox events (the writes recorded for
	// webhooks and audit) are kept before the background pruner deletes
	// them.
	EventRetention time.Duration

	// BreachedPasswordsURL is a Have I Been Pwned-compatible range API
	// (e.g. https://api.pwnedpasswords.com) that new passwords are checked
	// against; empty checks none. Only the first 5 hex digits of a
	// password's SHA-1 are sent (docs/login.md, "Password policy").
	BreachedPasswordsURL string

	// KeysReloadInterval is how often each node rereads the signing keys,
	// so a rotation made through another node sharing the database reaches
	// it (docs/oauth.md, "Signing keys").
	KeysReloadInterval time.Duration
}

// LegacyIssuer configures token exchange for one legacy issuer.
type LegacyIssuer struct {
	Issuer       string // the iss of its tokens
	JWKSURL      string // where its public keys are (RS256, ES256, ES384)
	HSSecret     string // or the shared HMAC secret (HS256, HS384, HS512)
	Audience     string // must be in the tokens' aud
	SubjectClaim string // external_id (sub is the user's external_id) or email
}

// Enabled reports whether a legacy issuer is configured.
func (l LegacyIssuer) Enabled() bool { return l.Issuer != "" }

// Defaults returns the configuration of a plain `gatehouse serve`.
func Defaults() Config {
	return Config{
		Addr: "127.0.0.1:8080", DataDir: "gatehouse-data", TokenTTL: 86399 * time.Second,
		APIRateLimit: 2000, APIRateBurst: 4000, ShutdownTimeout: 30 * time.Second,
		MailFrom: "Gatehouse <no-reply@localhost>", LogFormat: "json", LogLevel: "info",
		AuthLogRetention:   90 * 24 * time.Hour,
		EventRetention:     90 * 24 * time.Hour,
		KeysReloadInterval: 30 * time.Second,
	}
}

// Resolve fills derived values and checks every rule, returning all the
// problems found joined in one error.
func (c *Config) Resolve() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		bad("--addr %q: must be host:port (e.g. 127.0.0.1:8080)", c.Addr)
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
		// ":8080" or "0.0.0.0:8080" listens everywhere but is no URL a
		// client can reach: default the issuer to localhost on that port.
		if ip := net.ParseIP(host); err == nil && (host == "" || ip != nil && ip.IsUnspecified()) {
			c.PublicURL = "http://" + net.JoinHostPort("localhost", port)
		}
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		bad("--public-url %q: must be an absolute http(s) URL without query or fragment", c.PublicURL)
	} else if c.EnvironmentType() == "production" && u.Scheme == "http" && !isLoopback(u.Hostname()) {
		bad("--public-url %q: a production environment needs an https URL (http is accepted on a loopback address for a local trial; use --environment-type development otherwise)", c.PublicURL)
	}
	switch c.EnvType {
	case "", "development", "production":
	default:
		bad("--environment-type %q: must be development or production", c.EnvType)
	}
	if c.Dev && c.EnvType == "production" {
		bad("--environment-type production contradicts --dev (GATEHOUSE_DEV), which is for development environments: drop one of them")
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") &&
		!strings.HasPrefix(c.DatabaseURL, "sqlite://") {
		bad("--database-url: must start with postgres://, postgresql:// or sqlite://")
	}
	if (c.BootstrapClientID == "") != (c.BootstrapClientSecret == "") {
		bad("GATEHOUSE_BOOTSTRAP_CLIENT_ID and GATEHOUSE_BOOTSTRAP_CLIENT_SECRET must be set together")
	}
	if c.BootstrapClientID != "" && !strings.HasPrefix(c.BootstrapClientID, "skc_") {
		bad("GATEHOUSE_BOOTSTRAP_CLIENT_ID must start with skc_")
	}
	if c.BootstrapClientSecret != "" && len(c.BootstrapClientSecret) < 32 {
		bad("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET must be at least 32 characters")
	}
	if c.SecretKey != "" {
		if k, err := base64.StdEncoding.DecodeString(c.SecretKey); err != nil || len(k) != 32 {
			bad("--secret-key: must be the base64 encoding of 32 random bytes (openssl rand -base64 32)")
		}
	}
	if c.TokenTTL < time.Minute || c.TokenTTL > 7*24*time.Hour {
		bad("--token-ttl %s: must be between 1m and 168h", c.TokenTTL)
	}
	if c.APIRateLimit < 0 {
		bad("--api-rate-limit: must be 0 (off) or positive")
	}
	if c.APIRateBurst < 1 && c.APIRateLimit > 0 {
		bad("--api-rate-burst: must be at least 1")
	}
	if c.SMTPURL != "" {
		if u, err := url.Parse(c.SMTPURL); err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Host == "" {
			bad("--smtp-url: must look like smtp://user:password@host:587 or smtps://...")
		}
		// Checked here, not at the first send: a bad sender would
		// otherwise stop every email while the server looks healthy.
		if _, err := mail.ParseAddress(c.MailFrom); err != nil {
			bad("--mail-from %q: must be an address like Gatehouse <auth@example.com>", c.MailFrom)
		}
	}
	switch c.AllowSignup {
	case "", "true", "false":
	default:
		bad("--allow-signup %q: must be true or false", c.AllowSignup)
	}
	c.Legacy.check(bad)
	c.checkBreachedPasswordsURL(bad)
	if c.AuthLogRetention < time.Hour {
		bad("--auth-log-retention %s: must be at least 1h", c.AuthLogRetention)
	}
	if c.EventRetention < time.Hour {
		bad("--event-retention %s: must be at least 1h", c.EventRetention)
	}
	// A retiring key outlives the longest token by 6 minutes, 5 of them
	// for nodes that have not reloaded yet (signing.RemovalMargin).
	if c.KeysReloadInterval <= 0 || c.KeysReloadInterval > 5*time.Minute {
		bad("--keys-reload-interval %s: must be positive and at most 5m", c.KeysReloadInterval)
	}
	if _, err := httpx.ParseTrustedProxies(c.TrustedProxies); err != nil {
		bad("--trusted-proxies: %v", err)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		bad("--log-format %q: must be json or text", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("--log-level %q: must be debug, info, warn or error", c.LogLevel)
	}
	return errors.Join(errs...)
}

// DSN is the database to open.
func (c *Config) DSN() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return filepath.Join(c.DataDir, "gatehouse.db")
}

// EnvironmentType is the environment's type, which decides the redirect
// URL rules: --environment-type when given, else "development" under --dev
// and "production" otherwise.
func (c *Config) EnvironmentType() string {
	if c.EnvType != "" {
		return c.EnvType
	}
	if c.Dev {
		return "development"
	}
	return "production"
}

// SignupAllowed reports whether people may sign themselves up on the
// hosted login page: --allow-signup when given, else only in development.
func (c *Config) SignupAllowed() bool {
	if c.AllowSignup != "" {
		return c.AllowSignup == "true"
	}
	return c.EnvironmentType() == "development"
}

// LocalTrial reports whether a production environment runs on a loopback
// http public URL: allowed, for trying production rules on one machine,
// but worth a warning at start.
func (c *Config) LocalTrial() bool {
	u, err := url.Parse(c.PublicURL)
	return err == nil && c.EnvironmentType() == "production" && u.Scheme == "http" && isLoopback(u.Hostname())
}

// isLoopback reports whether host names this machine: localhost, a name
// under .localhost, or a loopback IP address.
func isLoopback(host string) bool {
	h := strings.ToLower(host)
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// check validates the legacy issuer settings, if any is set.
func (l *LegacyIssuer) check(bad func(string, ...any)) {
	if l.Issuer == "" && l.JWKSURL == "" && l.HSSecret == "" && l.Audience == "" &&
		(l.SubjectClaim == "" || l.SubjectClaim == "external_id") {
		return // token exchange is off
	}
	if l.Issuer == "" {
		bad("--legacy-issuer is required when any --legacy-* option is set")
	}
	if l.Audience == "" {
		bad("--legacy-audience is required with --legacy-issuer: tokens issued for another audience must not be exchanged")
	}
	switch {
	case (l.JWKSURL == "") == (l.HSSecret == ""):
		bad("--legacy-issuer needs exactly one of --legacy-jwks-url and --legacy-hs-secret")
	case l.JWKSURL != "":
		u, err := url.Parse(l.JWKSURL)
		if err != nil || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) || u.Host == "" {
			bad("--legacy-jwks-url %q: must be an https URL (http only on a loopback address)", l.JWKSURL)
		}
	case len(l.HSSecret) < 32:
		bad("--legacy-hs-secret: must be at least 32 characters (HS256 needs a 256-bit key)")
	}
	switch l.SubjectClaim {
	case "":
		l.SubjectClaim = "external_id"
	case "external_id", "email":
	default:
		bad("--legacy-subject-claim %q: must be external_id or email", l.SubjectClaim)
	}
}

// checkBreachedPasswordsURL validates --breached-passwords-url like the
// other outbound URLs: https, or http only to a loopback address (a local
// mirror or a test), since a password's hash prefix must not cross a
// network in the clear. A trailing slash is dropped.
func (c *Config) checkBreachedPasswordsURL(bad func(string, ...any)) {
	if c.BreachedPasswordsURL == "" {
		return
	}
	c.BreachedPasswordsURL = strings.TrimRight(c.BreachedPasswordsURL, "/")
	u, err := url.Parse(c.BreachedPasswordsURL)
	if err != nil || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		bad("--breached-passwords-url %q: must be an https URL without query or fragment, like https://api.pwnedpasswords.com (http only on a loopback address)", c.BreachedPasswordsURL)
	}
}
