package redirects

import (
	"errors"
	"strings"
	"testing"
)

// rules reads as the table of SCALEKIT-COMPAT section 5: each row is a URL,
// the kind it is registered as, and the rule each environment type refuses
// it for ("" means accepted).
var rules = []struct {
	url       string
	kind      Kind
	dev, prod Rule
}{
	// Schemes: http in development only; https and an app's own scheme in both.
	{"https://app.example.com/callback", Callback, "", ""},
	{"http://app.example.com/callback", Callback, "", RuleScheme},
	{"HTTP://app.example.com/callback", Callback, "", RuleScheme},
	{"com.example.app://callback", Callback, "", ""},
	{"com.example.app:/oauth2redirect", Callback, "", ""},
	{"myapp://auth/done", PostLogout, "", ""},
	{"javascript:alert(1)", Callback, RuleScheme, RuleScheme},
	{"JavaScript://%0aalert(1)", Callback, RuleScheme, RuleScheme},
	{"data:text/html,hi", Callback, RuleScheme, RuleScheme},
	{"file:///etc/passwd", Callback, RuleScheme, RuleScheme},
	{"vbscript:msgbox", Callback, RuleScheme, RuleScheme},
	{"ftp://files.example.com/cb", Callback, RuleScheme, RuleScheme},
	{"com.example.app://login", InitiateLogin, RuleScheme, RuleScheme},
	{"com.example.app://logout", BackchannelLogout, RuleScheme, RuleScheme},
	{"https://app.example.com/login", InitiateLogin, "", ""},
	{"http://app.example.com/backchannel", BackchannelLogout, "", RuleScheme},

	// Absolute URLs only.
	{"/callback", Callback, RuleAbsolute, RuleAbsolute},
	{"app.example.com/callback", Callback, RuleAbsolute, RuleAbsolute},
	{"//app.example.com/callback", Callback, RuleAbsolute, RuleAbsolute},
	{"https:app.example.com/callback", Callback, RuleAbsolute, RuleAbsolute},
	{"1https://app.example.com", Callback, RuleAbsolute, RuleAbsolute},
	{"myapp:", Callback, RuleAbsolute, RuleAbsolute},
	{"myapp://", Callback, RuleAbsolute, RuleAbsolute},
	{"myapp:callback", Callback, RuleAbsolute, RuleAbsolute},
	{"A:@", Callback, RuleAbsolute, RuleAbsolute},
	{"myapp://user@callback", Callback, RuleUserinfo, RuleUserinfo},
	{"myapp://callback/@user", Callback, "", ""},
	{"https://app.example.com/@user/cb", Callback, "", ""},
	{"https://app.example.com/%zz", Callback, RuleAbsolute, RuleAbsolute},
	{"", Callback, RuleRequired, RuleRequired},

	// Hosts.
	{"https://", Callback, RuleHost, RuleHost},
	{"https:///callback", Callback, RuleHost, RuleHost},
	{"https://app.example.com:443/callback", Callback, "", ""},
	{"https://app.example.com:0/callback", Callback, RuleHost, RuleHost},
	{"https://app.example.com:65536/callback", Callback, RuleHost, RuleHost},
	{"https://app.example.com:/callback", Callback, RuleHost, RuleHost},
	{"https://app.example.com:08/callback", Callback, RuleHost, RuleHost},
	{"https://app..example.com/callback", Callback, RuleHost, RuleHost},
	{"https://app.example.com./callback", Callback, RuleHost, RuleHost},
	{"https://app%2eexample.com/callback", Callback, RuleHost, RuleHost},
	{"https://app.exa$mple.com/callback", Callback, RuleHost, RuleHost},
	{"https://xn--bcher-kva.example/callback", Callback, "", ""},
	{"https://192.0.2.1/callback", Callback, "", ""},
	{"https://[2001:db8::1]:8443/callback", Callback, "", ""},
	{"https://[2001:db8::1/callback", Callback, RuleHost, RuleHost},
	{"https://[not-ip]/callback", Callback, RuleHost, RuleHost},
	{"https://2130706433/callback", Callback, RuleHost, RuleHost},
	{"https://0x7f.0.0.1/callback", Callback, RuleHost, RuleHost},
	{"https://0177.0.0.1/callback", Callback, RuleHost, RuleHost},
	{"https://" + strings.Repeat("a", 64) + ".example.com/cb", Callback, RuleHost, RuleHost},

	// User information never.
	{"https://app.example.com@evil.example/callback", Callback, RuleUserinfo, RuleUserinfo},
	{"https://user:pass@app.example.com/callback", Callback, RuleUserinfo, RuleUserinfo},

	// localhost: development only.
	{"http://localhost:3000/callback", Callback, "", RuleScheme},
	{"https://localhost:3000/callback", Callback, "", RuleLocalhost},
	{"https://LOCALHOST/callback", Callback, "", RuleLocalhost},
	{"https://app.localhost/callback", Callback, "", RuleLocalhost},
	{"https://127.0.0.1/callback", Callback, "", RuleLocalhost},
	{"https://127.1.2.3/callback", Callback, "", RuleLocalhost},
	{"https://[::1]:8080/callback", Callback, "", RuleLocalhost},
	{"https://[::ffff:127.0.0.1]/callback", Callback, "", RuleLocalhost},
	{"https://0.0.0.0/callback", Callback, "", RuleLocalhost},
	{"https://localhost.example.com/callback", Callback, "", ""},

	// Length: at most 256 characters in both.
	{"https://app.example.com/" + strings.Repeat("a", 256-24), Callback, "", ""},
	{"https://app.example.com/" + strings.Repeat("a", 257-24), Callback, RuleMaxLength, RuleMaxLength},

	// No query string, no fragment, in both; not even an empty one.
	{"https://app.example.com/callback?next=/home", Callback, RuleQuery, RuleQuery},
	{"https://app.example.com/callback?", Callback, RuleQuery, RuleQuery},
	{"com.example.app://callback?x=1", Callback, RuleQuery, RuleQuery},
	{"https://app.example.com/callback#section", Callback, RuleFragment, RuleFragment},
	{"https://app.example.com/callback#", Callback, RuleFragment, RuleFragment},
	{"https://app.example.com/cb?a#b", Callback, RuleFragment, RuleFragment},

	// Characters URLs must encode.
	{"https://app.example.com/call back", Callback, RuleCharacters, RuleCharacters},
	{"https://app.example.com/call\tback", Callback, RuleCharacters, RuleCharacters},
	{"https://app.example.com/callback\n", Callback, RuleCharacters, RuleCharacters},
	{"https://app.example.com\\@evil.example/", Callback, RuleCharacters, RuleCharacters},
	{"https://app.example.com/<script>", Callback, RuleCharacters, RuleCharacters},
	{"https://bücher.example/callback", Callback, RuleCharacters, RuleCharacters},
	{"https://app.example.com/caf%C3%A9", Callback, "", ""},

	// Wildcards: development only, callback and post-logout URLs only.
	{"https://*.acmecorp.com/callback", Callback, "", RuleWildcard},
	{"https://*.acmecorp.com/logout", PostLogout, "", RuleWildcard},
	{"http://*.acmecorp.com/callback", Callback, "", RuleScheme},
	{"https://auth-*.acmecorp.com/callback", Callback, "", RuleWildcard},
	{"https://*-preview.acmecorp.com/callback", Callback, "", RuleWildcard},
	{"https://*.auth.acmecorp.com/callback", Callback, "", RuleWildcard},
	{"https://*.acmecorp.co.uk/callback", Callback, "", RuleWildcard},
	{"https://*.app.localhost:3000/callback", Callback, "", RuleWildcard},
	{"https://*.acmecorp.com/login", InitiateLogin, RuleWildcardKind, RuleWildcard},
	{"https://*.acmecorp.com/bc", BackchannelLogout, RuleWildcardKind, RuleWildcard},
	// never at the root-level domain
	{"https://*.com/callback", Callback, RuleWildcardRoot, RuleWildcard},
	{"https://*.co.uk/callback", Callback, RuleWildcardRoot, RuleWildcard},
	{"https://*.github.io/callback", Callback, RuleWildcardRoot, RuleWildcard},
	{"https://*/callback", Callback, RuleWildcardRoot, RuleWildcard},
	{"https://*.localhost/callback", Callback, RuleWildcardRoot, RuleWildcard},
	// at most one
	{"https://*.*.acmecorp.com/callback", Callback, RuleWildcardCount, RuleWildcard},
	{"https://*.acmecorp.com/*", Callback, RuleWildcardCount, RuleWildcard},
	// only inside a subdomain label of the host
	{"https://acmecorp.*.com/callback", Callback, RuleWildcardSubdomain, RuleWildcard},
	{"https://acmecorp.*/callback", Callback, RuleWildcardSubdomain, RuleWildcard},
	{"https://app.acmecorp.co.*/callback", Callback, RuleWildcardSubdomain, RuleWildcard},
	{"https://app.acmecorp.com/*", Callback, RuleWildcardHost, RuleWildcard},
	{"https://app.acmecorp.com/cb*", Callback, RuleWildcardHost, RuleWildcard},
	{"*://app.acmecorp.com/cb", Callback, RuleAbsolute, RuleAbsolute},
	{"com.example.*://callback", Callback, RuleAbsolute, RuleAbsolute},
	{"com.example.app://*.callback", Callback, RuleWildcardHost, RuleWildcard},
	{"https://192.0.2.*/callback", Callback, RuleWildcardHost, RuleWildcard},
	{"https://[2001:db8::*]/callback", Callback, RuleWildcardHost, RuleWildcard},
	{"https://*@acmecorp.com/callback", Callback, RuleUserinfo, RuleWildcard},
	// only in the label farthest from the registrable domain
	{"https://auth.*.acmecorp.com/callback", Callback, RuleWildcardLeftmost, RuleWildcard},
	{"https://a.b-*.acmecorp.com/callback", Callback, RuleWildcardLeftmost, RuleWildcard},
}

