package importer

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/passwords"
)

// CustomPasswordHash is the object Auth0's bulk user import documents as
// custom_password_hash ("Bulk User Import Database Schema and Examples"),
// which the generic format takes too:
//
//	{"algorithm": "sha256",
//	 "hash": {"value": "...", "encoding": "hex"},
//	 "salt": {"value": "...", "encoding": "utf8", "position": "prefix"}}
//
// algorithm is argon2, bcrypt, ldap, pbkdf2 (hash.value is then the
// encoded hash, in utf8), md4, md5, sha1, sha256, sha512 (a digest in hex,
// base64 or utf8-as-hex, optionally salted), or hmac (hash.digest names
// the digest and hash.key holds the key). password.encoding other than
// utf8 (or ascii) is not supported.
type CustomPasswordHash struct {
	Algorithm string `json:"algorithm"`
	Hash      struct {
		Value    string `json:"value"`
		Encoding string `json:"encoding"`
		Digest   string `json:"digest"`
		Key      *struct {
			Value    string `json:"value"`
			Encoding string `json:"encoding"`
		} `json:"key"`
	} `json:"hash"`
	Salt *struct {
		Value    string `json:"value"`
		Encoding string `json:"encoding"`
		Position string `json:"position"`
	} `json:"salt"`
	Password *struct {
		Encoding string `json:"encoding"`
	} `json:"password"`
}

// hashError is a hash the reader cannot carry over; the row is rejected
// with its rule.
type hashError struct{ rule, msg string }

func (e *hashError) Error() string { return e.msg }

func unsupportedHash(format string, args ...any) error {
	return &hashError{rule: "unsupported_hash", msg: fmt.Sprintf(format, args...)}
}

func malformedHash(format string, args ...any) error {
	return &hashError{rule: "malformed_hash", msg: fmt.Sprintf(format, args...)}
}

// decodeAs decodes an Auth0 {value, encoding} pair into the bytes it
// stands for.
func decodeAs(value, encoding, what string) ([]byte, error) {
	switch strings.ToLower(encoding) {
	case "", "utf8", "utf-8":
		return []byte(value), nil
	case "hex":
		b, err := hex.DecodeString(value)
		if err != nil {
			return nil, malformedHash("%s is not hex", what)
		}
		return b, nil
	case "base64":
		b, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			b, err = base64.RawStdEncoding.DecodeString(value)
		}
		if err != nil {
			return nil, malformedHash("%s is not base64", what)
		}
		return b, nil
	}
	return nil, unsupportedHash("%s encoding %q (want hex, base64 or utf8)", what, encoding)
}

// Encode returns the hash in an encoding internal/passwords accepts.
func (c *CustomPasswordHash) Encode() (string, error) {
	if c.Password != nil {
		switch strings.ToLower(c.Password.Encoding) {
		case "", "utf8", "utf-8", "ascii":
		default:
			return "", unsupportedHash("custom_password_hash.password.encoding %q: only passwords hashed as UTF-8 can be verified", c.Password.Encoding)
		}
	}
	alg := strings.ToLower(c.Algorithm)
	switch alg {
	case "bcrypt", "argon2", "ldap", "pbkdf2":
		if e := strings.ToLower(c.Hash.Encoding); e != "" && e != "utf8" && e != "utf-8" {
			return "", malformedHash("custom_password_hash.hash.encoding must be utf8 for %s", alg)
		}
		if c.Salt != nil {
			return "", malformedHash("custom_password_hash.salt does not apply to %s (the salt is inside the hash)", alg)
		}
		return c.Hash.Value, nil
	case "md5", "sha1", "sha256", "sha512", "hmac":
	case "md4":
		return "", unsupportedHash("custom_password_hash.algorithm md4 is not supported")
	default:
		return "", unsupportedHash("custom_password_hash.algorithm %q is not supported", c.Algorithm)
	}
	d := passwords.Digest{Algorithm: alg, Hash: c.Hash.Value}
	if alg == "hmac" {
		d.HMAC, d.Algorithm = true, strings.ToLower(c.Hash.Digest)
		if c.Hash.Key == nil {
			return "", malformedHash("custom_password_hash.hash.key is required for hmac")
		}
		key, err := decodeAs(c.Hash.Key.Value, c.Hash.Key.Encoding, "custom_password_hash.hash.key")
		if err != nil {
			return "", err
		}
		d.Key = key
	}
	switch strings.ToLower(c.Hash.Encoding) {
	case "hex":
		d.Encoding = "hex"
	case "base64":
		d.Encoding = "base64"
	default:
		return "", malformedHash("custom_password_hash.hash.encoding %q (want hex or base64 for %s)", c.Hash.Encoding, alg)
	}
	if c.Salt != nil {
		salt, err := decodeAs(c.Salt.Value, c.Salt.Encoding, "custom_password_hash.salt")
		if err != nil {
			return "", err
		}
		d.Salt = salt
		switch strings.ToLower(c.Salt.Position) {
		case "prefix":
			d.SaltPosition = passwords.SaltPrefix
		case "suffix":
			d.SaltPosition = passwords.SaltSuffix
		default:
			return "", malformedHash("custom_password_hash.salt.position %q (want prefix or suffix)", c.Salt.Position)
		}
	}
	enc, err := d.Encode()
	if err != nil {
		return "", malformedHash("custom_password_hash: %v", err)
	}
	return enc, nil
}

// jsonText writes a JSON value as metadata text: strings as they are,
// null as empty, anything else as compact JSON.
func jsonText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	b, _ := json.Marshal(v)
	return string(b)
}
