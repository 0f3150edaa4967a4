package signing

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testdb"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// env is one environment in a fresh database.
type env struct {
	st    *store.Store
	ids   *id.Generator
	envID string
	mk    []byte
}

func newEnv(t *testing.T, dsn string) *env {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{st: st, ids: id.NewGenerator(func() time.Time { return t0 }), mk: randomKey(t)}
	e.envID = addEnvironment(t, st, e.ids)
	return e
}

func addEnvironment(t *testing.T, st *store.Store, ids *id.Generator) string {
	t.Helper()
	envID := ids.New(id.Environment)
	err := st.Q().CreateEnvironment(context.Background(), &store.Environment{ID: envID, Type: "development",
		PageTokenKey: base64.StdEncoding.EncodeToString(randomKey(t)), CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	return envID
}

func randomKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func (e *env) load(t *testing.T) *Keyring {
	t.Helper()
	kr, err := Load(context.Background(), e.st, e.ids, t0, e.envID, e.mk)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return kr
}

func (e *env) rows(t *testing.T) []*store.SigningKey {
	t.Helper()
	keys, err := e.st.Q().ListSigningKeys(context.Background(), e.envID)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// privateKey decrypts the active key the way the keyring does, so tests can
// forge tokens with the server's own key but headers of their choosing.
func (e *env) privateKey(t *testing.T, kid string) *rsa.PrivateKey {
	t.Helper()
	for _, k := range e.rows(t) {
		if k.ID != kid {
			continue
		}
		der, err := open(e.mk, k.PrivateEnc)
		if err != nil {
			t.Fatal(err)
		}
		priv, err := x509.ParsePKCS1PrivateKey(der)
		if err != nil {
			t.Fatal(err)
		}
		return priv
	}
	t.Fatalf("no signing key %s", kid)
	return nil
}

type testClaims struct {
	jwt.Claims
	ClientID string `json:"client_id"`
}

func claims() testClaims {
	return testClaims{Claims: jwt.Claims{Issuer: "http://127.0.0.1:8080", Subject: "skc_x", Audience: jwt.Audience{"skc_x"},
		IssuedAt: jwt.NewNumericDate(t0), NotBefore: jwt.NewNumericDate(t0), Expiry: jwt.NewNumericDate(t0.Add(time.Hour)),
		ID: "tkn_1"}, ClientID: "skc_x"}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawToken assembles a compact JWS from a header and payload of our choosing
// and signs it with sign (nil: empty signature).
func rawToken(t *testing.T, header map[string]any, payload any, sign func(input []byte) []byte) string {
	t.Helper()
	input := b64(mustJSON(t, header)) + "." + b64(mustJSON(t, payload))
	var sig []byte
	if sign != nil {
		sig = sign([]byte(input))
	}
	return input + "." + b64(sig)
}

func rs256(t *testing.T, priv *rsa.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte {
		h := sha256.Sum256(in)
		s, err := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, h[:])
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

func hs256(key []byte) func([]byte) []byte {
	return func(in []byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write(in)
		return m.Sum(nil)
	}
}

func TestKeysEncryptedAtRest(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		kr := e.load(t)
		rows := e.rows(t)
		if len(rows) != 1 || rows[0].ID != kr.KeyID() || rows[0].Alg != "RS256" {
			t.Fatalf("signing_keys after the first Load = %+v, want one RS256 key %s", rows, kr.KeyID())
		}
		if !id.HasPrefix(kr.KeyID(), id.Key) {
			t.Errorf("kid %q is not a key_ id", kr.KeyID())
		}
		var stored string
		if err := e.st.DB().QueryRow(`SELECT private_enc FROM signing_keys WHERE id = $1`, kr.KeyID()).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		priv := e.privateKey(t, kr.KeyID())
		if priv.N.BitLen() < 2048 {
			t.Errorf("RSA key has %d bits, want >= 2048", priv.N.BitLen())
		}
		// The decrypted key is the one the JWKS publishes.
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(kr.JWKS(), &set); err != nil {
			t.Fatal(err)
		}
		if pub, ok := set.Key(kr.KeyID())[0].Key.(*rsa.PublicKey); !ok || !pub.Equal(&priv.PublicKey) {
			t.Fatal("the stored private key does not match the published public key")
		}

		pkcs1 := x509.MarshalPKCS1PrivateKey(priv)
		pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		leaks := map[string]string{
			"PKCS#1 PEM":                   string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: pkcs1})),
			"PKCS#8 PEM":                   string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})),
			"PEM armor":                    "PRIVATE KEY",
			"raw PKCS#1 DER":               string(pkcs1),
			"raw PKCS#8 DER":               string(pkcs8),
			"base64 PKCS#1 DER":            base64.StdEncoding.EncodeToString(pkcs1),
			"base64url PKCS#1 DER":         base64.RawURLEncoding.EncodeToString(pkcs1),
			"base64 PKCS#8 DER":            base64.StdEncoding.EncodeToString(pkcs8),
			"hex PKCS#1 DER":               hex.EncodeToString(pkcs1),
			"JWK d":                        b64(priv.D.Bytes()),
			"JWK p":                        b64(priv.Primes[0].Bytes()),
			"base64 of the DER (a prefix)": base64.StdEncoding.EncodeToString(pkcs1[:48]),
		}
		for what, s := range leaks {
			if strings.Contains(stored, s) {
				t.Errorf("private_enc contains the %s of the private key", what)
			}
		}
		raw, err := base64.StdEncoding.DecodeString(stored)
		if err != nil {
			t.Fatalf("private_enc is not base64: %v", err)
		}
		if bytes.Contains(raw, pkcs1[:64]) || bytes.Contains(raw, priv.D.Bytes()[:32]) {
			t.Error("private_enc decodes to bytes containing the key in clear")
		}
		// The public half must not carry private members.
		if strings.Contains(rows[0].PublicJWK, `"d"`) || strings.Contains(rows[0].PublicJWK, `"p"`) {
			t.Errorf("public_jwk carries private members: %s", rows[0].PublicJWK)
		}

		// Loading with a wrong master key fails, naming the problem.
		_, err = Load(context.Background(), e.st, e.ids, t0, e.envID, randomKey(t))
		if err == nil {
			t.Fatal("Load with a wrong master key succeeded")
		}
		if msg := err.Error(); !strings.Contains(msg, "cannot be decrypted") || !strings.Contains(msg, kr.KeyID()) {
			t.Errorf("wrong master key error = %q, want it to say the key %s cannot be decrypted", msg, kr.KeyID())
		}
		_, err = Load(context.Background(), e.st, e.ids, t0, e.envID, []byte("short"))
		if err == nil || !strings.Contains(err.Error(), "32 bytes") {
			t.Errorf("Load with a 5-byte master key: error = %v, want one saying it must be 32 bytes", err)
		}
		// A failed Load creates nothing.
		if n := len(e.rows(t)); n != 1 {
			t.Errorf("failed Loads left %d signing keys, want 1", n)
		}
		// A new environment with a bad master key does not store a key.
		other := addEnvironment(t, e.st, e.ids)
		if _, err := Load(context.Background(), e.st, e.ids, t0, other, []byte("short")); err == nil {
			t.Error("Load of a new environment with a 5-byte master key succeeded")
		}
		if keys, _ := e.st.Q().ListSigningKeys(context.Background(), other); len(keys) != 0 {
			t.Errorf("a failed first Load stored %d keys", len(keys))
		}
	})
}

