package importer

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/passwords"
)

// TestClerkHashers: each hasher Clerk documents with a digest form is read
// into a hash that verifies its password (and not another), and asks for
// the argon2id rehash at the first login. Vectors:
//   - scrypt_werkzeug (scrypt): the example of the WerkzeugSecurityCLI
//     README (PyPI), made with Werkzeug's generate_password_hash; checked
//     with Python's hashlib.scrypt.
//   - scrypt_werkzeug (pbkdf2) and pbkdf2_sha512: computed from the
//     definitions with Python's hashlib.pbkdf2_hmac (Werkzeug and pip were
//     not available), e.g. hashlib.pbkdf2_hmac("sha256", b"correct horse",
//     b"Gm2uNf9Xw4cTQkP8", 600000).hex().
//   - bcrypt_peppered: crypt_blowfish's wrapper.c vector bcrypt("U*U") as
//     password "U*" with pepper "U".
func TestClerkHashers(t *testing.T) {
	const werkzeugScrypt = "scrypt:32768:8:1$pyMfKdIqwYxw0GOT$6d49052bdf9cffb2288d7cb198d7bed5566f284932dad0c74b3948866b1468220afd93e9aa17069c4a2403d33747e5e71981c3c552d751a0e249642b6641bac5"
	for _, c := range []struct{ hasher, digest, password string }{
		{"scrypt_werkzeug", werkzeugScrypt, "my-test-password-123"},
		{"scrypt_werkzeug", "$" + werkzeugScrypt, "my-test-password-123"}, // Clerk's $<algorithm args>$<salt>$<hash>
		{"scrypt_werkzeug", "pbkdf2:sha256:600000$Gm2uNf9Xw4cTQkP8$4399606532c052d4563e76d9385f797b3f016423da872241077eb0e307bcf5ff", "correct horse"},
		{"pbkdf2_sha512", "pbkdf2_sha512$210000$c2FsdHk=$a3ee0537b545cb5d46e281fd3de534ef168f6d9815fd9500f21fbdd14bcaec375b7f907fafbf8c642613997cf50f3817eb40bc9f02260ca08c63b2b4b58d2046", "correct horse"},
		{"bcrypt_peppered", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW$U", "U*"},
	} {
		h, err := clerkHash(c.hasher, c.digest)
		if err != nil {
			t.Errorf("%s %s: %v", c.hasher, c.digest, err)
			continue
		}
		stored, err := passwords.Import(h)
		if err != nil {
			t.Errorf("%s: Import(%s): %v", c.hasher, h, err)
			continue
		}
		if ok, rehash, err := passwords.Verify(stored, c.password); !ok || !rehash || err != nil {
			t.Errorf("%s %s: right password: ok=%v rehash=%v err=%v", c.hasher, h, ok, rehash, err)
		}
		if ok, _, err := passwords.Verify(stored, c.password+"x"); ok || err != nil {
			t.Errorf("%s %s: wrong password: ok=%v err=%v", c.hasher, h, ok, err)
		}
	}
}

// TestClerkHashersRefused: malformed digests of the supported hashers are
// malformed_hash; the hashers Clerk names without a usable definition are
// unsupported_hash with the reason.
func TestClerkHashersRefused(t *testing.T) {
	for _, c := range []struct{ hasher, digest, rule, mention string }{
		{"scrypt_werkzeug", "scrypt:30000:8:1$salt$abcd", "malformed_hash", "power of 2"},
		{"scrypt_werkzeug", "scrypt:32768:8:1$salt$not-hex", "malformed_hash", "hex"},
		{"scrypt_werkzeug", "scrypt:32768:8:1$$abcd", "malformed_hash", "<method>$<salt>$<hex hash>"},
		{"scrypt_werkzeug", "scrypt:32768:8:1$salt$abcd", "malformed_hash", "bytes"}, // a 2-byte hash
		{"scrypt_werkzeug", "scrypt:1073741824:8:1$salt$" + strings.Repeat("ab", 64), "unsupported_hash", "limits"},
		{"scrypt_werkzeug", "argon2:1:2$salt$abcd", "unsupported_hash", "argon2"},
		{"scrypt_werkzeug", "pbkdf2:md5:1000$salt$" + strings.Repeat("ab", 16), "unsupported_hash", "pbkdf2:md5"},
		{"pbkdf2_sha512", "pbkdf2_sha512$x$salt$abcd", "malformed_hash", "iterations"},
		{"pbkdf2_sha512", "pbkdf2_sha256$1000$salt$" + strings.Repeat("ab", 64), "malformed_hash", "pbkdf2_sha512$"},
		{"bcrypt_peppered", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "malformed_hash", "<pepper>"},
		{"bcrypt_peppered", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe$$U", "malformed_hash", "bcrypt"},
		{"md5_salted", "salt$5f4dcc3b5aa765d61d8327deb882cf99", "unsupported_hash", "combined"},
		{"sha256_salted", strings.Repeat("ab", 32) + "$salt", "unsupported_hash", "combined"},
		{"sha512_symfony", "sha512_symfony$5000$salt$abc=", "unsupported_hash", "digest form"},
		{"hmac_sha256_utf16_b64", "abc", "unsupported_hash", "key"},
		{"pbkdf2_sha512_hex", "pbkdf2_sha512_hex$1$ab$cd", "unsupported_hash", "digest form"},
		{"awscognito", "awscognito#pool#client#id", "unsupported_hash", "Cognito"},
		{"rot13", "nop", "unsupported_hash", "rot13"},
	} {
		_, err := clerkHash(c.hasher, c.digest)
		if err == nil || hashRule(err) != c.rule || !strings.Contains(err.Error(), c.mention) {
			t.Errorf("%s %q: %v (rule %q), want %s mentioning %q", c.hasher, c.digest, err, hashRule(err), c.rule, c.mention)
		}
	}
}
