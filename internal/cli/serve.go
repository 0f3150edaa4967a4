package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/signing"
)

func newServeCmd(stdout, stderr io.Writer) *cobra.Command {
	cfg := config.Defaults()
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Gatehouse server",
		Long: `Run the Gatehouse server. With no options it listens on http://127.0.0.1:8080
and keeps everything in SQLite under ./gatehouse-data. The first start creates
the environment, its signing key and an API client, and prints the client's
secret once.`,
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for the SQLite database and generated secret key")
	fs.StringVar(&cfg.DatabaseURL, "database-url", "", "postgres://... to use PostgreSQL instead of SQLite")
	fs.StringVar(&cfg.PublicURL, "public-url", "", "URL clients reach this server at; the token issuer (default http://ADDR)")
	fs.BoolVar(&cfg.Dev, "dev", false, "development environment: relaxed redirect rules and the dev email outbox at /_dev/outbox")
	fs.StringVar(&cfg.EnvType, "environment-type", "", "development or production: which redirect URL rules apply (default development under --dev, else production)")
	fs.StringVar(&cfg.SecretKey, "secret-key", "", "base64 32-byte key encrypting signing keys at rest (default: generated into the data dir)")
	fs.DurationVar(&cfg.TokenTTL, "token-ttl", cfg.TokenTTL, "lifetime of management API access tokens")
	fs.Float64Var(&cfg.APIRateLimit, "api-rate-limit", cfg.APIRateLimit, "management API requests per second per client; 0 turns the limit off")
	fs.IntVar(&cfg.APIRateBurst, "api-rate-burst", cfg.APIRateBurst, "management API burst per client")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "how long SIGTERM waits for in-flight requests")
	fs.StringVar(&cfg.SMTPURL, "smtp-url", "", "smtp://user:password@host:587 to deliver email")
	fs.StringVar(&cfg.MailFrom, "mail-from", cfg.MailFrom, "sender of outgoing email")
	fs.StringVar(&cfg.AllowSignup, "allow-signup", "", "true or false: may unknown emails create an account on the login page (default true in development, false in production)")
	fs.StringVar(&cfg.Legacy.Issuer, "legacy-issuer", "", "iss of the legacy system's tokens that /oauth/token may exchange for Gatehouse tokens (RFC 8693)")
	fs.StringVar(&cfg.Legacy.JWKSURL, "legacy-jwks-url", "", "JWKS URL of the legacy issuer (RS256, ES256, ES384)")
	fs.StringVar(&cfg.Legacy.HSSecret, "legacy-hs-secret", "", "shared HMAC secret of the legacy issuer (HS256, HS384, HS512), instead of a JWKS; prefer the env variable")
	fs.StringVar(&cfg.Legacy.Audience, "legacy-audience", "", "audience the legacy tokens must carry")
	fs.StringVar(&cfg.Legacy.SubjectClaim, "legacy-subject-claim", "external_id", "how a legacy token finds its user: external_id (its sub) or email (its email claim)")
	fs.StringVar(&cfg.BreachedPasswordsURL, "breached-passwords-url", "", "Have I Been Pwned-compatible range API that new passwords are checked against, e.g. https://api.pwnedpasswords.com (only 5 hex digits of the SHA-1 are sent; default: no check)")
	fs.DurationVar(&cfg.AuthLogRetention, "auth-log-retention", cfg.AuthLogRetention, "how long authentication log entries are kept (at least 1h)")
	fs.DurationVar(&cfg.EventRetention, "event-retention", cfg.EventRetention, "how long events (the outbox of writes, for webhooks and audit) are kept (at least 1h)")
	fs.DurationVar(&cfg.KeysReloadInterval, "keys-reload-interval", cfg.KeysReloadInterval, "how often this node rereads the signing keys, to see rotations made through other nodes (at most 5m)")
	fs.StringVar(&cfg.TrustedProxies, "trusted-proxies", "", "comma-separated IPs and CIDR ranges of reverse proxies whose X-Forwarded-For/Forwarded give the client address (default: none)")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "json or text")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	env := &envFlags{fs: fs}
	for _, b := range [][2]string{
		{"addr", "GATEHOUSE_ADDR"}, {"data-dir", "GATEHOUSE_DATA_DIR"}, {"database-url", "GATEHOUSE_DATABASE_URL"},
		{"public-url", "GATEHOUSE_PUBLIC_URL"}, {"dev", "GATEHOUSE_DEV"}, {"environment-type", "GATEHOUSE_ENVIRONMENT_TYPE"},
		{"secret-key", "GATEHOUSE_SECRET_KEY"},
		{"token-ttl", "GATEHOUSE_TOKEN_TTL"}, {"api-rate-limit", "GATEHOUSE_API_RATE_LIMIT"},
		{"api-rate-burst", "GATEHOUSE_API_RATE_BURST"}, {"shutdown-timeout", "GATEHOUSE_SHUTDOWN_TIMEOUT"},
		{"smtp-url", "GATEHOUSE_SMTP_URL"}, {"mail-from", "GATEHOUSE_MAIL_FROM"}, {"allow-signup", "GATEHOUSE_ALLOW_SIGNUP"},
		{"legacy-issuer", "GATEHOUSE_LEGACY_ISSUER"}, {"legacy-jwks-url", "GATEHOUSE_LEGACY_JWKS_URL"},
		{"legacy-hs-secret", "GATEHOUSE_LEGACY_HS_SECRET"}, {"legacy-audience", "GATEHOUSE_LEGACY_AUDIENCE"},
		{"legacy-subject-claim", "GATEHOUSE_LEGACY_SUBJECT_CLAIM"}, {"breached-passwords-url", "GATEHOUSE_BREACHED_PASSWORDS_URL"},
		{"trusted-proxies", "GATEHOUSE_TRUSTED_PROXIES"}, {"auth-log-retention", "GATEHOUSE_AUTH_LOG_RETENTION"},
		{"event-retention", "GATEHOUSE_EVENT_RETENTION"}, {"keys-reload-interval", "GATEHOUSE_KEYS_RELOAD_INTERVAL"},
		{"log-format", "GATEHOUSE_LOG_FORMAT"}, {"log-level", "GATEHOUSE_LOG_LEVEL"},
	} {
		env.bind(b[0], b[1])
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := env.apply(); err != nil {
			return err
		}
		cfg.BootstrapClientID = envString("GATEHOUSE_BOOTSTRAP_CLIENT_ID")
		cfg.BootstrapClientSecret = envString("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET")
		if err := cfg.Resolve(); err != nil {
			return fmt.Errorf("invalid configuration: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
		}
		return serve(cmd.Context(), cfg, stdout, stderr)
	}
	return cmd
}

