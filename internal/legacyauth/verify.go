package legacyauth

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The headers of a verification request: the Standard Webhooks scheme that
// Gatehouse's webhooks use (SCALEKIT-COMPAT section 7), so any Standard
// Webhooks library can check them. The signature is
// "v1," + base64(HMAC-SHA256(key, id + "." + timestamp + "." + body)),
// keyed with the bytes the secret's base64 (after "whsec_") encodes.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Endpoint is the legacy endpoint as the login uses it, secret unsealed.
type Endpoint struct {
	URL                string
	Timeout            time.Duration
	CreateUnknownUsers bool
	key                []byte
}

// Profile is what the endpoint may tell about a user it verified; the
// login uses it only to create a user Gatehouse does not know yet.
type Profile struct {
	FirstName     string `json:"first_name"`
	LastName      string `json:"last_name"`
	EmailVerified bool   `json:"email_verified"`
}

// Endpoint returns the environment's legacy endpoint; nil when lazy
// migration is off. An error means the settings cannot be read or the
// secret cannot be unsealed (another master key).
func (s *Service) Endpoint(ctx context.Context) (*Endpoint, error) {
	l, err := s.Store.Q().GetLegacyAuth(ctx, s.EnvID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	secret, err := signing.Open(s.MasterKey, l.SecretEnc)
	if err != nil {
		return nil, errors.New("the lazy migration secret cannot be decrypted with this server's secret key")
	}
	b64, ok := bytes.CutPrefix(secret, []byte(SecretPrefix))
	key, err := base64.StdEncoding.DecodeString(string(b64))
	if !ok || err != nil {
		return nil, errors.New("the stored lazy migration secret is malformed")
	}
	return &Endpoint{URL: l.URL, Timeout: l.Timeout, CreateUnknownUsers: l.CreateUnknownUsers, key: key}, nil
}

// request is the JSON body Gatehouse POSTs.
type request struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// answer is the JSON body the endpoint returns with 200.
type answer struct {
	Valid *bool `json:"valid"`
	Profile
}

// Verify asks the endpoint whether password is the password of email. Only
// a 200 answer whose JSON says "valid": true counts; a redirect (never
// followed), another status, a body that is not such JSON or is larger
// than MaxResponseSize, a timeout, a TLS or network error all count as
// "not verified", and are logged with the reason but never the password.
func (s *Service) Verify(ctx context.Context, ep *Endpoint, email, password string) (Profile, bool) {
	start := time.Now()
	p, reason, err := s.call(ctx, ep, email, password)
	s.lat.add(time.Since(start))
	if reason != "" {
		s.logger().WarnContext(ctx, "lazy migration: the legacy endpoint did not verify a password", "reason", reason,
			"err", err, "elapsed", time.Since(start).Round(time.Millisecond))
		return Profile{}, false
	}
	return p, true
}

// call makes the request; reason is "" on success, otherwise a short word
// for the log (with err for network failures).
func (s *Service) call(ctx context.Context, ep *Endpoint, email, password string) (Profile, string, error) {
	body, err := json.Marshal(request{Email: email, Password: password})
	if err != nil {
		return Profile{}, "encoding", nil
	}
	ctx, cancel := context.WithTimeout(ctx, ep.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return Profile{}, "bad_url", nil
	}
	msgID, ts := newMessageID(), strconv.FormatInt(s.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Gatehouse-LazyMigration/1")
	req.Header.Set(HeaderID, msgID)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(ep.key, msgID, ts, body))
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return Profile{}, "timeout", errors.New("no answer within " + ep.Timeout.String())
		}
		return Profile{}, "unreachable", scrub(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Profile{}, "status_" + strconv.Itoa(resp.StatusCode), nil
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseSize+1))
	switch {
	case err != nil:
		return Profile{}, "reading", scrub(err)
	case len(raw) > MaxResponseSize:
		return Profile{}, "too_large", nil
	}
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil || a.Valid == nil {
		return Profile{}, "malformed_answer", nil
	}
	if !*a.Valid {
		return Profile{}, "invalid_password", nil
	}
	return a.Profile, "", nil
}

// logger is Log, or a logger that drops everything when none is set.
func (s *Service) logger() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// Sign is the webhook-signature header value for a message: Standard
// Webhooks' "v1," and the base64 HMAC-SHA256 of id.timestamp.body.
func Sign(key []byte, msgID, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msgID + "." + timestamp + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func newMessageID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "msg_" + hex.EncodeToString(b)
}

// scrub keeps a network error's message but drops the request it carries
// (the URL is in the settings anyway; the body never is in an error).
func scrub(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// Pad waits as long as a call to the endpoint takes on average, for a
// failed password login that did not call it: with lazy migration on, a
// wrong password of a user who has one, or an unknown email the endpoint
// is not asked about, then takes as long as a user the endpoint was asked
// about, so the time of a failure tells nothing about the account
// (SECURITY-BAR A03).
func (s *Service) Pad(ctx context.Context) {
	d := s.lat.get()
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
