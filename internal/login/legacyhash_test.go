package login_test

// Issue 5 point 3 and SECURITY-BAR A07: a user imported with a legacy
// password hash signs in at /login with the right password, and that
// first sign-in replaces the hash with argon2id; a wrong password fails
// and leaves the hash alone.

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/importer"
	"github.com/gatehouse/gatehouse/internal/passwords"
)

// legacyUser is one imported user: the hash as `gatehouse import` sends
// it to the bulk import API, and the password of its public test vector
// (the same vectors as internal/passwords' known-answer tests).
type legacyUser struct {
	name, format, hash, password string
}

// legacyUsers builds one user per supported legacy format, encoding the
// vendor shapes (Firebase parameters, Keycloak credentials, Auth0's custom
// hash object) with the importer's own functions.
func legacyUsers(t *testing.T) []legacyUser {
	t.Helper()
	firebase, err := passwords.FirebaseScrypt(passwords.FirebaseParams{
		SignerKey:     "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
		SaltSeparator: "Bw==", Rounds: 8, MemCost: 14, // Firebase's published sample project
	}, "42xEC+ixf3L2lw==", "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==")
	if err != nil {
		t.Fatal(err)
	}
	// RFC 7914 §11 #1 (PBKDF2-HMAC-SHA256, 1 iteration, 64 bytes) as a
	// Keycloak realm export's credential.
	keycloak, err := passwords.Keycloak(
		fmt.Sprintf(`{"value":%q,"salt":%q,"additionalParameters":{}}`,
			b64("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"),
			base64.StdEncoding.EncodeToString([]byte("salt"))),
		`{"hashIterations":1,"algorithm":"pbkdf2-sha256","additionalParameters":{}}`)
	if err != nil {
		t.Fatal(err)
	}
	custom := func(object string) string {
		var c importer.CustomPasswordHash
		if err := json.Unmarshal([]byte(object), &c); err != nil {
			t.Fatal(err)
		}
		enc, err := c.Encode()
		if err != nil {
			t.Fatalf("%s: %v", object, err)
		}
		return enc
	}
	return []legacyUser{
		{"bcrypt", "bcrypt", "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a", "rasmuslerdorf"},
		{"argon2i", "argon2i", "$argon2i$v=19$m=256,t=2,p=1$c29tZXNhbHQ$iekCn0Y3spW+sCcFanM2xBT63UP2sghkUoHLIUpWRS8", "password"},
		{"scrypt", "scrypt", "$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI", "pleaseletmein"},
		{"firebase-scrypt", "firebase-scrypt", firebase, "user1password"},
		{"django-pbkdf2-sha256", "django-pbkdf2-sha256", "pbkdf2_sha256$100000$seasalt$BNZ6eyaNc8qFTJPjrAq99hSYb73EgAdytAtdBg2Sdcc=", "l\u00e8tmein"},
		{"keycloak-pbkdf2-sha256", "pbkdf2-sha256", keycloak, "passwd"},
		{"sha512-crypt", "sha512-crypt", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "Hello world!"},
		{"md5-crypt", "md5-crypt", "$1$rasmusle$rISCgZzpwk3UhDidwXvin0", "rasmuslerdorf"},
		{"phpass", "phpass", "$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0", "test12345"},
		{"ldap-ssha", "ldap-digest", "{SSHA}0H+zTv8o4MR4H43n03eCsvw1luG8LdB7", "secret"},
		{"salted-sha1-digest", "digest", custom(`{"algorithm":"sha1","hash":{"value":"e4a1877b0e35c47329e7ed7e58014276168a37ba","encoding":"hex"},
			"salt":{"value":"123abcdef","encoding":"utf8","position":"prefix"}}`), "password"},
		{"hmac-sha256-digest", "digest", custom(`{"algorithm":"hmac","hash":{"value":"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843","encoding":"hex",
			"digest":"sha256","key":{"value":"Jefe","encoding":"utf8"}}}`), "what do ya want for nothing?"},
	}
}