func TestValidateRules(t *testing.T) {
	for _, tc := range rules {
		for _, env := range []struct {
			typ  EnvType
			want Rule
		}{{Development, tc.dev}, {Production, tc.prod}} {
			err := Validate(tc.url, env.typ, tc.kind)
			if env.want == "" {
				if err != nil {
					t.Errorf("%s %s %q: refused (%v), want accepted", env.typ, tc.kind, tc.url, err)
				}
				continue
			}
			var v *Violation
			if !errors.As(err, &v) {
				t.Errorf("%s %s %q: got %v, want a violation of %s", env.typ, tc.kind, tc.url, err, env.want)
				continue
			}
			if v.Rule != env.want {
				t.Errorf("%s %s %q: refused for %s (%s), want %s", env.typ, tc.kind, tc.url, v.Rule, v.Message, env.want)
			}
			if v.Message == "" || !strings.Contains(err.Error(), string(v.Rule)) {
				t.Errorf("%s %q: error %q does not name its rule", env.typ, tc.url, err)
			}
		}
	}
}

// TestEveryRuleIsTested keeps the table honest: each rule has a URL that
// breaks it.
func TestEveryRuleIsTested(t *testing.T) {
	seen := map[Rule]bool{}
	for _, tc := range rules {
		seen[tc.dev], seen[tc.prod] = true, true
	}
	for _, r := range []Rule{RuleRequired, RuleMaxLength, RuleCharacters, RuleAbsolute, RuleScheme, RuleUserinfo, RuleHost,
		RuleLocalhost, RuleQuery, RuleFragment, RuleWildcard, RuleWildcardKind, RuleWildcardCount, RuleWildcardHost,
		RuleWildcardRoot, RuleWildcardSubdomain, RuleWildcardLeftmost} {
		if !seen[r] {
			t.Errorf("no table row breaks rule %s", r)
		}
	}
}

