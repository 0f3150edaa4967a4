package passwords

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"fmt"
	"strings"

	"golang.org/x/crypto/scrypt"
)

// firebaseHash is Firebase Authentication's modified scrypt: the password's
// scrypt(salt || separator, N=2^mem-cost, r=rounds, p=1) is a 32-byte
// AES-256-CTR key (zero IV) that encrypts the project's signer key; the
// ciphertext is the stored hash.
type firebaseHash struct {
	rounds, memCost int
	saltSep         []byte // salt || separator, the scrypt salt
	signerKey, hash []byte
}

func (h *firebaseHash) format() Format { return FormatFirebaseScrypt }

func (h *firebaseHash) verify(password []byte) (bool, error) {
	key, err := scrypt.Key(password, h.saltSep, 1<<h.memCost, h.rounds, 1, 32)
	if err != nil {
		return false, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return false, err
	}
	got := make([]byte, len(h.signerKey))
	cipher.NewCTR(block, make([]byte, aes.BlockSize)).XORKeyStream(got, h.signerKey)
	return subtle.ConstantTimeCompare(got, h.hash) == 1, nil
}

// FirebaseParams are a Firebase project's password hash parameters, as the
// console shows them (Authentication, Users, "Password hash parameters") and
// as the Firebase CLI's auth:import takes them (--hash-key,
// --salt-separator, --rounds, --mem-cost). The keys are base64.
type FirebaseParams struct {
	SignerKey     string // base64_signer_key, --hash-key
	SaltSeparator string // base64_salt_separator, --salt-separator
	Rounds        int    // rounds, --rounds
	MemCost       int    // mem_cost, --mem-cost
}

// FirebaseScrypt returns the self-contained encoding of one user's Firebase
// hash, given the project's parameters and the user's passwordHash and salt
// (base64) from `firebase auth:export`:
//
//	$firebase-scrypt$rounds=8,mem-cost=14,salt-separator=Bw,signer-key=<b64>$<salt>$<hash>
func FirebaseScrypt(p FirebaseParams, salt, passwordHash string) (string, error) {
	f := FormatFirebaseScrypt
	key, err := decodeB64(p.SignerKey)
	if err != nil || len(key) == 0 {
		return "", malformed(f, "signer key is not non-empty base64")
	}
	sep, err := decodeB64(p.SaltSeparator)
	if err != nil {
		return "", malformed(f, "salt separator is not base64")
	}
	s, err := decodeB64(salt)
	if err != nil || len(s) == 0 {
		return "", malformed(f, "salt is not non-empty base64")
	}
	h, err := decodeB64(passwordHash)
	if err != nil {
		return "", malformed(f, "password hash is not base64")
	}
	enc := fmt.Sprintf("$firebase-scrypt$rounds=%d,mem-cost=%d,salt-separator=%s,signer-key=%s$%s$%s",
		p.Rounds, p.MemCost, b64.EncodeToString(sep), b64.EncodeToString(key), b64.EncodeToString(s), b64.EncodeToString(h))
	if _, err := parseFirebase(enc); err != nil {
		return "", err
	}
	return enc, nil
}

// parseFirebase reads the encoding FirebaseScrypt writes. Values are base64,
// padded or not; an empty salt-separator is allowed.
func parseFirebase(encoded string) (*firebaseHash, error) {
	f := FormatFirebaseScrypt
	parts := strings.Split(encoded, "$")
	if len(parts) != 5 {
		return nil, malformed(f, "want $firebase-scrypt$rounds=<n>,mem-cost=<n>,salt-separator=<b64>,signer-key=<b64>$<salt>$<hash>, got %d fields", len(parts)-1)
	}
	params, ok := parseParams(parts[2])
	if !ok || len(params) != 4 || params[0].name != "rounds" || params[1].name != "mem-cost" ||
		params[2].name != "salt-separator" || params[3].name != "signer-key" {
		return nil, malformed(f, "parameters must be rounds, mem-cost, salt-separator, signer-key in that order")
	}
	rounds, ok1 := parseDecimal(params[0].value, 1, 64)
	memCost, ok2 := parseDecimal(params[1].value, 1, 30)
	if !ok1 || !ok2 {
		return nil, malformed(f, "rounds must be 1..64 and mem-cost 1..30")
	}
	if err := checkScryptParams(f, int(memCost), int(rounds), 1); err != nil {
		return nil, err
	}
	sep, err := decodeB64(params[2].value)
	if err != nil {
		return nil, malformed(f, "salt-separator is not base64: %v", err)
	}
	key, err := decodeB64(params[3].value)
	if err != nil || len(key) == 0 {
		return nil, malformed(f, "signer-key is not non-empty base64")
	}
	salt, err := decodeB64(parts[3])
	if err != nil || len(salt) == 0 {
		return nil, malformed(f, "salt is not non-empty base64")
	}
	hash, err := decodeB64(parts[4])
	if err != nil {
		return nil, malformed(f, "hash is not base64: %v", err)
	}
	if len(hash) != len(key) {
		return nil, malformed(f, "hash is %d bytes but the signer key is %d; they must match", len(hash), len(key))
	}
	return &firebaseHash{
		rounds:    int(rounds),
		memCost:   int(memCost),
		saltSep:   append(append([]byte{}, salt...), sep...),
		signerKey: key,
		hash:      hash,
	}, nil
}
