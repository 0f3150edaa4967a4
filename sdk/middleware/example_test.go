package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/middleware"
)

// Protecting an API: RequireAuth first, then the role check. A request
// without a token gets the RFC 6750 challenge.
func ExampleRequireAuth() {
	client, _ := sdk.New("https://auth.example.com", "skc_123", "skcs_secret")
	api := middleware.RequireAuth(client, middleware.WithRealm("projects"))(
		middleware.RequireRole("admin")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintln(w, "hello", middleware.ClaimsFrom(r.Context()).Subject)
		})))

	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/projects", nil))
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	// Output: 401 Bearer realm="projects"
}

// Role and permission checks read the claims RequireAuth put in the
// context (WithClaims stands in for it here).
func ExampleRequirePermission() {
	h := middleware.RequirePermission("projects:delete")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "deleted")
	}))
	for _, perms := range [][]string{{"projects:create"}, {"projects:create", "projects:delete"}} {
		req := httptest.NewRequest(http.MethodDelete, "/projects/1", nil)
		req = req.WithContext(middleware.WithClaims(req.Context(), &sdk.Claims{Subject: "usr_1", Permissions: perms}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	// Output:
	// 403 forbidden: requires the permission projects:delete
	// 200 deleted
}

// A rollout to 10% of users: each user's side is fixed by a hash of their
// key, the lists pin people, and 0% is the rollback.
func ExampleRouter() {
	rt, _ := middleware.NewRouter(middleware.RouterConfig{
		Percent: 10, Salt: "2026-rollout", Allow: []string{"qa@acme.example"}, Deny: []string{"ceo@acme.example"},
		Gatehouse: http.NotFoundHandler(), Legacy: http.NotFoundHandler(),
	})
	for _, u := range []string{"qa@acme.example", "ceo@acme.example", "ada@acme.example"} {
		d := rt.Decide(u)
		fmt.Println(u, d.Path(), d.Reason)
	}
	_ = rt.SetPercent(0)
	fmt.Println("after rollback:", rt.Decide("ada@acme.example").Path())
	// Output:
	// qa@acme.example gatehouse allow_list
	// ceo@acme.example legacy deny_list
	// ada@acme.example legacy percentage
	// after rollback: legacy
}
