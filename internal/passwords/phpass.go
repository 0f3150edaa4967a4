package passwords

import (
	"crypto/md5"
	"crypto/subtle"
	"strings"
)

// phpass iteration counts are 2^n for n in 7..30 (the library's own range);
// imports are limited to 2^20 MD5 chains.
const (
	phpassMinLog2   = 7
	phpassMaxLog2   = 30
	phpassLimitLog2 = 20
)

// phpassHash is the "portable" hash of Solar Designer's phpass, used by
// WordPress ($P$) and phpBB ($H$): iterated MD5.
type phpassHash struct {
	log2 uint
	salt []byte // 8 characters
	want string // 22 encoded characters
}

func (p *phpassHash) format() Format { return FormatPHPass }

func (p *phpassHash) verify(password []byte) (bool, error) {
	h := md5.New()
	h.Write(p.salt)
	h.Write(password)
	sum := h.Sum(nil)
	for range 1 << p.log2 {
		h.Reset()
		h.Write(sum)
		h.Write(password)
		sum = h.Sum(sum[:0])
	}
	got := phpassEncode(sum)
	return subtle.ConstantTimeCompare([]byte(got), []byte(p.want)) == 1, nil
}

// phpassEncode is phpass's encode64 over 16 bytes: little-endian groups of
// three bytes, six bits per character, the last group short.
func phpassEncode(in []byte) string {
	var out []byte
	for i := 0; i < len(in); i += 3 {
		switch len(in) - i {
		case 1:
			out = cryptB64(out, 0, 0, in[i], 2)
		case 2:
			out = cryptB64(out, 0, in[i+1], in[i], 3)
		default:
			out = cryptB64(out, in[i+2], in[i+1], in[i], 4)
		}
	}
	return string(out)
}

// parsePHPass reads $P$ or $H$, one character for log2(iterations), an
// 8-character salt and 22 characters of hash: 34 bytes in all.
func parsePHPass(encoded string) (*phpassHash, error) {
	f := FormatPHPass
	if len(encoded) != 34 {
		return nil, malformed(f, "want 34 characters ($P$ + rounds + 8 salt + 22 hash), got %d", len(encoded))
	}
	log2 := strings.IndexByte(cryptAlphabet, encoded[3])
	if log2 < phpassMinLog2 || log2 > phpassMaxLog2 {
		return nil, malformed(f, "rounds character %q is outside 2^%d..2^%d", encoded[3], phpassMinLog2, phpassMaxLog2)
	}
	if log2 > phpassLimitLog2 {
		return nil, unsupported(f, "2^%d iterations exceeds the limit 2^%d", log2, phpassLimitLog2)
	}
	if !inAlphabet(encoded[4:], cryptAlphabet) {
		return nil, malformed(f, "salt and hash must use ./0-9A-Za-z")
	}
	return &phpassHash{log2: uint(log2), salt: []byte(encoded[4:12]), want: encoded[12:]}, nil
}
