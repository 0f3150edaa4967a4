package passwords

import (
	"errors"
	"testing"
)

// The peppered bcrypt vectors are crypt_blowfish's wrapper.c vectors with
// their password split into password and pepper: bcrypt("U*U") is
// bcrypt("U*" + "U"). Devise appends the pepper the same way.
func init() {
	knownAnswers = append(knownAnswers,
		vector{"crypt_blowfish wrapper.c (U*U as U* + pepper U)", FormatBcryptPeppered, "U*",
			"$bcrypt-peppered$VQ$$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"},
		vector{"crypt_blowfish wrapper.c (U*U*U as U + pepper *U*U)", FormatBcryptPeppered, "U",
			"$bcrypt-peppered$KlUqVQ$$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a"},
	)
	badHashes = append(badHashes,
		badHash{"$bcrypt-peppered$$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", ErrMalformed, "bcrypt-peppered"},
		badHash{"$bcrypt-peppered$VQ==$$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", ErrMalformed, "base64"},
		badHash{"$bcrypt-peppered$VQ$$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe", ErrMalformed, "60 bytes"},
		badHash{"$bcrypt-peppered$VQ$$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", ErrUnsupported, "$2x$"},
		badHash{"$bcrypt-peppered$VQ", ErrMalformed, "bcrypt-peppered"},
	)
}

// TestBcryptPeppered: the pepper is needed, the password alone or with
// another pepper fails, a match asks for the argon2id rehash, and Import
// stores the form unchanged (bcrypt is slow already).
func TestBcryptPeppered(t *testing.T) {
	enc, err := BcryptPeppered("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U")
	if err != nil || enc != "$bcrypt-peppered$VQ$$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW" {
		t.Fatalf("BcryptPeppered = %q, %v", enc, err)
	}
	if ok, rehash, err := Verify(enc, "U*"); !ok || !rehash || err != nil {
		t.Errorf("right password: ok=%v rehash=%v err=%v", ok, rehash, err)
	}
	for _, pw := range []string{"U*U*", "U*U", "U", ""} {
		if ok, _, err := Verify(enc, pw); ok || err != nil {
			t.Errorf("%q: ok=%v err=%v", pw, ok, err)
		}
	}
	if got, err := Import(enc); got != enc || err != nil {
		t.Errorf("Import = %q, %v", got, err)
	}
	if _, err := BcryptPeppered("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", ""); !errors.Is(err, ErrMalformed) {
		t.Errorf("empty pepper: %v", err)
	}
	if _, err := BcryptPeppered("$2a$05$short", "pepper"); !errors.Is(err, ErrMalformed) {
		t.Errorf("short bcrypt: %v", err)
	}
}
