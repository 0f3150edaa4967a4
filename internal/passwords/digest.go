package passwords

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// SaltPosition says where a salted digest puts its salt.
type SaltPosition string

const (
	// SaltPrefix hashes salt || password.
	SaltPrefix SaltPosition = "prefix"
	// SaltSuffix hashes password || salt.
	SaltSuffix SaltPosition = "suffix"
	// SaltKey uses the salt as the HMAC key and the password as the message.
	SaltKey SaltPosition = "key"
)

// digestAlgorithms are the fast digests legacy systems used.
var digestAlgorithms = map[string]func() hash.Hash{
	"md5":    md5.New,
	"sha1":   sha1.New,
	"sha224": sha256.New224,
	"sha256": sha256.New,
	"sha384": sha512.New384,
	"sha512": sha512.New,
}

// Digest describes one user's fast digest from a legacy system, so that
// Encode can write it in this package's $digest$ encoding. Salt and Key are
// the bytes the legacy system fed to the digest: if it concatenated a hex
// salt string, pass that string's bytes, not their decoding.
type Digest struct {
	Algorithm    string       // md5, sha1, sha224, sha256, sha384 or sha512
	HMAC         bool         // HMAC-Algorithm rather than Algorithm
	Key          []byte       // HMAC key (a "pepper"); nil when SaltPosition is SaltKey
	Salt         []byte       // nil for unsalted digests
	SaltPosition SaltPosition // required when Salt is set
	Hash         string       // the stored digest as text
	Encoding     string       // how Hash is written: "hex" or "base64"
}

// Encode validates d and returns its encoding, for example
//
//	$digest$alg=sha256,salt=c2FsdA,pos=suffix,enc=hex$<64 hex digits>
//	$digest$alg=hmac-sha256,key=<b64>,enc=b64$<base64>
//
// Pass the result through Import before storing it, which wraps it in
// argon2id.
func (d Digest) Encode() (string, error) {
	var b strings.Builder
	b.WriteString("$digest$alg=")
	if d.HMAC {
		b.WriteString("hmac-")
	}
	b.WriteString(d.Algorithm)
	if d.Key != nil {
		fmt.Fprintf(&b, ",key=%s", b64.EncodeToString(d.Key))
	}
	if d.Salt != nil {
		fmt.Fprintf(&b, ",salt=%s,pos=%s", b64.EncodeToString(d.Salt), d.SaltPosition)
	}
	switch d.Encoding {
	case "hex":
		fmt.Fprintf(&b, ",enc=hex$%s", strings.ToLower(d.Hash))
	case "base64":
		raw, err := decodeB64(d.Hash)
		if err != nil {
			return "", malformed(FormatDigest, "hash is not base64: %v", err)
		}
		fmt.Fprintf(&b, ",enc=b64$%s", b64.EncodeToString(raw))
	default:
		return "", malformed(FormatDigest, "encoding %q (want hex or base64)", d.Encoding)
	}
	enc := b.String()
	if _, err := parse(enc); err != nil {
		return "", err
	}
	return enc, nil
}

// digestHash is every fast-digest format: $digest$, LDAP {MD5}/{SHA}/{SSHA…}
// and Django md5$/sha1$, and the argon2id-wrapped form of any of them.
type digestHash struct {
	f       Format
	alg     string // key of digestAlgorithms
	hmac    bool
	key     []byte
	salt    []byte
	pos     SaltPosition // "" when unsalted
	want    []byte       // raw digest, nil when wrapped
	enc     string       // "hex" or "b64" for $digest$, "" otherwise
	wrapped *argon2Hash  // argon2id over the raw digest
}

func (d *digestHash) format() Format { return d.f }

// compute returns the legacy digest of password.
func (d *digestHash) compute(password []byte) []byte {
	newHash := digestAlgorithms[d.alg]
	var h hash.Hash
	switch {
	case d.hmac && d.pos == SaltKey:
		h = hmac.New(newHash, d.salt)
	case d.hmac:
		h = hmac.New(newHash, d.key)
	default:
		h = newHash()
	}
	if d.pos == SaltPrefix {
		h.Write(d.salt)
	}
	h.Write(password)
	if d.pos == SaltSuffix {
		h.Write(d.salt)
	}
	return h.Sum(nil)
}

func (d *digestHash) verify(password []byte) (bool, error) {
	got := d.compute(password)
	if d.wrapped != nil {
		return d.wrapped.verify(got)
	}
	return subtle.ConstantTimeCompare(got, d.want) == 1, nil
}

// spec writes the digest's parameters (without enc) as PHC parameters.
func (d *digestHash) spec() string {
	var b strings.Builder
	b.WriteString("alg=")
	if d.hmac {
		b.WriteString("hmac-")
	}
	b.WriteString(d.alg)
	if d.hmac && d.pos != SaltKey {
		fmt.Fprintf(&b, ",key=%s", b64.EncodeToString(d.key))
	}
	if d.pos != "" {
		fmt.Fprintf(&b, ",salt=%s,pos=%s", b64.EncodeToString(d.salt), d.pos)
	}
	return b.String()
}

