// Package clients manages API clients (skc_...) and checks their secrets.
// Secrets are 256 random bits, so a single SHA-256 is a sound way to store
// them (no password stretching is needed for a key that cannot be guessed);
// comparisons are constant-time, and an unknown client costs the same work
// as a known one.
package clients

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/store"
)

// SecretPrefix starts every client secret.
const SecretPrefix = "skcs_"

// ErrInvalidClient is returned for an unknown client or a wrong secret,
// without saying which.
var ErrInvalidClient = errors.New("invalid client credentials")

// Service creates and authenticates clients of one environment.
type Service struct {
	Store *store.Store
	IDs   *id.Generator
	Now   func() time.Time
	EnvID string
}

// Create makes a client named name. Empty clientID and secret are generated;
// set ones (from GATEHOUSE_BOOTSTRAP_*) are checked and used as given. The
// secret is returned once and only its hash is stored.
func (s *Service) Create(ctx context.Context, q *store.Q, name, clientID, secret string) (string, string, error) {
	if clientID == "" {
		clientID = s.IDs.New(id.Client)
	}
	if secret == "" {
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", "", err
		}
		secret = SecretPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	}
	if !strings.HasPrefix(clientID, id.Client+"_") || len(clientID) < 8 {
		return "", "", errors.New("client id must start with skc_")
	}
	if len(secret) < 32 {
		return "", "", errors.New("client secret must be at least 32 characters")
	}
	now := s.Now()
	err := q.CreateAPIClient(ctx, &store.APIClient{ID: clientID, EnvID: s.EnvID, Name: name, CreatedAt: now},
		&store.ClientSecret{ID: s.IDs.New(id.ClientSecret), EnvID: s.EnvID, ClientID: clientID, SecretHash: Hash(secret),
			Hint: secret[len(secret)-4:], CreatedAt: now})
	return clientID, secret, err
}

// Authenticate checks a client's secret.
func (s *Service) Authenticate(ctx context.Context, clientID, secret string) error {
	hashes, err := s.Store.Q().ClientSecretHashes(ctx, s.EnvID, clientID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return Verify(hashes, secret)
}

// Verify checks secret against a client's stored secret hashes, as read
// with the client (store.GetClientCredentials) or by Authenticate: the
// comparison is constant-time, and no hashes at all is ErrInvalidClient
// after the same work as a wrong secret.
func Verify(hashes []string, secret string) error {
	known := len(hashes) > 0
	if !known {
		// A client without secrets (unknown, deleted or public) is
		// compared anyway, so refusing it costs what a wrong secret does.
		hashes = []string{Hash("no such client: compare anyway so timing says nothing")}
	}
	got := []byte(Hash(secret))
	ok := 0
	for _, h := range hashes {
		ok |= subtle.ConstantTimeCompare(got, []byte(h))
	}
	if ok != 1 || !known {
		return ErrInvalidClient
	}
	return nil
}

// Hash is the stored form of a secret.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
