package passwords

import (
	"encoding/base64"
	"strings"
)

// bcryptPepperMax bounds the pepper: Devise's is a secret of a few dozen
// characters, and bcrypt reads only the first 72 bytes of password and
// pepper together anyway.
const bcryptPepperMax = 256

// bcryptPepperedHash is bcrypt over the password with a pepper appended
// (Devise's config.pepper, Clerk's bcrypt_peppered): the stored form is
// $bcrypt-peppered$<base64 pepper>$<the 60-character bcrypt hash>. The
// pepper is base64 (standard alphabet, unpadded) because it is any
// secret string, '$' and spaces included.
type bcryptPepperedHash struct {
	pepper []byte
	inner  *bcryptHash
}

func (b *bcryptPepperedHash) format() Format { return FormatBcryptPeppered }

func (b *bcryptPepperedHash) verify(password []byte) (bool, error) {
	in := make([]byte, 0, len(password)+len(b.pepper))
	return b.inner.verify(append(append(in, password...), b.pepper...))
}

// parseBcryptPeppered reads $bcrypt-peppered$<base64 pepper>$$2b$...
func parseBcryptPeppered(encoded string) (*bcryptPepperedHash, error) {
	f := FormatBcryptPeppered
	rest := strings.TrimPrefix(encoded, "$bcrypt-peppered$")
	pepper64, hash, ok := strings.Cut(rest, "$")
	if !ok || pepper64 == "" {
		return nil, malformed(f, "want $bcrypt-peppered$<base64 pepper>$<bcrypt hash>")
	}
	pepper, err := base64.RawStdEncoding.Strict().DecodeString(pepper64)
	if err != nil || len(pepper) == 0 || len(pepper) > bcryptPepperMax {
		return nil, malformed(f, "the pepper must be 1 to %d bytes in unpadded standard base64", bcryptPepperMax)
	}
	inner, err := parseBcrypt(hash, f)
	if err != nil {
		return nil, err
	}
	return &bcryptPepperedHash{pepper: pepper, inner: inner}, nil
}

// BcryptPeppered returns the stored form of a bcrypt hash made over the
// password followed by pepper, validated like Parse: the encoding
// importers give for Devise's peppered bcrypt and Clerk's bcrypt_peppered.
func BcryptPeppered(bcryptHash, pepper string) (string, error) {
	if pepper == "" {
		return "", malformed(FormatBcryptPeppered, "empty pepper")
	}
	s := "$bcrypt-peppered$" + base64.RawStdEncoding.EncodeToString([]byte(pepper)) + "$" + bcryptHash
	if _, err := parse(s); err != nil {
		return "", err
	}
	return s, nil
}