func TestMatchExact(t *testing.T) {
	const reg = "https://app.example.com/cb"
	for _, tc := range []struct {
		candidate string
		want      bool
	}{
		{reg, true},
		{"https://APP.example.com/cb", false},
		{"https://app.example.com/CB", false},
		{"HTTPS://app.example.com/cb", false},
		{"https://app.example.com/cb/", false},
		{"https://app.example.com/cb/../evil", false},
		{"https://app.example.com/%2e%2e/cb", false},
		{"https://app.example.com/cb%2F..", false},
		{"https://app.example.com@evil/cb", false},
		{"https://app.example.com.evil/cb", false},
		{"https://app.example.com:8443/cb", false},
		{"https://app.example.com:443/cb", false},
		{"http://app.example.com/cb", false},
		{"https://app.example.com/cb?code=x", false},
		{"https://app.example.com/cb?state=", false},
		{"https://app.example.com/cb#frag", false},
		{"https://app.example.com/c", false},
		{"http://127.0.0.1/cb", false},
		{"", false},
	} {
		for _, env := range []EnvType{Development, Production} {
			if got := Match(reg, tc.candidate, env, Callback); got != tc.want {
				t.Errorf("%s: Match(%q, %q) = %v, want %v", env, reg, tc.candidate, got, tc.want)
			}
		}
	}
}

