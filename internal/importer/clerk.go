package importer

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/passwords"
)

// The clerk format reads the users CSV the Clerk Dashboard exports
// (Settings, User exports), the only Clerk export with password digests:
// id, first_name, last_name, username, primary_email_address,
// primary_phone_number, verified_email_addresses,
// unverified_email_addresses, verified_phone_numbers,
// unverified_phone_numbers, totp_secret, password_digest, password_hasher.
// id becomes the external id; the email is verified when it is among
// verified_email_addresses. Each password_hasher Clerk documents with a
// digest form is mapped to an encoding internal/passwords verifies
// (clerkHash); the ones whose digest form or salting Clerk does not
// document, and awscognito (no hash at all), are refused with the reason
// (clerkRefused). Clerk's organizations are not in this export: users
// arrive without memberships unless a mapping file (mapping.go) gives
// them.

func readClerk(paths []string, _ Options) (*Dataset, error) {
	d := &Dataset{}
	for _, p := range paths {
		err := eachCSVRow(d, p, []string{"id", "primary_email_address"}, func(r csvRow) {
			email := r.get("primary_email_address")
			verified := false
			for _, v := range strings.FieldsFunc(r.get("verified_email_addresses"), func(c rune) bool { return c == ',' || c == '|' || c == ';' || c == ' ' }) {
				if strings.EqualFold(v, email) {
					verified = true
				}
			}
			u := User{Source: r.src, ExternalID: r.get("id"), Email: email, EmailVerified: &verified,
				FirstName: r.get("first_name"), LastName: r.get("last_name")}
			if un := r.get("username"); un != "" {
				u.Metadata = map[string]string{"username": un}
			}
			if dg := r.get("password_digest"); dg != "" {
				h, err := clerkHash(r.get("password_hasher"), dg)
				if err != nil {
					d.rejectUser(u, "password_digest", hashRule(err), "%v", err)
					return
				}
				u.PasswordHash = h
			}
			if r.get("totp_secret") != "" {
				d.note("Clerk TOTP secrets are not imported: those users set up their second factor again.")
			}
			d.Users = append(d.Users, u)
		})
		if err != nil {
			return nil, err
		}
	}
	if len(d.Users) > 0 {
		d.note(noOrganizationsNote("Clerk's users export"))
	}
	return d, nil
}

func hashRule(err error) string {
	if he, ok := err.(*hashError); ok {
		return he.rule
	}
	return "malformed_hash"
}

// clerkHash maps a Clerk password_digest, in the form Clerk documents for
// its password_hasher, to an encoding internal/passwords verifies.
func clerkHash(hasher, digest string) (string, error) {
	switch hasher {
	case "bcrypt", "argon2i", "argon2id", "bcrypt_sha256_django", "pbkdf2_sha256_django", "phpass", "md5_phpass", "ldap_ssha":
		return digest, nil // already $2b$..., $argon2id$..., bcrypt_sha256$..., pbkdf2_sha256$..., $P$..., {SSHA}...
	case "md5", "sha256":
		return "$digest$alg=" + hasher + ",enc=hex$" + strings.ToLower(digest), nil
	case "pbkdf2_sha256":
		// pbkdf2_sha256$<iterations>$<base64 salt>$<base64 hash>
		parts := strings.Split(digest, "$")
		if len(parts) != 4 {
			return "", malformedHash("pbkdf2_sha256: want pbkdf2_sha256$<iterations>$<salt>$<hash>")
		}
		salt, err1 := base64.StdEncoding.DecodeString(parts[2])
		hash, err2 := base64.StdEncoding.DecodeString(parts[3])
		iter, err3 := strconv.Atoi(parts[1])
		if err1 != nil || err2 != nil || err3 != nil {
			return "", malformedHash("pbkdf2_sha256: iterations, base64 salt and base64 hash expected")
		}
		raw := base64.RawStdEncoding
		return fmt.Sprintf("$pbkdf2-sha256$i=%d,l=%d$%s$%s", iter, len(hash), raw.EncodeToString(salt), raw.EncodeToString(hash)), nil
	case "pbkdf2_sha1":
		// pbkdf2_sha1$<iterations>$<salt>$<hex hash>: Django's form with a hex hash.
		parts := strings.Split(digest, "$")
		if len(parts) != 4 {
			return "", malformedHash("pbkdf2_sha1: want pbkdf2_sha1$<iterations>$<salt>$<hex hash>")
		}
		hash, err := hex.DecodeString(parts[3])
		if err != nil {
			return "", malformedHash("pbkdf2_sha1: the hash is not hex")
		}
		return strings.Join([]string{"pbkdf2_sha1", parts[1], parts[2], base64.StdEncoding.EncodeToString(hash)}, "$"), nil
	case "scrypt_firebase":
		// <hash>$<salt>$<signer key>$<salt separator>$<rounds>$<mem cost>
		parts := strings.Split(digest, "$")
		if len(parts) != 6 {
			return "", malformedHash("scrypt_firebase: want 6 '$'-separated fields")
		}
		rounds, err1 := strconv.Atoi(parts[4])
		mem, err2 := strconv.Atoi(parts[5])
		if err1 != nil || err2 != nil {
			return "", malformedHash("scrypt_firebase: rounds and memory cost must be numbers")
		}
		h, err := passwords.FirebaseScrypt(passwords.FirebaseParams{SignerKey: parts[2], SaltSeparator: parts[3], Rounds: rounds, MemCost: mem}, parts[1], parts[0])
		if err != nil {
			return "", malformedHash("scrypt_firebase: %v", err)
		}
		return h, nil
	case "scrypt_werkzeug":
		return werkzeugHash(digest)
	case "pbkdf2_sha512":
		// pbkdf2_sha512$<iterations>$<salt>$<hex hash>; the salt is used as
		// given, like pbkdf2_sha1's and Django's.
		parts := strings.Split(digest, "$")
		if len(parts) != 4 || parts[0] != "pbkdf2_sha512" || parts[2] == "" {
			return "", malformedHash("pbkdf2_sha512: want pbkdf2_sha512$<iterations>$<salt>$<hex hash>")
		}
		iter, err1 := strconv.ParseUint(parts[1], 10, 31)
		hash, err2 := hex.DecodeString(parts[3])
		if err1 != nil || err2 != nil {
			return "", malformedHash("pbkdf2_sha512: iterations must be a number and the hash hex")
		}
		return checked(phcPBKDF2("sha512", iter, []byte(parts[2]), hash))
	case "bcrypt_peppered":
		// $<version>$<cost>$<salt & hash>$<pepper>: bcrypt over the password
		// followed by the pepper (Devise's config.pepper).
		if len(digest) < 62 || digest[60] != '$' {
			return "", malformedHash("bcrypt_peppered: want $<version>$<cost>$<salt & hash>$<pepper>")
		}
		h, err := passwords.BcryptPeppered(digest[:60], digest[61:])
		if err != nil {
			return "", malformedHash("bcrypt_peppered: %v", err)
		}
		return h, nil
	case "":
		return "", malformedHash("password_digest without password_hasher")
	}
	if why, ok := clerkRefused[hasher]; ok {
		return "", unsupportedHash("password_hasher %q is not supported: %s", hasher, why)
	}
	return "", unsupportedHash("password_hasher %q is not supported", hasher)
}