func TestSealRejectsTampering(t *testing.T) {
	mk := randomKey(t)
	sealed, err := seal(mk, []byte("secret material"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := open(mk, sealed); err != nil || string(got) != "secret material" {
		t.Fatalf("open(seal(x)) = %q, %v", got, err)
	}
	again, _ := seal(mk, []byte("secret material"))
	if again == sealed {
		t.Error("two seals of the same plaintext are identical: the nonce is not random")
	}
	raw, _ := base64.StdEncoding.DecodeString(sealed)
	raw[len(raw)-1] ^= 1
	if _, err := open(mk, base64.StdEncoding.EncodeToString(raw)); err == nil {
		t.Error("open accepted a modified ciphertext")
	}
	for _, bad := range []string{"", "not base64!", base64.StdEncoding.EncodeToString([]byte("short"))} {
		if _, err := open(mk, bad); err == nil {
			t.Errorf("open(%q) succeeded", bad)
		}
	}
}

func TestLoadTwiceReusesTheKey(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		a := e.load(t)
		b := e.load(t)
		if a.KeyID() == "" || a.KeyID() != b.KeyID() {
			t.Fatalf("kid after two Loads = %q then %q, want the same", a.KeyID(), b.KeyID())
		}
		if !bytes.Equal(a.JWKS(), b.JWKS()) {
			t.Errorf("JWKS differs between Loads:\n%s\n%s", a.JWKS(), b.JWKS())
		}
		if n := len(e.rows(t)); n != 1 {
			t.Errorf("two Loads left %d signing keys, want 1", n)
		}
		tok, err := a.Sign(claims())
		if err != nil {
			t.Fatal(err)
		}
		var got testClaims
		if err := b.Verify(tok, &got); err != nil || got.ClientID != "skc_x" {
			t.Errorf("a token signed before the restart: Verify = %v, claims %+v", err, got)
		}
	})
}