func TestMatchWildcard(t *testing.T) {
	for _, tc := range []struct {
		pattern, candidate string
		want               bool
	}{
		{"https://*.acmecorp.com/cb", "https://pr-42.acmecorp.com/cb", true},
		{"https://*.acmecorp.com/cb", "https://x.acmecorp.com/cb", true},
		{"https://*.acmecorp.com/cb", "https://*.acmecorp.com/cb", true}, // the pattern itself, byte for byte
		{"https://*.acmecorp.com/cb", "https://.acmecorp.com/cb", false},
		{"https://*.acmecorp.com/cb", "https://acmecorp.com/cb", false},
		{"https://*.acmecorp.com/cb", "https://a.b.acmecorp.com/cb", false},
		{"https://*.acmecorp.com/cb", "https://evil.com/x.acmecorp.com/cb", false},
		{"https://*.acmecorp.com/cb", "https://evil.com@x.acmecorp.com/cb", false},
		{"https://*.acmecorp.com/cb", "https://evil.com#.acmecorp.com/cb", false},
		{"https://*.acmecorp.com/cb", "https://evil.com?.acmecorp.com/cb", false},
		{"https://*.acmecorp.com/cb", "https://evil:1.acmecorp.com/cb", false},
		{"https://*.acmecorp.com/cb", "https://EVIL.acmecorp.com/cb", false},
		{"https://*.acmecorp.com/cb", "https://x.acmecorp.com/cb2", false},
		{"https://*.acmecorp.com/cb", "https://x.acmecorp.com/cb?code=1", false},
		{"https://*.acmecorp.com/cb", "http://x.acmecorp.com/cb", false},
		{"https://*.acmecorp.com/cb", "https://x.acmecorp.com.evil/cb", false},
		{"https://*.acmecorp.com/cb", "https://-x.acmecorp.com/cb", false},
		{"https://*.acmecorp.com/cb", "https://x-.acmecorp.com/cb", false},
		{"https://*.acmecorp.com/cb", "https://" + strings.Repeat("a", 63) + ".acmecorp.com/cb", true},
		{"https://*.acmecorp.com/cb", "https://" + strings.Repeat("a", 64) + ".acmecorp.com/cb", false},
		{"https://auth-*.acmecorp.com/cb", "https://auth-pr-7.acmecorp.com/cb", true},
		{"https://auth-*.acmecorp.com/cb", "https://auth-.acmecorp.com/cb", false},
		{"https://auth-*.acmecorp.com/cb", "https://login-7.acmecorp.com/cb", false},
		{"https://*-preview.acmecorp.com/cb", "https://pr7-preview.acmecorp.com/cb", true},
		{"https://*.auth.acmecorp.com:8443/cb", "https://eu.auth.acmecorp.com:8443/cb", true},
		{"https://*.auth.acmecorp.com:8443/cb", "https://eu.auth.acmecorp.com/cb", false},
		// Invalid patterns match nothing, even themselves.
		{"https://*.com/cb", "https://evil.com/cb", false},
		{"https://*.com/cb", "https://*.com/cb", false},
		{"https://auth.*.acmecorp.com/cb", "https://auth.x.acmecorp.com/cb", false},
		{"https://app.acmecorp.com/*", "https://app.acmecorp.com/x", false},
	} {
		if got := Match(tc.pattern, tc.candidate, Development, Callback); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.candidate, got, tc.want)
		}
		// Production never honours a wildcard.
		if tc.pattern != tc.candidate && Match(tc.pattern, tc.candidate, Production, Callback) {
			t.Errorf("production: Match(%q, %q) = true", tc.pattern, tc.candidate)
		}
	}
	// Kinds Gatehouse sends to directly never match a pattern.
	if Match("https://*.acmecorp.com/x", "https://a.acmecorp.com/x", Development, InitiateLogin) {
		t.Error("an initiate-login pattern matched")
	}
}

