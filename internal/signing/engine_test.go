package signing

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/internal/testdb"
)

// TestEngineSignsWhatCryptoRSASigns: RSASSA-PKCS1-v1_5 is deterministic,
// so whichever engine this build has must sign every digest byte for byte
// as crypto/rsa does, also from many goroutines at once, as the token
// endpoint signs.
func TestEngineSignsWhatCryptoRSASigns(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sign, err := NewDigestSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*25)
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				d := sha256.Sum256(fmt.Appendf(nil, "%d/%d", g, i))
				got, err := sign(d[:])
				if err != nil {
					errs <- err
					continue
				}
				want, err := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, d[:])
				if err != nil {
					errs <- err
				} else if !bytes.Equal(got, want) {
					errs <- fmt.Errorf("engine %s: signature of digest %d/%d differs from crypto/rsa's", Engine, g, i)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if _, err := sign(make([]byte, 20)); err == nil {
		t.Errorf("engine %s signed a 20-byte digest as SHA-256", Engine)
	}
}

// TestKeyringTokensMatchCryptoRSA: every token type the keyring signs is
// byte for byte the token go-jose makes with crypto/rsa and the same key,
// header included (alg, kid, typ), whichever engine signs.
func TestKeyringTokensMatchCryptoRSA(t *testing.T) {
	e := newEnv(t, testdb.SQLite(t))
	kr := e.load(t)
	priv := e.privateKey(t, kr.KeyID())
	for _, typ := range append(tokenTypes[:], "custom+jwt") {
		got, err := kr.SignAs(typ, claims())
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: Alg, Key: jose.JSONWebKey{Key: priv, KeyID: kr.KeyID()}},
			(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
		if err != nil {
			t.Fatal(err)
		}
		want, err := jwt.Signed(s).Claims(claims()).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("engine %s, typ %s:\n got %s\nwant %s", Engine, typ, got, want)
		}
	}
}
