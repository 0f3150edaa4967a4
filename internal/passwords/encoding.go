package passwords

import (
	"encoding/base64"
	"errors"
	"strings"
)

// b64 is the PHC string format's "B64": the standard alphabet without
// padding. Decoding also accepts up to two '=' of padding, because several
// exporters (and hand-built strings) add them.
var b64 = base64.RawStdEncoding

func decodeB64(s string) ([]byte, error) {
	t := strings.TrimRight(s, "=")
	if len(s)-len(t) > 2 {
		return nil, errors.New("too much base64 padding")
	}
	if strings.ContainsAny(t, "=") {
		return nil, errors.New("'=' inside base64")
	}
	return b64.DecodeString(t)
}

// decodeAB64 decodes passlib's "adapted base64": the standard alphabet with
// '.' in place of '+', without padding.
func decodeAB64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "+=") {
		return nil, errors.New("'+' or '=' in adapted base64")
	}
	return b64.DecodeString(strings.ReplaceAll(s, ".", "+"))
}

// decodeStdPadded decodes standard base64 with the padding it must have, as
// LDAP, Django and Keycloak write it.
func decodeStdPadded(s string) ([]byte, error) {
	return base64.StdEncoding.Strict().DecodeString(s)
}

// parseDecimal parses a canonical unsigned decimal (no sign, no leading
// zeros) within [lo, hi].
func parseDecimal(s string, lo, hi uint64) (uint64, bool) {
	if s == "" || len(s) > 19 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, n >= lo && n <= hi
}

// param is one name=value pair of a PHC parameter list.
type param struct{ name, value string }

// parseParams splits "a=1,b=2" into pairs, refusing empty names, missing
// '=' and repeated names.
func parseParams(s string) ([]param, bool) {
	if s == "" {
		return nil, false
	}
	var out []param
	seen := map[string]bool{}
	for _, kv := range strings.Split(s, ",") {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" || seen[name] {
			return nil, false
		}
		seen[name] = true
		out = append(out, param{name, value})
	}
	return out, true
}

// cryptAlphabet is the "./0-9A-Za-z" alphabet of the crypt(3) family
// (md5-crypt, sha-crypt, phpass), least significant 6 bits first.
const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// cryptB64 appends n characters encoding the 24-bit value b2<<16|b1<<8|b0,
// low bits first, as crypt(3) implementations do.
func cryptB64(dst []byte, b2, b1, b0 byte, n int) []byte {
	w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
	for ; n > 0; n-- {
		dst = append(dst, cryptAlphabet[w&0x3f])
		w >>= 6
	}
	return dst
}

func inAlphabet(s, alphabet string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(alphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}
