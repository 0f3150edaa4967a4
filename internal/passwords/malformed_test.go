package passwords

import (
	"errors"
	"strings"
	"testing"
)

// badHash is a hash that import must refuse, with the sentinel it wraps and
// text the message must contain (the format's name, the rule).
type badHash struct {
	encoded string
	want    error
	mention string
}

var badHashes = []badHash{
	// Generic.
	{"", ErrMalformed, "empty"},
	{" $2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", ErrMalformed, "whitespace"},
	{"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW\r", ErrMalformed, "whitespace"},
	{"$1$dXc3I7Rw$ctlgjDdWJLMT.qwHsWhXR1\n", ErrMalformed, "whitespace"},
	{strings.Repeat("a", 5000), ErrMalformed, "longer than"},
	{"hunter2", ErrUnsupported, "no scheme identifier"},
	{"$sha1$19703$iVdJqfSE$v4qYKl1zqYThwpjJAoKX6UvlHq/a", ErrUnsupported, `"$sha1$"`},
	{"$md5$zrdhpMlZ$$wBvMOEqbSjU.hu5T2VEP01", ErrUnsupported, `"$md5$"`},
	{"$7$C6..../....SodiumChloride$kBGj9fHznVYFQMEn/qDCfrDevf9YDtcDdKvEqHJLV8D", ErrUnsupported, `"$7$"`},
	{"$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7", ErrUnsupported, `"$y$"`},
	{"$S$DQO3J3kyQ5Tnm2zE7qNzcXrY6N7zEf2WmbZ8JQxdB4eDwTBjpD2r", ErrUnsupported, `"$S$"`},
	{"CCNf8Sbh3HDfQ", ErrUnsupported, "no scheme identifier"},

	// argon2 (passlib test_handlers_argon2 known_malformed_hashes, and more).
	{"$argon2i$m=65536,t=2,p=1$c29tZXNhbHQ$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ", ErrUnsupported, "version 0x10"},
	{"$argon2i$v=16$m=65536,t=2,p=1$c29tZXNhbHQ$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ", ErrUnsupported, "version 16"},
	{"$argon2d$v=19$m=102400,t=2,p=8$g2RodLh8j8WbSdCp+lUy/A$zzAJqL/HSjm809PYQu6qkA", ErrUnsupported, "argon2d"},
	{"$argon2qq$v=19$t=2,p=4$c29tZXNhbHQAAAAAAAAAAA$QWLzI4TY9HkL2ZTLc8g6SinwdhZewYrzz9zxCo0bkGY", ErrUnsupported, "argon2qq"},
	{"$argon2i$v=19$t=2,p=4$c29tZXNhbHQAAAAAAAAAAA$QWLzI4TY9HkL2ZTLc8g6SinwdhZewYrzz9zxCo0bkGY", ErrMalformed, "argon2i"},
	{"$argon2i$v=19$m=65536,t=8589934592,p=4$c29tZXNhbHQAAAAAAAAAAA$QWLzI4TY9HkL2ZTLc8g6SinwdhZewYrzz9zxCo0bkGY", ErrMalformed, "positive decimal"},
	{"$argon2i$v=19$m=65536,t=2,p=4,q=5$c29tZXNhbHQAAAAAAAAAAA$QWLzI4TY9HkL2ZTLc8g6SinwdhZewYrzz9zxCo0bkGY", ErrMalformed, `"q"`},
	{"$argon2i$v=19$t=2,m=65536,p=4$c29tZXNhbHQAAAAAAAAAAA$QWLzI4TY9HkL2ZTLc8g6SinwdhZewYrzz9zxCo0bkGY", ErrMalformed, "in that order"},
	{"$argon2i$v=19$m=127,t=2,p=16$c29tZXNhbHQ$IMit9qkFULCMA/ViizL57cnTLOa5DiVM9eMwpAvPwr4", ErrMalformed, "8×p"},
	{"$argon2i$v=19$m=65536,t=2,p=4,keyid=ABCD$c29tZXNhbHQ$IMit9qkFULCMA/ViizL57cnTLOa5DiVM9eMwpAvPwr4", ErrUnsupported, "keyid"},
	{"$argon2id$v=19$m=65536,t=2,p=01$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", ErrMalformed, "positive decimal"},
	{"$argon2id$v=19$m=65536,t=2,p=1$c29tZQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", ErrMalformed, "salt is 4 bytes"},
	{"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFh!dXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", ErrMalformed, "not base64"},
	{"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ", ErrMalformed, "fields"},
	{"$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", ErrUnsupported, "limits"},
	{"$argon2id$v=19$m=1048576,t=8,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", ErrUnsupported, "limits"},

	// bcrypt (passlib _bcrypt_test known_malformed_hashes, and more).
	{"$2a$12$EXRkfkdmXn!gzds2SSitu.MW9.gAVqa9eLS1//RYtYCmB1eLHg.9q", ErrMalformed, "alphabet"},
	{"$2a$6$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s.", ErrMalformed, "60 bytes"},
	{"$2a$03$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", ErrMalformed, "cost 03"},
	{"$2a$32$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", ErrMalformed, "cost 32"},
	{"$2a$1x$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", ErrMalformed, "two digits"},
	{"$2a$25$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", ErrUnsupported, "exceeds the limit"},
	{"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe", ErrMalformed, "60 bytes"},
	{"$2x$07$usesomesillystringfore2uDLvp1Ii2e./U9C8sBjqp8I90dH6hi", ErrUnsupported, "$2x$"},
	{"$2$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeWxx", ErrUnsupported, "$2$"},
	{"$2`$12$EXRkfkdmXnagzds2SSitu.MW9.gAVqa9eLS1//RYtYCmB1eLHg.9q", ErrUnsupported, "unknown bcrypt version"},
	{"bcrypt_sha256$xyz$2a$06$/3OeRpbOf8/l6nPPRdZPp.nRiyYqPobEZGdNRBWihQhiFDh1ws1tu", ErrMalformed, "django-bcrypt-sha256"},

	// scrypt (passlib _scrypt_test known_malformed_hashes, and more).
	{"$scrypt$ln=10,r=1$wvif8/4fg1Cq9V7L2dv73w$bJcLia1lyfQ1X2x0xflehwVXPzWIUQWWdnlGwfVzBeQ", ErrMalformed, "scrypt"},
	{"$scrypt$ln=0,r=1,p=1$wvif8/4fg1Cq9V7L2dv73w$bJcLia1lyfQ1X2x0xflehwVXPzWIUQWWdnlGwfVzBeQ", ErrMalformed, "ln must be"},
	{"$scrypt$ln=10,r=A,p=1$wvif8/4fg1Cq9V7L2dv73w$bJcLia1lyfQ1X2x0xflehwVXPzWIUQWWdnlGwfVzBeQ", ErrMalformed, "scrypt"},
	{"$scrypt$ln=10,r=134217728,p=8$wvif8/4fg1Cq9V7L2dv73w$bJcLia1lyfQ1X2x0xflehwVXPzWIUQWWdnlGwfVzBeQ", ErrMalformed, "scrypt"},
	{"$scrypt$ln=24,r=8,p=1$wvif8/4fg1Cq9V7L2dv73w$bJcLia1lyfQ1X2x0xflehwVXPzWIUQWWdnlGwfVzBeQ", ErrUnsupported, "limits"},
	{"$scrypt$ln=10,r=8,p=1$wvif8/4fg1Cq9V7L2dv73w$bJcLia1l", ErrMalformed, "hash is 6 bytes"},
	{"$s0$e0801$dfKRFZiEStuBQm+DKQr5NQ==", ErrMalformed, "$s0$"},
	{"$s0$zz$dfKRFZiEStuBQm+DKQr5NQ==$9qd8nBxPSsCqcSFxMPGaqofJfeQwgMkiQAIhO7gzm34=", ErrMalformed, "hex"},
	{"$s0$00801$dfKRFZiEStuBQm+DKQr5NQ==$9qd8nBxPSsCqcSFxMPGaqofJfeQwgMkiQAIhO7gzm34=", ErrMalformed, "log2(N)"},

	// Firebase.
	{"$firebase-scrypt$rounds=8,mem-cost=14$42xEC+ixf3L2lw$lSrfV15cpx95", ErrMalformed, "firebase-scrypt"},
	{"$firebase-scrypt$rounds=8,mem-cost=14,salt-separator=Bw,signer-key=jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA$42xEC+ixf3L2lw$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5", ErrMalformed, "must match"},
	{"$firebase-scrypt$rounds=0,mem-cost=14,salt-separator=Bw,signer-key=jxspr8Ki$42xEC+ixf3L2lw$lSrfV15c", ErrMalformed, "rounds must be"},

	// PBKDF2.
	{"$pbkdf2-sha384$i=1000$c2FsdA$DGDID5YfDnHzqbUkr2ASBi/gN6Y", ErrUnsupported, "$pbkdf2-sha384$"},
	{"$pbkdf2-sha256$i=0$c2FsdA$DGDID5YfDnHzqbUkr2ASBi/gN6Y", ErrMalformed, "positive decimal"},
	{"$pbkdf2-sha256$i=1000,l=99$c2FsdA$DGDID5YfDnHzqbUkr2ASBi/gN6Y", ErrMalformed, "does not match"},
	{"$pbkdf2-sha256$i=1000,x=1$c2FsdA$DGDID5YfDnHzqbUkr2ASBi/gN6Y", ErrMalformed, "i=<iterations>"},
	{"$pbkdf2-sha256$i=1000$c2FsdA$DGDID5Yf", ErrMalformed, "hash is 6 bytes"},
	{"$pbkdf2-sha256$i=100000000$c2FsdA$DGDID5YfDnHzqbUkr2ASBi/gN6Y", ErrUnsupported, "exceeds the limit"},
	{"$pbkdf2-sha256$01212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ", ErrMalformed, "iterations"},
	{"$pbkdf2-sha256$1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg+fJPeq1h/gXXY7acBp9/6c.tmQ", ErrMalformed, "passlib base64"},
	{"$pbkdf2-sha256$1212$4vjV83LKPjQzk31VI4E0Vw", ErrMalformed, "fields"},
	{"pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY", ErrMalformed, "padded base64"},
	{"pbkdf2_sha256$10000$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=", ErrMalformed, "django-pbkdf2-sha256"},
	{"pbkdf2_sha256$abc$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=", ErrMalformed, "iterations"},
	{"{PKCS5S2}c4xaeTQM0lUieMS3V5voiexyX9XhqC2dBd5ecVy!0IPksHChwoTAVYFrhsgoq8/p", ErrMalformed, "atlassian"},
	{"{PKCS5S2}c4xaeTQM0lUieMS3V5voiexyX9XhqC2dBd5ecVy60IPksHChwoTAVYFrhsgoq8/", ErrMalformed, "atlassian"},
	{"{PKCS5S2}c4xaeTQM0lUieMS3V5voiexyX9XhqC2dBd5ecVy60IPksHChwoTAVYFrhsgo", ErrMalformed, "want 48"},

	// sha-crypt (passlib known_malformed_hashes, and more).
	{"$5$rounds=10428$uy/:jIAhCetNCTtb0$YWvUOXbkqlqhyoPMpN8BMeZGsGx2aBvxTvDFI613c3", ErrMalformed, "sha256-crypt"},
	{"$5$rounds=010428$uy/jIAhCetNCTtb0$YWvUOXbkqlqhyoPMpN8BMe.ZGsGx2aBvxTvDFI613c3", ErrMalformed, "leading zeros"},
	{"$6$rounds=011021$KsvQipYPWpr93wWP$v7xjI4X6vyVptJjB1Y02vZC5SaSijBkGmq1uJhPr3cvqvvkd42Xvo48yLVPFt8dvhCsnlUgpX.//Cxn91H4qy1", ErrMalformed, "leading zeros"},
	{"$6$rounds=11021$KsvQipYPWpr9:wWP$v7xjI4X6vyVptJjB1Y02vZC5SaSijBkGmq1uJhPr3cvqvvkd42Xvo48yLVPFt8dvhCsnlUgpX.//Cxn91H4qy1", ErrMalformed, "sha512-crypt"},
	{"$5$rounds=10$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC", ErrMalformed, "rounds=10 is outside"},
	{"$5$rounds=50000000$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", ErrUnsupported, "exceeds the limit"},
	{"$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc", ErrMalformed, "43 characters"},
	{"$5$saltstringsaltstring$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA", ErrMalformed, "at most 16"},
	{"$6$saltstring", ErrMalformed, "sha512-crypt"},

	// md5-crypt and apr1.
	{"$1$dOHYPKoP$tnxS1T8Q6VVn3kpV8cN6o!", ErrMalformed, "md5-crypt"},
	{"{CRYPT}$1$dOHYPKoP$tnxS1T8Q6VVn3kpV8cN6o!", ErrMalformed, "md5-crypt"},
	{"$1$dOHYPKoP", ErrMalformed, "md5-crypt"},
	{"$1$dOHYPKoPxx$tnxS1T8Q6VVn3kpV8cN6o.", ErrMalformed, "at most 8"},
	{"$apr1$r31.....$HqJZimcKQFAMYayBlzkrA!", ErrMalformed, "apr1-md5-crypt"},
	{"{CRYPT}nFia0rj2TT59A", ErrUnsupported, "DES"},

	// phpass.
	{"$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r!L0", ErrMalformed, "phpass"},
	{"$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L", ErrMalformed, "34 characters"},
	{"$P$4IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0", ErrMalformed, "outside 2^7"},
	{"$P$XIQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0", ErrMalformed, "outside 2^7"},
	{"$P$JIQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0", ErrUnsupported, "exceeds the limit"},

	// LDAP (passlib ldap_salted_sha512 known_malformed_hashes, and more).
	{"{SSHA512}Tgx/uhHnlM9/GgQvI31dN7cheDXg7WypZwaaIkyRsgV/BKIzBG3G/wUd9o1dpi06p3SYzMedg0lvTc3b6CtdO0Xo/f9/L+U", ErrMalformed, "ldap-digest"},
	{"{SSHA512}Tgx/uhHnlM9/GgQvI31dN7cheDXg7WypZwaaIkyRsgV/BKIzBG3G/wUd9o1dpi06p3SYzMedg0lvTc3b6CtdO0Xo/f9/L+U@", ErrMalformed, "ldap-digest"},
	{"{SSHA512}Tgx/uhHnlM9/GgQvI31dN7cheDXg7WypZwaaIkyRsgV/BKIzBG3G/wUd9o1dpi06p3SYzMedg0lvTc3b6CtdO0Xo/f9/L+U===", ErrMalformed, "ldap-digest"},
	{"{SSHA}MWFhYWFhYWFhYWFhYWFhYWFhYWE=", ErrMalformed, "want 20 digest bytes and a salt"},
	{"{SHA}at+xg6SiyUovktq1redipHiJ", ErrMalformed, "{SHA}"},
	{"{MD5}/F4DjTilcDIIVEHn/nAQsA", ErrMalformed, "{MD5}"},
	{"{SHA}8d42e738c7adee551324955458b5e2c0b49ee65z", ErrMalformed, "{SHA}"},
	{"{FOO}bar", ErrUnsupported, `"{FOO}"`},
	{"{SSHA", ErrMalformed, "closing"},
	{"{PBKDF2-SHA256}1212$4vjV83LKPjQzk31VI4E0Vw", ErrMalformed, "pbkdf2-sha256"},

	// Django digests.
	{"md5$aa$bb", ErrMalformed, "django-salted-digest"},
	{"sha1$c2e86$0f75", ErrMalformed, "40 hex digits"},
	{"sha1$c2e86", ErrMalformed, "django-salted-digest"},

	// $digest$.
	{"$digest$alg=md4,enc=hex$8a9d093f14f8701df17732b2bb182c74", ErrUnsupported, "md4"},
	{"$digest$alg=md5,enc=hex$5f4dcc3b5aa765d61d8327deb882cf9", ErrMalformed, "does not decode"},
	{"$digest$alg=md5,enc=hex$5f4dcc3b5aa765d61d8327deb882cf", ErrMalformed, "15 bytes"},
	{"$digest$alg=md5,enc=hex$5F4DCC3B5AA765D61D8327DEB882CF99", ErrMalformed, "lower case"},
	{"$digest$alg=md5,enc=base32$5f4dcc3b5aa765d61d8327deb882cf99", ErrMalformed, "enc="},
	{"$digest$alg=md5$5f4dcc3b5aa765d61d8327deb882cf99", ErrMalformed, "enc="},
	{"$digest$alg=md5,salt=c2FsdA,enc=hex$5f4dcc3b5aa765d61d8327deb882cf99", ErrMalformed, "salt and pos"},
	{"$digest$alg=md5,salt=c2FsdA,pos=middle,enc=hex$5f4dcc3b5aa765d61d8327deb882cf99", ErrMalformed, "pos=middle"},
	{"$digest$alg=md5,key=SmVmZQ,enc=hex$5f4dcc3b5aa765d61d8327deb882cf99", ErrMalformed, "only for hmac"},
	{"$digest$alg=hmac-md5,enc=hex$750c783e6ab0b503eaa86e310a5db738", ErrMalformed, "needs key"},
	{"$digest$alg=md5,salt=SmVmZQ,pos=key,enc=hex$750c783e6ab0b503eaa86e310a5db738", ErrMalformed, "pos=key"},
	{"$digest$alg=md5,color=red,enc=hex$5f4dcc3b5aa765d61d8327deb882cf99", ErrMalformed, `"color"`},
	{"$digest$alg=md5,alg=sha1,enc=hex$5f4dcc3b5aa765d61d8327deb882cf99", ErrMalformed, "name=value"},
	{"$digest$alg=md5,enc=hex", ErrMalformed, "fields"},
	{"$digest-argon2id$alg=md5$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc$x", ErrMalformed, "fields"},
	{"$digest-argon2id$alg=md5,enc=hex$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", ErrMalformed, "enc does not apply"},
	{"$digest-argon2id$alg=md5$v=19$m=19456,t=2$c29tZXNhbHRzb21lc2FsdA$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", ErrMalformed, "argon2id"},
}

