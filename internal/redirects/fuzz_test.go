package redirects

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// Run with: go test ./internal/redirects -fuzz=FuzzValidate -fuzztime=30s
// (or -fuzz=FuzzMatch). Inputs that once failed live in testdata/fuzz.

var envs = []EnvType{Development, Production}

var knownRules = map[Rule]bool{
	RuleRequired: true, RuleMaxLength: true, RuleCharacters: true, RuleAbsolute: true, RuleScheme: true,
	RuleUserinfo: true, RuleHost: true, RuleLocalhost: true, RuleQuery: true, RuleFragment: true,
	RuleWildcard: true, RuleWildcardKind: true, RuleWildcardCount: true, RuleWildcardHost: true,
	RuleWildcardRoot: true, RuleWildcardSubdomain: true, RuleWildcardLeftmost: true,
}

func seeds(f *testing.F) {
	for _, tc := range rules {
		f.Add(tc.url)
	}
	for _, s := range []string{
		"https://*.acmecorp.com/cb", "http://127.0.0.1:3000/cb", "http://[::1]/cb", "com.example.app://cb",
		"https://a*b.example.com/", "https://*.example.com:8443/x/y", "HTTPS://App.Example.com/CB",
	} {
		f.Add(s)
	}
}

// FuzzValidate checks what any accepted URL must be.
func FuzzValidate(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, raw string) {
		for _, env := range envs {
			for _, kind := range Kinds {
				err := Validate(raw, env, kind)
				if err != nil {
					var v *Violation
					if !errors.As(err, &v) || !knownRules[v.Rule] || v.Message == "" {
						t.Fatalf("%s %s %q: refusal %v names no known rule", env, kind, raw, err)
					}
					continue
				}
				checkAccepted(t, raw, env, kind)
			}
		}
	})
}

func checkAccepted(t *testing.T, raw string, env EnvType, kind Kind) {
	t.Helper()
	if len(raw) == 0 || len(raw) > MaxLength {
		t.Fatalf("%s: accepted %q of length %d", env, raw, len(raw))
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] <= ' ' || raw[i] >= 0x7f {
			t.Fatalf("%s: accepted %q with byte %#x", env, raw, raw[i])
		}
	}
	if strings.ContainsAny(raw, "?#\\") {
		t.Fatalf("%s: accepted %q with a query, fragment or backslash", env, raw)
	}
	u, err := url.Parse(strings.Replace(raw, "*", "x", 1))
	if err != nil || u.Scheme == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		t.Fatalf("%s: accepted %q, which Go parses as %#v (%v)", env, raw, u, err)
	}
	scheme := strings.ToLower(u.Scheme)
	web := scheme == "http" || scheme == "https"
	if web && u.Host == "" {
		t.Fatalf("%s: accepted web URL %q without a host", env, raw)
	}
	if !web && !kind.browserReturn() {
		t.Fatalf("%s: accepted %q with scheme %s for %s", env, raw, scheme, kind)
	}
	if deniedSchemes[scheme] {
		t.Fatalf("%s: accepted %q with a denied scheme", env, raw)
	}
	stars := strings.Count(raw, "*")
	if env == Production {
		if scheme == "http" || stars > 0 {
			t.Fatalf("production accepted %q: want https or an app's own scheme, and no *", raw)
		}
		if web && isLocal(u.Hostname()) {
			t.Fatalf("production accepted local %q", raw)
		}
		if Validate(raw, Development, kind) != nil {
			t.Fatalf("production accepted %q but development refuses it", raw)
		}
	}
	if stars > 1 || stars == 1 && (!web || !kind.browserReturn()) {
		t.Fatalf("%s: accepted %q with %d wildcards for %s", env, raw, stars, kind)
	}
	if stars == 1 {
		host := u.Hostname() // with the * as x
		star := strings.IndexByte(raw, '*')
		if !strings.Contains(raw[:star], "//") || strings.ContainsAny(raw[strings.Index(raw, "//")+2:star], "/.:[") {
			t.Fatalf("%s: accepted %q whose * is not in the leftmost host label", env, raw)
		}
		// A registrable domain (a public suffix plus one label, so at least
		// two labels) lies right of the wildcard label.
		if labels := strings.Split(host, "."); len(labels) < 3 {
			t.Fatalf("%s: accepted %q with a wildcard at the root", env, raw)
		}
	}
	if !Match(raw, raw, env, kind) {
		t.Fatalf("%s: accepted %q but it does not match itself", env, raw)
	}
}

