package passwords

import (
	"crypto/md5"
	"crypto/subtle"
	"strings"
)

// md5CryptHash is Poul-Henning Kamp's FreeBSD md5-crypt ($1$), and Apache's
// copy of it with another magic string ($apr1$, htpasswd -m).
type md5CryptHash struct {
	f     Format
	magic string // "$1$" or "$apr1$"
	salt  []byte
	want  string // 22 encoded characters
}

func (m *md5CryptHash) format() Format { return m.f }

func (m *md5CryptHash) verify(password []byte) (bool, error) {
	got := md5CryptEncode(md5Crypt(password, m.salt, m.magic))
	return subtle.ConstantTimeCompare([]byte(got), []byte(m.want)) == 1, nil
}

// md5Crypt follows the reference crypt_md5.c: an initial digest mixing the
// password, magic and salt, then 1000 rounds.
func md5Crypt(password, salt []byte, magic string) []byte {
	alt := md5.New()
	alt.Write(password)
	alt.Write(salt)
	alt.Write(password)
	final := alt.Sum(nil)

	h := md5.New()
	h.Write(password)
	h.Write([]byte(magic))
	h.Write(salt)
	for n := len(password); n > 0; n -= 16 {
		h.Write(final[:min(n, 16)])
	}
	// The reference code clears final first and then feeds its first byte
	// (now zero) for each 1 bit of the length, password[0] for each 0 bit.
	for n := len(password); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write([]byte{0})
		} else {
			h.Write(password[:1])
		}
	}
	final = h.Sum(nil)

	for i := range 1000 {
		h.Reset()
		if i&1 != 0 {
			h.Write(password)
		} else {
			h.Write(final)
		}
		if i%3 != 0 {
			h.Write(salt)
		}
		if i%7 != 0 {
			h.Write(password)
		}
		if i&1 != 0 {
			h.Write(final)
		} else {
			h.Write(password)
		}
		final = h.Sum(final[:0])
	}
	return final
}

func md5CryptEncode(f []byte) string {
	var out []byte
	out = cryptB64(out, f[0], f[6], f[12], 4)
	out = cryptB64(out, f[1], f[7], f[13], 4)
	out = cryptB64(out, f[2], f[8], f[14], 4)
	out = cryptB64(out, f[3], f[9], f[15], 4)
	out = cryptB64(out, f[4], f[10], f[5], 4)
	out = cryptB64(out, 0, 0, f[11], 2)
	return string(out)
}

// parseMD5Crypt reads $1$<salt, up to 8>$<22 chars> and $apr1$<salt>$<22 chars>.
func parseMD5Crypt(encoded string) (*md5CryptHash, error) {
	m := &md5CryptHash{f: FormatMD5Crypt, magic: "$1$"}
	if strings.HasPrefix(encoded, "$apr1$") {
		m.f, m.magic = FormatApacheMD5Crypt, "$apr1$"
	}
	salt, want, found := strings.Cut(encoded[len(m.magic):], "$")
	if !found {
		return nil, malformed(m.f, "want %s<salt>$<hash>", m.magic)
	}
	if len(salt) > 8 {
		return nil, malformed(m.f, "salt is %d characters; at most 8", len(salt))
	}
	if strings.ContainsAny(salt, ":*!") {
		return nil, malformed(m.f, "salt contains ':', '*' or '!'")
	}
	if len(want) != 22 || !inAlphabet(want, cryptAlphabet) {
		return nil, malformed(m.f, "hash must be 22 characters of ./0-9A-Za-z")
	}
	m.salt, m.want = []byte(salt), want
	return m, nil
}
