// Package servertest starts real Gatehouse servers on loopback for tests
// and benchmarks: a real database (SQLite or PostgreSQL), real HTTP with
// h2c, and the bootstrap client's credentials to call the API with.
package servertest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/testdb"
)

// Fixed bootstrap credentials, so tests can log in without parsing output.
const (
	ClientID     = "skc_test_client"
	ClientSecret = "skcs_test_secret_0123456789abcdefghijklmnop"
)

// Instance is a running server.
type Instance struct {
	URL    string
	Server *server.Server
	Config config.Config
}

// Options adjust a test server.
type Options struct {
	// Postgres selects a fresh PostgreSQL database instead of SQLite.
	Postgres bool
	// Configure may change the configuration before the server starts.
	Configure func(*config.Config)
	// Now replaces the clock.
	Now func() time.Time
	// Log receives the server's logs; nil discards them.
	Log *slog.Logger
}

// Start runs a server until the test ends.
func Start(t testing.TB, o Options) *Instance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.Addr = ln.Addr().String()
	cfg.DataDir = t.TempDir()
	cfg.Dev = true
	cfg.APIRateLimit = 0
	cfg.BootstrapClientID, cfg.BootstrapClientSecret = ClientID, ClientSecret
	if o.Postgres {
		cfg.DatabaseURL = testdb.Postgres(t)
	}
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	if err := cfg.Resolve(); err != nil {
		t.Fatal(err)
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, log, o.Now)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
		srv.Close()
	})
	return &Instance{URL: "http://" + cfg.Addr, Server: srv, Config: cfg}
}

// Each runs fn against a SQLite server and a PostgreSQL server.
func Each(t *testing.T, o Options, fn func(t *testing.T, in *Instance)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, Start(t, o)) })
	t.Run("postgres", func(t *testing.T) {
		o := o
		o.Postgres = true
		fn(t, Start(t, o))
	})
}

// Token fetches a management access token with the bootstrap client.
func (in *Instance) Token(t testing.TB) string {
	t.Helper()
	resp, err := http.PostForm(in.URL+"/oauth/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {ClientID}, "client_secret": {ClientSecret},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("token: %s %s", resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body.AccessToken
}

// Do sends a REST request with a bearer token (none if token is empty) and
// returns the status and decoded JSON body.
func (in *Instance) Do(t testing.TB, token, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, in.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: response is not JSON: %s", method, path, raw)
		}
	}
	return resp.StatusCode, out
}