// FuzzMatch checks that a match never reaches beyond the wildcard label
// (or, for a loopback IP URL, the port), and that a wildcard pattern does
// match the URL made by putting a plain label in place of its '*'.
func FuzzMatch(f *testing.F) {
	for _, tc := range []struct{ pattern, candidate, label string }{
		{"https://*.acmecorp.com/cb", "https://pr-1.acmecorp.com/cb", "pr-1"},
		{"https://*.acmecorp.com/cb", "https://evil.com/.acmecorp.com/cb", "evil.com/"},
		{"https://auth-*.acmecorp.com/cb", "https://auth-x.acmecorp.com/cb", "x"},
		{"https://*-a.acmecorp.com/cb", "https://--a.acmecorp.com/cb", "-"},
		{"https://app.example.com/cb", "https://app.example.com/cb", ""},
		{"https://app.example.com/cb", "https://app.example.com/cb?x", "x"},
		{"http://127.0.0.1/cb", "http://127.0.0.1:8080/cb", ""},
		{"http://[::1]:3000/cb", "http://[::1]/cb", ""},
		{"com.example.app://cb", "com.example.app://cb", ""},
		{"https://*.com/cb", "https://a.com/cb", "a"},
	} {
		f.Add(tc.pattern, tc.candidate, tc.label)
	}
	f.Fuzz(func(t *testing.T, pattern, candidate, label string) {
		for _, env := range envs {
			for _, kind := range Kinds {
				checkMatch(t, env, kind, pattern, candidate)
				if strings.Count(pattern, "*") != 1 {
					continue
				}
				filled := strings.Replace(pattern, "*", label, 1)
				checkMatch(t, env, kind, pattern, filled)
				plain := label != "" && strings.Trim(label, "abcdefghijklmnopqrstuvwxyz0123456789") == ""
				// (The filled-in URL validates unless the label grew past 63 characters.)
				if plain && env == Development && kind.browserReturn() && Validate(pattern, env, kind) == nil &&
					Validate(filled, env, kind) == nil && !Match(pattern, filled, env, kind) {
					t.Fatalf("%q does not match %q, made by putting %q in place of its wildcard", pattern, filled, label)
				}
			}
		}
	})
}

func checkMatch(t *testing.T, env EnvType, kind Kind, pattern, candidate string) {
	t.Helper()
	if !Match(pattern, candidate, env, kind) {
		return
	}
	if err := Validate(pattern, env, kind); err != nil {
		t.Fatalf("%s: %q matched through pattern %q that Validate refuses: %v", env, candidate, pattern, err)
	}
	if candidate == pattern {
		return
	}
	if strings.ContainsAny(candidate, "?#@\\ ") {
		t.Fatalf("%s: %q matched %q with a query, fragment, user information or space", env, pattern, candidate)
	}
	if star := strings.IndexByte(pattern, '*'); star >= 0 {
		checkWildcardMatch(t, env, pattern, candidate, star)
		return
	}
	a, aok := stripLoopbackPort(pattern)
	b, bok := stripLoopbackPort(candidate)
	if env != Development || !aok || !bok || a != b {
		t.Fatalf("%s: %q matched %q, which differs outside a loopback port", env, pattern, candidate)
	}
}

func checkWildcardMatch(t *testing.T, env EnvType, pattern, candidate string, star int) {
	t.Helper()
	if env != Development {
		t.Fatalf("%s: wildcard %q matched %q", env, pattern, candidate)
	}
	pre, post := pattern[:star], pattern[star+1:]
	if !strings.HasPrefix(candidate, pre) || !strings.HasSuffix(candidate, post) || len(candidate) <= len(pre)+len(post) {
		t.Fatalf("%q matched %q, which differs outside the wildcard", pattern, candidate)
	}
	mid := candidate[len(pre) : len(candidate)-len(post)]
	if strings.Trim(mid, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		t.Fatalf("%q matched %q: the wildcard took %q, more than one label's letters, digits and '-'", pattern, candidate, mid)
	}
	pu, err1 := url.Parse(strings.Replace(pattern, "*", mid, 1))
	cu, err2 := url.Parse(candidate)
	if err1 != nil || err2 != nil || pu.String() != cu.String() || cu.Hostname() == "" {
		t.Fatalf("%q matched %q, but they parse differently (%v, %v)", pattern, candidate, err1, err2)
	}
	// The registrable domain and everything after the host are the pattern's.
	if !strings.HasSuffix(cu.Hostname(), post[:strings.IndexAny(post+"/", ":/")]) {
		t.Fatalf("%q matched %q on another domain", pattern, candidate)
	}
}
