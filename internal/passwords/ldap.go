package passwords

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// ldapSchemes are the RFC 2307 / OpenLDAP digest schemes, with the digest
// each uses and whether a salt follows the digest.
var ldapSchemes = map[string]struct {
	alg    string
	salted bool
}{
	"MD5": {"md5", false}, "SMD5": {"md5", true},
	"SHA": {"sha1", false}, "SSHA": {"sha1", true},
	"SHA256": {"sha256", false}, "SSHA256": {"sha256", true},
	"SHA384": {"sha384", false}, "SSHA384": {"sha384", true},
	"SHA512": {"sha512", false}, "SSHA512": {"sha512", true},
}

// parseLDAP reads {SCHEME}<value>: the digest schemes above (base64 of
// digest || salt; unsalted ones also as hex), {CRYPT} followed by a crypt(3)
// string, passlib's {PBKDF2...} and Atlassian's {PKCS5S2}.
func parseLDAP(encoded string) (scheme, error) {
	end := strings.IndexByte(encoded, '}')
	if end < 0 {
		return nil, fmt.Errorf("%w: '{' without a closing '}'", ErrMalformed)
	}
	name, body := strings.ToUpper(encoded[1:end]), encoded[end+1:]
	switch name {
	case "CRYPT":
		if !strings.HasPrefix(body, "$") {
			return nil, unsupported(FormatLDAP, "{CRYPT} with traditional DES crypt is not supported")
		}
		return parse(body)
	case "PKCS5S2":
		return parseAtlassian(body)
	case "PBKDF2", "PBKDF2-SHA1", "PBKDF2-SHA256", "PBKDF2-SHA512":
		parts := strings.Split(body, "$")
		alg := strings.ToLower(name)
		f := pbkdf2Algorithms[alg].f
		if len(parts) != 3 {
			return nil, malformed(f, "want {%s}<iterations>$<salt>$<hash>", name)
		}
		return parsePasslibPBKDF2(f, alg, parts[0], parts[1], parts[2])
	}
	s, ok := ldapSchemes[name]
	if !ok {
		return nil, fmt.Errorf("%w: unrecognised LDAP scheme%s", ErrUnsupported, describePrefix(encoded))
	}
	f := FormatLDAP
	size := digestAlgorithms[s.alg]().Size()
	d := &digestHash{f: f, alg: s.alg}
	if !s.salted && len(body) == 2*size {
		// {MD5} and {SHA} are sometimes written in hex (passlib's
		// ldap_hex_md5); the lengths cannot be confused with base64.
		want, err := hex.DecodeString(body)
		if err != nil {
			return nil, malformed(f, "{%s} value is neither base64 nor hex", name)
		}
		d.want = want
		return d, nil
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(body)
	if err != nil {
		return nil, malformed(f, "{%s} value is not padded base64: %v", name, err)
	}
	switch {
	case !s.salted && len(raw) != size:
		return nil, malformed(f, "{%s} decodes to %d bytes, want %d", name, len(raw), size)
	case s.salted && len(raw) <= size:
		return nil, malformed(f, "{%s} decodes to %d bytes, want %d digest bytes and a salt", name, len(raw), size)
	}
	d.want = raw[:size]
	if s.salted {
		d.salt, d.pos = raw[size:], SaltSuffix
	}
	return d, nil
}
