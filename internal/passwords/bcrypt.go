package passwords

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"golang.org/x/crypto/bcrypt"
)

// bcryptMaxCost bounds imported costs: cost 18 is 2^18 key expansions, a few
// seconds; 31 would take days.
const bcryptMaxCost = 18

// bcryptAlphabet is bcrypt's own base64 alphabet.
const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// bcryptHash is a modular-crypt bcrypt hash, $2a$, $2b$ or $2y$.
type bcryptHash struct {
	f       Format // FormatBcrypt, FormatDjangoBcrypt or FormatDjangoBcryptSHA256
	encoded string // the 60-character bcrypt string itself
}

func (b *bcryptHash) format() Format { return b.f }

// verify hands the comparison to x/crypto/bcrypt, which compares in
// constant time and ignores the minor version letter. That is right: $2a$,
// $2b$ and $2y$ name one algorithm and differ only in other implementations'
// bugs. $2b$ marks OpenBSD's fix for wrapping the length of passwords over
// 255 bytes; $2y$ marks crypt_blowfish's fix for sign-extending 8-bit bytes
// (the buggy variant is $2x$, refused below).
func (b *bcryptHash) verify(password []byte) (bool, error) {
	if b.f == FormatDjangoBcryptSHA256 {
		// Django's BCryptSHA256PasswordHasher: bcrypt over the hex SHA-256.
		sum := sha256.Sum256(password)
		password = []byte(hex.EncodeToString(sum[:]))
	}
	// bcrypt reads at most 72 bytes of key; truncating here states that
	// inherited behaviour explicitly instead of relying on the library.
	if len(password) > 72 {
		password = password[:72]
	}
	err := bcrypt.CompareHashAndPassword([]byte(b.encoded), password)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	default:
		return false, err
	}
}

// parseBcrypt reads $2a$NN$<22 salt chars><31 hash chars>, exactly 60 bytes.
func parseBcrypt(encoded string, f Format) (*bcryptHash, error) {
	if len(encoded) < 4 || encoded[0] != '$' || encoded[1] != '2' {
		return nil, malformed(f, "want $2a$, $2b$ or $2y$ prefix")
	}
	switch {
	case encoded[2] == '$':
		return nil, unsupported(f, "$2$ (the original 1999 bcrypt) is not supported")
	case encoded[2] == 'x' && encoded[3] == '$':
		return nil, unsupported(f, "$2x$ marks hashes made by crypt_blowfish's sign-extension bug and is not supported")
	case (encoded[2] != 'a' && encoded[2] != 'b' && encoded[2] != 'y') || encoded[3] != '$':
		return nil, unsupported(f, "unknown bcrypt version %q", encoded[:min(len(encoded), 4)])
	}
	if len(encoded) != 60 || encoded[6] != '$' {
		return nil, malformed(f, "want $2b$<2-digit cost>$<53 characters>, 60 bytes in all; got %d bytes", len(encoded))
	}
	cost := encoded[4:6]
	if cost[0] < '0' || cost[0] > '9' || cost[1] < '0' || cost[1] > '9' {
		return nil, malformed(f, "cost %q is not two digits", cost)
	}
	n := int(cost[0]-'0')*10 + int(cost[1]-'0')
	if n < bcrypt.MinCost || n > bcrypt.MaxCost {
		return nil, malformed(f, "cost %s is outside %02d..%02d", cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	if n > bcryptMaxCost {
		return nil, unsupported(f, "cost %d exceeds the limit %d", n, bcryptMaxCost)
	}
	if !inAlphabet(encoded[7:], bcryptAlphabet) {
		return nil, malformed(f, "salt and hash must use bcrypt's ./A-Za-z0-9 alphabet")
	}
	return &bcryptHash{f: f, encoded: encoded}, nil
}
