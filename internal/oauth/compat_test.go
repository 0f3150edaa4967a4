package oauth_test

// Behaviour SCALEKIT-COMPAT sections 2 and 3 and docs/oauth.md promise
// that no other test pins down: secrets hashed at rest, the default scope,
// prompt=consent, and the picture claim.

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/accounts"
)

// rowsText returns every row of a table (each test has its own database)
// as the text of its columns, read straight from the database.
func rowsText(t *testing.T, db *sql.DB, table string) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "SELECT * FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, v := range vals {
			if raw, ok := v.([]byte); ok {
				v = string(raw)
			}
			fmt.Fprintf(&b, "%v|", v)
		}
		out = append(out, b.String())
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sha256Hex(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// TestSecretsHashedAtRest: authorization codes and refresh tokens are
// stored only as SHA-256 hashes (docs/oauth.md, Security notes): no row of
// their tables holds the token, or its random part, while the hash is
// there. A redeemed code, a pending code, a used and a fresh refresh token
// are all checked.
func TestSecretsHashedAtRest(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		ses, _ := f.login(t)
		a := goodAuthz()
		redeemed := f.code(t, a, ses)
		used := tokensOf(t, f.redeem(t, a, redeemed)).refresh
		fresh := tokensOf(t, f.refresh(t, appBasic, used)).refresh
		pending := f.code(t, a, ses)

		db := f.in.Server.Store().DB()
		for table, secrets := range map[string][]string{
			"oauth_codes":    {redeemed, pending},
			"refresh_tokens": {used, fresh},
		} {
			rows := rowsText(t, db, table)
			all := strings.Join(rows, "\n")
			for _, secret := range secrets {
				random := strings.TrimPrefix(secret, "rt_")
				if strings.Contains(all, random) {
					t.Errorf("%s holds the token %q in clear", table, secret)
				}
				if !strings.Contains(all, sha256Hex(secret)) {
					t.Errorf("%s has no row with the hash of %q: the check above proves nothing", table, secret)
				}
			}
		}
	})
}

// TestDefaultScope: an authorization request without scope gets the
// SDKs' default, openid profile email (SCALEKIT-COMPAT section 2): an ID
// token with the profile and email claims, and no refresh token.
func TestDefaultScope(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		ses, _ := f.login(t)
		a := goodAuthz()
		a.scope = ""
		if v := a.values(); v.Has("scope") {
			t.Fatalf("the request has a scope: %v", v)
		}
		r := f.redeem(t, a, f.code(t, a, ses))
		tk := tokensOf(t, r)
		if r.body["scope"] != "openid profile email" {
			t.Errorf("scope = %v, want openid profile email", r.body["scope"])
		}
		if tk.refresh != "" {
			t.Error("a refresh token without offline_access")
		}
		if tk.id == "" {
			t.Fatal("no ID token for the default scope")
		}
		_, idt := verifyJWT(t, f.in.URL, tk.id)
		if idt["email"] != userEmail || idt["given_name"] != "Ada" {
			t.Errorf("ID token email %v given_name %v, want the email and profile claims", idt["email"], idt["given_name"])
		}
	})
}

// TestPromptConsent: prompt=consent is accepted (SCALEKIT-COMPAT section
// 2) and needs no screen for first-party apps (docs/oauth.md): with a live
// session it gives a code at once, without one it leads to the login
// page, and it cannot be combined with none.
func TestPromptConsent(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		_, _, cookie := f.signIn(t)
		a := goodAuthz()
		a.extra = url.Values{"prompt": {"consent"}}
		r := f.authorize(t, a, cookie)
		u, err := url.Parse(r.location)
		if r.status != http.StatusSeeOther || err != nil {
			t.Fatalf("prompt=consent with a session: %d %q", r.status, r.location)
		}
		q := f.callback(t, u, appCB, a.state)
		if q.Get("code") == "" {
			t.Fatalf("prompt=consent with a session: no code in %s", r.location)
		}
		tokensOf(t, f.redeem(t, a, q.Get("code")))

		f.loginRequest(t, f.authorize(t, a, ""))

		a.extra = url.Values{"prompt": {"none consent"}}
		wantErrorRedirect(t, f, "prompt=none consent", f.authorize(t, a, cookie), appCB, a.state, "invalid_request")
	})
}

// TestPictureClaim: a user's picture is the picture claim of the ID token
// and of userinfo with the profile scope (SCALEKIT-COMPAT section 3), and
// absent without it.
func TestPictureClaim(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		const pic = "https://cdn.acme.example/ada.png"
		p := pic
		if _, err := f.in.Server.Accounts.UpdateUser(t.Context(), accounts.Ref{ID: f.userID},
			accounts.UserFields{Profile: accounts.ProfileFields{Picture: &p}}); err != nil {
			t.Fatal(err)
		}
		tk, _, _ := f.signIn(t)
		if _, idt := verifyJWT(t, f.in.URL, tk.id); idt["picture"] != pic {
			t.Errorf("ID token picture = %v, want %s", idt["picture"], pic)
		}
		if ui := f.userinfo(t, tk.access); ui.status != http.StatusOK || ui.body["picture"] != pic {
			t.Errorf("userinfo: %d picture %v, want %s", ui.status, ui.body["picture"], pic)
		}

		ses, _ := f.login(t)
		a := goodAuthz()
		a.scope = "openid email"
		tk = tokensOf(t, f.redeem(t, a, f.code(t, a, ses)))
		if _, idt := verifyJWT(t, f.in.URL, tk.id); idt["picture"] != nil {
			t.Errorf("ID token without the profile scope has picture %v", idt["picture"])
		}
		if ui := f.userinfo(t, tk.access); ui.body["picture"] != nil {
			t.Errorf("userinfo without the profile scope has picture %v", ui.body["picture"])
		}
	})
}
