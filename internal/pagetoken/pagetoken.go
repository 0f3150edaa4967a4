// Package pagetoken makes the opaque page tokens of list calls.
//
// A token carries the last id of the page it follows, bound to the list it
// came from (kind and filter) and signed with the environment's key, so a
// client can neither forge a position nor reuse a token on another query.
// Tokens are not encrypted: the id they carry is one the caller has already
// seen.
package pagetoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// ErrInvalid is returned for a token that is malformed, tampered with, or
// from another list.
var ErrInvalid = errors.New("page_token is not valid for this request")

// Codec signs and checks tokens with one key.
type Codec struct {
	key []byte
}

// New returns a Codec using key (at least 32 bytes).
func New(key []byte) *Codec { return &Codec{key: key} }

type body struct {
	After  string `json:"a"`
	Filter string `json:"f"`
}

// Encode returns a token that resumes the list (kind, filter) after afterID.
func (c *Codec) Encode(kind, filter, afterID string) string {
	b, _ := json.Marshal(body{After: afterID, Filter: digest(kind, filter)})
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + base64.RawURLEncoding.EncodeToString(c.mac(payload))
}

// Decode checks token and returns the id to resume after. An empty token
// means the first page.
func (c *Codec) Decode(token, kind, filter string) (string, error) {
	if token == "" {
		return "", nil
	}
	payload, sig, ok := strings.Cut(token, ".")
	if !ok {
		return "", ErrInvalid
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, c.mac(payload)) {
		return "", ErrInvalid
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return "", ErrInvalid
	}
	var b body
	if err := json.Unmarshal(raw, &b); err != nil || b.Filter != digest(kind, filter) || b.After == "" {
		return "", ErrInvalid
	}
	return b.After, nil
}

func (c *Codec) mac(payload string) []byte {
	h := hmac.New(sha256.New, c.key)
	h.Write([]byte(payload))
	return h.Sum(nil)[:16]
}

func digest(kind, filter string) string {
	s := sha256.Sum256([]byte(kind + "\x00" + filter))
	return base64.RawURLEncoding.EncodeToString(s[:8])
}
