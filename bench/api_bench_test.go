// Package bench measures Gatehouse end to end over real loopback HTTP: the
// management API's user creation over REST and gRPC and its lookup by
// external id, on SQLite and PostgreSQL. Each benchmark family includes a
// baseline measured in the same run (an authenticated no-op-sized call:
// GET of one organization by id) so results can be read as ratios on a
// noisy, shared machine. See docs/benchmarks.md.
package bench

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"

	commonsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/commons"
	organizationsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations/organizationsv1connect"
	usersv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/users"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/users/usersv1connect"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// Concurrent clients per benchmark: parallel importers, as the guide advises.
const parallelism = 16

type env struct {
	in    *servertest.Instance
	token string
	orgs  organizationsv1connect.OrganizationServiceClient
	users usersv1connect.UserServiceClient
	http  *http.Client
	orgID string
}

func setup(b *testing.B, postgres bool) *env {
	in := servertest.Start(b, servertest.Options{Postgres: postgres})
	e := &env{in: in, token: in.Token(b)}
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	h2c := &http.Client{Transport: &http.Transport{Protocols: &p, DialContext: (&net.Dialer{}).DialContext}}
	auth := connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", "Bearer "+e.token)
			return next(ctx, req)
		}
	}))
	e.orgs = organizationsv1connect.NewOrganizationServiceClient(h2c, in.URL, connect.WithGRPC(), auth)
	e.users = usersv1connect.NewUserServiceClient(h2c, in.URL, connect.WithGRPC(), auth)
	e.http = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: parallelism * 2}}
	ext := "bench-org"
	resp, err := e.orgs.CreateOrganization(context.Background(), connect.NewRequest(&organizationsv1.CreateOrganizationRequest{
		Organization: &organizationsv1.CreateOrganization{DisplayName: "Bench", ExternalId: &ext},
	}))
	if err != nil {
		b.Fatal(err)
	}
	e.orgID = resp.Msg.GetOrganization().GetId()
	return e
}

func databases(b *testing.B, fn func(b *testing.B, postgres bool)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, false) })
	b.Run("postgres", func(b *testing.B) { fn(b, true) })
}

var seq atomic.Int64

// BenchmarkCreateUserAndMembership creates users with an ACTIVE membership,
// as an import does, over gRPC and REST, beside the GetOrganization
// baseline.
func BenchmarkCreateUserAndMembership(b *testing.B) {
	databases(b, func(b *testing.B, postgres bool) {
		e := setup(b, postgres)
		b.Run("baseline-get-organization-grpc", func(b *testing.B) {
			req := &organizationsv1.GetOrganizationRequest{Identities: &organizationsv1.GetOrganizationRequest_Id{Id: e.orgID}}
			parallel(b, func() error {
				_, err := e.orgs.GetOrganization(context.Background(), connect.NewRequest(req))
				return err
			})
		})
		b.Run("grpc", func(b *testing.B) {
			noInvite := false
			parallel(b, func() error {
				n := seq.Add(1)
				ext := fmt.Sprintf("u-%d", n)
				_, err := e.users.CreateUserAndMembership(context.Background(), connect.NewRequest(&usersv1.CreateUserAndMembershipRequest{
					OrganizationId: e.orgID, SendInvitationEmail: &noInvite,
					User: &usersv1.CreateUser{
						Email: fmt.Sprintf("user%d@example.com", n), ExternalId: &ext,
						Membership:  &usersv1.CreateMembership{Roles: []*commonsv1.Role{{Name: "member"}}},
						UserProfile: &usersv1.CreateUserProfile{FirstName: "Bench", LastName: "User"},
					},
				}))
				return err
			})
		})
		b.Run("rest", func(b *testing.B) {
			parallel(b, func() error {
				n := seq.Add(1)
				body := fmt.Sprintf(`{"email":"user%d@example.com","external_id":"u-%d","membership":{"roles":["member"]},"user_profile":{"first_name":"Bench"}}`, n, n)
				return e.rest(http.MethodPost, "/api/v1/organizations/"+e.orgID+"/users?send_invitation_email=false", body)
			})
		})
	})
}

// BenchmarkGetOrganizationByExternalID reads one organization by the
// caller's key over REST (the colon route) and gRPC.
func BenchmarkGetOrganizationByExternalID(b *testing.B) {
	databases(b, func(b *testing.B, postgres bool) {
		e := setup(b, postgres)
		b.Run("grpc", func(b *testing.B) {
			req := &organizationsv1.GetOrganizationRequest{Identities: &organizationsv1.GetOrganizationRequest_ExternalId{ExternalId: "bench-org"}}
			parallel(b, func() error {
				_, err := e.orgs.GetOrganizationByExternalId(context.Background(), connect.NewRequest(req))
				return err
			})
		})
		b.Run("rest", func(b *testing.B) {
			parallel(b, func() error { return e.rest(http.MethodGet, "/api/v1/organizations:external/bench-org", "") })
		})
	})
}

func (e *env) rest(method, path, body string) error {
	req, err := http.NewRequest(method, e.in.URL+path, bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s %s", method, path, resp.Status, buf.String())
	}
	return nil
}

// parallel runs op from parallelism goroutines per CPU and reports ops/s.
func parallel(b *testing.B, op func() error) {
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
