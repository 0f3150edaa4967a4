package passwords

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
)

// Format names a supported hash encoding. It is what Parse reports and what
// an import report shows next to each row.
type Format string

// The formats Verify accepts. The package documentation describes each one
// with an example.
const (
	FormatArgon2id           Format = "argon2id"
	FormatArgon2i            Format = "argon2i"
	FormatBcrypt             Format = "bcrypt"
	FormatBcryptPeppered     Format = "bcrypt-peppered"
	FormatDjangoBcrypt       Format = "django-bcrypt"
	FormatDjangoBcryptSHA256 Format = "django-bcrypt-sha256"
	FormatScrypt             Format = "scrypt"
	FormatFirebaseScrypt     Format = "firebase-scrypt"
	FormatPBKDF2SHA1         Format = "pbkdf2-sha1"
	FormatPBKDF2SHA256       Format = "pbkdf2-sha256"
	FormatPBKDF2SHA512       Format = "pbkdf2-sha512"
	FormatDjangoPBKDF2SHA256 Format = "django-pbkdf2-sha256"
	FormatDjangoPBKDF2SHA1   Format = "django-pbkdf2-sha1"
	FormatAtlassianPBKDF2    Format = "atlassian-pbkdf2-sha1"
	FormatSHA256Crypt        Format = "sha256-crypt"
	FormatSHA512Crypt        Format = "sha512-crypt"
	FormatMD5Crypt           Format = "md5-crypt"
	FormatApacheMD5Crypt     Format = "apr1-md5-crypt"
	FormatPHPass             Format = "phpass"
	FormatLDAP               Format = "ldap-digest"
	FormatDjangoDigest       Format = "django-salted-digest"
	FormatDigest             Format = "digest"
	FormatWrappedDigest      Format = "digest-argon2id"
)

var (
	// ErrUnsupported means the hash is in a format, variant or parameter
	// range this package does not verify. The wrapped message names it.
	ErrUnsupported = errors.New("passwords: unsupported hash format")
	// ErrMalformed means the hash claims a supported format but breaks its
	// rules. The wrapped message names the format and the rule.
	ErrMalformed = errors.New("passwords: malformed hash")
	// ErrPasswordTooLong means the password exceeds MaxPasswordLength.
	// Treat it as a wrong password.
	ErrPasswordTooLong = errors.New("passwords: password too long")
)

const (
	// MaxPasswordLength bounds the bytes Hash and Verify accept. Several
	// legacy schemes (sha-crypt, md5-crypt, phpass) cost time proportional
	// to the password length times the rounds, so an unbounded password
	// is a denial-of-service lever. 1024 bytes is 256 four-byte characters.
	MaxPasswordLength = 1024

	// maxEncodedLength bounds the hash strings Parse looks at.
	maxEncodedLength = 4096
)

// The argon2id parameters Hash uses: OWASP's first recommendation (m=19 MiB,
// t=2, p=1), a 16-byte salt and a 32-byte tag. The lower memory of this option
// (against m=46 MiB, t=1) lets more logins run at once on a small machine for
// the same attacker cost.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// scheme is one parsed hash, ready to check passwords against.
type scheme interface {
	format() Format
	// verify reports whether password matches, comparing in constant time.
	verify(password []byte) (bool, error)
}

// Hash returns password hashed with argon2id at the current parameters, as a
// PHC string: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>. Every call draws
// a fresh 16-byte salt. The password is hashed byte for byte as given: no
// truncation, no case folding, no Unicode normalization.
func Hash(password string) (string, error) {
	if len(password) > MaxPasswordLength {
		return "", ErrPasswordTooLong
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("passwords: reading salt: %w", err)
	}
	h := newArgon2id([]byte(password), salt)
	return h.encode(), nil
}

// Verify reports whether password matches encoded, which may be in any
// format the package documentation lists. The comparison is constant-time.
//
// needsRehash is true when ok is true and encoded is anything other than
// argon2id at the current parameters: the caller should then store
// Hash(password) in its place. err is non-nil (wrapping ErrUnsupported or
// ErrMalformed) when encoded cannot be used at all, and ErrPasswordTooLong
// when the password is over MaxPasswordLength; ok is false in both cases.
func Verify(encoded, password string) (ok, needsRehash bool, err error) {
	if len(password) > MaxPasswordLength {
		return false, false, ErrPasswordTooLong
	}
	s, err := parse(encoded)
	if err != nil {
		return false, false, err
	}
	ok, err = s.verify([]byte(password))
	if err != nil || !ok {
		return false, false, err
	}
	return true, !isCurrent(s), nil
}

// isCurrent reports whether s is argon2id at exactly the parameters Hash uses.
func isCurrent(s scheme) bool {
	a, ok := s.(*argon2Hash)
	return ok && a.current()
}

// Parse identifies and fully validates encoded without checking a password:
// format, parameters, salt and hash lengths, and the limits that keep a
// single verification bounded. Use it at import time (including dry runs),
// so that an unsupported or malformed hash is reported then, never stored.
func Parse(encoded string) (Format, error) {
	s, err := parse(encoded)
	if err != nil {
		return "", err
	}
	return s.format(), nil
}

