// Package id makes the prefixed, time-ordered identifiers every Gatehouse
// object carries (org_..., usr_..., ses_...).
//
// An id is a prefix, an underscore and 26 lowercase Crockford base32
// characters encoding 48 bits of Unix milliseconds followed by 80 random bits,
// the layout of a ULID. Ids made later sort after ids made earlier (to the
// millisecond), which is what keyset pagination over ids relies on, and they
// are URL-safe and unguessable enough not to leak counts.
package id

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

// Prefixes used by the Scalekit wire contract (SCALEKIT-COMPAT section 4).
const (
	Environment  = "env"
	Organization = "org"
	User         = "usr"
	Session      = "ses"
	Token        = "tkn"
	Client       = "skc"
	ClientSecret = "sks"
	Role         = "role"
	Permission   = "perm"
	Event        = "evt"
	Key          = "key"
	Request      = "req"
	Email        = "eml"
)

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// Generator makes ids. Within one millisecond it increments the random part,
// so ids from one generator are strictly increasing even when many are made
// at once; that keeps pagination stable for bulk writes.
type Generator struct {
	now func() time.Time

	mu     sync.Mutex
	lastMs uint64
	last   [10]byte
}

// NewGenerator returns a Generator reading time from now.
func NewGenerator(now func() time.Time) *Generator {
	return &Generator{now: now}
}

// New returns a fresh id with the given prefix.
func (g *Generator) New(prefix string) string {
	ms := uint64(g.now().UnixMilli())
	g.mu.Lock()
	var r [10]byte
	if ms <= g.lastMs {
		ms = g.lastMs
		r = g.last
		increment(&r)
	} else {
		if _, err := rand.Read(r[:]); err != nil {
			panic("id: crypto/rand failed: " + err.Error())
		}
		r[0] &= 0x7f // leave room to increment within the millisecond
	}
	g.lastMs, g.last = ms, r
	g.mu.Unlock()

	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], ms<<16)
	copy(b[6:], r[:])
	return prefix + "_" + encode(b)
}

func increment(r *[10]byte) {
	for i := len(r) - 1; i >= 0; i-- {
		r[i]++
		if r[i] != 0 {
			return
		}
	}
}

// encode writes 128 bits as 26 base32 characters, most significant first.
func encode(b [16]byte) string {
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// HasPrefix reports whether s looks like an id of the given kind.
func HasPrefix(s, prefix string) bool {
	return len(s) == len(prefix)+27 && strings.HasPrefix(s, prefix+"_")
}
