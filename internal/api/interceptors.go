package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"

	errdetailsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/errdetails"
	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
)

// TokenVerifier checks management API bearer tokens.
type TokenVerifier interface {
	VerifyManagementToken(ctx context.Context, raw string) (*oauth.Claims, error)
}

type clientKey struct{}

// ClientID returns the API client a request was authenticated as.
func ClientID(ctx context.Context) string {
	v, _ := ctx.Value(clientKey{}).(string)
	return v
}

// guard authenticates every call, spends a rate-limit token, and turns the
// handler's errors into wire errors. One interceptor, so the order of these
// steps is plain to see: nothing runs (or is written) for a call that is
// unauthenticated or over its limit.
type guard struct {
	tokens  TokenVerifier
	limiter *ratelimit.Limiter
	now     func() time.Time
	log     *slog.Logger
}

func (g *guard) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		resp, err := g.call(ctx, req, next)
		if err != nil {
			return nil, g.wire(ctx, req.Spec().Procedure, err)
		}
		return resp, nil
	}
}

func (g *guard) call(ctx context.Context, req connect.AnyRequest, next connect.UnaryFunc) (connect.AnyResponse, error) {
	clientID, d, err := g.admit(ctx, req.Header())
	if err != nil {
		return nil, err
	}
	resp, err := next(context.WithValue(ctx, clientKey{}, clientID), req)
	if err == nil && d.Limit > 0 {
		setRateHeaders(resp.Header(), d)
	}
	return resp, err
}

// admit authenticates a call from its headers and spends its rate-limit
// token. The REST pre-checks call it too before refusing a request, so a
// caller without a valid token, or over its limit, gets 401 or 429 rather
// than a validation error.
func (g *guard) admit(ctx context.Context, h http.Header) (string, ratelimit.Decision, error) {
	raw, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
	if !ok || raw == "" {
		return "", ratelimit.Decision{}, apierr.Unauthenticated("a bearer token from /oauth/token is required")
	}
	claims, err := g.tokens.VerifyManagementToken(ctx, strings.TrimSpace(raw))
	if err != nil {
		return "", ratelimit.Decision{}, apierr.Unauthenticated("the bearer token is invalid or expired")
	}
	d := g.limiter.Take(claims.ClientID, g.now())
	if !d.Allowed {
		e := apierr.ResourceExhausted("rate limit exceeded; retry after the Retry-After interval", ceilSeconds(d.RetryAfter))
		return "", d, withRateHeaders(e, d)
	}
	return claims.ClientID, d, nil
}

// rateLimited carries the limiter's decision to wire, for the headers.
type rateLimited struct {
	err *apierr.Error
	d   ratelimit.Decision
}

func withRateHeaders(e *apierr.Error, d ratelimit.Decision) error { return &rateLimited{err: e, d: d} }

func (r *rateLimited) Error() string { return r.err.Error() }
func (r *rateLimited) Unwrap() error { return r.err }

type headerSetter interface{ Set(k, v string) }

func setRateHeaders(h headerSetter, d ratelimit.Decision) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(d.Remaining))
	h.Set("X-RateLimit-Reset", strconv.Itoa(ceilSeconds(d.Reset)))
}

func ceilSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	if s < 1 {
		return 1
	}
	return s
}

// wire converts any error into a connect error carrying Scalekit's
// ErrorInfo detail. Errors that are not API errors are logged with the
// request id and shown to the caller only as "internal error".
func (g *guard) wire(ctx context.Context, procedure string, err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) && !isAPIErr(err) {
		return ce // already a wire error (e.g. from connect itself)
	}
	if !isAPIErr(err) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			err = &apierr.Error{Code: connect.CodeCanceled, ErrorCode: "CANCELED", Message: "request canceled"}
		} else {
			g.log.ErrorContext(ctx, "request failed", "request_id", httpx.RequestID(ctx), "procedure", procedure, "err", err)
			err = apierr.Internal()
		}
	}
	return wireError(ctx, err)
}

// wireError renders an API error (anything else becomes Internal) as a
// connect error with the ErrorInfo detail and the headers it calls for.
func wireError(ctx context.Context, err error) *connect.Error {
	var ae *apierr.Error
	if !errors.As(err, &ae) {
		ae = apierr.Internal()
	}
	out := connect.NewError(ae.Code, errors.New(ae.Message))
	info := &errdetailsv1.ErrorInfo{
		ErrorCode:   ae.ErrorCode,
		RequestInfo: &errdetailsv1.RequestInfo{RequestId: httpx.RequestID(ctx)},
	}
	if len(ae.Violations) > 0 {
		info.ValidationErrorInfo = &errdetailsv1.ValidationErrorInfo{}
		for _, v := range ae.Violations {
			info.ValidationErrorInfo.FieldViolations = append(info.ValidationErrorInfo.FieldViolations,
				&errdetailsv1.FieldViolation{Field: v.Field, Description: v.Description, Constraint: v.Constraint})
		}
	}
	if d, derr := connect.NewErrorDetail(info); derr == nil {
		out.AddDetail(d)
	}
	if ae.RetryAfterSeconds > 0 {
		out.Meta().Set("Retry-After", strconv.Itoa(ae.RetryAfterSeconds))
	}
	var rl *rateLimited
	if errors.As(err, &rl) {
		setRateHeaders(out.Meta(), rl.d)
	}
	return out
}

func isAPIErr(err error) bool {
	var ae *apierr.Error
	return errors.As(err, &ae)
}

func (g *guard) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler refuses streams: the management API has none, and a
// stream must not slip past authentication.
func (g *guard) WrapStreamingHandler(connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, _ connect.StreamingHandlerConn) error {
		return connect.NewError(connect.CodeUnimplemented, errors.New("streaming is not supported"))
	}
}
