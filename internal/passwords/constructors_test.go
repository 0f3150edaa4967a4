package passwords

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// firebaseSample is the project in Firebase's published scrypt sample
// (github.com/firebase/scrypt README; DESIGN.md "Known pitfalls").
var firebaseSample = FirebaseParams{
	SignerKey:     "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
	SaltSeparator: "Bw==",
	Rounds:        8,
	MemCost:       14,
}

func TestFirebaseScrypt(t *testing.T) {
	lowCost := firebaseSample
	lowCost.Rounds, lowCost.MemCost = 4, 10
	noSep := firebaseSample
	noSep.SaltSeparator = ""
	for _, tc := range []struct {
		source string
		params FirebaseParams
		hash   string
	}{
		{"Firebase scrypt README", firebaseSample, "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ=="},
		// zitadel/passwap internal/testvalues/firebasescrypt.go, made with
		// firebasescrypt.py from the same sample.
		{"passwap (rounds 4, mem_cost 10)", lowCost, "EQ0tlNdKv5ZBDYN7ofOYlhhTEe5Tu9bueDmtDUhLPM+9dcS1u1ALgMcT6N1+U9GsDlVdd3FE2dmz37fU5Y8A9Q=="},
		{"passwap (no separator)", noSep, "NohHtJ2FmkEqzefZ0IHnOlqTzFN8n6vXXd0EW2OIGuUh4rcwvVh7XVRDVs5yOrueoudRPIoimS6jIwf4pMW3rg=="},
	} {
		t.Run(tc.source, func(t *testing.T) {
			enc, err := FirebaseScrypt(tc.params, "42xEC+ixf3L2lw==", tc.hash)
			if err != nil {
				t.Fatalf("FirebaseScrypt: %v", err)
			}
			wantPrefix := fmt.Sprintf("$firebase-scrypt$rounds=%d,mem-cost=%d,salt-separator=%s,signer-key=jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA$42xEC+ixf3L2lw$",
				tc.params.Rounds, tc.params.MemCost, strings.TrimRight(tc.params.SaltSeparator, "="))
			if !strings.HasPrefix(enc, wantPrefix) {
				t.Errorf("encoding %q\nwant prefix  %q", enc, wantPrefix)
			}
			if f, err := Parse(enc); err != nil || f != FormatFirebaseScrypt {
				t.Fatalf("Parse = %q, %v", f, err)
			}
			if ok, rehash, err := Verify(enc, "user1password"); !ok || !rehash || err != nil {
				t.Fatalf("Verify(right) = %v, %v, %v; want true, true, nil", ok, rehash, err)
			}
			for _, wrong := range wrongPasswords("user1password") {
				if ok, _, err := Verify(enc, wrong); ok || err != nil {
					t.Errorf("Verify(%q) = %v, %v", wrong, ok, err)
				}
			}
			if got, err := Import(enc); err != nil || got != enc {
				t.Errorf("Import = %q, %v; want unchanged", got, err)
			}
		})
	}
	// The wrong project key does not verify.
	other := firebaseSample
	other.SignerKey = base64.StdEncoding.EncodeToString(make([]byte, 64))
	enc, err := FirebaseScrypt(other, "42xEC+ixf3L2lw==", "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := Verify(enc, "user1password"); ok {
		t.Error("verified with another project's signer key")
	}
}

func TestFirebaseScryptRefusesBadInput(t *testing.T) {
	const salt, hash = "42xEC+ixf3L2lw==", "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ=="
	bad := func(mut func(*FirebaseParams)) FirebaseParams { p := firebaseSample; mut(&p); return p }
	for name, tc := range map[string]struct {
		p          FirebaseParams
		salt, hash string
		want       error
	}{
		"signer key not base64": {bad(func(p *FirebaseParams) { p.SignerKey = "not base64!" }), salt, hash, ErrMalformed},
		"empty signer key":      {bad(func(p *FirebaseParams) { p.SignerKey = "" }), salt, hash, ErrMalformed},
		"rounds 0":              {bad(func(p *FirebaseParams) { p.Rounds = 0 }), salt, hash, ErrMalformed},
		"mem cost 0":            {bad(func(p *FirebaseParams) { p.MemCost = 0 }), salt, hash, ErrMalformed},
		"mem cost 25":           {bad(func(p *FirebaseParams) { p.MemCost = 25 }), salt, hash, ErrUnsupported},
		"empty salt":            {firebaseSample, "", hash, ErrMalformed},
		"hash shorter than key": {firebaseSample, salt, hash[:40], ErrMalformed},
		"hash not base64":       {firebaseSample, salt, "$$$", ErrMalformed},
	} {
		if _, err := FirebaseScrypt(tc.p, tc.salt, tc.hash); !errors.Is(err, tc.want) {
			t.Errorf("%s: FirebaseScrypt = %v; want %v", name, err, tc.want)
		}
	}
}

