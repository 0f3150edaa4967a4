package passwords

import "testing"

// TestSameImport: a re-import of the same source hash is recognised,
// whether Import kept it as it was (slow hashes) or wrapped it under a
// fresh salt (fast digests); a different source is not.
func TestSameImport(t *testing.T) {
	const (
		bcryptA = "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a"
		bcryptB = "$2a$04$IBShtKZhWfBg2ZAu0KJMvOkyE4j9oDYA7.w2yqFjJPRrqUhwJMMwK"
		md5A    = "$digest$alg=md5,enc=hex$5f4dcc3b5aa765d61d8327deb882cf99" // "password"
		md5B    = "$digest$alg=md5,enc=hex$e10adc3949ba59abbe56e057f20f883e" // "123456"
		saltedA = "$digest$alg=md5,salt=c2FsdA,pos=prefix,enc=hex$5f4dcc3b5aa765d61d8327deb882cf99"
	)
	wrappedA, err := Import(md5A)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Import(md5A)
	if err != nil {
		t.Fatal(err)
	}
	if again == wrappedA {
		t.Fatal("Import gave the same wrapped string twice; this test assumes fresh salts")
	}
	for _, tc := range []struct {
		name             string
		imported, source string
		want             bool
	}{
		{"same bcrypt", bcryptA, bcryptA, true},
		{"other bcrypt", bcryptA, bcryptB, false},
		{"same digest, wrapped earlier", wrappedA, md5A, true},
		{"same digest, wrapped again", again, md5A, true},
		{"other digest", wrappedA, md5B, false},
		{"same digest bytes, other salt parameters", wrappedA, saltedA, false},
		{"bcrypt imported, digest now", bcryptA, md5A, false},
		{"digest imported, bcrypt now", wrappedA, bcryptA, false},
		{"nothing imported before", "", md5A, false},
	} {
		got, err := SameImport(tc.imported, tc.source)
		if err != nil || got != tc.want {
			t.Errorf("%s: SameImport = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	if _, err := SameImport(wrappedA, "$2x$10$abc"); err == nil {
		t.Error("an unimportable source: no error")
	}
}
