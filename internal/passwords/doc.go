// Package passwords hashes new passwords with argon2id and verifies
// passwords against hashes imported from other systems, so that users keep
// their passwords when a tenant moves to Gatehouse and are moved to argon2id
// at their first login.
//
// # Use
//
// At sign-up or password change, store Hash(password). At login:
//
//	ok, needsRehash, err := passwords.Verify(stored, password)
//	// err: the stored hash is unusable (log it); treat as a wrong password.
//	// ok && needsRehash: store passwords.Hash(password) in its place.
//
// When the login names no known user, call DummyVerify(password) instead,
// so both paths cost one argon2id verification (SECURITY-BAR A03).
//
// At import, call Parse (dry runs) or Import (real runs) on every hash:
// both refuse, with an error wrapping ErrUnsupported or ErrMalformed that
// names the format and the rule broken, anything that could not later be
// verified. Nothing unverifiable is ever stored. Import also wraps fast
// digests in argon2id (see "Fast digests" below).
//
// Passwords are compared as the exact bytes given: no truncation, no case
// folding, no trimming, no Unicode normalization (SECURITY-BAR A05). A
// password that differs from the registered one only in NFC versus NFD form
// does not verify; the login page submits what the user typed, as UTF-8.
// Passwords over MaxPasswordLength (1024) bytes are refused with
// ErrPasswordTooLong: the crypt family costs time in proportion to length.
//
// All comparisons are constant-time. All parameters of imported hashes are
// bounded (memory, iterations, rounds: see each format) so that a single
// verification takes at most a few seconds, whatever an import file says.
//
// # New hashes: argon2id
//
//	$argon2id$v=19$m=19456,t=2,p=1$<16-byte salt>$<32-byte hash>
//
// The PHC string format (github.com/P-H-C/phc-string-format), base64 without
// padding. Parameters are OWASP's first recommendation and ASVS 5.0's
// minimum (m=19 MiB, t=2, p=1); of the two OWASP options it needs the least
// memory per login, which lets a small machine verify more logins at once
// for the same attacker cost. Salts come from crypto/rand, so two hashes of
// one password differ (A06). Verify reports needsRehash for every other
// hash, including argon2id at other parameters, so raising the parameters
// here migrates users as they log in.
//
// # Imported formats
//
// Each entry gives an example, where the format comes from, and limits.
//
// argon2id, argon2i (FormatArgon2id, FormatArgon2i): PHC strings as written
// by the reference implementation, argon2-cffi, passlib, libsodium, Node's
// argon2, Bitwarden and others.
//
//	$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc
//	argon2$argon2i$v=19$m=512,t=2,p=2$V25jN1l4UUJZWkR1$MxpA1BD2Gh7+D79gaAw6sQ   (Django)
//
// Only version 19 (0x13) is accepted; a string without v= is version 0x10,
// which Go's x/crypto does not implement, and is refused as unsupported, as
// are argon2d and the keyid/data parameters. Limits: m ≤ 1 GiB, m×t ≤ 4 GiB,
// p ≤ 64, salt ≥ 8 bytes.
//
// bcrypt (FormatBcrypt): $2a$, $2b$ and $2y$, which name one algorithm and
// differ only in other implementations' bugs, so all three verify the same.
// $2x$ (crypt_blowfish's sign-extension bug) and the 1999 $2$ are refused.
// Cost 04 to 18 is accepted (cost below 04 is malformed; over 18 takes too
// long to verify). Django's "bcrypt$" prefix and BCryptSHA256PasswordHasher
// ("bcrypt_sha256$", bcrypt over the hex SHA-256 of the password) are read
// too.
//
//	$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a
//	bcrypt_sha256$$2a$08$NDjSAIcas.EcoxCRiArvT.MkNiPYVhrsrnJsRkLueZOoV1bsQqlmC
//
// Peppered bcrypt (FormatBcryptPeppered): bcrypt over the password with a
// site-wide pepper appended, as Devise's config.pepper does (Clerk calls it
// bcrypt_peppered). The pepper travels with each hash, in unpadded standard
// base64, at most 256 bytes; BcryptPeppered builds the form. The example is
// crypt_blowfish's "U*U" vector as password "U*" with pepper "U":
//
//	$bcrypt-peppered$VQ$$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW
//
// bcrypt reads only the first 72 bytes of a password. That cannot be undone
// for an imported hash: a user whose password was longer signed in to the
// old system with any text sharing those 72 bytes, and does so here until
// the first successful login, which replaces the hash with argon2id over
// every byte typed. New Gatehouse hashes never truncate.
//
// scrypt (FormatScrypt): passlib's PHC-style encoding, with log2(N) as ln
// and salt and hash in unpadded base64, and the $s0$ encoding of Will
// Glozer's Java library (com.lambdaworks:scrypt), whose hex parameter word
// is log2(N)<<16 | r<<8 | p and whose base64 is padded.
//
//	$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI
//	$s0$e0801$dfKRFZiEStuBQm+DKQr5NQ==$9qd8nBxPSsCqcSFxMPGaqofJfeQwgMkiQAIhO7gzm34=
//
// Limits: 128·N·r ≤ 1 GiB and 128·N·r·p ≤ 4 GiB; hash 16 to 256 bytes.
//
// Firebase scrypt (FormatFirebaseScrypt): Firebase Authentication's modified
// scrypt needs the project's signer key, salt separator, rounds and memory
// cost besides each user's salt and hash. FirebaseScrypt builds a
// self-contained string from what `firebase auth:export` and the console's
// "password hash parameters" give, so a stored hash never depends on
// configuration that could drift or be lost:
//
//	$firebase-scrypt$rounds=8,mem-cost=14,salt-separator=Bw,signer-key=jxspr8Ki0RYy...WmXA$42xEC+ixf3L2lw$lSrfV15cpx95...id5lQ
//
// Values are unpadded base64 (padding is tolerated on input); the hash must
// be as long as the signer key. Verification computes scrypt(password,
// salt || separator, N=2^mem-cost, r=rounds, p=1, 32 bytes), uses it as an
// AES-256-CTR key with a zero IV to encrypt the signer key, and compares the
// result with the hash. The signer key is repeated in every user's string;
// it is only useful, like the hashes themselves, to someone cracking them.
//
// PBKDF2 (FormatPBKDF2SHA1, FormatPBKDF2SHA256, FormatPBKDF2SHA512), in the
// encodings systems actually export:
//
//	$pbkdf2-sha256$i=600000,l=32$<salt>$<hash>                PHC (i= iterations, optional l= length)
//	$pbkdf2-sha256$29000$N2bMOScEwPg/h/Cec24NwQ$<hash>          passlib ("ab64": '.' for '+')
//	{PBKDF2-SHA256}29000$N2bMOScEwPg/h/Cec24NwQ$<hash>          passlib's LDAP form
//	pbkdf2_sha256$870000$seasalt$wJSpLMQRQz0Dhj/pFpbyjMj71B2gUYp6HJS5AU+32Ac= Django (salt used as text)
//	pbkdf2_sha1$10000$wz5B6WkasRoF$atJmJ1o+XfJxKq1+Nu1f1i57Z5I= Django
//	{PKCS5S2}<base64 of 16-byte salt || 32-byte hash>           Atlassian (SHA-1, 10,000 iterations)
//
// $pbkdf2$ and $pbkdf2-sha1$ both mean SHA-1. Keycloak credentials are
// converted to the PHC form by Keycloak (see below). Limits: iterations ×
// output blocks ≤ 10,000,000; hash 16 to 256 bytes.
//
// Keycloak: a Keycloak password credential is two JSON documents,
// secretData ({"value", "salt"}) and credentialData ({"hashIterations",
// "algorithm", "additionalParameters"}). Its algorithms are standard ones,
// so Keycloak converts them to the PHC strings above instead of inventing a
// Keycloak encoding: pbkdf2, pbkdf2-sha256 and pbkdf2-sha512 become
// $pbkdf2...$i=,l=; argon2 (types id and i, version 1.3) becomes
// $argon2id$/$argon2i$. The output length is that of the stored value, as
// Keycloak's own verifier takes it.
//
// sha256-crypt and sha512-crypt (FormatSHA256Crypt, FormatSHA512Crypt):
// glibc's $5$ and $6$ as specified by Ulrich Drepper ("Unix crypt using
// SHA-256 and SHA-512"), the usual /etc/shadow formats, implemented here
// from the specification and checked against its test vectors.
//
//	$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA
//	$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1
//
// Without rounds= the specification's 5,000 apply. crypt(3) clamps rounds to
// 1,000..999,999,999 and writes the clamped value, and truncates salts to 16
// characters, so a stored hash outside those bounds is malformed. Limit:
// 5,000,000 rounds.
//
// md5-crypt (FormatMD5Crypt, FormatApacheMD5Crypt): Poul-Henning Kamp's $1$
// and Apache htpasswd's $apr1$ copy of it; salt up to 8 characters.
//
//	$1$rasmusle$rISCgZzpwk3UhDidwXvin0
//	$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/
//
// phpass (FormatPHPass): the portable hashes of WordPress ($P$) and phpBB
// ($H$): 2^n iterated MD5 over an 8-character salt. n is 7 to 30 by the
// library's rules; imports are limited to 20.
//
//	$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0
//
// LDAP (FormatLDAP): RFC 2307 schemes as OpenLDAP stores them, base64 of the
// digest followed by the salt, scheme names in any case: {MD5}, {SMD5},
// {SHA}, {SSHA}, {SHA256}, {SSHA256}, {SHA384}, {SSHA384}, {SHA512},
// {SSHA512}. {MD5} and {SHA} are also read in hex. {CRYPT} is followed by
// any crypt string above ({CRYPT} with traditional DES crypt is refused).
//
//	{SSHA}0H+zTv8o4MR4H43n03eCsvw1luG8LdB7
//	{CRYPT}$6$rounds=5000$...
//
// # Fast digests
//
// Plain, salted and HMAC digests (MD5, SHA-1, SHA-224, SHA-256, SHA-384,
// SHA-512) from home-grown systems have no standard string form, so this
// package defines one (FormatDigest), built with Digest.Encode from what
// the importer knows about the source system:
//
//	$digest$alg=<algorithm>[,key=<b64>][,salt=<b64>,pos=<prefix|suffix|key>],enc=<hex|b64>$<digest>
//
//	$digest$alg=md5,enc=hex$5f4dcc3b5aa765d61d8327deb882cf99
//	$digest$alg=sha256,salt=c2FsdA,pos=suffix,enc=b64$<base64 digest>
//	$digest$alg=hmac-sha256,key=SmVmZQ,salt=c2FsdA,pos=prefix,enc=hex$<hex digest>
//	$digest$alg=hmac-sha1,salt=c2FsdA,pos=key,enc=hex$<hex digest>
//
// alg is a digest name, or hmac- and a digest name for HMAC. pos=prefix
// hashes salt || password, pos=suffix password || salt, and pos=key (HMAC
// only) uses the salt as the HMAC key and the password as the message; key=
// is a fixed HMAC key (a "pepper"). salt and key are the bytes the old system
// used, base64-encoded here (unpadded) so that any byte fits; if the old
// system concatenated a hex or base64 salt as text, those text bytes are the
// salt. enc says how the digest is written: lower-case hex, or unpadded
// base64, as the source had it. Django's md5$<salt>$<hex> and
// sha1$<salt>$<hex> (FormatDjangoDigest; an empty salt is Django's unsalted
// form) and the LDAP digests above belong to the same family.
//
// A fast digest must not stay in the database as it came: one GPU tries
// billions of MD5 guesses a second. Import therefore wraps every fast digest
// in argon2id at the current parameters, following OWASP's "upgrading legacy
// hashes" (SECURITY-BAR A07: unsalted MD5 "stored wrapped"):
//
//	$digest-argon2id$<digest parameters without enc>$v=19$m=19456,t=2,p=1$<salt>$<argon2id(raw digest)>
//
// A login computes the old digest of the password, then argon2id over it,
// and on success Verify asks for a rehash, which replaces the wrapped hash
// with plain argon2id. The one weakness left until then is "hash shucking":
// an attacker holding both this database and an old leak of the raw digests
// can test the leaked digests against the wrapped ones.
//
// # Not supported
//
// Refused with ErrUnsupported and a message naming them: argon2d and argon2
// version 0x10; bcrypt $2x$ and $2$; traditional and extended DES crypt;
// NetBSD $sha1$, Sun $md5$, scrypt $7$ and yescrypt $y$; Drupal 7's $S$;
// WordPress 6.8's $wp$ (bcrypt over HMAC-SHA-384); Django's scrypt$; MD4 and
// NTLM; passwords hashed as UTF-16 or Latin-1 rather than UTF-8; Keycloak's
// FIPS password padding.
package passwords
