package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// OAuthError is an error answer of the token endpoint (RFC 6749 section
// 5.2), such as invalid_grant for a used code or a revoked refresh token.
type OAuthError struct {
	StatusCode  int    // the HTTP status
	Code        string // error: invalid_grant, invalid_client, ...
	Description string // error_description
}

// Error implements error.
func (e *OAuthError) Error() string {
	if e.Description == "" {
		return fmt.Sprintf("gatehouse: %s (HTTP %d)", e.Code, e.StatusCode)
	}
	return fmt.Sprintf("gatehouse: %s: %s (HTTP %d)", e.Code, e.Description, e.StatusCode)
}

// IsInvalidGrant reports whether err is the token endpoint's invalid_grant:
// the code, refresh token or subject token is unusable for good (used,
// expired, revoked, unknown), so the user must sign in again. Other errors
// (network, server_error) may be worth a retry.
func IsInvalidGrant(err error) bool {
	var oe *OAuthError
	return errors.As(err, &oe) && oe.Code == "invalid_grant"
}

// tokenResponse is the token endpoint's JSON answer.
type tokenResponse struct {
	AccessToken     string `json:"access_token"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int64  `json:"expires_in"`
	RefreshToken    string `json:"refresh_token"`
	IDToken         string `json:"id_token"`
	Scope           string `json:"scope"`
	IssuedTokenType string `json:"issued_token_type"`
}

// maxResponseBytes bounds what the SDK reads from the token endpoint and
// the JWKS.
const maxResponseBytes = 1 << 20

// postToken sends a grant to /oauth/token, authenticating the client in
// the form body (client_secret_post) as Scalekit's SDKs do.
func (c *Client) postToken(ctx context.Context, form url.Values) (*tokenResponse, error) {
	form.Set("client_id", c.clientID)
	if c.clientSecret != "" {
		form.Set("client_secret", c.clientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.envURL+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("gatehouse: token endpoint: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("gatehouse: token endpoint: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		oe := &OAuthError{StatusCode: resp.StatusCode}
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			oe.Code, oe.Description = e.Error, e.Description
		} else {
			oe.Code = "server_error"
		}
		return nil, oe
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, fmt.Errorf("gatehouse: token endpoint answered something that is not JSON: %w", err)
	}
	if tr.AccessToken == "" {
		return nil, errors.New("gatehouse: token endpoint answered without an access_token")
	}
	return &tr, nil
}

// clientCredentials fetches a management token.
func (c *Client) clientCredentials(ctx context.Context) (string, time.Duration, error) {
	tr, err := c.postToken(ctx, url.Values{"grant_type": {"client_credentials"}})
	if err != nil {
		return "", 0, err
	}
	return tr.AccessToken, time.Duration(tr.ExpiresIn) * time.Second, nil
}

// tokenSource caches the management token and renews it before it
// expires: once a fifth of its life (at most five minutes) is left. Of
// any number of callers that find it due, one fetches and the others wait
// for that fetch (singleflight).
type tokenSource struct {
	fetch func(ctx context.Context) (string, time.Duration, error)
	now   func() time.Time

	mu      sync.Mutex
	tok     string
	renewAt time.Time
	group   singleflight.Group
}

// maxRenewMargin caps how early a token is renewed.
const maxRenewMargin = 5 * time.Minute

func (ts *tokenSource) token(ctx context.Context) (string, error) {
	ts.mu.Lock()
	tok, renewAt := ts.tok, ts.renewAt
	ts.mu.Unlock()
	if tok != "" && ts.now().Before(renewAt) {
		return tok, nil
	}
	// The fetch outlives any one caller's cancellation: others may be
	// waiting on it.
	ch := ts.group.DoChan("token", func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultTimeout)
		defer cancel()
		issued := ts.now()
		tok, ttl, err := ts.fetch(fctx)
		if err != nil {
			return "", err
		}
		margin := min(ttl/5, maxRenewMargin)
		ts.mu.Lock()
		ts.tok, ts.renewAt = tok, issued.Add(ttl-margin)
		ts.mu.Unlock()
		return tok, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// invalidate drops tok if it is still the cached token, so the next call
// fetches a new one.
func (ts *tokenSource) invalidate(tok string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.tok == tok {
		ts.tok = ""
	}
}