func TestSignProducesRS256JWT(t *testing.T) {
	e := newEnv(t, testdb.SQLite(t))
	kr := e.load(t)
	tok, err := kr.Sign(claims())
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(hb, &h); err != nil {
		t.Fatal(err)
	}
	if h["alg"] != "RS256" || h["typ"] != "JWT" || h["kid"] != kr.KeyID() || len(h) != 3 {
		t.Errorf("header = %v, want exactly alg RS256, typ JWT, kid %s", h, kr.KeyID())
	}
	var got testClaims
	if err := kr.Verify(tok, &got); err != nil {
		t.Fatal(err)
	}
	if got.Subject != "skc_x" || got.ID != "tkn_1" || !got.Audience.Contains("skc_x") {
		t.Errorf("claims after a round trip = %+v", got)
	}
}

func TestJWKSHasOnlyPublicMembers(t *testing.T) {
	e := newEnv(t, testdb.SQLite(t))
	kr := e.load(t)
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(kr.JWKS(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Keys) != 1 {
		t.Fatalf("JWKS has %d keys, want 1", len(doc.Keys))
	}
	k := doc.Keys[0]
	if k["kty"] != "RSA" || k["kid"] != kr.KeyID() || k["alg"] != "RS256" || k["use"] != "sig" || k["n"] == nil || k["e"] == nil {
		t.Errorf("JWK = %v, want kty RSA, kid, alg RS256, use sig, n, e", k)
	}
	for _, m := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"} {
		if _, ok := k[m]; ok {
			t.Errorf("JWK has the private member %q", m)
		}
	}
}