// b64 is standard base64 of bytes given in hex, as an RFC prints them.
func b64(hexBytes string) string {
	b, err := hex.DecodeString(hexBytes)
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// importLegacyUsers writes the users through the bulk import API (POST
// /api/v1/import/batches, what `gatehouse import` calls), members of one
// organization, and returns their ids in order.
func (f *fx) importLegacyUsers(users []legacyUser) []string {
	f.t.Helper()
	type membership struct {
		Org string `json:"organization_external_id"`
	}
	type row struct {
		Email        string       `json:"email"`
		ExternalID   string       `json:"external_id"`
		PasswordHash string       `json:"password_hash"`
		Memberships  []membership `json:"memberships"`
	}
	var rows []row
	for _, u := range users {
		rows = append(rows, row{Email: u.name + "@legacy.example", ExternalID: "legacy-" + u.name, PasswordHash: u.hash,
			Memberships: []membership{{Org: "legacy-co"}}})
	}
	body, _ := json.Marshal(map[string]any{
		"organizations": []map[string]string{{"external_id": "legacy-co", "display_name": "Legacy Co"}},
		"users":         rows,
	})
	code, resp := f.in.Do(f.t, f.in.Token(f.t), "POST", "/api/v1/import/batches", string(body))
	if code != http.StatusOK {
		f.t.Fatalf("import: %d %v", code, resp)
	}
	results, _ := resp["users"].([]any)
	if len(results) != len(users) {
		f.t.Fatalf("import results: %v", resp)
	}
	ids := make([]string, len(users))
	for i, r := range results {
		m, _ := r.(map[string]any)
		if m["status"] != "IMPORT_STATUS_CREATED" || m["id"] == "" {
			f.t.Fatalf("%s: import result %v", users[i].name, m)
		}
		if m["password_format"] != users[i].format {
			f.t.Errorf("%s: password format %v, want %s", users[i].name, m, users[i].format)
		}
		ids[i], _ = m["id"].(string)
	}
	return ids
}

// TestA07LegacyHashesSignIn: for every legacy format, on SQLite and
// PostgreSQL: a wrong password at /login fails and the stored hash stays
// as imported; the right one signs in and the stored hash becomes a fresh
// argon2id hash of that password; the next sign-in works with it.
func TestA07LegacyHashesSignIn(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		users := legacyUsers(t)
		ids := f.importLegacyUsers(users)
		for i, u := range users {
			t.Run(u.name, func(t *testing.T) {
				email := u.name + "@legacy.example"
				imported := f.storedHash(ids[i])
				if imported == "" {
					t.Fatal("no hash stored at import")
				}
				// Its own address, so no attempt counts against another's.
				b := f.browserFrom(fmt.Sprintf("127.0.%d.%d", 10+i, 2))
				if p := b.signInWithPassword(newAuthz(), email, u.password+"x"); p.status == http.StatusSeeOther {
					t.Fatalf("a wrong password signed in: %s", p.location)
				}
				if got := f.storedHash(ids[i]); got != imported {
					t.Fatalf("a wrong password changed the hash:\n%s\n%s", imported, got)
				}

				a := newAuthz()
				_, idt := f.tokens(b.callback(b.signInWithPassword(a, email, u.password), a), a)
				if idt["sub"] != ids[i] {
					t.Fatalf("signed in as %v, want %s", idt["sub"], ids[i])
				}
				rehashed := f.storedHash(ids[i])
				if !strings.HasPrefix(rehashed, "$argon2id$v=19$") || rehashed == imported {
					t.Fatalf("after the first sign-in the hash is %q, want a new argon2id hash", rehashed)
				}
				if ok, again, err := passwords.Verify(rehashed, u.password); !ok || again || err != nil {
					t.Fatalf("the new hash: Verify = %v, rehash %v, %v", ok, again, err)
				}

				b2 := f.browserFrom(fmt.Sprintf("127.0.%d.%d", 10+i, 3))
				a2 := newAuthz()
				b2.callback(b2.signInWithPassword(a2, email, u.password), a2)
				if got := f.storedHash(ids[i]); got != rehashed {
					t.Errorf("the second sign-in rehashed again")
				}
			})
		}
	})
}
