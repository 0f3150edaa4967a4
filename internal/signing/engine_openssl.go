//go:build openssl

package signing

/*
#cgo LDFLAGS: -lcrypto
#include <openssl/opensslv.h>
#if OPENSSL_VERSION_NUMBER < 0x30000000L
#error "the openssl signing engine needs OpenSSL 3 (libssl-dev 3.x)"
#endif
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

// gh_load parses a PKCS #1 RSAPrivateKey; NULL when it cannot.
static EVP_PKEY *gh_load(const unsigned char *der, long n) {
	EVP_PKEY *k = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &der, n);
	ERR_clear_error();
	return k;
}

// gh_sign signs a SHA-256 digest with RSASSA-PKCS1-v1_5. On failure it
// returns 0 and sets *err to OpenSSL's first error code. OpenSSL's error
// queue belongs to the thread, and a goroutine may change threads between
// cgo calls, so the queue is read and cleared within this one call.
static int gh_sign(EVP_PKEY *k, const unsigned char *digest, unsigned char *sig, size_t *siglen, unsigned long *err) {
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
	int ok = c != NULL && EVP_PKEY_sign_init(c) > 0 &&
		EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) > 0 &&
		EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) > 0 &&
		EVP_PKEY_sign(c, sig, siglen, digest, 32) > 0;
	EVP_PKEY_CTX_free(c);
	*err = ok ? 0 : ERR_peek_error();
	ERR_clear_error();
	return ok;
}
*/
import "C"

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/go-jose/go-jose/v4"
)

const engineName = "openssl"

// opensslKey is a private key held by libcrypto. Its EVP_PKEY is freed
// when the key is no longer reachable; OpenSSL 3 allows concurrent signing
// with one EVP_PKEY, each signature with its own EVP_PKEY_CTX.
type opensslKey struct {
	pkey *C.EVP_PKEY
	size int
}

// loadOpenSSL hands priv to libcrypto and proves the pair before any
// token depends on it: OpenSSL signs a test digest and Go verifies it with
// the public half (a pairwise consistency test, as FIPS 140-3 asks of a
// new key). A key that fails is never used.
func loadOpenSSL(priv *rsa.PrivateKey) (*opensslKey, error) {
	der := x509.MarshalPKCS1PrivateKey(priv)
	defer clear(der)
	p := C.gh_load((*C.uchar)(unsafe.Pointer(&der[0])), C.long(len(der)))
	if p == nil {
		return nil, errors.New("signing: OpenSSL cannot read the RSA private key")
	}
	k := &opensslKey{pkey: p, size: priv.Size()}
	runtime.AddCleanup(k, func(p *C.EVP_PKEY) { C.EVP_PKEY_free(p) }, p)
	digest := sha256.Sum256([]byte("gatehouse signing engine pairwise test"))
	sig, err := k.sign(digest[:])
	if err == nil {
		err = rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA256, digest[:], sig)
	}
	if err != nil {
		return nil, fmt.Errorf("signing: OpenSSL's signature does not verify with the key's public half: %w", err)
	}
	return k, nil
}

func (k *opensslKey) sign(digest []byte) ([]byte, error) {
	if len(digest) != sha256.Size {
		return nil, errors.New("signing: a SHA-256 digest is 32 bytes")
	}
	sig := make([]byte, k.size)
	n := C.size_t(len(sig))
	var code C.ulong
	ok := C.gh_sign(k.pkey, (*C.uchar)(unsafe.Pointer(&digest[0])), (*C.uchar)(unsafe.Pointer(&sig[0])), &n, &code)
	runtime.KeepAlive(k) // the cleanup must not free pkey while OpenSSL signs with it
	if ok == 0 {
		return nil, fmt.Errorf("signing: OpenSSL failed to sign (error %#x)", uint64(code))
	}
	if int(n) != k.size {
		return nil, fmt.Errorf("signing: OpenSSL returned a %d-byte signature for a %d-byte key", int(n), k.size)
	}
	return sig, nil
}

// opensslSigner is a go-jose OpaqueSigner: go-jose builds the JWS and
// hands over the signing input, OpenSSL signs its digest.
type opensslSigner struct {
	key *opensslKey
	pub jose.JSONWebKey // public half and kid, for the header
}

func (s *opensslSigner) Public() *jose.JSONWebKey        { return &s.pub }
func (s *opensslSigner) Algs() []jose.SignatureAlgorithm { return []jose.SignatureAlgorithm{Alg} }

func (s *opensslSigner) SignPayload(payload []byte, alg jose.SignatureAlgorithm) ([]byte, error) {
	if alg != Alg {
		return nil, jose.ErrUnsupportedAlgorithm
	}
	digest := sha256.Sum256(payload)
	return s.key.sign(digest[:])
}

// newJoseKey returns what go-jose signs with for priv, the header
// carrying kid: for OpenSSL, an opaque signer over libcrypto's copy.
func newJoseKey(priv *rsa.PrivateKey, kid string) (any, error) {
	k, err := loadOpenSSL(priv)
	if err != nil {
		return nil, err
	}
	return &opensslSigner{key: k, pub: jose.JSONWebKey{Key: &priv.PublicKey, KeyID: kid, Algorithm: string(Alg), Use: "sig"}}, nil
}

func newDigestSigner(priv *rsa.PrivateKey) (SignDigest, error) {
	k, err := loadOpenSSL(priv)
	if err != nil {
		return nil, err
	}
	return k.sign, nil
}