func TestVerifyRefuses(t *testing.T) {
	e := newEnv(t, testdb.SQLite(t))
	kr := e.load(t)
	kid := kr.KeyID()
	priv := e.privateKey(t, kid)
	c := claims()
	good := rawToken(t, map[string]any{"alg": "RS256", "typ": "JWT", "kid": kid}, c, rs256(t, priv))
	if err := kr.Verify(good); err != nil {
		t.Fatalf("control: a hand-built RS256 token with the right key is refused: %v", err)
	}

	// Another environment's key (an unknown kid) and a foreign key under our kid.
	other := newEnv(t, testdb.SQLite(t))
	okr := other.load(t)
	foreign, _ := okr.Sign(c)
	attacker, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	pubDER := x509.MarshalPKCS1PublicKey(&priv.PublicKey)
	pkixDER, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	hsKeys := map[string][]byte{
		"PKIX PEM":   pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkixDER}),
		"PKCS#1 PEM": pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: pubDER}),
		"PKIX DER":   pkixDER,
		"PKCS#1 DER": pubDER,
		"JWK n":      []byte(b64(priv.N.Bytes())),
		"n bytes":    priv.N.Bytes(),
		"JWKS":       kr.JWKS(),
	}

	withSig := func(alg jose.SignatureAlgorithm, key any, opts *jose.SignerOptions) string {
		t.Helper()
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.Signed(s).Claims(c).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	hdr := func(kv ...any) map[string]any {
		m := map[string]any{"typ": "JWT", "kid": kid}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	attackerJWK := jose.JSONWebKey{Key: &attacker.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"}
	parts := strings.Split(good, ".")

	// Two signatures: the JSON serialization (RFC 7515 section 7.2.1) with
	// our valid signature beside a junk one.
	twoSigs := string(mustJSON(t, map[string]any{
		"payload": parts[1],
		"signatures": []map[string]any{
			{"protected": parts[0], "signature": parts[2]},
			{"protected": b64(mustJSON(t, hdr("alg", "HS256"))), "signature": b64([]byte("x"))},
		},
	}))
	flattened := string(mustJSON(t, map[string]any{"payload": parts[1], "protected": parts[0], "signature": parts[2]}))

	cases := map[string]string{
		"empty":                    "",
		"garbage":                  "not a token",
		"unknown kid (other env)":  foreign,
		"no kid":                   rawToken(t, map[string]any{"alg": "RS256", "typ": "JWT"}, c, rs256(t, priv)),
		"empty kid":                rawToken(t, hdr("alg", "RS256", "kid", ""), c, rs256(t, priv)),
		"kid path traversal":       rawToken(t, hdr("alg", "RS256", "kid", "../../../../dev/null"), c, rs256(t, priv)),
		"kid SQL":                  rawToken(t, hdr("alg", "RS256", "kid", "' OR '1'='1"), c, rs256(t, priv)),
		"kid NUL":                  rawToken(t, hdr("alg", "RS256", "kid", "\u0000"), c, rs256(t, priv)),
		"kid 10 KB":                rawToken(t, hdr("alg", "RS256", "kid", strings.Repeat("k", 10<<10)), c, rs256(t, priv)),
		"kid as number":            rawToken(t, hdr("alg", "RS256", "kid", 1), c, rs256(t, priv)),
		"foreign key, our kid":     rawToken(t, hdr("alg", "RS256"), c, rs256(t, attacker)),
		"two signatures (JSON)":    twoSigs,
		"flattened JSON":           flattened,
		"RS384 with our key":       withSig(jose.RS384, jose.JSONWebKey{Key: priv, KeyID: kid}, nil),
		"RS512 with our key":       withSig(jose.RS512, jose.JSONWebKey{Key: priv, KeyID: kid}, nil),
		"PS256 with our key":       withSig(jose.PS256, jose.JSONWebKey{Key: priv, KeyID: kid}, nil),
		"ES256":                    withSig(jose.ES256, jose.JSONWebKey{Key: ec, KeyID: kid}, nil),
		"ES256 zero signature":     rawToken(t, hdr("alg", "ES256"), c, func([]byte) []byte { return make([]byte, 64) }),
		"alg none":                 rawToken(t, hdr("alg", "none"), c, nil),
		"alg None":                 rawToken(t, hdr("alg", "None"), c, nil),
		"alg NONE":                 rawToken(t, hdr("alg", "NONE"), c, nil),
		"alg nOnE":                 rawToken(t, hdr("alg", "nOnE"), c, nil),
		"alg none, real signature": rawToken(t, hdr("alg", "none"), c, rs256(t, priv)),
		"alg rs256 (lower case)":   rawToken(t, hdr("alg", "rs256"), c, rs256(t, priv)),
		"alg missing":              rawToken(t, hdr(), c, rs256(t, priv)),
		"RS256, empty signature":   parts[0] + "." + parts[1] + ".",
		"RS256, signature trimmed": good[:len(good)-4],
		"signature bit flipped":    parts[0] + "." + parts[1] + "." + flipFirst(parts[2]),
		"payload bit flipped":      parts[0] + "." + flipFirst(parts[1]) + "." + parts[2],
		"four segments":            good + ".e30",
		"two segments":             parts[0] + "." + parts[1],
		"padded base64":            parts[0] + "." + parts[1] + "=." + parts[2],
		"unknown crit header":      rawToken(t, hdr("alg", "RS256", "crit", []string{"exp2"}, "exp2", 1), c, rs256(t, priv)),
		"embedded attacker jwk":    rawToken(t, hdr("alg", "RS256", "jwk", attackerJWK), c, rs256(t, attacker)),
		"embedded jwk, no kid":     rawToken(t, map[string]any{"alg": "RS256", "jwk": attackerJWK}, c, rs256(t, attacker)),
		"jku to an attacker":       rawToken(t, hdr("alg", "RS256", "jku", "http://127.0.0.1:1/jwks"), c, rs256(t, attacker)),
		"x5u to an attacker":       rawToken(t, hdr("alg", "RS256", "x5u", "http://127.0.0.1:1/cert"), c, rs256(t, attacker)),
		"JWE instead of JWS":       "eyJhbGciOiJkaXIiLCJlbmMiOiJBMTI4R0NNIn0..AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA",
		"payload not JSON":         rawTokenPayload(t, hdr("alg", "RS256"), []byte("not json"), rs256(t, priv)),
		"header not JSON":          b64([]byte("{")) + "." + parts[1] + "." + parts[2],
		"1 MB header":              rawToken(t, hdr("alg", "RS256", "pad", strings.Repeat("a", 1<<20)), c, rs256(t, attacker)),
	}
	for name, key := range hsKeys {
		cases["HS256 keyed with the public key as "+name] = rawToken(t, hdr("alg", "HS256"), c, hs256(key))
		cases["HS512 keyed with the public key as "+name] = withSig(jose.HS512, jose.JSONWebKey{Key: key, KeyID: kid}, nil)
	}
	for name, tok := range cases {
		start := time.Now()
		var out testClaims
		err := kr.Verify(tok, &out)
		if !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: Verify = %v, want ErrInvalidToken", name, err)
		}
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("%s: Verify took %v, want < 100ms", name, d)
		}
	}
}

