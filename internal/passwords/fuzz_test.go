package passwords

import (
	"errors"
	"testing"
)

// FuzzParse feeds arbitrary strings to Parse: it must never panic, must
// classify every failure as malformed or unsupported, and must be
// deterministic. Seeds are every known-good and known-bad hash.
func FuzzParse(f *testing.F) {
	for _, v := range knownAnswers {
		f.Add(v.encoded)
	}
	for _, b := range badHashes {
		f.Add(b.encoded)
	}
	f.Add(dummyHash)
	f.Add("$digest-argon2id$alg=md5$v=19$m=19456,t=2,p=1$758ykwlYBXVJrJ9G49M9yw$ZEV44Q36GwABZdPvnGnVICSjefj4QiMgRBnvTFTEHOo")
	f.Add("$firebase-scrypt$rounds=8,mem-cost=14,salt-separator=Bw,signer-key=AAAA$AAAA$AAA")
	f.Fuzz(func(t *testing.T, s string) {
		format, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("Parse(%q) error %v is neither ErrMalformed nor ErrUnsupported", s, err)
			}
			if format != "" {
				t.Fatalf("Parse(%q) returned format %q with an error", s, format)
			}
			return
		}
		if format == "" {
			t.Fatalf("Parse(%q) succeeded without a format", s)
		}
		again, err := Parse(s)
		if err != nil || again != format {
			t.Fatalf("Parse(%q) is not deterministic: %q then %q, %v", s, format, again, err)
		}
	})
}

// FuzzVerify checks that whatever Parse accepts, Verify can evaluate
// without panicking or failing, for any password. Hashes whose parameters
// would make one evaluation slow are skipped, to keep the fuzzer fast.
func FuzzVerify(f *testing.F) {
	for _, v := range knownAnswers {
		f.Add(v.encoded, v.password)
	}
	f.Fuzz(func(t *testing.T, encoded, password string) {
		s, err := parse(encoded)
		if err != nil || !cheap(s) {
			return
		}
		if _, _, err := Verify(encoded, password); err != nil && !errors.Is(err, ErrPasswordTooLong) {
			t.Fatalf("Verify(%q, %q) failed on a hash Parse accepted: %v", encoded, password, err)
		}
	})
}

// cheap reports whether one verification of s takes well under 10 ms.
func cheap(s scheme) bool {
	switch h := s.(type) {
	case *argon2Hash:
		return uint64(h.memory)*uint64(h.time) <= 1<<12
	case *bcryptHash:
		return h.encoded[4:6] <= "06"
	case *scryptHash:
		return h.logN <= 10 && h.r*h.p <= 16
	case *firebaseHash:
		return h.memCost <= 10 && h.rounds <= 8
	case *pbkdf2Hash:
		return h.iter <= 20000
	case *shaCryptHash:
		return h.rounds <= 20000
	case *phpassHash:
		return h.log2 <= 14
	case *digestHash:
		return h.wrapped == nil || uint64(h.wrapped.memory)*uint64(h.wrapped.time) <= 1<<12
	}
	return true
}