func TestMatchLoopbackAnyPort(t *testing.T) {
	for _, tc := range []struct {
		pattern, candidate string
		want               bool
	}{
		{"http://127.0.0.1/cb", "http://127.0.0.1:51004/cb", true},
		{"http://127.0.0.1:3000/cb", "http://127.0.0.1:51004/cb", true},
		{"http://127.0.0.1:3000/cb", "http://127.0.0.1/cb", true},
		{"http://[::1]/cb", "http://[::1]:8080/cb", true},
		{"http://127.0.0.1/cb", "http://127.0.0.1:51004/other", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1:51004/cb?x=1", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1:0/cb", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1:65536/cb", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1:080/cb", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1.evil.com/cb", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1:80@evil.com/cb", false},
		{"http://127.0.0.1/cb", "https://127.0.0.1:8080/cb", false},
		{"http://localhost/cb", "http://localhost:8080/cb", false}, // names are not loopback literals
	} {
		if got := Match(tc.pattern, tc.candidate, Development, Callback); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.candidate, got, tc.want)
		}
		if Match(tc.pattern, tc.candidate, Production, Callback) {
			t.Errorf("production honoured loopback %q for %q", tc.pattern, tc.candidate)
		}
	}
}

// TestStaleRegistrationsStopMatching: a URL registered in development that
// production refuses is not honoured once the environment is production.
func TestStaleRegistrationsStopMatching(t *testing.T) {
	for _, reg := range []string{"http://app.example.com/cb", "https://localhost:3000/cb", "https://*.example.com/cb"} {
		cand := strings.Replace(reg, "*", "a", 1)
		if !Match(reg, cand, Development, Callback) {
			t.Errorf("development: %q does not match %q", reg, cand)
		}
		if Match(reg, cand, Production, Callback) {
			t.Errorf("production: %q still matches %q", reg, cand)
		}
	}
}

func TestMatchAny(t *testing.T) {
	regs := []string{"https://a.example.com/cb", "https://*.preview.example.com/cb"}
	if p, ok := MatchAny(regs, "https://x.preview.example.com/cb", Development, Callback); !ok || p != regs[1] {
		t.Errorf("MatchAny = %q, %v", p, ok)
	}
	if _, ok := MatchAny(regs, "https://x.preview.example.com/cb", Production, Callback); ok {
		t.Error("MatchAny honoured a wildcard in production")
	}
	if _, ok := MatchAny(nil, "https://a.example.com/cb", Development, Callback); ok {
		t.Error("MatchAny matched with nothing registered")
	}
}

func TestKindNames(t *testing.T) {
	want := map[Kind][2]string{
		Callback: {"callback", "callback_urls"}, InitiateLogin: {"initiate-login", "initiate_login_url"},
		PostLogout: {"post-logout", "post_logout_urls"}, BackchannelLogout: {"backchannel-logout", "backchannel_logout_url"},
	}
	for _, k := range Kinds {
		if got := [2]string{k.String(), k.Field()}; got != want[k] {
			t.Errorf("kind %d: %v, want %v", k, got, want[k])
		}
	}
	if !Callback.Multiple() || !PostLogout.Multiple() || InitiateLogin.Multiple() || BackchannelLogout.Multiple() {
		t.Error("Multiple is wrong")
	}
}
