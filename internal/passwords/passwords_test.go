package passwords

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// hundredBytes is a 100-byte password with a precomposed (NFC) "é".
var hundredBytes = func() string {
	s := "Caf\u00e9 au lait, " // 15 bytes: é is two
	return s + strings.Repeat("0123456789", 8) + "abcde"
}()

func mustHash(t testing.TB, password string) string {
	t.Helper()
	h, err := Hash(password)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	return h
}

// A06: unique salts of 16 bytes, argon2id with m ≥ 19456 KiB, t ≥ 2, p = 1.
func TestHashUsesArgon2idWithOWASPParameters(t *testing.T) {
	h1, h2 := mustHash(t, "correct horse"), mustHash(t, "correct horse")
	if h1 == h2 {
		t.Fatalf("two hashes of one password are equal: %s", h1)
	}
	for _, h := range []string{h1, h2} {
		s, err := parse(h)
		if err != nil {
			t.Fatalf("parse(%q): %v", h, err)
		}
		a, ok := s.(*argon2Hash)
		if !ok || a.variant != FormatArgon2id {
			t.Fatalf("%q is not argon2id", h)
		}
		if a.memory < 19456 || a.time < 2 || a.threads != 1 {
			t.Errorf("%q: m=%d t=%d p=%d, below OWASP's m=19456 t=2 p=1", h, a.memory, a.time, a.threads)
		}
		if len(a.salt) != 16 || len(a.key) != 32 {
			t.Errorf("%q: salt %d bytes, hash %d bytes; want 16 and 32", h, len(a.salt), len(a.key))
		}
		if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Errorf("%q does not start with the documented prefix", h)
		}
	}
	s1, _ := parse(h1)
	s2, _ := parse(h2)
	if string(s1.(*argon2Hash).salt) == string(s2.(*argon2Hash).salt) {
		t.Error("two hashes share a salt")
	}
}

func TestHashVerifiesAndIsCurrent(t *testing.T) {
	for _, pw := range []string{"correct horse battery staple", "", " ", "\x00", "пароль🔑", hundredBytes} {
		h := mustHash(t, pw)
		ok, rehash, err := Verify(h, pw)
		if !ok || rehash || err != nil {
			t.Errorf("Verify(Hash(%q)) = %v, %v, %v; want true, false, nil", pw, ok, rehash, err)
		}
	}
}

// A05: only the exact bytes verify: no truncation, case folding, trimming
// or Unicode normalization.
func TestVerifyIsExact(t *testing.T) {
	if len(hundredBytes) != 100 {
		t.Fatalf("test password is %d bytes, want 100", len(hundredBytes))
	}
	h := mustHash(t, hundredBytes)
	nfd := strings.Replace(hundredBytes, "\u00e9", "e\u0301", 1) // the same text, decomposed
	near := map[string]string{
		"first 72 bytes":         hundredBytes[:72],
		"first 99 bytes":         hundredBytes[:99],
		"upper case":             strings.ToUpper(hundredBytes),
		"lower case":             strings.ToLower(hundredBytes),
		"one letter's case":      "c" + hundredBytes[1:],
		"trailing space":         hundredBytes + " ",
		"leading space":          " " + hundredBytes,
		"trailing newline":       hundredBytes + "\n",
		"NFD instead of NFC":     nfd,
		"last byte changed":      hundredBytes[:99] + "f",
		"NUL appended":           hundredBytes + "\x00",
		"first 72 bytes + other": hundredBytes[:72] + strings.Repeat("x", 28),
	}
	for name, pw := range near {
		if ok, _, err := Verify(h, pw); ok || err != nil {
			t.Errorf("%s: Verify = %v, %v; want false, nil", name, ok, err)
		}
	}
	if ok, _, _ := Verify(h, hundredBytes); !ok {
		t.Fatal("the exact password does not verify")
	}
	// And the other way round: stored NFD, typed NFC.
	if ok, _, _ := Verify(mustHash(t, nfd), hundredBytes); ok {
		t.Error("an NFD-hashed password verifies with its NFC form")
	}
}

