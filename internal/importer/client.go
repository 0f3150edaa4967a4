package importer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	"golang.org/x/time/rate"

	"github.com/gatehouse/gatehouse/gen/gatehouse/v1/gatehousev1connect"
	errdetailsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/errdetails"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations/organizationsv1connect"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/roles/rolesv1connect"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/users/usersv1connect"
)

// Conn calls a server's API over gRPC, as the SDKs do (h2c on http://
// URLs), with a management token from TokenSource, and retries what a
// retry can fix: 429 after its Retry-After, 401 once with a new token, and
// unavailable servers and dropped connections with backoff.
type Conn struct {
	// TokenSource returns a management access token; fresh asks for a new
	// one (the last was refused).
	TokenSource func(ctx context.Context, fresh bool) (string, error)
	// Rate, when not nil, bounds the calls per second of the whole run.
	Rate *rate.Limiter
	// Notice receives one line for each wait (rate limited, retrying).
	Notice func(string)
	// MaxRetries bounds the retries of one call for errors other than 429
	// (default 6); 429s are retried up to 100 times.
	MaxRetries int

	mu    sync.Mutex
	token string

	Import gatehousev1connect.ImportServiceClient
	Orgs   organizationsv1connect.OrganizationServiceClient
	Users  usersv1connect.UserServiceClient
	Roles  rolesv1connect.RolesServiceClient
	Export gatehousev1connect.ExportServiceClient
}

// NewConn makes a Conn for the server at base (http:// or https://).
func NewConn(base string, tokens func(ctx context.Context, fresh bool) (string, error)) *Conn {
	base = strings.TrimRight(base, "/")
	hc := &http.Client{Timeout: 10 * time.Minute} // a batch of fast digests costs 1,000 argon2id
	if strings.HasPrefix(base, "http://") {
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		hc.Transport = &http.Transport{Protocols: &p}
	}
	c := &Conn{TokenSource: tokens}
	opts := []connect.ClientOption{connect.WithGRPC(), connect.WithInterceptors(c.auth())}
	c.Import = gatehousev1connect.NewImportServiceClient(hc, base, opts...)
	c.Orgs = organizationsv1connect.NewOrganizationServiceClient(hc, base, opts...)
	c.Users = usersv1connect.NewUserServiceClient(hc, base, opts...)
	c.Roles = rolesv1connect.NewRolesServiceClient(hc, base, opts...)
	c.Export = gatehousev1connect.NewExportServiceClient(hc, base, opts...)
	return c
}

func (c *Conn) auth() connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			c.mu.Lock()
			tok := c.token
			c.mu.Unlock()
			req.Header().Set("Authorization", "Bearer "+tok)
			return next(ctx, req)
		}
	}
}

func (c *Conn) refresh(ctx context.Context, fresh bool) error {
	tok, err := c.TokenSource(ctx, fresh)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.token = tok
	c.mu.Unlock()
	return nil
}

// Start fetches the first token.
func (c *Conn) Start(ctx context.Context) error { return c.refresh(ctx, false) }

// Do runs call, retrying as the Conn's comment says. The error returned
// is call's last, or the context's.
func (c *Conn) Do(ctx context.Context, call func(ctx context.Context) error) error {
	maxRetries := c.MaxRetries
	if maxRetries == 0 {
		maxRetries = 6
	}
	refreshed := false
	retries, limited := 0, 0
	backoff := 500 * time.Millisecond
	for {
		if c.Rate != nil {
			if err := c.Rate.Wait(ctx); err != nil {
				return err
			}
		}
		err := call(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ce *connect.Error
		if !errors.As(err, &ce) {
			return err
		}
		var wait time.Duration
		switch code := ce.Code(); {
		case code == connect.CodeUnauthenticated && !refreshed:
			refreshed = true
			if rerr := c.refresh(ctx, true); rerr != nil {
				return fmt.Errorf("%w (and a new token: %v)", err, rerr)
			}
			continue
		case code == connect.CodeResourceExhausted && ce.Meta().Get("Retry-After") != "":
			if limited++; limited > 100 {
				return err
			}
			secs, _ := strconv.Atoi(ce.Meta().Get("Retry-After"))
			wait = time.Duration(max(secs, 1)) * time.Second
			c.notice(fmt.Sprintf("rate limited by the server; waiting %s (Retry-After)", wait))
		case code == connect.CodeUnavailable || code == connect.CodeUnknown || code == connect.CodeInternal ||
			code == connect.CodeDeadlineExceeded || code == connect.CodeAborted:
			if retries++; retries > maxRetries {
				return err
			}
			wait = backoff + rand.N(backoff/2)
			backoff = min(backoff*2, 30*time.Second)
			c.notice(fmt.Sprintf("%v; retrying in %s", err, wait.Round(time.Millisecond)))
		default:
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (c *Conn) notice(s string) {
	if c.Notice != nil {
		c.Notice(s)
	}
}

// describe renders an API error as one line: its message and each field
// violation ("invalid request: users: must have at most 1000 rows").
func describe(err error) string {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return err.Error()
	}
	msg := ce.Message()
	for _, d := range ce.Details() {
		v, derr := d.Value()
		info, ok := v.(*errdetailsv1.ErrorInfo)
		if derr != nil || !ok {
			continue
		}
		var parts []string
		for _, fv := range info.GetValidationErrorInfo().GetFieldViolations() {
			parts = append(parts, fv.GetField()+": "+fv.GetDescription())
		}
		if len(parts) > 0 {
			msg += ": " + strings.Join(parts, "; ")
		}
	}
	return msg
}
