package importer

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
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
// verified_email_addresses. Each password_hasher Clerk documents is mapped
// to an encoding internal/passwords verifies (clerkHash); scrypt_werkzeug,
// sha512_symfony and Clerk's other migration-only hashers (bcrypt_peppered,
// md5_salted, sha256_salted, pbkdf2_sha512, hmac_sha256_utf16_b64,
// awscognito) are not supported. Clerk's organizations are not in this export: users
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
	case "":
		return "", malformedHash("password_digest without password_hasher")
	}
	return "", unsupportedHash("password_hasher %q is not supported", hasher)
}
