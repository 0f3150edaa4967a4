package oauth_test

import (
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/internal/clients"
	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// TestRefreshClientAuthentication: the client and its secrets are read in
// one statement (GetClientCredentials); every rule of authenticateClient
// must still hold at the refresh grant, on both databases: Basic or form,
// never both; a wrong secret, an unknown client and a deleted one are
// invalid_client (the last two alike, byte for byte); a confidential
// client cannot name itself without its secret; another client cannot use
// the token.
func TestRefreshClientAuthentication(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		tk, _, _ := f.signIn(t)
		rt := tk.refresh
		rotate := func(what string, r response) {
			t.Helper()
			if r.status != http.StatusOK {
				t.Fatalf("%s: %d %s", what, r.status, r.raw)
			}
			rt = tokensOf(t, r).refresh
		}
		rotate("Basic", f.refresh(t, appBasic, rt))
		rotate("form", f.refresh(t, nil, rt, "client_id", servertest.ClientID, "client_secret", servertest.ClientSecret))

		wantClientError := func(what string, r response, basic bool) {
			t.Helper()
			if r.status != http.StatusUnauthorized || r.body["error"] != "invalid_client" {
				t.Errorf("%s: %d %s, want 401 invalid_client", what, r.status, r.raw)
			}
			if got := r.header.Get("WWW-Authenticate"); (got != "") != basic {
				t.Errorf("%s: WWW-Authenticate %q", what, got)
			}
		}
		wantClientError("wrong secret (Basic)", f.refresh(t, []string{servertest.ClientID, servertest.ClientSecret + "x"}, rt), true)
		wantClientError("wrong secret (form)", f.refresh(t, nil, rt, "client_id", servertest.ClientID, "client_secret", "skcs_wrong"), false)
		wantClientError("no secret", f.refresh(t, nil, rt, "client_id", servertest.ClientID), false)
		wantClientError("another client's secret", f.refresh(t, []string{servertest.ClientID, otherSecret}, rt), true)
		wantClientError("a public client with a secret", f.refresh(t, nil, rt, "client_id", spaID, "client_secret", "x"), false)
		if r := f.refresh(t, appBasic, rt, "client_secret", servertest.ClientSecret); r.status != http.StatusBadRequest ||
			r.body["error"] != "invalid_request" {
			t.Errorf("Basic and form together: %d %s", r.status, r.raw)
		}
		if r := f.refresh(t, []string{otherID, otherSecret}, rt); r.status != http.StatusBadRequest || r.body["error"] != "invalid_grant" {
			t.Errorf("another client's use of the token: %d %s", r.status, r.raw)
		}
		rotate("after the refusals", f.refresh(t, appBasic, rt))

		// Deleted: refused at once, as an unknown client is.
		st := f.in.Server.Store()
		cs := &clients.Service{Store: st, IDs: id.NewGenerator(f.clk.Now), Now: f.clk.Now, EnvID: f.in.Server.Bootstrap.EnvID}
		if err := cs.Delete(t.Context(), servertest.ClientID); err != nil {
			t.Fatal(err)
		}
		gone := f.refresh(t, nil, rt, "client_id", servertest.ClientID, "client_secret", servertest.ClientSecret)
		unknown := f.refresh(t, nil, rt, "client_id", "skc_never_existed", "client_secret", servertest.ClientSecret)
		wantClientError("deleted client", gone, false)
		if string(gone.raw) != string(unknown.raw) {
			t.Errorf("deleted client %s, unknown client %s: want the same answer", gone.raw, unknown.raw)
		}
	})
}
