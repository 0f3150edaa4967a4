package oauth_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// TestRefreshRefusalsChangeNothing: the rotation's common case claims the
// token before it knows the token's scope, so a refresh asking for a scope
// that was not granted must roll back. Presented again past the grace, the
// token still rotates (had the refusal burned it, this would be reuse).
func TestRefreshRefusalsChangeNothing(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		tk, _, _ := f.signIn(t)
		wantGrantError(t, "wider scope", f.refresh(t, appBasic, tk.refresh, "scope", "openid admin"), "invalid_scope")
		f.clk.Set(f.clk.Now().Add(time.Minute))
		next := tokensOf(t, f.refresh(t, appBasic, tk.refresh))
		if !f.active(t, next.refresh) || !f.active(t, next.access) {
			t.Error("the rotation after an invalid_scope refusal gave inactive tokens")
		}
	})
}

// TestRefreshReadsThePolicyEachTime: the access token's lifetime comes
// from the session policy as stored at each refresh (read in the same
// query as the grant and the user).
func TestRefreshReadsThePolicyEachTime(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		tk, _, _ := f.signIn(t)
		rt := tk.refresh
		for i, ttl := range []int32{600, 120, 0} {
			if ttl > 0 {
				if err := f.in.Server.Store().Q().PutSessionPolicy(t.Context(), &store.SessionPolicy{EnvID: f.in.Server.Bootstrap.EnvID,
					AccessTokenTTLSeconds: ttl, AbsoluteTimeoutMinutes: 24 * 60, UpdatedAt: t0}); err != nil {
					t.Fatal(err)
				}
			} else if _, err := f.in.Server.Store().DB().ExecContext(t.Context(), `DELETE FROM session_policies`); err != nil {
				t.Fatal(err)
			}
			want := float64(ttl)
			if ttl == 0 {
				want = 299 // none stored: the default
			}
			f.clk.Set(f.clk.Now().Add(10 * time.Second))
			r := f.refresh(t, appBasic, rt)
			if r.body["expires_in"] != want {
				t.Errorf("refresh %d: expires_in = %v, want %v", i, r.body["expires_in"], want)
			}
			rt = tokensOf(t, r).refresh
		}
	})
}

// TestRefreshPermissionsAreCurrent: the permissions a refreshed access
// token carries (read with the roles, inside the rotation's transaction)
// are those of the roles as they are now, on both databases.
func TestRefreshPermissionsAreCurrent(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		mgmt := func(method, path, body string) {
			t.Helper()
			if st, out := f.in.Do(t, f.in.Token(t), method, path, body); st != http.StatusOK {
				t.Fatalf("%s %s: %d %v", method, path, st, out)
			}
		}
		perms := func(what string, r response, want ...string) string {
			t.Helper()
			tk := tokensOf(t, r)
			if _, at := verifyJWT(t, f.in.URL, tk.access); !slices.Equal(strList(at["permissions"]), want) {
				t.Errorf("%s: permissions = %v, want %v", what, at["permissions"], want)
			}
			return tk.refresh
		}
		mgmt(http.MethodPost, "/api/v1/permissions", `{"name":"projects:create"}`)
		mgmt(http.MethodPost, "/api/v1/permissions", `{"name":"projects:read"}`)
		mgmt(http.MethodPost, "/api/v1/roles/admin/permissions", `{"permission_names":["projects:create"]}`)
		tk, _, _ := f.signIn(t)
		rt := perms("first refresh", f.refresh(t, appBasic, tk.refresh), "projects:create")
		mgmt(http.MethodPost, "/api/v1/roles/admin/permissions", `{"permission_names":["projects:read"]}`)
		rt = perms("after a grant to the role", f.refresh(t, appBasic, rt), "projects:create", "projects:read")
		mgmt(http.MethodPatch, "/api/v1/memberships/organizations/"+f.orgID+"/users/"+f.userID, `{"roles":[{"name":"member"}]}`)
		perms("after a role change", f.refresh(t, appBasic, rt))
	})
}