// keycloakJSON builds a credential as a Keycloak realm export holds it.
func keycloakJSON(salt, value []byte, alg string, iterations int, extra string) (secretData, credentialData string) {
	secretData = fmt.Sprintf(`{"value":%q,"salt":%q,"additionalParameters":{}}`,
		base64.StdEncoding.EncodeToString(value), base64.StdEncoding.EncodeToString(salt))
	credentialData = fmt.Sprintf(`{"hashIterations":%d,"algorithm":%q,"additionalParameters":{%s}}`, iterations, alg, extra)
	return
}

func TestKeycloak(t *testing.T) {
	passlib512, _ := parse("$pbkdf2-sha512$1212$RHY0Fr3IDMSVO/RSZyb5ow$eNLfBK.eVozomMr.1gYa17k9B7KIK25NOEshvhrSX.esqY3s.FvWZViXz4KoLlQI.BzY/YTNJOiKc5gBYFYGww")
	p512 := passlib512.(*pbkdf2Hash)
	phcArgon, _ := parse("$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4")
	a := phcArgon.(*argon2Hash)
	for _, tc := range []struct {
		source         string
		salt, value    []byte
		alg            string
		iterations     int
		extra          string
		password, want string
	}{
		// Keycloak's pbkdf2-sha256 used 512-bit output by default; the
		// RFC 7914 §11 vectors are 64 bytes.
		{"RFC 7914 §11 #1", []byte("salt"), mustHex("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"),
			"pbkdf2-sha256", 1, "", "passwd", "$pbkdf2-sha256$i=1,l=64$c2FsdA$"},
		{"RFC 6070 #3", []byte("salt"), mustHex("4b007901b765489abead49d926f721d065a429c1"),
			"pbkdf2", 4096, "", "password", "$pbkdf2$i=4096,l=20$c2FsdA$"},
		{"passlib pbkdf2_sha512", p512.salt, p512.key, "pbkdf2-sha512", 1212, "", "password", "$pbkdf2-sha512$i=1212,l=64$"},
		{"phc-winner-argon2 test.c", a.salt, a.key, "argon2", 2,
			`"type":["id"],"version":["1.3"],"hashLength":["32"],"memory":["256"],"parallelism":["1"]`,
			"password", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$"},
	} {
		t.Run(tc.source, func(t *testing.T) {
			sec, cred := keycloakJSON(tc.salt, tc.value, tc.alg, tc.iterations, tc.extra)
			enc, err := Keycloak(sec, cred)
			if err != nil {
				t.Fatalf("Keycloak: %v", err)
			}
			if !strings.HasPrefix(enc, tc.want) {
				t.Errorf("Keycloak = %q; want prefix %q", enc, tc.want)
			}
			if ok, rehash, err := Verify(enc, tc.password); !ok || !rehash || err != nil {
				t.Fatalf("Verify(right) = %v, %v, %v", ok, rehash, err)
			}
			if ok, _, err := Verify(enc, tc.password+"x"); ok || err != nil {
				t.Errorf("Verify(wrong) = %v, %v", ok, err)
			}
		})
	}
}

func TestKeycloakRefusesBadInput(t *testing.T) {
	salt, value := []byte("saltsaltsaltsalt"), make([]byte, 32)
	good := func(alg, extra string) (string, string) { return keycloakJSON(salt, value, alg, 2, extra) }
	sec, _ := good("pbkdf2-sha256", "")
	for name, tc := range map[string]struct {
		sec, cred string
		want      error
	}{
		"secretData not JSON": {"{", `{"hashIterations":1,"algorithm":"pbkdf2"}`, ErrMalformed},
		"credData not JSON":   {sec, "nope", ErrMalformed},
		"salt not base64":     {`{"value":"AAAA","salt":"!!"}`, `{"hashIterations":1,"algorithm":"pbkdf2"}`, ErrMalformed},
		"zero iterations":     {sec, `{"hashIterations":0,"algorithm":"pbkdf2-sha256"}`, ErrMalformed},
		"bcrypt provider":     {sec, `{"hashIterations":10,"algorithm":"bcrypt"}`, ErrUnsupported},
		"pbkdf2-sha384":       {sec, `{"hashIterations":10,"algorithm":"pbkdf2-sha384"}`, ErrUnsupported},
		"argon2d":             {sec, `{"hashIterations":2,"algorithm":"argon2","additionalParameters":{"type":["d"]}}`, ErrUnsupported},
		"argon2 version 1.0":  {sec, `{"hashIterations":2,"algorithm":"argon2","additionalParameters":{"version":["1.0"]}}`, ErrUnsupported},
		"argon2 bad length":   {sec, `{"hashIterations":2,"algorithm":"argon2","additionalParameters":{"hashLength":["64"]}}`, ErrMalformed},
		"argon2 bad memory":   {sec, `{"hashIterations":2,"algorithm":"argon2","additionalParameters":{"memory":["7168$x"]}}`, ErrMalformed},
	} {
		if _, err := Keycloak(tc.sec, tc.cred); !errors.Is(err, tc.want) {
			t.Errorf("%s: Keycloak = %v; want %v", name, err, tc.want)
		}
	}
}

func TestDigestEncode(t *testing.T) {
	for _, tc := range []struct {
		d        Digest
		want     string
		password string
	}{
		{Digest{Algorithm: "md5", Hash: "5F4DCC3B5AA765D61D8327DEB882CF99", Encoding: "hex"},
			"$digest$alg=md5,enc=hex$5f4dcc3b5aa765d61d8327deb882cf99", "password"},
		{Digest{Algorithm: "sha256", Hash: "XohImNooBHFR0OVvjcYpJ3NgPQ1qq73WKhHvch0VQtg=", Encoding: "base64"},
			"$digest$alg=sha256,enc=b64$XohImNooBHFR0OVvjcYpJ3NgPQ1qq73WKhHvch0VQtg", "password"},
		{Digest{Algorithm: "sha1", Salt: []byte("123abcdef"), SaltPosition: SaltPrefix, Hash: "e4a1877b0e35c47329e7ed7e58014276168a37ba", Encoding: "hex"},
			"$digest$alg=sha1,salt=MTIzYWJjZGVm,pos=prefix,enc=hex$e4a1877b0e35c47329e7ed7e58014276168a37ba", "password"},
		{Digest{Algorithm: "sha256", HMAC: true, Key: []byte("Jefe"), Hash: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", Encoding: "hex"},
			"$digest$alg=hmac-sha256,key=SmVmZQ,enc=hex$5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", jefeData},
		{Digest{Algorithm: "sha256", HMAC: true, Salt: []byte("Jefe"), SaltPosition: SaltKey, Hash: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", Encoding: "hex"},
			"$digest$alg=hmac-sha256,salt=SmVmZQ,pos=key,enc=hex$5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", jefeData},
	} {
		got, err := tc.d.Encode()
		if err != nil || got != tc.want {
			t.Errorf("Encode() = %q, %v\nwant       %q", got, err, tc.want)
			continue
		}
		if ok, _, err := Verify(got, tc.password); !ok || err != nil {
			t.Errorf("Verify(%q) = %v, %v", got, ok, err)
		}
	}
	for name, d := range map[string]Digest{
		"unknown algorithm": {Algorithm: "md4", Hash: "8a9d093f14f8701df17732b2bb182c74", Encoding: "hex"},
		"unknown encoding":  {Algorithm: "md5", Hash: "5f4dcc3b5aa765d61d8327deb882cf99", Encoding: "base32"},
		"wrong length":      {Algorithm: "sha1", Hash: "5f4dcc3b5aa765d61d8327deb882cf99", Encoding: "hex"},
		"not hex":           {Algorithm: "md5", Hash: "zz4dcc3b5aa765d61d8327deb882cf99", Encoding: "hex"},
		"salt without pos":  {Algorithm: "md5", Salt: []byte("s"), Hash: "5f4dcc3b5aa765d61d8327deb882cf99", Encoding: "hex"},
		"key without HMAC":  {Algorithm: "md5", Key: []byte("k"), Hash: "5f4dcc3b5aa765d61d8327deb882cf99", Encoding: "hex"},
		"HMAC without key":  {Algorithm: "md5", HMAC: true, Hash: "5f4dcc3b5aa765d61d8327deb882cf99", Encoding: "hex"},
		"hash with a $":     {Algorithm: "md5", Hash: "5f4dcc3b5aa765d6$d8327deb882cf99", Encoding: "hex"},
	} {
		if got, err := d.Encode(); err == nil {
			t.Errorf("%s: Encode() = %q; want an error", name, got)
		}
	}
}
