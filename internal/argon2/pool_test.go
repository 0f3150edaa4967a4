package argon2

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	upstream "golang.org/x/crypto/argon2"
)

// dirty fills buffers in the pool with noise, so the next derivations run
// over memory a previous one (or anything) left behind.
func dirty(r *rand.Rand, memory uint32) {
	var held []*[]block
	for range 3 {
		buf := getBlocks(memory)
		for i := range *buf {
			for j := range (*buf)[i] {
				(*buf)[i][j] = r.Uint64()
			}
		}
		held = append(held, buf)
	}
	for _, buf := range held {
		putBlocks(buf)
	}
}

// TestReusedBuffersMatchUpstream: over buffers full of noise, of the same
// size and larger, every derivation equals golang.org/x/crypto/argon2's
// over fresh zeroed memory, for both variants and many shapes.
func TestReusedBuffersMatchUpstream(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 120 {
		threads := uint8(1 + r.IntN(4))
		memory := uint32(8*int(threads) + r.IntN(600))
		time := uint32(1 + r.IntN(3))
		keyLen := uint32(4 + r.IntN(80))
		pw, salt := make([]byte, r.IntN(40)), make([]byte, 8+r.IntN(24))
		for j := range pw {
			pw[j] = byte(r.Uint32())
		}
		for j := range salt {
			salt[j] = byte(r.Uint32())
		}
		dirty(r, memory+uint32(r.IntN(2))*uint32(r.IntN(300)))
		if got, want := IDKey(pw, salt, time, memory, threads, keyLen), upstream.IDKey(pw, salt, time, memory, threads, keyLen); !bytes.Equal(got, want) {
			t.Fatalf("case %d: argon2id t=%d m=%d p=%d: %x, upstream %x", i, time, memory, threads, got, want)
		}
		dirty(r, memory)
		if got, want := Key(pw, salt, time, memory, threads, keyLen), upstream.Key(pw, salt, time, memory, threads, keyLen); !bytes.Equal(got, want) {
			t.Fatalf("case %d: argon2i t=%d m=%d p=%d: %x, upstream %x", i, time, memory, threads, got, want)
		}
	}
}

// TestGatehouseParametersMatchUpstream: Gatehouse's own parameters
// (passwords.Hash: m=19456, t=2, p=1), twice over the same reused buffer.
func TestGatehouseParametersMatchUpstream(t *testing.T) {
	pw, salt := []byte("correct horse battery staple"), []byte("0123456789abcdef")
	want := upstream.IDKey(pw, salt, 2, 19456, 1, 32)
	dirty(rand.New(rand.NewPCG(3, 4)), 19456)
	for range 2 {
		if got := IDKey(pw, salt, 2, 19456, 1, 32); !bytes.Equal(got, want) {
			t.Fatalf("%x, upstream %x", got, want)
		}
	}
}

// TestLargeMemoryIsNotPooled: a derivation above maxPooled still matches
// upstream, and its buffer is not kept.
func TestLargeMemoryIsNotPooled(t *testing.T) {
	if testing.Short() {
		t.Skip("derives with 65 MiB")
	}
	pw, salt := []byte("pw"), []byte("saltsaltsalt")
	if got, want := IDKey(pw, salt, 1, maxPooled+1024, 1, 16), upstream.IDKey(pw, salt, 1, maxPooled+1024, 1, 16); !bytes.Equal(got, want) {
		t.Fatalf("%x, upstream %x", got, want)
	}
	buf := getBlocks(16)
	defer putBlocks(buf)
	if cap(*buf) > maxPooled {
		t.Fatalf("a %d-block buffer came back from the pool", cap(*buf))
	}
}

// TestConcurrentDerivations: derivations running at once, sharing the
// pool, never see each other's blocks.
func TestConcurrentDerivations(t *testing.T) {
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			r := rand.New(rand.NewPCG(uint64(g), 9))
			for range 10 {
				memory, pw := uint32(16+r.IntN(200)), []byte{byte(g), byte(r.Uint32())}
				salt := []byte("concurrent-salt")
				if got, want := IDKey(pw, salt, 2, memory, 1, 32), upstream.IDKey(pw, salt, 2, memory, 1, 32); !bytes.Equal(got, want) {
					errs <- fmt.Errorf("goroutine %d, m=%d: %x, upstream %x", g, memory, got, want)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
