// Package server wires Gatehouse together: it opens the store, bootstraps
// the environment, builds every handler with its dependencies, and serves
// HTTP/1.1 and cleartext HTTP/2 (for gRPC) on one listener. Nothing here is
// global; tests start as many servers as they like.
package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/api"
	"github.com/gatehouse/gatehouse/internal/authlog"
	"github.com/gatehouse/gatehouse/internal/clients"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/legacyauth"
	"github.com/gatehouse/gatehouse/internal/login"
	"github.com/gatehouse/gatehouse/internal/mail"
	"github.com/gatehouse/gatehouse/internal/metrics"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/pagetoken"
	"github.com/gatehouse/gatehouse/internal/prune"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/rbac"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/settings"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Server is a configured Gatehouse, ready to serve.
type Server struct {
	cfg     config.Config
	log     *slog.Logger
	store   *store.Store
	handler http.Handler
	mailer  *mail.Worker
	// Pruner deletes expired and old rows in the background of Serve;
	// exposed for tests that run it by hand with a fake clock.
	Pruner *prune.Pruner
	// Bootstrap reports what the first start created.
	Bootstrap *Bootstrap
	// Accounts is exposed for tests and benchmarks that seed data directly.
	Accounts *accounts.Service
	// OAuth and Sessions are the authorization server and the session
	// service, for the hosted login UI and for tests.
	OAuth    *oauth.Server
	Sessions *sessions.Service
	// Settings holds the environment's redirects, branding and session
	// policy, for the hosted login UI and for tests.
	Settings *settings.Service
	// Login is the hosted login UI, for tests that adjust its limits
	// before sending requests.
	Login *login.Handler
	// Keys are the signing keys, reloaded in the background of Serve
	// every --keys-reload-interval; exposed for tests.
	Keys *signing.Keyring
}

// maxTokenLifetime is the longest any token this server signs may live,
// which is how long a rotated-out signing key stays published: the
// management token TTL, the longest user access token a session policy
// may set, and the ID token lifetime.
func maxTokenLifetime(cfg config.Config) time.Duration {
	return max(cfg.TokenTTL, settings.MaxAccessTokenTTLSeconds*time.Second, oauth.DefaultIDTokenTTL)
}

// nowUTC is the default clock: UTC at the microsecond precision the store
// keeps, so a value reads back exactly as it was returned when written.
func nowUTC() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// New opens the database, applies the schema, bootstraps the environment
// and builds the handlers. cfg must have been Resolved.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, now func() time.Time) (*Server, error) {
	if now == nil {
		now = nowUTC
	}
	st, err := store.Open(ctx, cfg.DSN())
	if err != nil {
		return nil, err
	}
	s, err := build(ctx, cfg, log, now, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	return s, nil
}

