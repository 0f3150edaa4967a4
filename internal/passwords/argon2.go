package passwords

import (
	"crypto/subtle"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/argon2"
)

// Limits on imported argon2 parameters. They admit everything common
// libraries and vendors produce (libsodium's "sensitive" 1 GiB preset
// included) while keeping one verification within a few seconds.
const (
	argonMaxMemory     = 1 << 20 // KiB, 1 GiB
	argonMaxWork       = 1 << 22 // memory × passes, KiB
	argonMaxThreads    = 64
	argonMinSaltLen    = 8 // RFC 9106 §3.1
	argonMinKeyLen     = 4 // RFC 9106 §3.1
	argonMaxKeyLen     = 1024
	argonVersionNumber = 0x13
)

// argon2Hash is a PHC-encoded argon2i or argon2id hash, version 0x13.
type argon2Hash struct {
	variant Format // FormatArgon2id or FormatArgon2i
	memory  uint32 // KiB
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
	django  bool // came with Django's "argon2" prefix
}

func newArgon2id(password, salt []byte) *argon2Hash {
	return &argon2Hash{
		variant: FormatArgon2id,
		memory:  argonMemory,
		time:    argonTime,
		threads: argonThreads,
		salt:    salt,
		key:     argon2.IDKey(password, salt, argonTime, argonMemory, argonThreads, argonKeyLen),
	}
}

func (a *argon2Hash) format() Format { return a.variant }

func (a *argon2Hash) derive(password []byte) []byte {
	if a.variant == FormatArgon2i {
		return argon2.Key(password, a.salt, a.time, a.memory, a.threads, uint32(len(a.key)))
	}
	return argon2.IDKey(password, a.salt, a.time, a.memory, a.threads, uint32(len(a.key)))
}

func (a *argon2Hash) verify(password []byte) (bool, error) {
	return subtle.ConstantTimeCompare(a.derive(password), a.key) == 1, nil
}

// current reports whether the hash is exactly what Hash would produce now.
func (a *argon2Hash) current() bool {
	return a.variant == FormatArgon2id && !a.django &&
		a.memory == argonMemory && a.time == argonTime && a.threads == argonThreads &&
		len(a.key) == argonKeyLen && len(a.salt) >= argonSaltLen
}

func (a *argon2Hash) encode() string {
	return fmt.Sprintf("$%s%s", a.variant, a.tail())
}

// tail is the encoding after the identifier: "$v=19$m=..,t=..,p=..$salt$key".
func (a *argon2Hash) tail() string {
	return fmt.Sprintf("$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argonVersionNumber, a.memory, a.time, a.threads, b64.EncodeToString(a.salt), b64.EncodeToString(a.key))
}

// parseArgon2 reads $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>
// (and $argon2i$), the encoding of the reference implementation, argon2-cffi,
// passlib, libsodium and Keycloak's export (after conversion).
func parseArgon2(encoded string) (*argon2Hash, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) < 2 {
		return nil, malformed(FormatArgon2id, "missing identifier")
	}
	var f Format
	switch parts[1] {
	case "argon2id":
		f = FormatArgon2id
	case "argon2i":
		f = FormatArgon2i
	case "argon2d":
		return nil, unsupported("argon2d", "only argon2i and argon2id are supported (argon2d is not meant for passwords and Go's x/crypto lacks it)")
	default:
		return nil, fmt.Errorf("%w: unrecognised argon2 variant%s", ErrUnsupported, describePrefix(encoded))
	}
	if len(parts) == 5 && strings.HasPrefix(parts[2], "m=") {
		return nil, unsupported(f, "no v= field means version 0x10 (1.0); only v=19 (0x13) is supported")
	}
	if len(parts) != 6 {
		return nil, malformed(f, "want $%s$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>, got %d fields", f, len(parts)-1)
	}
	if parts[2] != "v=19" {
		if v, ok := strings.CutPrefix(parts[2], "v="); ok && v != "" {
			return nil, unsupported(f, "version %s; only v=19 (0x13) is supported", v)
		}
		return nil, malformed(f, "second field must be v=19")
	}
	params, ok := parseParams(parts[3])
	if !ok || len(params) < 3 || params[0].name != "m" || params[1].name != "t" || params[2].name != "p" {
		return nil, malformed(f, "parameters must be m=<KiB>,t=<passes>,p=<lanes> in that order")
	}
	for _, extra := range params[3:] {
		if extra.name == "keyid" || extra.name == "data" {
			return nil, unsupported(f, "the %s parameter (secret key or associated data) is not supported", extra.name)
		}
		return nil, malformed(f, "unknown parameter %q", extra.name)
	}
	m, okM := parseDecimal(params[0].value, 1, 1<<32-1)
	t, okT := parseDecimal(params[1].value, 1, 1<<32-1)
	p, okP := parseDecimal(params[2].value, 1, 1<<24-1)
	if !okM || !okT || !okP {
		return nil, malformed(f, "m, t and p must be positive decimal integers")
	}
	if m < 8*p {
		return nil, malformed(f, "m=%d is below 8×p=%d", m, 8*p)
	}
	if m > argonMaxMemory || p > argonMaxThreads || m*t > argonMaxWork {
		return nil, unsupported(f, "m=%d,t=%d,p=%d exceeds the limits (m ≤ %d KiB, p ≤ %d, m×t ≤ %d)", m, t, p, argonMaxMemory, argonMaxThreads, argonMaxWork)
	}
	salt, err := decodeB64(parts[4])
	if err != nil {
		return nil, malformed(f, "salt is not base64: %v", err)
	}
	key, err := decodeB64(parts[5])
	if err != nil {
		return nil, malformed(f, "hash is not base64: %v", err)
	}
	if len(salt) < argonMinSaltLen {
		return nil, malformed(f, "salt is %d bytes, below %d", len(salt), argonMinSaltLen)
	}
	if len(key) < argonMinKeyLen || len(key) > argonMaxKeyLen {
		return nil, malformed(f, "hash is %d bytes, want %d to %d", len(key), argonMinKeyLen, argonMaxKeyLen)
	}
	return &argon2Hash{variant: f, memory: uint32(m), time: uint32(t), threads: uint8(p), salt: salt, key: key}, nil
}

// parseDjangoArgon2 reads Django's Argon2PasswordHasher encoding, which is
// "argon2" followed by a PHC string: argon2$argon2id$v=19$m=...$salt$hash.
func parseDjangoArgon2(encoded string) (*argon2Hash, error) {
	a, err := parseArgon2(strings.TrimPrefix(encoded, "argon2"))
	if err != nil {
		return nil, err
	}
	a.django = true
	return a, nil
}