// Import validates encoded like Parse and returns the string to store for
// it. Slow hashes (argon2, bcrypt, scrypt, PBKDF2, the crypt family, phpass)
// are returned unchanged. Fast digests (plain, salted or HMAC MD5/SHA, LDAP
// {MD5}/{SHA}/{SSHA...}, Django md5$/sha1$) are returned wrapped in argon2id
// (see FormatWrappedDigest), so that the stored value is no longer a fast
// hash even for users who never log in again.
func Import(encoded string) (string, error) {
	s, err := parse(encoded)
	if err != nil {
		return "", err
	}
	d, ok := s.(*digestHash)
	if !ok || d.wrapped != nil {
		return encoded, nil
	}
	return d.wrap()
}

// DummyVerify spends the time of one Verify against a current argon2id hash
// and discards the result. Call it when a login names an unknown user, so
// that the response time does not reveal which accounts exist.
//
// Like Verify, it returns at once for a password over MaxPasswordLength, so
// that such a password costs the same for known and unknown users.
func DummyVerify(password string) {
	_, _, _ = Verify(dummyHash, password)
}

// dummyHash is a hash of a random password nobody knows, at the current
// parameters (a test keeps it that way).
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$758ykwlYBXVJrJ9G49M9yw$ZEV44Q36GwABZdPvnGnVICSjefj4QiMgRBnvTFTEHOo"

// parse dispatches on the encoding's prefix.
func parse(encoded string) (scheme, error) {
	if encoded == "" {
		return nil, fmt.Errorf("%w: empty string", ErrMalformed)
	}
	if len(encoded) > maxEncodedLength {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, maxEncodedLength)
	}
	for i := 0; i < len(encoded); i++ {
		if c := encoded[i]; c <= ' ' || c >= 0x7f {
			return nil, fmt.Errorf("%w: contains whitespace, control or non-ASCII bytes (at byte %d)", ErrMalformed, i)
		}
	}
	switch {
	case strings.HasPrefix(encoded, "$argon2"):
		return parseArgon2(encoded)
	case strings.HasPrefix(encoded, "$2"):
		return parseBcrypt(encoded, FormatBcrypt)
	case strings.HasPrefix(encoded, "$bcrypt-peppered$"):
		return parseBcryptPeppered(encoded)
	case strings.HasPrefix(encoded, "$scrypt$"):
		return parseScryptPHC(encoded)
	case strings.HasPrefix(encoded, "$s0$"):
		return parseScryptS0(encoded)
	case strings.HasPrefix(encoded, "$firebase-scrypt$"):
		return parseFirebase(encoded)
	case strings.HasPrefix(encoded, "$pbkdf2"):
		return parsePBKDF2(encoded)
	case strings.HasPrefix(encoded, "$5$"), strings.HasPrefix(encoded, "$6$"):
		return parseSHACrypt(encoded)
	case strings.HasPrefix(encoded, "$1$"), strings.HasPrefix(encoded, "$apr1$"):
		return parseMD5Crypt(encoded)
	case strings.HasPrefix(encoded, "$P$"), strings.HasPrefix(encoded, "$H$"):
		return parsePHPass(encoded)
	case strings.HasPrefix(encoded, "$digest$"), strings.HasPrefix(encoded, "$digest-argon2id$"):
		return parseDigest(encoded)
	case strings.HasPrefix(encoded, "{"):
		return parseLDAP(encoded)
	case strings.HasPrefix(encoded, "pbkdf2_sha256$"), strings.HasPrefix(encoded, "pbkdf2_sha1$"):
		return parseDjangoPBKDF2(encoded)
	case strings.HasPrefix(encoded, "md5$"), strings.HasPrefix(encoded, "sha1$"):
		return parseDjangoDigest(encoded)
	case strings.HasPrefix(encoded, "argon2$"):
		return parseDjangoArgon2(encoded)
	case strings.HasPrefix(encoded, "bcrypt$"):
		return parseBcrypt(strings.TrimPrefix(encoded, "bcrypt$"), FormatDjangoBcrypt)
	case strings.HasPrefix(encoded, "bcrypt_sha256$"):
		return parseBcrypt(strings.TrimPrefix(encoded, "bcrypt_sha256$"), FormatDjangoBcryptSHA256)
	}
	return nil, fmt.Errorf("%w: unrecognised encoding%s", ErrUnsupported, describePrefix(encoded))
}

// describePrefix names the scheme identifier of an unrecognised hash, if it
// has one, without echoing anything that might be a secret (a plaintext
// password pasted into a hash column, say).
func describePrefix(s string) string {
	var id string
	switch {
	case strings.HasPrefix(s, "$"):
		if end := strings.IndexByte(s[1:], '$'); end > 0 {
			id = s[:end+2]
		}
	case strings.HasPrefix(s, "{"):
		if end := strings.IndexByte(s, '}'); end > 0 {
			id = s[:end+1]
		}
	}
	if id == "" || len(id) > 24 {
		return fmt.Sprintf(" (%d bytes, no scheme identifier)", len(s))
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("$-_.{}", c)) {
			return fmt.Sprintf(" (%d bytes, no scheme identifier)", len(s))
		}
	}
	return fmt.Sprintf(" %q", id)
}

// malformed and unsupported build the package's errors with the format name
// in front, e.g. "passwords: malformed hash: bcrypt: cost 03 is below 04".
func malformed(f Format, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrMalformed, f, fmt.Sprintf(format, args...))
}

func unsupported(f Format, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrUnsupported, f, fmt.Sprintf(format, args...))
}