// wrap returns the argon2id-wrapped encoding of an unwrapped digest:
// argon2id at the current parameters over the stored raw digest, so that
// the stored value costs an attacker argon2id per guess, while a login
// still verifies as argon2id(digest(password)).
func (d *digestHash) wrap() (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("passwords: reading salt: %w", err)
	}
	a := newArgon2id(d.want, salt)
	return "$digest-argon2id$" + d.spec() + a.tail(), nil
}

// parseDigest reads $digest$<spec>,enc=<hex|b64>$<digest> and
// $digest-argon2id$<spec>$v=19$m=..,t=..,p=..$<salt>$<hash>.
func parseDigest(encoded string) (*digestHash, error) {
	parts := strings.Split(encoded, "$")
	wrapped := parts[1] == "digest-argon2id"
	f := FormatDigest
	if wrapped {
		f = FormatWrappedDigest
	}
	if (!wrapped && len(parts) != 4) || (wrapped && len(parts) != 7) {
		return nil, malformed(f, "wrong number of '$'-separated fields (%d)", len(parts)-1)
	}
	params, ok := parseParams(parts[2])
	if !ok {
		return nil, malformed(f, "parameters must be name=value pairs separated by ','")
	}
	d := &digestHash{f: f}
	var haveSalt, havePos bool
	for _, p := range params {
		var err error
		switch p.name {
		case "alg":
			d.alg, d.hmac = strings.CutPrefix(p.value, "hmac-")
		case "key":
			d.key, err = decodeB64(p.value)
		case "salt":
			haveSalt = true
			d.salt, err = decodeB64(p.value)
		case "pos":
			havePos = true
			d.pos = SaltPosition(p.value)
		case "enc":
			d.enc = p.value
		default:
			return nil, malformed(f, "unknown parameter %q", p.name)
		}
		if err != nil {
			return nil, malformed(f, "%s is not base64: %v", p.name, err)
		}
	}
	if d.alg == "" {
		return nil, malformed(f, "missing alg=")
	}
	if _, ok := digestAlgorithms[d.alg]; !ok {
		return nil, unsupported(f, "algorithm %q (want md5, sha1, sha224, sha256, sha384 or sha512, optionally hmac-)", d.alg)
	}
	switch {
	case haveSalt != havePos:
		return nil, malformed(f, "salt and pos go together")
	case havePos && d.pos != SaltPrefix && d.pos != SaltSuffix && d.pos != SaltKey:
		return nil, malformed(f, "pos=%s (want prefix, suffix or key)", d.pos)
	case haveSalt && len(d.salt) == 0:
		return nil, malformed(f, "empty salt")
	case d.pos == SaltKey && (!d.hmac || d.key != nil):
		return nil, malformed(f, "pos=key needs an hmac- algorithm and no key")
	case d.hmac && d.pos != SaltKey && len(d.key) == 0:
		return nil, malformed(f, "an hmac- algorithm needs key=<base64> or pos=key")
	case !d.hmac && d.key != nil:
		return nil, malformed(f, "key is only for hmac- algorithms")
	}
	if wrapped {
		if d.enc != "" {
			return nil, malformed(f, "enc does not apply to a wrapped digest")
		}
		a, err := parseArgon2("$argon2id$" + strings.Join(parts[3:], "$"))
		if err != nil {
			return nil, fmt.Errorf("%w (in %s)", err, f)
		}
		d.wrapped = a
		return d, nil
	}
	var err error
	switch d.enc {
	case "hex":
		if strings.ToLower(parts[3]) != parts[3] {
			return nil, malformed(f, "hex digest must be lower case")
		}
		d.want, err = hex.DecodeString(parts[3])
	case "b64":
		d.want, err = decodeB64(parts[3])
	default:
		return nil, malformed(f, "enc=%q (want hex or b64)", d.enc)
	}
	if err != nil {
		return nil, malformed(f, "digest does not decode as %s: %v", d.enc, err)
	}
	if size := digestAlgorithms[d.alg]().Size(); len(d.want) != size {
		return nil, malformed(f, "%s digest is %d bytes, want %d", d.alg, len(d.want), size)
	}
	return d, nil
}

// parseDjangoDigest reads Django's SHA1PasswordHasher and MD5PasswordHasher
// encodings, <alg>$<salt>$<hex of alg(salt || password)>; an empty salt
// (md5$$<hex>) is Django's unsalted form.
func parseDjangoDigest(encoded string) (*digestHash, error) {
	f := FormatDjangoDigest
	parts := strings.Split(encoded, "$")
	if len(parts) != 3 {
		return nil, malformed(f, "want %s$<salt>$<hex digest>", parts[0])
	}
	d := &digestHash{f: f, alg: parts[0]}
	if parts[1] != "" {
		d.salt, d.pos = []byte(parts[1]), SaltPrefix
	}
	want, err := hex.DecodeString(parts[2])
	if err != nil || len(want) != digestAlgorithms[d.alg]().Size() {
		return nil, malformed(f, "digest must be %d hex digits", 2*digestAlgorithms[d.alg]().Size())
	}
	d.want = want
	return d, nil
}
