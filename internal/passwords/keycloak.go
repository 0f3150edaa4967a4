package passwords

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// keycloakSecret and keycloakCredential are the two JSON documents a
// Keycloak password credential carries, in the database and in realm
// exports ("secretData" and "credentialData", each a JSON string).
type keycloakSecret struct {
	Value string `json:"value"`
	Salt  string `json:"salt"`
}

type keycloakCredential struct {
	HashIterations       int                 `json:"hashIterations"`
	Algorithm            string              `json:"algorithm"`
	AdditionalParameters map[string][]string `json:"additionalParameters"`
}

// Keycloak converts a Keycloak password credential, given its secretData and
// credentialData JSON strings as a realm export holds them, into an encoding
// Verify accepts. It returns the PHC form of the same hash rather than a
// Keycloak-specific string, since Keycloak's hashes are standard ones:
//
//	pbkdf2, pbkdf2-sha256, pbkdf2-sha512 → $pbkdf2-sha256$i=27500,l=64$<salt>$<value>
//	argon2 (type id or i, version 1.3)   → $argon2id$v=19$m=7168,t=5,p=1$<salt>$<value>
//
// The hash length comes from the stored value, as Keycloak's own verifier
// takes it. Keycloak's optional FIPS password padding (maxPaddingLength) is
// not reproduced; hashes made with it will not verify.
func Keycloak(secretData, credentialData string) (string, error) {
	const f = Format("keycloak")
	var sec keycloakSecret
	var cred keycloakCredential
	if err := json.Unmarshal([]byte(secretData), &sec); err != nil {
		return "", malformed(f, "secretData is not JSON: %v", err)
	}
	if err := json.Unmarshal([]byte(credentialData), &cred); err != nil {
		return "", malformed(f, "credentialData is not JSON: %v", err)
	}
	salt, err := decodeStdPadded(sec.Salt)
	if err != nil {
		return "", malformed(f, "salt is not padded base64: %v", err)
	}
	value, err := decodeStdPadded(sec.Value)
	if err != nil {
		return "", malformed(f, "value is not padded base64: %v", err)
	}
	if cred.HashIterations < 1 {
		return "", malformed(f, "hashIterations must be at least 1")
	}
	var enc string
	switch cred.Algorithm {
	case "pbkdf2", "pbkdf2-sha256", "pbkdf2-sha512":
		enc = fmt.Sprintf("$%s$i=%d,l=%d$%s$%s", cred.Algorithm, cred.HashIterations, len(value),
			b64.EncodeToString(salt), b64.EncodeToString(value))
	case "argon2":
		get := func(name, def string) string {
			if v := cred.AdditionalParameters[name]; len(v) > 0 {
				return v[0]
			}
			return def
		}
		// Keycloak's defaults (Argon2Parameters) when a parameter is absent.
		variant, version := get("type", "id"), get("version", "1.3")
		if variant != "id" && variant != "i" {
			return "", unsupported(f, "argon2 type %q (only id and i)", variant)
		}
		if version != "1.3" {
			return "", unsupported(f, "argon2 version %q (only 1.3)", version)
		}
		if l := get("hashLength", strconv.Itoa(len(value))); l != strconv.Itoa(len(value)) {
			return "", malformed(f, "hashLength %s does not match the %d-byte value", l, len(value))
		}
		m, okM := parseDecimal(get("memory", "7168"), 1, 1<<32-1)
		p, okP := parseDecimal(get("parallelism", "1"), 1, 1<<24-1)
		if !okM || !okP {
			return "", malformed(f, "argon2 memory and parallelism must be positive decimal integers")
		}
		enc = fmt.Sprintf("$argon2%s$v=19$m=%d,t=%d,p=%d$%s$%s", variant, m, cred.HashIterations, p,
			b64.EncodeToString(salt), b64.EncodeToString(value))
	default:
		return "", unsupported(f, "algorithm %q (want pbkdf2, pbkdf2-sha256, pbkdf2-sha512 or argon2)", cred.Algorithm)
	}
	if _, err := parse(enc); err != nil {
		return "", err
	}
	return enc, nil
}
