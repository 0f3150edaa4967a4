package passwords

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"hash"
	"strings"
)

// sha-crypt rounds: the specification's default and bounds, and our limit
// on imported values (rounds × password length is the cost).
const (
	shaCryptDefaultRounds = 5000
	shaCryptMinRounds     = 1000
	shaCryptMaxRounds     = 999_999_999
	shaCryptLimitRounds   = 5_000_000
	shaCryptMaxSalt       = 16
)

// shaCryptHash is $5$ (SHA-256) or $6$ (SHA-512) crypt as specified by
// Ulrich Drepper ("Unix crypt using SHA-256 and SHA-512"), the default of
// glibc's crypt(3) and of most Linux /etc/shadow files.
type shaCryptHash struct {
	f       Format
	newHash func() hash.Hash
	rounds  int
	salt    []byte
	want    string // the 43 or 86 encoded hash characters
}

func (s *shaCryptHash) format() Format { return s.f }

func (s *shaCryptHash) verify(password []byte) (bool, error) {
	got := shaCryptEncode(s.f, shaCrypt(s.newHash, password, s.salt, s.rounds))
	return subtle.ConstantTimeCompare([]byte(got), []byte(s.want)) == 1, nil
}

// shaCrypt computes the raw digest, steps 1 to 21 of the specification.
func shaCrypt(newHash func() hash.Hash, password, salt []byte, rounds int) []byte {
	h := newHash()
	size := h.Size()

	// Digest B = H(password || salt || password).
	h.Write(password)
	h.Write(salt)
	h.Write(password)
	b := h.Sum(nil)

	// Digest A = H(password || salt || B repeated to len(password) || for
	// each bit of len(password), low first: B if 1, password if 0).
	h.Reset()
	h.Write(password)
	h.Write(salt)
	n := len(password)
	for ; n > size; n -= size {
		h.Write(b)
	}
	h.Write(b[:n])
	for n := len(password); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write(b)
		} else {
			h.Write(password)
		}
	}
	a := h.Sum(nil)

	// P: H(password repeated len(password) times), repeated to len(password).
	h.Reset()
	for range len(password) {
		h.Write(password)
	}
	p := repeatTo(h.Sum(nil), len(password))

	// S: H(salt repeated 16 + A[0] times), repeated to len(salt).
	h.Reset()
	for range 16 + int(a[0]) {
		h.Write(salt)
	}
	s := repeatTo(h.Sum(nil), len(salt))

	c := a
	for i := range rounds {
		h.Reset()
		if i&1 != 0 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(s)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		c = h.Sum(c[:0])
	}
	return c
}

func repeatTo(d []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, d[:min(len(d), n-len(out))]...)
	}
	return out
}

// The byte orders in which sha-crypt encodes its digests (step 22).
var (
	sha256CryptOrder = [][3]int{
		{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23}, {24, 4, 14},
		{15, 25, 5}, {6, 16, 26}, {27, 7, 17}, {18, 28, 8}, {9, 19, 29},
	}
	sha512CryptOrder = [][3]int{
		{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4},
		{47, 5, 26}, {6, 27, 48}, {28, 49, 7}, {50, 8, 29}, {9, 30, 51},
		{31, 52, 10}, {53, 11, 32}, {12, 33, 54}, {34, 55, 13}, {56, 14, 35},
		{15, 36, 57}, {37, 58, 16}, {59, 17, 38}, {18, 39, 60}, {40, 61, 19},
		{62, 20, 41},
	}
)

func shaCryptEncode(f Format, c []byte) string {
	var out []byte
	if f == FormatSHA256Crypt {
		for _, o := range sha256CryptOrder {
			out = cryptB64(out, c[o[0]], c[o[1]], c[o[2]], 4)
		}
		return string(cryptB64(out, 0, c[31], c[30], 3))
	}
	for _, o := range sha512CryptOrder {
		out = cryptB64(out, c[o[0]], c[o[1]], c[o[2]], 4)
	}
	return string(cryptB64(out, 0, 0, c[63], 2))
}

// parseSHACrypt reads $5$[rounds=<n>$]<salt>$<43 chars> and
// $6$[rounds=<n>$]<salt>$<86 chars>.
func parseSHACrypt(encoded string) (*shaCryptHash, error) {
	s := &shaCryptHash{f: FormatSHA256Crypt, newHash: sha256.New, rounds: shaCryptDefaultRounds}
	hashLen := 43
	if encoded[1] == '6' {
		s.f, s.newHash, hashLen = FormatSHA512Crypt, sha512.New, 86
	}
	rest := encoded[3:]
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		digits, after, found := strings.Cut(r, "$")
		if !found {
			return nil, malformed(s.f, "rounds= must be followed by '$'")
		}
		n, ok := parseDecimal(digits, 0, 1<<40)
		if !ok {
			return nil, malformed(s.f, "rounds must be a decimal integer without leading zeros")
		}
		if n < shaCryptMinRounds || n > shaCryptMaxRounds {
			// crypt(3) clamps such values and writes the clamped number,
			// so no genuine hash carries one.
			return nil, malformed(s.f, "rounds=%d is outside %d..%d", n, shaCryptMinRounds, shaCryptMaxRounds)
		}
		if n > shaCryptLimitRounds {
			return nil, unsupported(s.f, "rounds=%d exceeds the limit %d", n, shaCryptLimitRounds)
		}
		s.rounds = int(n)
		rest = after
	}
	salt, want, found := strings.Cut(rest, "$")
	if !found {
		return nil, malformed(s.f, "want %s[rounds=<n>$]<salt>$<hash>", encoded[:3])
	}
	if len(salt) > shaCryptMaxSalt {
		return nil, malformed(s.f, "salt is %d characters; crypt(3) writes at most %d", len(salt), shaCryptMaxSalt)
	}
	if strings.ContainsAny(salt, ":*!") {
		return nil, malformed(s.f, "salt contains ':', '*' or '!'")
	}
	if len(want) != hashLen || !inAlphabet(want, cryptAlphabet) {
		return nil, malformed(s.f, "hash must be %d characters of ./0-9A-Za-z", hashLen)
	}
	s.salt, s.want = []byte(salt), want
	return s, nil
}
