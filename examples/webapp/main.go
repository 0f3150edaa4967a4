// Command webapp is a small web app that signs users in with Gatehouse
// through the Go SDK: the login redirect with state, nonce and PKCE, the
// callback, a server-side cookie session whose access token is renewed
// transparently, a page only admins see, logout, and the cut-over from a
// legacy auth system (a fake one, built in): both kinds of sessions
// accepted with one claims shape, a share of users sent to Gatehouse, and
// users signed in to the old system carried over without a new sign-in.
//
// Run it beside a Gatehouse in development mode:
//
//	gatehouse serve --dev \
//	  --legacy-issuer http://localhost:3000/legacy \
//	  --legacy-jwks-url http://localhost:3000/legacy/jwks --legacy-audience legacy-webapp
//	gatehouse redirects add http://localhost:3000/callback --client-id skc_... --client-secret skcs_...
//	gatehouse redirects add http://localhost:3000/bye --kind post-logout --client-id skc_... --client-secret skcs_...
//	GATEHOUSE_ENVIRONMENT_URL=http://127.0.0.1:8080 GATEHOUSE_CLIENT_ID=skc_... \
//	  GATEHOUSE_CLIENT_SECRET=skcs_... go run ./examples/webapp
//
// and open http://localhost:3000. README.md beside this file explains the
// cut-over controls.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	addr := flag.String("addr", "localhost:3000", "listen address")
	appURL := flag.String("app-url", "http://localhost:3000", "URL browsers use for this app")
	percent := flag.Int("cutover-percent", 100, "share of users sent to Gatehouse; 0 rolls back to the legacy login")
	legacyUsers := flag.String("legacy-users", "legacy-ada:ada@acme.example:admin",
		"accounts of the fake legacy system: id:email:role,... (the id is the user's external_id at Gatehouse)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	var users []LegacyUser
	for _, u := range strings.Split(*legacyUsers, ",") {
		if p := strings.Split(u, ":"); len(p) == 3 {
			users = append(users, LegacyUser{ID: p[0], Email: p[1], Roles: []string{p[2]}})
		}
	}
	app, err := New(Config{GatehouseURL: os.Getenv("GATEHOUSE_ENVIRONMENT_URL"), ClientID: os.Getenv("GATEHOUSE_CLIENT_ID"),
		ClientSecret: os.Getenv("GATEHOUSE_CLIENT_SECRET"), AppURL: strings.TrimRight(*appURL, "/"), CutoverPercent: *percent,
		LegacyUsers: users, Log: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, "webapp:", err)
		os.Exit(1)
	}
	log.Info("example app listening", "url", *appURL)
	srv := &http.Server{Addr: *addr, Handler: app, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "webapp:", err)
		os.Exit(1)
	}
}
