package tests

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"testing"

	"connectrpc.com/connect"

	commonsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/commons"
	organizationsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations/organizationsv1connect"
	usersv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/users"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/users/usersv1connect"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// TestGuideStep2InGo runs the Go walk-through of
// docs/import-organizations-and-users.md: the same code, against a live
// server, over gRPC.
func TestGuideStep2InGo(t *testing.T) {
	in := servertest.Start(t, servertest.Options{})
	if err := importTenant(context.Background(), in.URL, servertest.ClientID, servertest.ClientSecret); err != nil {
		t.Fatal(err)
	}
	code, body := in.Do(t, in.Token(t), "GET", "/api/v1/users?page_size=10", "")
	if code != 200 || body["total_size"].(float64) != 2 {
		t.Fatalf("after the import: %d %v, want 2 users", code, body)
	}
}

// --- the code below is what the docs page shows ---

func importTenant(ctx context.Context, envURL, clientID, clientSecret string) error {
	// 1. A management token from the client-credentials grant.
	resp, err := http.PostForm(envURL+"/oauth/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {clientSecret},
	})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		return err
	}

	// 2. gRPC clients over cleartext HTTP/2, sending the token on every call.
	h2c := &http.Client{Transport: &http.Transport{
		Protocols:   func() *http.Protocols { var p http.Protocols; p.SetUnencryptedHTTP2(true); return &p }(),
		DialContext: (&net.Dialer{}).DialContext,
	}}
	auth := connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", "Bearer "+tok.AccessToken)
			return next(ctx, req)
		}
	}))
	orgs := organizationsv1connect.NewOrganizationServiceClient(h2c, envURL, connect.WithGRPC(), auth)
	users := usersv1connect.NewUserServiceClient(h2c, envURL, connect.WithGRPC(), auth)

	// 3. Organizations first, keyed by your own ids.
	for _, o := range []struct{ name, externalID, plan string }{
		{"Megasoft Inc", "org_123", "enterprise"},
		{"Acme Corp", "org_456", "starter"},
	} {
		if _, err := orgs.CreateOrganization(ctx, connect.NewRequest(&organizationsv1.CreateOrganizationRequest{
			Organization: &organizationsv1.CreateOrganization{
				DisplayName: o.name, ExternalId: &o.externalID, Metadata: map[string]string{"plan": o.plan},
			},
		})); err != nil {
			return err
		}
	}

	// 4. Then users inside organizations; the path takes your external id.
	noInvite := false
	for _, u := range []struct{ email, externalID, org string }{
		{"john@example.com", "usr_987", "org_123"},
		{"jane@example.com", "usr_988", "org_456"},
	} {
		if _, err := users.CreateUserAndMembership(ctx, connect.NewRequest(&usersv1.CreateUserAndMembershipRequest{
			OrganizationId: u.org,
			User: &usersv1.CreateUser{
				Email: u.email, ExternalId: &u.externalID,
				Membership:  &usersv1.CreateMembership{Roles: []*commonsv1.Role{{Name: "admin"}}},
				UserProfile: &usersv1.CreateUserProfile{FirstName: "John", LastName: "Doe"},
			},
			SendInvitationEmail: &noInvite, // imported users are ACTIVE and verified
		})); err != nil {
			return err
		}
	}
	return nil
}
