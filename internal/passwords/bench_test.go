package passwords

import "testing"

// go test ./internal/passwords/ -run '^$' -bench . -benchmem

func BenchmarkHash(b *testing.B) {
	for b.Loop() {
		if _, err := Hash("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	current := mustHash(b, "correct horse battery staple")
	for _, bc := range []struct{ name, encoded, password string }{
		{"argon2id-current", current, "correct horse battery staple"},
		{"bcrypt-cost10", "$2a$10$WvvTPHKwdBJ3uk0Z37EMR.hLA2W6N9AEBhEgrAOljy2Ae5MtaSIUi", "abc"},
		{"scrypt-N16384", "$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI", "pleaseletmein"},
		{"pbkdf2-sha256-100000", "pbkdf2_sha256$100000$seasalt$BNZ6eyaNc8qFTJPjrAq99hSYb73EgAdytAtdBg2Sdcc=", letmein},
		{"sha512-crypt-5000", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "Hello world!"},
		{"md5-crypt", "$1$rasmusle$rISCgZzpwk3UhDidwXvin0", "rasmuslerdorf"},
		{"phpass-2^13", "$P$B12345678L6Lpt4BxNotVIMILOa9u81", "JohnRipper"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if ok, _, err := Verify(bc.encoded, bc.password); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
}

func BenchmarkDummyVerify(b *testing.B) {
	for b.Loop() {
		DummyVerify("a password")
	}
}