func TestNeedsRehash(t *testing.T) {
	salt16 := []byte("0123456789abcdef")
	higher := &argon2Hash{variant: FormatArgon2id, memory: argonMemory, time: 3, threads: 1, salt: salt16}
	higher.key = make([]byte, argonKeyLen)
	higher.key = higher.derive([]byte("pw"))
	argon2iNow := &argon2Hash{variant: FormatArgon2i, memory: argonMemory, time: argonTime, threads: 1, salt: salt16}
	argon2iNow.key = make([]byte, argonKeyLen)
	argon2iNow.key = argon2iNow.derive([]byte("pw"))
	shortSalt := &argon2Hash{variant: FormatArgon2id, memory: argonMemory, time: argonTime, threads: 1, salt: salt16[:8]}
	shortSalt.key = make([]byte, argonKeyLen)
	shortSalt.key = shortSalt.derive([]byte("pw"))
	for name, tc := range map[string]struct {
		encoded, password string
		want              bool
	}{
		"current argon2id":              {mustHash(t, "pw"), "pw", false},
		"argon2id with lower m and t":   {"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", "password", true},
		"argon2id with higher t":        {higher.encode(), "pw", true},
		"argon2i at current parameters": {argon2iNow.encode(), "pw", true},
		"argon2id with an 8-byte salt":  {shortSalt.encode(), "pw", true},
		"Django-prefixed argon2id":      {"argon2" + mustHash(t, "pw"), "pw", true},
		"bcrypt":                        {"$2y$04$MTIzNDU2Nzg5MDEyMzQ1NekACxf2CF7ipfk/b9FllU9Fs8RcUm5UG", "test", true},
	} {
		ok, rehash, err := Verify(tc.encoded, tc.password)
		if !ok || err != nil || rehash != tc.want {
			t.Errorf("%s: Verify = %v, %v, %v; want true, %v, nil", name, ok, rehash, err, tc.want)
		}
		if ok, rehash, _ := Verify(tc.encoded, tc.password+"x"); ok || rehash {
			t.Errorf("%s: wrong password gave ok=%v needsRehash=%v", name, ok, rehash)
		}
	}
}

// bcrypt reads only 72 bytes of password; an imported bcrypt hash keeps
// that behaviour until the first login replaces it with argon2id, which
// then binds every byte of the password typed at that login.
func TestBcryptKeeps72ByteLimitUntilRehash(t *testing.T) {
	const imported = "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui"
	const typed = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored"
	ok, rehash, err := Verify(imported, typed[:72]+"anything")
	if !ok || !rehash || err != nil {
		t.Fatalf("bcrypt import: Verify(first 72 bytes + other) = %v, %v, %v; want true, true, nil (inherited)", ok, rehash, err)
	}
	ok, rehash, err = Verify(imported, typed)
	if !ok || !rehash || err != nil {
		t.Fatalf("bcrypt import: Verify(exact) = %v, %v, %v", ok, rehash, err)
	}
	rehashed := mustHash(t, typed)
	if ok, _, _ := Verify(rehashed, typed[:72]); ok {
		t.Error("after the rehash, the first 72 bytes alone still verify")
	}
	if ok, _, _ := Verify(rehashed, typed[:72]+"anything"); ok {
		t.Error("after the rehash, bytes past 72 are still ignored")
	}
}

func TestPasswordLengthLimit(t *testing.T) {
	max := strings.Repeat("a", MaxPasswordLength)
	h := mustHash(t, max)
	if ok, _, err := Verify(h, max); !ok || err != nil {
		t.Fatalf("Verify(%d-byte password) = %v, %v", MaxPasswordLength, ok, err)
	}
	over := max + "a"
	if _, err := Hash(over); !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("Hash(%d bytes) = %v; want ErrPasswordTooLong", len(over), err)
	}
	if ok, _, err := Verify(h, over); ok || !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("Verify(%d bytes) = %v, %v; want false, ErrPasswordTooLong", len(over), ok, err)
	}
	DummyVerify(over) // must not panic
}

func TestDummyHashIsCurrent(t *testing.T) {
	s, err := parse(dummyHash)
	if err != nil {
		t.Fatalf("dummyHash does not parse: %v", err)
	}
	if a, ok := s.(*argon2Hash); !ok || !a.current() {
		t.Fatalf("dummyHash %q is not argon2id at the parameters Hash uses", dummyHash)
	}
}

// A03: an unknown user costs what a known one does. This compares the
// fastest of several runs of each, with a generous factor, so it catches a
// DummyVerify that does no work or the wrong work, not small jitter.
func TestDummyVerifyCostsAsMuchAsVerify(t *testing.T) {
	h := mustHash(t, "the real password")
	timeOf := func(f func()) time.Duration {
		start := time.Now()
		f()
		return time.Since(start)
	}
	// Interleave the two and keep the fastest run of each, so that load
	// from other processes affects both alike and mostly drops out.
	known, dummy := time.Duration(1<<62), time.Duration(1<<62)
	for range 7 {
		known = min(known, timeOf(func() { _, _, _ = Verify(h, "a wrong password") }))
		dummy = min(dummy, timeOf(func() { DummyVerify("a wrong password") }))
	}
	if ratio := float64(dummy) / float64(known); ratio < 0.33 || ratio > 3 {
		t.Errorf("DummyVerify took %v, Verify %v (ratio %.2f); want within a factor of 3", dummy, known, ratio)
	}
}

func TestParseReportsFormat(t *testing.T) {
	f, err := Parse(mustHash(t, "x"))
	if err != nil || f != FormatArgon2id {
		t.Fatalf("Parse(Hash) = %q, %v", f, err)
	}
}
