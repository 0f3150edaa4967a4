package redirects

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// EnvType is an environment's type; it decides which rules apply.
type EnvType string

// The environment types.
const (
	Development EnvType = "development"
	Production  EnvType = "production"
)

// MaxLength is the longest redirect URL, in characters (all ASCII).
const MaxLength = 256

// Kind is one of the four kinds of redirect URL.
type Kind int

// The kinds of redirect URL.
const (
	// Callback URLs receive the authorization code (redirect_uri).
	Callback Kind = iota
	// InitiateLogin is the app's URL that starts a login.
	InitiateLogin
	// PostLogout URLs are where /oidc/logout may return to.
	PostLogout
	// BackchannelLogout is the app's endpoint that receives logout tokens.
	BackchannelLogout
)

// Kinds lists every kind, in the order the API shows them.
var Kinds = []Kind{Callback, InitiateLogin, PostLogout, BackchannelLogout}

// String is the kind's name on the command line.
func (k Kind) String() string {
	switch k {
	case Callback:
		return "callback"
	case InitiateLogin:
		return "initiate-login"
	case PostLogout:
		return "post-logout"
	case BackchannelLogout:
		return "backchannel-logout"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Field is the kind's field in the API.
func (k Kind) Field() string {
	switch k {
	case Callback:
		return "callback_urls"
	case InitiateLogin:
		return "initiate_login_url"
	case PostLogout:
		return "post_logout_urls"
	case BackchannelLogout:
		return "backchannel_logout_url"
	}
	return k.String()
}

// Multiple reports whether an environment has a list of URLs of this kind
// (true) or at most one.
func (k Kind) Multiple() bool { return k == Callback || k == PostLogout }

// browserReturn reports whether a browser is sent back to URLs of this
// kind after a flow: only those may be patterns (wildcards) or an app's own
// scheme. Gatehouse itself sends a browser to the one initiate-login URL and
// POSTs to the one back-channel URL, so those must be plain web URLs.
func (k Kind) browserReturn() bool { return k == Callback || k == PostLogout }

// Rule names a rule a URL can break. The names are stable: the API reports
// them as the violation's constraint.
type Rule string

// The rules.
const (
	RuleRequired          Rule = "required"           // empty
	RuleMaxLength         Rule = "max_length"         // over 256 characters
	RuleCharacters        Rule = "characters"         // spaces, controls, non-ASCII, characters URLs must encode
	RuleAbsolute          Rule = "absolute"           // no scheme, or not a well-formed URL
	RuleScheme            Rule = "scheme"             // a scheme the environment type or kind refuses
	RuleUserinfo          Rule = "userinfo"           // user:password@ before the host
	RuleHost              Rule = "host"               // missing or malformed host or port
	RuleLocalhost         Rule = "localhost"          // localhost or a loopback address in production
	RuleQuery             Rule = "query"              // a ? anywhere
	RuleFragment          Rule = "fragment"           // a # anywhere
	RuleWildcard          Rule = "wildcard"           // a * in production
	RuleWildcardKind      Rule = "wildcard_kind"      // a * in an initiate-login or back-channel URL
	RuleWildcardCount     Rule = "wildcard_count"     // more than one *
	RuleWildcardHost      Rule = "wildcard_host"      // a * outside the host's DNS labels
	RuleWildcardRoot      Rule = "wildcard_root"      // a * standing for the registrable domain (https://*.com)
	RuleWildcardSubdomain Rule = "wildcard_subdomain" // a * inside the registrable domain (https://acme.*.com)
	RuleWildcardLeftmost  Rule = "wildcard_leftmost"  // a * in a subdomain label that is not the leftmost
)

// Violation is a URL's breach of one rule.
type Violation struct {
	Rule    Rule
	Message string // says what is wrong and what is accepted
}

func (v *Violation) Error() string { return v.Message + " (rule " + string(v.Rule) + ")" }

func broke(r Rule, format string, args ...any) *Violation {
	return &Violation{Rule: r, Message: fmt.Sprintf(format, args...)}
}

// deniedSchemes are never an app's own scheme: they run code, read local
// data, or leave the app.
var deniedSchemes = map[string]bool{
	"javascript": true, "vbscript": true, "data": true, "blob": true, "file": true, "filesystem": true,
	"about": true, "view-source": true, "intent": true, "ftp": true, "ws": true, "wss": true,
	"mailto": true, "tel": true, "sms": true,
}

// parsed is a URL taken apart as far as the rules need.
type parsed struct {
	scheme    string // lower case
	web       bool   // http or https
	authority string // web only: what lies between // and the path
	host      string // web only: as written, brackets kept for IPv6
	hostStart int    // web only: byte offset of host in the URL
}

// Validate reports whether raw may be registered as a URL of kind in an
// environment of type env; a refusal is a *Violation naming the rule.
func Validate(raw string, env EnvType, kind Kind) error {
	if _, v := check(raw, env, kind); v != nil {
		return v
	}
	return nil
}

// check validates raw and returns its parts. The order of the checks
// decides which rule a URL breaking several is refused for: the one a
// user most needs to hear first.
func check(raw string, env EnvType, kind Kind) (*parsed, *Violation) {
	if raw == "" {
		return nil, broke(RuleRequired, "must not be empty")
	}
	if len(raw) > MaxLength {
		return nil, broke(RuleMaxLength, "must be at most %d characters, not %d", MaxLength, len(raw))
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c >= 0x7f || strings.IndexByte("\\\"<>`{}|^", c) >= 0 {
			return nil, broke(RuleCharacters, "must be printable ASCII without spaces, quotes, backslashes or any of <>`{}|^; percent-encode other characters (punycode for host names)")
		}
	}
	if strings.IndexByte(raw, '#') >= 0 {
		return nil, broke(RuleFragment, "must not have a fragment (#...)")
	}
	if strings.IndexByte(raw, '?') >= 0 {
		return nil, broke(RuleQuery, "must not have a query string (?...)")
	}
	scheme, rest, ok := splitScheme(raw)
	if !ok {
		return nil, broke(RuleAbsolute, "must be an absolute URL starting with a scheme, such as https://app.example.com/callback")
	}
	p := &parsed{scheme: strings.ToLower(scheme)}
	p.web = p.scheme == "http" || p.scheme == "https"
	switch {
	case p.scheme == "http" && env == Production:
		return nil, broke(RuleScheme, "http is allowed only in development environments; use https")
	case !p.web && deniedSchemes[p.scheme]:
		return nil, broke(RuleScheme, "the %s scheme is not allowed; use https, http in development, or an app's own scheme such as com.example.app", p.scheme)
	case !p.web && !kind.browserReturn():
		return nil, broke(RuleScheme, "%s must be an https URL (http in development), not the %s scheme", kind.Field(), p.scheme)
	}
	stars := strings.Count(raw, "*")
	if stars > 0 {
		switch {
		case env == Production:
			return nil, broke(RuleWildcard, "wildcards (*) are allowed only in development environments")
		case !kind.browserReturn():
			return nil, broke(RuleWildcardKind, "%s must be one exact URL; wildcards (*) are allowed only in callback and post-logout URLs", kind.Field())
		case stars > 1:
			return nil, broke(RuleWildcardCount, "may have at most one wildcard (*), not %d", stars)
		}
	}
	if !p.web {
		if !strings.HasPrefix(rest, "/") || rest == "/" || rest == "//" {
			return nil, broke(RuleAbsolute, "must continue after %s: with a path, such as %s://callback or %s:/callback", scheme, scheme, scheme)
		}
		if auth, ok := strings.CutPrefix(rest, "//"); ok {
			if i := strings.IndexByte(auth, '/'); i >= 0 {
				auth = auth[:i]
			}
			if strings.IndexByte(auth, '@') >= 0 {
				return nil, broke(RuleUserinfo, "must not have a user name or password before the host (user@host)")
			}
		}
		if stars > 0 {
			return nil, broke(RuleWildcardHost, "a wildcard (*) may stand only for part of the host of an http or https URL")
		}
		return p, sane(raw, p)
	}
	if !strings.HasPrefix(rest, "//") {
		return nil, broke(RuleAbsolute, "must look like %s://host/path", p.scheme)
	}
	auth := rest[2:]
	if i := strings.IndexByte(auth, '/'); i >= 0 {
		auth = auth[:i]
	}
	p.authority = auth
	if strings.IndexByte(auth, '@') >= 0 {
		return nil, broke(RuleUserinfo, "must not have a user name or password before the host (user@host)")
	}
	host, v := splitPort(auth)
	if v != nil {
		return nil, v
	}
	p.host, p.hostStart = host, len(scheme)+3
	if v := checkHost(host, stars > 0); v != nil {
		return nil, v
	}
	if env == Production && isLocal(host) {
		return nil, broke(RuleLocalhost, "localhost and loopback addresses are allowed only in development environments")
	}
	if stars > 0 {
		if v := checkWildcard(raw, p); v != nil {
			return nil, v
		}
	}
	return p, sane(raw, p)
}

// splitScheme splits "scheme:rest" where scheme follows RFC 3986.
func splitScheme(raw string) (string, string, bool) {
	i := strings.IndexByte(raw, ':')
	if i < 1 {
		return "", "", false
	}
	for j := 0; j < i; j++ {
		c := raw[j]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case j > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return "", "", false
		}
	}
	return raw[:i], raw[i+1:], true
}

// splitPort separates an optional :port from the authority.
func splitPort(auth string) (string, *Violation) {
	host, port := auth, ""
	if strings.HasPrefix(auth, "[") {
		end := strings.IndexByte(auth, ']')
		if end < 0 {
			return "", broke(RuleHost, "has an unclosed [ in the host")
		}
		host, port = auth[:end+1], auth[end+1:]
		if port != "" && port[0] != ':' {
			return "", broke(RuleHost, "has characters after the IPv6 address that are not a :port")
		}
	} else if i := strings.LastIndexByte(auth, ':'); i >= 0 {
		host, port = auth[:i], auth[i:]
	}
	if port != "" {
		digits := port[1:]
		n, err := strconv.Atoi(digits)
		if digits == "" || err != nil || n < 1 || n > 65535 || digits[0] == '0' || strings.TrimLeft(digits, "0123456789") != "" {
			return "", broke(RuleHost, "has a bad port %q: must be a number from 1 to 65535", digits)
		}
	}
	if host == "" {
		return "", broke(RuleHost, "must have a host")
	}
	return host, nil
}

// checkHost accepts a dotted IPv4 address, a bracketed IPv6 address, or a
// DNS name of labels of letters, digits, '-' and '_' (and the one '*'
// when wildcard is set). Other numeric forms are refused: browsers read
// http://2130706433/ and http://0177.0.0.1/ as 127.0.0.1.
func checkHost(host string, wildcard bool) *Violation {
	if strings.HasPrefix(host, "[") {
		inner := host[1 : len(host)-1]
		if ip := net.ParseIP(inner); ip == nil || ip.To4() != nil && !strings.Contains(inner, ":") || strings.Contains(inner, "*") {
			if strings.Contains(inner, "*") {
				return broke(RuleWildcardHost, "a wildcard (*) may stand only for part of a DNS label, not of an IP address")
			}
			return broke(RuleHost, "has a malformed IPv6 address %q", host)
		}
		return nil
	}
	labels := strings.Split(host, ".")
	for _, l := range labels {
		if l == "" {
			return broke(RuleHost, "has an empty label in the host %q (no leading, trailing or double dots)", host)
		}
		if len(l) > 63 {
			return broke(RuleHost, "has a host label longer than 63 characters")
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '*' && wildcard) {
				return broke(RuleHost, "has %q in the host; a host is a DNS name (letters, digits, '-', punycode for others) or an IP address", string(c))
			}
		}
	}
	if strings.Contains(host, "*") && net.ParseIP(strings.Replace(host, "*", "1", 1)) != nil {
		return broke(RuleWildcardHost, "a wildcard (*) may stand only for part of a DNS label, not of an IP address")
	}
	last := labels[len(labels)-1]
	if numeric(last) || strings.HasPrefix(strings.ToLower(last), "0x") {
		if strings.Contains(host, "*") {
			return broke(RuleWildcardHost, "a wildcard (*) may stand only for part of a DNS label, not of an IP address")
		}
		if ip := net.ParseIP(host); ip == nil || len(labels) != 4 || hasLeadingZero(labels) {
			return broke(RuleHost, "has a numeric host %q that is not a dotted IPv4 address like 192.0.2.1", host)
		}
	}
	return nil
}

