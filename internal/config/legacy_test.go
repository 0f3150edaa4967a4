package config

import (
	"strings"
	"testing"
)

func TestLegacyIssuer(t *testing.T) {
	secret := strings.Repeat("s", 32)
	for _, tc := range []struct {
		name  string
		l     LegacyIssuer
		err   string
		match string
	}{
		{name: "off", l: LegacyIssuer{}},
		{name: "off with the default claim", l: LegacyIssuer{SubjectClaim: "external_id"}},
		{name: "JWKS", l: LegacyIssuer{Issuer: "https://old.example/", JWKSURL: "https://old.example/jwks", Audience: "app"}, match: "external_id"},
		{name: "JWKS on loopback http", l: LegacyIssuer{Issuer: "old", JWKSURL: "http://127.0.0.1:9/jwks", Audience: "app"}},
		{name: "HS by email", l: LegacyIssuer{Issuer: "old", HSSecret: secret, Audience: "app", SubjectClaim: "email"}, match: "email"},
		{name: "claim without issuer", l: LegacyIssuer{SubjectClaim: "email"}, err: "--legacy-issuer is required"},
		{name: "JWKS without issuer", l: LegacyIssuer{JWKSURL: "https://old.example/jwks", Audience: "app"}, err: "--legacy-issuer is required"},
		{name: "no audience", l: LegacyIssuer{Issuer: "old", HSSecret: secret}, err: "--legacy-audience is required"},
		{name: "no key", l: LegacyIssuer{Issuer: "old", Audience: "app"}, err: "exactly one of --legacy-jwks-url and --legacy-hs-secret"},
		{name: "both keys", l: LegacyIssuer{Issuer: "old", Audience: "app", HSSecret: secret, JWKSURL: "https://old.example/jwks"}, err: "exactly one"},
		{name: "JWKS over public http", l: LegacyIssuer{Issuer: "old", Audience: "app", JWKSURL: "http://old.example/jwks"}, err: "--legacy-jwks-url"},
		{name: "short secret", l: LegacyIssuer{Issuer: "old", Audience: "app", HSSecret: "short"}, err: "at least 32 characters"},
		{name: "bad claim", l: LegacyIssuer{Issuer: "old", Audience: "app", HSSecret: secret, SubjectClaim: "sub"}, err: `--legacy-subject-claim "sub"`},
	} {
		c := Defaults()
		c.Legacy = tc.l
		err := c.Resolve()
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.err)
		case tc.match != "" && c.Legacy.SubjectClaim != tc.match:
			t.Errorf("%s: subject claim %q, want %q", tc.name, c.Legacy.SubjectClaim, tc.match)
		}
		if c.Legacy.Enabled() != (tc.l.Issuer != "") {
			t.Errorf("%s: Enabled = %v", tc.name, c.Legacy.Enabled())
		}
	}
}
