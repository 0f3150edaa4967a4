package argon2

import "sync"

// maxPooled is the largest buffer kept for reuse, in blocks (KiB): 64 MiB
// covers Gatehouse's own parameters (19 MiB, OWASP's first choice) and
// RFC 9106's second recommendation. A derivation with more memory, as an
// imported hash may ask, allocates its buffer and lets it go.
const maxPooled = 64 << 10

// blocks holds buffers between derivations. A sync.Pool, not a fixed set:
// it keeps about as many buffers as derivations run at once (the login's
// passwords.Limiter holds that to one per CPU), and the garbage collector
// drops those left unused for two cycles, so an idle server gives the
// memory back. Its contents are a cache, never state: a derivation reads
// nothing from a buffer it has not written.
var blocks = sync.Pool{New: func() any { return new([]block) }}

// getBlocks returns a buffer of at least memory blocks, with any content.
func getBlocks(memory uint32) *[]block {
	if memory > maxPooled {
		b := make([]block, memory)
		return &b
	}
	buf := blocks.Get().(*[]block)
	if uint32(cap(*buf)) < memory {
		*buf = make([]block, memory)
		adviseHuge(*buf)
	}
	return buf
}

// putBlocks hands a buffer back for the next derivation.
func putBlocks(buf *[]block) {
	if uint32(cap(*buf)) <= maxPooled {
		blocks.Put(buf)
	}
}