func TestBadHashesAreReported(t *testing.T) {
	for _, b := range badHashes {
		name := b.encoded
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			_, err := Parse(b.encoded)
			if !errors.Is(err, b.want) {
				t.Fatalf("Parse(%q) = %v; want an error wrapping %v", b.encoded, err, b.want)
			}
			if !strings.Contains(err.Error(), b.mention) {
				t.Errorf("Parse(%q) error %q does not mention %q", b.encoded, err, b.mention)
			}
			if _, err := Import(b.encoded); !errors.Is(err, b.want) {
				t.Errorf("Import(%q) = %v; want an error wrapping %v", b.encoded, err, b.want)
			}
			ok, rehash, err := Verify(b.encoded, "password")
			if ok || rehash || !errors.Is(err, b.want) {
				t.Errorf("Verify(%q) = %v, %v, %v; want false, false and an error wrapping %v", b.encoded, ok, rehash, err, b.want)
			}
		})
	}
}

// TestErrorsDoNotEchoSecrets checks that an unrecognised value (which may be
// a plaintext password in the wrong column) never appears in the message.
func TestErrorsDoNotEchoSecrets(t *testing.T) {
	for _, s := range []string{"hunter2", "$hunter2", "{hunter2", "$correct horse$", "Tr0ub4dor&3"} {
		_, err := Parse(s)
		if err == nil {
			t.Fatalf("Parse(%q) succeeded", s)
		}
		if strings.Contains(err.Error(), strings.Trim(s, "${}")) && !strings.Contains(s, " ") {
			t.Errorf("Parse(%q) error %q echoes the input", s, err)
		}
	}
}