// clerkRefused are the hashers Clerk names without a definition that
// lets their digests be verified elsewhere, and why.
var clerkRefused = map[string]string{
	"md5_salted":            "Clerk does not document how the salt and the password are combined",
	"sha256_salted":         "Clerk documents <hash>$<salt> but not how the salt and the password are combined",
	"sha512_symfony":        "Clerk does not document the digest form (iterations, salt, encoding)",
	"hmac_sha256_utf16_b64": "Clerk does not document the digest form or the key",
	"pbkdf2_sha512_hex":     "Clerk does not document the digest form",
	"awscognito":            "the digest names a Cognito user pool, not a hash: Clerk asks Cognito at sign-in",
}

// werkzeugHash reads Werkzeug's generate_password_hash output,
// scrypt:<N>:<r>:<p>$<salt>$<hex hash> or pbkdf2:<sha256|sha512>:<iterations>$<salt>$<hex hash>
// (Clerk also documents a leading '$' before the method). The salt is used
// as its text, as Werkzeug does.
func werkzeugHash(digest string) (string, error) {
	parts := strings.Split(strings.TrimPrefix(digest, "$"), "$")
	if len(parts) != 3 || parts[1] == "" {
		return "", malformedHash("scrypt_werkzeug: want <method>$<salt>$<hex hash>, e.g. scrypt:32768:8:1$<salt>$<hash>")
	}
	method, salt := strings.Split(parts[0], ":"), []byte(parts[1])
	hash, err := hex.DecodeString(parts[2])
	if err != nil {
		return "", malformedHash("scrypt_werkzeug: the hash is not hex")
	}
	switch {
	case len(method) == 4 && method[0] == "scrypt":
		n, err1 := strconv.ParseUint(method[1], 10, 31)
		r, err2 := strconv.ParseUint(method[2], 10, 20)
		p, err3 := strconv.ParseUint(method[3], 10, 20)
		if err1 != nil || err2 != nil || err3 != nil || n < 2 || n&(n-1) != 0 {
			return "", malformedHash("scrypt_werkzeug: want scrypt:<N, a power of 2>:<r>:<p>")
		}
		raw := base64.RawStdEncoding
		return checked(fmt.Sprintf("$scrypt$ln=%d,r=%d,p=%d$%s$%s", bits.TrailingZeros64(n), r, p, raw.EncodeToString(salt), raw.EncodeToString(hash)), nil)
	case len(method) == 3 && method[0] == "pbkdf2" && (method[1] == "sha256" || method[1] == "sha512"):
		iter, err := strconv.ParseUint(method[2], 10, 31)
		if err != nil {
			return "", malformedHash("scrypt_werkzeug: want pbkdf2:%s:<iterations>", method[1])
		}
		return checked(phcPBKDF2(method[1], iter, salt, hash))
	}
	return "", unsupportedHash("scrypt_werkzeug: method %q is not supported (want scrypt:N:r:p or pbkdf2:sha256|sha512:iterations)", parts[0])
}

// phcPBKDF2 writes a PBKDF2 hash in the PHC form internal/passwords reads.
func phcPBKDF2(alg string, iter uint64, salt, hash []byte) (string, error) {
	raw := base64.RawStdEncoding
	return fmt.Sprintf("$pbkdf2-%s$i=%d,l=%d$%s$%s", alg, iter, len(hash), raw.EncodeToString(salt), raw.EncodeToString(hash)), nil
}

// checked validates a converted hash now, so a bad digest is reported at
// import, never stored.
func checked(h string, err error) (string, error) {
	if err != nil {
		return "", err
	}
	if _, err := passwords.Parse(h); err != nil {
		if errors.Is(err, passwords.ErrUnsupported) {
			return "", unsupportedHash("%v", err)
		}
		return "", malformedHash("%v", err)
	}
	return h, nil
}
