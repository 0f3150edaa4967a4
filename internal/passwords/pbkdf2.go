package passwords

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"fmt"
	"hash"
	"strings"
)

// Limits on imported PBKDF2 parameters: iterations × output blocks at most
// ten million HMAC chains (a few seconds), output 16 to 256 bytes.
const (
	pbkdf2MaxWork   = 10_000_000
	pbkdf2MinKeyLen = 16
	pbkdf2MaxKeyLen = 256
)

// pbkdf2Hash is PBKDF2-HMAC with SHA-1, SHA-256 or SHA-512, whatever its
// encoding (PHC, passlib, Django, Atlassian, Keycloak after conversion).
type pbkdf2Hash struct {
	f    Format
	h    func() hash.Hash
	iter int
	salt []byte
	key  []byte
}

func (p *pbkdf2Hash) format() Format { return p.f }

func (p *pbkdf2Hash) verify(password []byte) (bool, error) {
	got, err := pbkdf2.Key(p.h, string(password), p.salt, p.iter, len(p.key))
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, p.key) == 1, nil
}

// pbkdf2Algorithms maps the identifiers used across encodings to a digest.
var pbkdf2Algorithms = map[string]struct {
	f    Format
	h    func() hash.Hash
	size int
}{
	"pbkdf2":        {FormatPBKDF2SHA1, sha1.New, sha1.Size},
	"pbkdf2-sha1":   {FormatPBKDF2SHA1, sha1.New, sha1.Size},
	"pbkdf2-sha256": {FormatPBKDF2SHA256, sha256.New, sha256.Size},
	"pbkdf2-sha512": {FormatPBKDF2SHA512, sha512.New, sha512.Size},
}

func newPBKDF2(f Format, alg string, iter uint64, salt, key []byte) (*pbkdf2Hash, error) {
	a, ok := pbkdf2Algorithms[alg]
	if !ok {
		return nil, unsupported(f, "algorithm %q (want pbkdf2, pbkdf2-sha256 or pbkdf2-sha512)", alg)
	}
	if len(key) < pbkdf2MinKeyLen || len(key) > pbkdf2MaxKeyLen {
		return nil, malformed(f, "hash is %d bytes, want %d to %d", len(key), pbkdf2MinKeyLen, pbkdf2MaxKeyLen)
	}
	if len(salt) == 0 {
		return nil, malformed(f, "empty salt")
	}
	blocks := uint64((len(key) + a.size - 1) / a.size)
	if iter == 0 {
		return nil, malformed(f, "iterations must be at least 1")
	}
	if iter*blocks > pbkdf2MaxWork {
		return nil, unsupported(f, "%d iterations × %d blocks exceeds the limit %d", iter, blocks, pbkdf2MaxWork)
	}
	return &pbkdf2Hash{f: f, h: a.h, iter: int(iter), salt: salt, key: key}, nil
}

// parsePBKDF2 reads the two $pbkdf2...$ encodings in use:
//
//	PHC:     $pbkdf2-sha256$i=<iterations>[,l=<hash bytes>]$<B64 salt>$<B64 hash>
//	passlib: $pbkdf2-sha256$<iterations>$<ab64 salt>$<ab64 hash>
//
// told apart by the "i=" of the parameter field.
func parsePBKDF2(encoded string) (*pbkdf2Hash, error) {
	parts := strings.Split(encoded, "$")
	alg := parts[1]
	a, ok := pbkdf2Algorithms[alg]
	if !ok {
		return nil, fmt.Errorf("%w: unrecognised PBKDF2 variant%s", ErrUnsupported, describePrefix(encoded))
	}
	f := a.f
	if len(parts) != 5 {
		return nil, malformed(f, "want $%s$i=<iterations>$<salt>$<hash> (PHC) or $%s$<iterations>$<salt>$<hash> (passlib), got %d fields", alg, alg, len(parts)-1)
	}
	if strings.HasPrefix(parts[2], "i=") {
		params, ok := parseParams(parts[2])
		if !ok || len(params) > 2 || (len(params) == 2 && params[1].name != "l") {
			return nil, malformed(f, "parameters must be i=<iterations>[,l=<hash bytes>]")
		}
		iter, ok := parseDecimal(params[0].value, 1, 1<<31-1)
		if !ok {
			return nil, malformed(f, "i must be a positive decimal integer")
		}
		salt, err := decodeB64(parts[3])
		if err != nil {
			return nil, malformed(f, "salt is not base64: %v", err)
		}
		key, err := decodeB64(parts[4])
		if err != nil {
			return nil, malformed(f, "hash is not base64: %v", err)
		}
		if len(params) == 2 {
			if l, ok := parseDecimal(params[1].value, 1, 1<<16); !ok || int(l) != len(key) {
				return nil, malformed(f, "l=%s does not match the %d-byte hash", params[1].value, len(key))
			}
		}
		return newPBKDF2(f, alg, iter, salt, key)
	}
	return parsePasslibPBKDF2(f, alg, parts[2], parts[3], parts[4])
}

func parsePasslibPBKDF2(f Format, alg, iterations, salt64, key64 string) (*pbkdf2Hash, error) {
	iter, ok := parseDecimal(iterations, 1, 1<<31-1)
	if !ok {
		return nil, malformed(f, "iterations must be a positive decimal integer")
	}
	salt, err := decodeAB64(salt64)
	if err != nil {
		return nil, malformed(f, "salt is not passlib base64: %v", err)
	}
	key, err := decodeAB64(key64)
	if err != nil {
		return nil, malformed(f, "hash is not passlib base64: %v", err)
	}
	return newPBKDF2(f, alg, iter, salt, key)
}

// parseDjangoPBKDF2 reads Django's PBKDF2PasswordHasher and
// PBKDF2SHA1PasswordHasher encodings:
//
//	pbkdf2_sha256$<iterations>$<salt text>$<base64 hash>
//
// Django uses the salt's characters themselves (not a decoding) as the salt.
func parseDjangoPBKDF2(encoded string) (*pbkdf2Hash, error) {
	f, alg := FormatDjangoPBKDF2SHA256, "pbkdf2-sha256"
	if strings.HasPrefix(encoded, "pbkdf2_sha1$") {
		f, alg = FormatDjangoPBKDF2SHA1, "pbkdf2-sha1"
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 4 {
		return nil, malformed(f, "want %s$<iterations>$<salt>$<hash>, got %d fields", parts[0], len(parts))
	}
	iter, ok := parseDecimal(parts[1], 1, 1<<31-1)
	if !ok {
		return nil, malformed(f, "iterations must be a positive decimal integer")
	}
	key, err := decodeStdPadded(parts[3])
	if err != nil {
		return nil, malformed(f, "hash is not padded base64: %v", err)
	}
	return newPBKDF2(f, alg, iter, []byte(parts[2]), key)
}

// parseAtlassian reads {PKCS5S2}<base64 of 16-byte salt || 32-byte hash>,
// PBKDF2-HMAC-SHA1 with 10,000 iterations, as Atlassian Crowd, Jira and
// Confluence store passwords.
func parseAtlassian(body string) (*pbkdf2Hash, error) {
	f := FormatAtlassianPBKDF2
	raw, err := decodeStdPadded(body)
	if err != nil {
		return nil, malformed(f, "not padded base64: %v", err)
	}
	if len(raw) != 48 {
		return nil, malformed(f, "decodes to %d bytes, want 48 (16 salt + 32 hash)", len(raw))
	}
	return newPBKDF2(f, "pbkdf2-sha1", 10000, raw[:16], raw[16:])
}
