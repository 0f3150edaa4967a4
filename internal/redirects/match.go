package redirects

import "strings"

// Match reports whether candidate, a URL a client sent, is allowed by
// pattern, a URL registered as kind, in an environment of type env. A
// pattern that the environment's current rules refuse matches nothing.
func Match(pattern, candidate string, env EnvType, kind Kind) bool {
	p, v := check(pattern, env, kind)
	if v != nil {
		return false
	}
	if candidate == pattern {
		return true
	}
	if star := strings.IndexByte(pattern, '*'); star >= 0 {
		return matchWildcard(pattern, candidate, star, p)
	}
	a, aok := stripLoopbackPort(pattern)
	b, bok := stripLoopbackPort(candidate)
	return aok && bok && a == b
}

// MatchAny reports whether candidate is allowed by any of patterns, and
// returns the first pattern that allows it.
func MatchAny(patterns []string, candidate string, env EnvType, kind Kind) (string, bool) {
	for _, p := range patterns {
		if Match(p, candidate, env, kind) {
			return p, true
		}
	}
	return "", false
}

// matchWildcard compares candidate with a validated pattern whose one '*'
// (at index star) lies in the leftmost host label: everything around the
// '*' must be equal byte for byte, and the '*' stands for one or more of
// a-z, 0-9 and '-', so the label stays one DNS label of at most 63
// characters that neither starts nor ends with '-'.
func matchWildcard(pattern, candidate string, star int, p *parsed) bool {
	pre, post := pattern[:star], pattern[star+1:]
	if len(candidate) <= len(pre)+len(post) || !strings.HasPrefix(candidate, pre) || !strings.HasSuffix(candidate, post) {
		return false
	}
	mid := candidate[len(pre) : len(candidate)-len(post)]
	for i := 0; i < len(mid); i++ {
		c := mid[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	labelStart := pre[p.hostStart:]
	labelEnd := post
	if i := strings.IndexByte(post, '.'); i >= 0 {
		labelEnd = post[:i]
	}
	label := labelStart + mid + labelEnd
	return len(label) <= 63 && label[0] != '-' && label[len(label)-1] != '-'
}

// stripLoopbackPort returns an http URL on a loopback IP literal without
// its port, so that such URLs compare equal whatever port a native app
// listens on (RFC 8252 section 7.3). Any other URL returns false.
func stripLoopbackPort(u string) (string, bool) {
	for _, prefix := range []string{"http://127.0.0.1", "http://[::1]"} {
		rest, ok := strings.CutPrefix(u, prefix)
		if !ok {
			continue
		}
		if port, ok := strings.CutPrefix(rest, ":"); ok {
			n := 0
			for n < len(port) && port[n] >= '0' && port[n] <= '9' {
				n++
			}
			if n == 0 || n > 5 || port[0] == '0' || n == 5 && port[:n] > "65535" {
				return "", false
			}
			rest = port[n:]
		}
		if rest != "" && rest[0] != '/' {
			return "", false
		}
		return prefix + rest, true
	}
	return "", false
}
