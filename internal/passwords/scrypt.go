package passwords

import (
	"crypto/subtle"
	"strconv"
	"strings"

	"golang.org/x/crypto/scrypt"
)

// Limits on imported scrypt parameters: at most 1 GiB of memory (128·N·r
// bytes) and 4 GiB of total mixing (times p) for one verification.
const (
	scryptMaxMemory = 1 << 30
	scryptMaxWork   = 1 << 32
	scryptMinKeyLen = 16
	scryptMaxKeyLen = 256
)

// scryptHash is a plain scrypt hash (not Firebase's variant).
type scryptHash struct {
	logN, r, p int
	salt, key  []byte
}

func (s *scryptHash) format() Format { return FormatScrypt }

func (s *scryptHash) verify(password []byte) (bool, error) {
	got, err := scrypt.Key(password, s.salt, 1<<s.logN, s.r, s.p, len(s.key))
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, s.key) == 1, nil
}

// checkScryptParams applies the limits and scrypt's own rules.
func checkScryptParams(f Format, logN, r, p int) error {
	if logN < 1 || logN > 30 || r < 1 || p < 1 {
		return malformed(f, "need 1 ≤ log2(N) ≤ 30, r ≥ 1, p ≥ 1")
	}
	mem := uint64(128) << logN * uint64(r)
	if mem > scryptMaxMemory || mem*uint64(p) > scryptMaxWork {
		return unsupported(f, "N=2^%d, r=%d, p=%d exceeds the limits (128·N·r ≤ 1 GiB, ×p ≤ 4 GiB)", logN, r, p)
	}
	return nil
}

// parseScryptPHC reads passlib's $scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>
// with salt and hash in unpadded standard base64.
func parseScryptPHC(encoded string) (*scryptHash, error) {
	f := FormatScrypt
	parts := strings.Split(encoded, "$")
	if len(parts) != 5 {
		return nil, malformed(f, "want $scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>, got %d fields", len(parts)-1)
	}
	params, ok := parseParams(parts[2])
	if !ok || len(params) != 3 || params[0].name != "ln" || params[1].name != "r" || params[2].name != "p" {
		return nil, malformed(f, "parameters must be ln=<log2 N>,r=<r>,p=<p> in that order")
	}
	ln, ok1 := parseDecimal(params[0].value, 1, 30)
	r, ok2 := parseDecimal(params[1].value, 1, 1<<20)
	p, ok3 := parseDecimal(params[2].value, 1, 1<<20)
	if !ok1 || !ok2 || !ok3 {
		return nil, malformed(f, "ln must be 1..30 and r, p positive decimal integers")
	}
	return newScrypt(f, int(ln), int(r), int(p), parts[3], parts[4])
}

// parseScryptS0 reads the $s0$ form of Will Glozer's Java scrypt library
// (com.lambdaworks:scrypt, used by many JVM applications):
// $s0$<hex of log2N<<16 | r<<8 | p>$<base64 salt>$<base64 hash>.
func parseScryptS0(encoded string) (*scryptHash, error) {
	f := FormatScrypt
	parts := strings.Split(encoded, "$")
	if len(parts) != 5 {
		return nil, malformed(f, "want $s0$<hex params>$<salt>$<hash>, got %d fields", len(parts)-1)
	}
	if len(parts[2]) == 0 || len(parts[2]) > 8 || strings.HasPrefix(parts[2], "+") {
		return nil, malformed(f, "$s0$ parameters must be up to 8 hex digits")
	}
	v, err := strconv.ParseUint(parts[2], 16, 32)
	if err != nil {
		return nil, malformed(f, "$s0$ parameters must be up to 8 hex digits")
	}
	return newScrypt(f, int(v>>16&0xffff), int(v>>8&0xff), int(v&0xff), parts[3], parts[4])
}

func newScrypt(f Format, logN, r, p int, salt64, key64 string) (*scryptHash, error) {
	if err := checkScryptParams(f, logN, r, p); err != nil {
		return nil, err
	}
	salt, err := decodeB64(salt64)
	if err != nil {
		return nil, malformed(f, "salt is not base64: %v", err)
	}
	key, err := decodeB64(key64)
	if err != nil {
		return nil, malformed(f, "hash is not base64: %v", err)
	}
	if len(key) < scryptMinKeyLen || len(key) > scryptMaxKeyLen {
		return nil, malformed(f, "hash is %d bytes, want %d to %d", len(key), scryptMinKeyLen, scryptMaxKeyLen)
	}
	return &scryptHash{logN: logN, r: r, p: p, salt: salt, key: key}, nil
}
