package api_test

// The per-client token bucket: 429 / ResourceExhausted over the limit, with
// the headers a client backs off by, and nothing written.

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	organizationsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// clock is a server clock that moves only when told, so the bucket does
// not refill while a slow machine makes the calls.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// limited runs fn against servers allowing 5 calls per second, burst 5.
func limited(t *testing.T, fn func(t *testing.T, h *harness, c *clock)) {
	t.Parallel()
	c := &clock{t: time.Now().UTC().Truncate(time.Microsecond)}
	o := servertest.Options{Now: c.Now, Configure: func(cfg *config.Config) { cfg.APIRateLimit, cfg.APIRateBurst = 5, 5 }}
	servertest.Each(t, o, func(t *testing.T, in *servertest.Instance) {
		fn(t, newHarness(t, in, in.Token(t)), c)
	})
}

func (h *harness) listOrgs() *http.Response {
	h.t.Helper()
	resp, _ := h.raw(h.newRequest("GET", "/api/v1/organizations", nil))
	return resp
}

func TestRateLimitRefusesTheCallOverTheBurstWithRetryHeaders(t *testing.T) {
	limited(t, func(t *testing.T, h *harness, c *clock) {
		for i := 1; i <= 5; i++ {
			resp := h.listOrgs()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("call %d: status %d", i, resp.StatusCode)
			}
			if got, want := resp.Header.Get("X-RateLimit-Remaining"), strconv.Itoa(5-i); got != want {
				t.Errorf("call %d: X-RateLimit-Remaining %q, want %q", i, got, want)
			}
		}
		req := h.newRequest("GET", "/api/v1/organizations", nil)
		resp, raw := h.raw(req)
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("6th call: status %d, want 429; %s", resp.StatusCode, raw)
		}
		if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
			t.Errorf("Retry-After %q, want whole seconds >= 1", resp.Header.Get("Retry-After"))
		}
		if resp.Header.Get("X-RateLimit-Limit") != "5" || resp.Header.Get("X-RateLimit-Remaining") != "0" {
			t.Errorf("X-RateLimit-Limit %q, -Remaining %q; want 5 and 0",
				resp.Header.Get("X-RateLimit-Limit"), resp.Header.Get("X-RateLimit-Remaining"))
		}
		if reset, err := strconv.Atoi(resp.Header.Get("X-RateLimit-Reset")); err != nil || reset < 1 {
			t.Errorf("X-RateLimit-Reset %q, want seconds >= 1", resp.Header.Get("X-RateLimit-Reset"))
		}
		status, body := h.rest("GET", "/api/v1/organizations", "")
		wantREST(t, status, body, http.StatusTooManyRequests, "RATE_LIMITED")

		// Once Retry-After has passed, calls go through again.
		c.Advance(time.Second)
		if resp := h.listOrgs(); resp.StatusCode != http.StatusOK {
			t.Errorf("after Retry-After: status %d, want 200", resp.StatusCode)
		}
	})
}

func TestRateLimitAnswersResourceExhaustedOverGRPC(t *testing.T) {
	limited(t, func(t *testing.T, h *harness, _ *clock) {
		list := func() error {
			_, err := h.grpcOrgs.ListOrganization(ctx, connect.NewRequest(&organizationsv1.ListOrganizationsRequest{}))
			return err
		}
		for i := 1; i <= 5; i++ {
			if err := list(); err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
		}
		err := list()
		wantRPC(t, err, connect.CodeResourceExhausted)
		var ce *connect.Error
		if errors.As(err, &ce) && ce.Meta().Get("Retry-After") == "" {
			t.Errorf("gRPC error metadata %v has no Retry-After", ce.Meta())
		}
	})
}

func TestRateLimitedCreateWritesNothing(t *testing.T) {
	limited(t, func(t *testing.T, h *harness, c *clock) {
		for range 5 {
			h.listOrgs()
		}
		status, body := h.rest("POST", "/api/v1/organizations", `{"display_name":"Too many","external_id":"late"}`)
		wantREST(t, status, body, http.StatusTooManyRequests, "RATE_LIMITED")
		_, err := h.grpcOrgs.CreateOrganization(ctx, connect.NewRequest(&organizationsv1.CreateOrganizationRequest{
			Organization: &organizationsv1.CreateOrganization{DisplayName: "Too many"}}))
		wantRPC(t, err, connect.CodeResourceExhausted)
		c.Advance(2 * time.Second)
		if o, _ := h.counts(); o != 0 {
			t.Errorf("%d organizations exist after rate-limited creates", o)
		}
		// And the external id was never taken.
		h.createOrg("On time", "late")
	})
}

func TestSuccessfulCallsCarryRateLimitHeaders(t *testing.T) {
	limited(t, func(t *testing.T, h *harness, _ *clock) {
		req := h.newRequest("POST", "/api/v1/organizations", strings.NewReader(`{"display_name":"Org"}`))
		resp, raw := h.raw(req)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, raw)
		}
		if resp.Header.Get("X-RateLimit-Limit") != "5" || resp.Header.Get("X-RateLimit-Remaining") != "4" || resp.Header.Get("X-RateLimit-Reset") == "" {
			t.Errorf("headers %v, want X-RateLimit-Limit 5, -Remaining 4 and -Reset", resp.Header)
		}
		gresp, err := h.grpcOrgs.ListOrganization(ctx, connect.NewRequest(&organizationsv1.ListOrganizationsRequest{}))
		if err != nil {
			t.Fatal(err)
		}
		if gresp.Header().Get("X-RateLimit-Limit") != "5" || gresp.Header().Get("X-RateLimit-Remaining") != "3" {
			t.Errorf("gRPC response headers %v, want X-RateLimit-Limit 5, -Remaining 3", gresp.Header())
		}
	})
}

func TestRateLimitZeroMeansNoLimit(t *testing.T) {
	o := servertest.Options{Configure: func(cfg *config.Config) { cfg.APIRateLimit = 0 }}
	eachWith(t, o, func(t *testing.T, h *harness) {
		for i := range 50 {
			resp := h.listOrgs()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("call %d: status %d with no limit", i+1, resp.StatusCode)
			}
			if resp.Header.Get("X-RateLimit-Limit") != "" {
				t.Fatalf("X-RateLimit-Limit %q with no limit", resp.Header.Get("X-RateLimit-Limit"))
			}
		}
	})
}

func TestRateLimitBucketIsSharedByAllTokensOfAClient(t *testing.T) {
	limited(t, func(t *testing.T, h *harness, _ *clock) {
		for range 6 {
			h.listOrgs()
		}
		// A second token for the same client shares its bucket.
		other := newHarness(t, h.Instance, h.Token(t))
		if resp := other.listOrgs(); resp.StatusCode != http.StatusTooManyRequests {
			t.Errorf("a new token of the same client: status %d, want 429", resp.StatusCode)
		}
	})
}

func TestRequestsRefusedAsBadInputCountTowardsTheLimit(t *testing.T) {
	limited(t, func(t *testing.T, h *harness, _ *clock) {
		for i := 1; i <= 5; i++ {
			status, body := h.rest("POST", "/api/v1/organizations", `{"display_name":`)
			wantREST(t, status, body, http.StatusBadRequest, "INVALID_ARGUMENT", "body")
		}
		req := h.newRequest("POST", "/api/v1/organizations", strings.NewReader(`{"display_name":`))
		resp, raw := h.raw(req)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || resp.Header.Get("X-RateLimit-Limit") != "5" {
			t.Errorf("6th bad request: status %d, headers %v; want 429 with Retry-After and X-RateLimit-*; %s", resp.StatusCode, resp.Header, raw)
		}
	})
}