// TestVerifySizeCap: a large but legitimate token verifies; one over
// MaxTokenBytes is refused without being parsed.
func TestVerifySizeCap(t *testing.T) {
	e := newEnv(t, testdb.SQLite(t))
	kr := e.load(t)
	big := struct {
		testClaims
		Roles []string `json:"roles"`
	}{testClaims: claims()}
	for len(mustJSON(t, big)) < 8<<10 {
		big.Roles = append(big.Roles, "role_with_a_fairly_long_name")
	}
	tok, err := kr.Sign(big)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) > MaxTokenBytes {
		t.Fatalf("test token is %d bytes, over the cap", len(tok))
	}
	if err := kr.Verify(tok); err != nil {
		t.Errorf("a %d-byte token: %v", len(tok), err)
	}
	for len(mustJSON(t, big)) < MaxTokenBytes {
		big.Roles = append(big.Roles, "role_with_a_fairly_long_name")
	}
	tok, err = kr.Sign(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.Verify(tok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("a validly signed %d-byte token: %v, want ErrInvalidToken", len(tok), err)
	}
}

func rawTokenPayload(t *testing.T, header map[string]any, payload []byte, sign func([]byte) []byte) string {
	input := b64(mustJSON(t, header)) + "." + b64(payload)
	return input + "." + b64(sign([]byte(input)))
}

// flipFirst flips one bit of the first decoded byte of a base64url segment.
func flipFirst(seg string) string {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil || len(b) == 0 {
		panic("bad segment")
	}
	b[0] ^= 0x01
	return b64(b)
}

// TestRetiredKeys: a retired key still verifies (it stays in the JWKS) but
// never signs; the newest active key signs.
// TestTwoActiveKeys covers data from before rotation existed: keys with no
// retirement scheduled are all inside their active window; the newest
// signs and the others verify as retiring.
func TestTwoActiveKeys(t *testing.T) {
	e := newEnv(t, testdb.SQLite(t))
	ctx := context.Background()
	older, err := newKey(e.ids, t0, t0, e.envID, e.mk)
	if err != nil {
		t.Fatal(err)
	}
	newer, err := newKey(e.ids, t0.Add(time.Hour), t0.Add(time.Hour), e.envID, e.mk)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []*store.SigningKey{older, newer} {
		if err := e.st.Q().CreateSigningKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	kr, err := Load(ctx, e.st, e.ids, t0.Add(2*time.Hour), e.envID, e.mk)
	if err != nil {
		t.Fatal(err)
	}
	if kr.KeyID() != newer.ID {
		t.Fatalf("signer = %s, want the newest active key %s", kr.KeyID(), newer.ID)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(kr.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 || set.Keys[0].KeyID != newer.ID || len(set.Key(older.ID)) != 1 {
		t.Errorf("JWKS = %s, want the signer first, then the older key", kr.JWKS())
	}
	if n := len(e.rows(t)); n != 2 {
		t.Errorf("Load with an active key created a new one: %d keys", n)
	}
	tok := rawToken(t, map[string]any{"alg": "RS256", "kid": older.ID}, claims(), rs256(t, e.privateKey(t, older.ID)))
	if err := kr.Verify(tok); err != nil {
		t.Errorf("a token of the older key still in the JWKS: %v", err)
	}
	keys, err := kr.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].State != StateActive || keys[1].State != StateRetiring {
		t.Errorf("List = %+v, want the newer active and the older retiring", keys)
	}
}