func numeric(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func hasLeadingZero(parts []string) bool {
	for _, p := range parts {
		if len(p) > 1 && p[0] == '0' {
			return true
		}
	}
	return false
}

// isLocal reports whether host names this machine: localhost, a name under
// .localhost (RFC 6761), or a loopback or unspecified IP address.
func isLocal(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && (ip.IsLoopback() || ip.IsUnspecified())
}

// checkWildcard applies the wildcard placement rules to a web URL whose one
// '*' has been found; p.host holds it unless the '*' is elsewhere.
func checkWildcard(raw string, p *parsed) *Violation {
	star := strings.IndexByte(raw, '*')
	if star < p.hostStart || star >= p.hostStart+len(p.host) {
		return broke(RuleWildcardHost, "a wildcard (*) may appear only in the host, not in the path or port")
	}
	labels := strings.Split(strings.ToLower(p.host), ".")
	at := 0
	for i, l := range labels {
		if strings.Contains(l, "*") {
			at = i
		}
	}
	// The wildcard label must lie left of the registrable domain: what
	// follows it must be a registrable domain or a name under one, never
	// a public suffix (com, co.uk, github.io) or nothing.
	rest := strings.Join(labels[at+1:], ".")
	suffix := rest == ""
	if !suffix {
		ps, _ := publicsuffix.PublicSuffix(rest)
		suffix = ps == rest
	}
	switch {
	case suffix && at == 0:
		return broke(RuleWildcardRoot, "a wildcard (*) must not stand for the registrable domain: use https://*.example.com, not https://*.com")
	case suffix:
		return broke(RuleWildcardSubdomain, "a wildcard (*) must be in a subdomain label, left of the registrable domain: use https://*.example.com, not https://example.*.com")
	case at != 0:
		return broke(RuleWildcardLeftmost, "a wildcard (*) must be in the leftmost label: use https://*.auth.example.com, not https://auth.*.example.com")
	}
	return nil
}

// sane is the last guard against parser differentials: Go's URL parser
// must read the URL (with the wildcard as a letter) as having the same
// scheme, no user information, and for web URLs the same host and port.
func sane(raw string, p *parsed) *Violation {
	u, err := url.Parse(strings.Replace(raw, "*", "x", 1))
	bad := err != nil || u.User != nil || !strings.EqualFold(u.Scheme, p.scheme) || u.RawQuery != "" || u.Fragment != ""
	if !bad && p.web {
		bad = u.Opaque != "" || u.Host != strings.Replace(p.authority, "*", "x", 1)
	}
	if bad {
		return broke(RuleAbsolute, "is not a well-formed URL (check the percent-encoding and the host)")
	}
	return nil
}
