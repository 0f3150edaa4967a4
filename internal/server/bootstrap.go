package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/clients"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Bootstrap says what a start created, so the CLI can print the first
// client's secret the one time it exists in clear.
type Bootstrap struct {
	EnvID        string
	ClientID     string // set only when this start created the first client
	ClientSecret string
}

// ensureEnvironment creates, on first start, the environment; later starts
// reuse it.
func ensureEnvironment(ctx context.Context, st *store.Store, ids *id.Generator, now func() time.Time, cfg *config.Config) (*Bootstrap, error) {
	b := &Bootstrap{}
	err := st.Tx(ctx, func(q *store.Q) error {
		if err := q.LockBootstrap(ctx); err != nil {
			return err
		}
		env, err := q.FirstEnvironment(ctx)
		if errors.Is(err, store.ErrNotFound) {
			var key [32]byte
			if _, err := rand.Read(key[:]); err != nil {
				return err
			}
			env = &store.Environment{ID: ids.New(id.Environment), Type: cfg.EnvironmentType(),
				PageTokenKey: base64.StdEncoding.EncodeToString(key[:]), CreatedAt: now()}
			err = q.CreateEnvironment(ctx, env)
		}
		if err != nil {
			return err
		}
		if env.Type != cfg.EnvironmentType() {
			if err := q.SetEnvironmentType(ctx, env.ID, cfg.EnvironmentType()); err != nil {
				return err
			}
		}
		b.EnvID = env.ID
		return nil
	})
	return b, err
}

// ensureFirstClient creates the environment's first API client (with the
// operator's chosen credentials if given) when it has none; once a client
// exists the bootstrap credentials are ignored. It runs as the last step of
// a start, so a start that fails part-way never stores a client whose
// secret was not shown.
func ensureFirstClient(ctx context.Context, st *store.Store, cfg *config.Config, cs *clients.Service, b *Bootstrap) error {
	return st.Tx(ctx, func(q *store.Q) error {
		if err := q.LockBootstrap(ctx); err != nil {
			return err
		}
		n, err := q.CountAPIClients(ctx, b.EnvID)
		if err != nil || n > 0 {
			return err
		}
		b.ClientID, b.ClientSecret, err = cs.Create(ctx, q, "default", cfg.BootstrapClientID, cfg.BootstrapClientSecret)
		return err
	})
}

// masterKey returns the key that encrypts signing keys at rest: the
// configured one, or one generated into the data directory on first start.
func masterKey(cfg *config.Config) ([]byte, error) {
	if cfg.SecretKey != "" {
		return base64.StdEncoding.DecodeString(cfg.SecretKey)
	}
	path := filepath.Join(cfg.DataDir, "secret.key")
	if raw, err := os.ReadFile(path); err == nil {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
		if err != nil || len(k) != 32 {
			return nil, fmt.Errorf("%s is not a base64 32-byte key", path)
		}
		return k, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the data directory: %w", err)
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(k)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("cannot write the secret key: %w", err)
	}
	return k, nil
}
