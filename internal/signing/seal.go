package signing

// Seal encrypts a secret for storage with the server's master key, exactly
// as private signing keys are (AES-256-GCM, the nonce first, base64), so
// that every secret Gatehouse keeps in the database is protected one way.
// Other packages use it for their own secrets (internal/legacyauth).
func Seal(masterKey, plain []byte) (string, error) { return seal(masterKey, plain) }

// Open decrypts what Seal made; it fails when the master key is another
// or the value was tampered with.
func Open(masterKey []byte, sealed string) ([]byte, error) { return open(masterKey, sealed) }