func build(ctx context.Context, cfg config.Config, log *slog.Logger, now func() time.Time, st *store.Store) (*Server, error) {
	ids := id.NewGenerator(now)
	clientsFor := func(envID string) *clients.Service {
		return &clients.Service{Store: st, IDs: ids, Now: now, EnvID: envID}
	}
	boot, err := ensureEnvironment(ctx, st, ids, now, &cfg)
	if err != nil {
		return nil, fmt.Errorf("bootstrapping the environment: %w", err)
	}
	mk, err := masterKey(&cfg)
	if err != nil {
		return nil, err
	}
	if cfg.LocalTrial() {
		log.Warn("production environment on a loopback http public URL: fine for a local trial; serve it over https before anyone else uses it",
			"public_url", cfg.PublicURL)
	}
	if st.Dialect() == store.Postgres && cfg.SecretKey == "" {
		log.Warn("signing keys are encrypted with the key generated in the data directory; set --secret-key (GATEHOUSE_SECRET_KEY) so other nodes sharing this database can start",
			"secret_key_file", filepath.Join(cfg.DataDir, "secret.key"))
	}
	keys, err := signing.New(ctx, signing.Options{Store: st, IDs: ids, Now: now, EnvID: boot.EnvID, MasterKey: mk,
		MaxTokenLifetime: maxTokenLifetime(cfg)})
	if err != nil {
		return nil, err
	}
	env, err := st.Q().FirstEnvironment(ctx)
	if err != nil {
		return nil, err
	}
	ptKey, err := base64.StdEncoding.DecodeString(env.PageTokenKey)
	if err != nil {
		return nil, fmt.Errorf("environment page token key: %w", err)
	}
	acc := &accounts.Service{Store: st, IDs: ids, Now: now, EnvID: env.ID, Pages: pagetoken.New(ptKey), PublicURL: cfg.PublicURL}
	if err := acc.EnsureDefaultRoles(ctx); err != nil {
		return nil, err
	}
	oa := &oauth.Server{Issuer: cfg.PublicURL, Keys: keys, Clients: clientsFor(env.ID), IDs: ids, Now: now, TokenTTL: cfg.TokenTTL, Log: log}
	sess := &sessions.Service{Store: st, IDs: ids, Now: now, EnvID: env.ID, Pages: pagetoken.New(ptKey), Ended: oa.BackChannelLogout}
	oa.Store, oa.EnvID, oa.Sessions = st, env.ID, sess
	acc.Sessions = sess // membership removal and deletions end sessions
	oa.Permissions = oauth.StorePermissions{Store: st, EnvID: env.ID}
	roles := &rbac.Service{Store: st, IDs: ids, Now: now, EnvID: env.ID, Accounts: acc}
	set := &settings.Service{Store: st, IDs: ids, Now: now, EnvID: env.ID}
	// Lazy migration's legacy endpoint: its secret is sealed with the
	// master key, like signing keys.
	legacy := &legacyauth.Service{Store: st, Env: set, IDs: ids, Now: now, EnvID: env.ID, MasterKey: mk,
		Log: log.With("component", "lazy_migration")}
	// The environment's redirect URLs and session policy govern the flows.
	oa.Redirects, sess.Policies = set, set
	// Token exchange for the cut-over from a legacy auth system.
	if l := cfg.Legacy; l.Enabled() {
		var secret []byte
		if l.HSSecret != "" {
			secret = []byte(l.HSSecret)
		}
		oa.Exchange, err = oauth.NewTokenExchange([]oauth.LegacyIssuer{{Issuer: l.Issuer, Audience: l.Audience,
			JWKSURL: l.JWKSURL, HSSecret: secret, Match: l.SubjectClaim}}, nil, now)
		if err != nil {
			return nil, fmt.Errorf("legacy issuer: %w", err)
		}
	}
	// Gatehouse's counters live on this server's registry, served at /metrics.
	reg := prometheus.NewRegistry()
	met := metrics.New(reg)
	oa.Metrics = met
	alog := &authlog.Log{Store: st, EnvID: env.ID, NewID: ids.New, Now: now, Metrics: met, Pages: pagetoken.New(ptKey), Logger: log}
	apiHandler, err := api.Handler(api.Config{AuthLog: alog, Accounts: acc, RBAC: roles, Sessions: sess, Settings: set, Migration: legacy, Keys: keys, Tokens: oa, Limiter: ratelimit.New(cfg.APIRateLimit, cfg.APIRateBurst), Now: now, Log: log})
	if err != nil {
		return nil, err
	}

	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	oa.Mount(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(ctx); err != nil {
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if cfg.Dev {
		mux.Handle("GET "+mail.DevOutboxPath, mail.DevOutbox(st, env.ID))
	}
	// The hosted login: its code key is derived from the master key, so
	// stored codes mean nothing without the server's secret.
	codeKey := hmac.New(sha256.New, mk)
	codeKey.Write([]byte("gatehouse login code key v1"))
	lg := &login.Handler{AuthLog: alog, OAuth: oa, Sessions: sess, Accounts: acc, Settings: set, Store: st, IDs: ids, EnvID: env.ID,
		PublicURL: cfg.PublicURL, Now: now, Log: log.With("component", "login"), SignupAllowed: cfg.SignupAllowed(),
		CodeKey: codeKey.Sum(nil), Legacy: legacy, BreachedPasswordsURL: cfg.BreachedPasswordsURL}
	if err := lg.Init(); err != nil {
		return nil, err
	}
	lg.Mount(mux)
	mux.Handle("/", apiHandler)

	// Resolve checked the list already.
	proxies, err := httpx.ParseTrustedProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("--trusted-proxies: %w", err)
	}

	// Last, so that a failed first start leaves no client behind whose
	// secret was never shown.
	if err := ensureFirstClient(ctx, st, &cfg, clientsFor(env.ID), boot); err != nil {
		return nil, fmt.Errorf("creating the first API client: %w", err)
	}
	return &Server{
		cfg: cfg, log: log, store: st, Keys: keys, Bootstrap: boot, Accounts: acc, OAuth: oa, Sessions: sess, Settings: set, Login: lg,
		handler: httpx.Middleware(log, now, httpx.WithClientIP(proxies, mux)),
		mailer:  &mail.Worker{Store: st, EnvID: env.ID, SMTPURL: cfg.SMTPURL, From: cfg.MailFrom, Now: now, Log: log, Dev: cfg.Dev},
		Pruner: &prune.Pruner{Store: st, EnvID: env.ID, Now: now, Log: log.With("component", "prune"),
			AuthLogRetention: cfg.AuthLogRetention, EventRetention: cfg.EventRetention},
	}, nil
}

// Handler is the whole HTTP surface, for tests that serve it themselves.
func (s *Server) Handler() http.Handler { return s.handler }

// Store is the server's database handle.
func (s *Server) Store() *store.Store { return s.store }

// Serve answers on ln until ctx ends, then stops taking connections and
// waits (up to the shutdown timeout) for in-flight requests to finish.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true) // gRPC from SDKs on http:// URLs is h2c with prior knowledge
	hs := &http.Server{
		Handler: s.handler, Protocols: &protocols,
		ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	mailCtx, stopMail := context.WithCancel(context.Background())
	mailDone := make(chan struct{})
	go func() { defer close(mailDone); s.mailer.Run(mailCtx) }()
	defer func() { stopMail(); <-mailDone }()
	pruneCtx, stopPrune := context.WithCancel(context.Background())
	pruneDone := make(chan struct{})
	go func() { defer close(pruneDone); s.Pruner.Run(pruneCtx) }()
	defer func() { stopPrune(); <-pruneDone }()
	keysCtx, stopKeys := context.WithCancel(context.Background())
	keysDone := make(chan struct{})
	go func() {
		defer close(keysDone)
		s.Keys.Run(keysCtx, s.cfg.KeysReloadInterval, s.log.With("component", "signing"))
	}()
	defer func() { stopKeys(); <-keysDone }()

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	s.Login.Wait() // emails the last requests queued after answering
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close releases the database.
func (s *Server) Close() error { return s.store.Close() }
