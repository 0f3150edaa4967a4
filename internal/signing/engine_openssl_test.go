//go:build openssl

package signing

import (
	"crypto/rand"
	"crypto/rsa"
	"runtime"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testdb"
)

// TestOpenSSLEngineInUse: a build tagged openssl signs through libcrypto,
// not through crypto/rsa, and keys dropped by a reload are freed without
// harming the ones still in use.
func TestOpenSSLEngineInUse(t *testing.T) {
	if Engine != "openssl" {
		t.Fatalf("Engine = %q in a build tagged openssl", Engine)
	}
	e := newEnv(t, testdb.SQLite(t))
	kr := e.load(t)
	if _, ok := kr.current().signer.sk.(*opensslSigner); !ok {
		t.Fatalf("the active key signs with %T, not libcrypto", kr.current().signer.sk)
	}
	for range 20 {
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := loadOpenSSL(priv); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.GC()
	var c testClaims
	tok, err := kr.Sign(claims())
	if err == nil {
		err = kr.Verify(tok, &c)
	}
	if err != nil {
		t.Fatalf("signing after other keys were freed: %v", err)
	}
}