func serve(ctx context.Context, cfg config.Config, stdout, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	// After the first signal starts the graceful stop, restore the default
	// handling so a second Ctrl-C or SIGTERM ends the process at once instead
	// of waiting out the shutdown timeout.
	go func() { <-ctx.Done(); stop() }()
	log := newLogger(cfg, stderr)
	passwords.SpareProcessor() // before server.New builds the hashing slots; logged with "gatehouse serving"
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	srv, err := server.New(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	defer srv.Close()
	printBanner(stdout, cfg, srv.Bootstrap)
	if cfg.BootstrapClientID != "" && srv.Bootstrap.ClientID == "" {
		log.Info("GATEHOUSE_BOOTSTRAP_CLIENT_ID and GATEHOUSE_BOOTSTRAP_CLIENT_SECRET ignored: the environment already has an API client")
	}
	log.Info("gatehouse serving", "addr", ln.Addr().String(), "public_url", cfg.PublicURL,
		"environment", srv.Bootstrap.EnvID, "environment_type", cfg.EnvironmentType(), "database", string(srv.Store().Dialect()),
		"gomaxprocs", runtime.GOMAXPROCS(0), "signing_engine", signing.Engine)
	if err := srv.Serve(ctx, ln); err != nil {
		return err
	}
	log.Info("gatehouse stopped")
	return nil
}

func printBanner(w io.Writer, cfg config.Config, b *server.Bootstrap) {
	fmt.Fprintf(w, "Gatehouse is running.\n  Environment URL: %s\n  Environment ID:  %s\n", cfg.PublicURL, b.EnvID)
	if b.ClientSecret == "" {
		fmt.Fprintln(w, "  API client: already created on an earlier start (its secret is stored hashed and is not shown again).")
		return
	}
	if cfg.BootstrapClientSecret != "" {
		// The operator chose this secret; echoing it would only copy it into
		// whatever collects stdout (container logs, CI output).
		fmt.Fprintf(w, "  Client ID:       %s\n  Client secret:   (the one in GATEHOUSE_BOOTSTRAP_CLIENT_SECRET)\n", b.ClientID)
		return
	}
	fmt.Fprintf(w, "  Client ID:       %s\n  Client secret:   %s\n", b.ClientID, b.ClientSecret)
	fmt.Fprintln(w, "  Save the client secret now: it is stored hashed and will not be shown again.")
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
