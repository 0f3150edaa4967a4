package httpx

import (
	"net/http"
	"strings"
	"testing"
)

func TestParseTrustedProxies(t *testing.T) {
	for _, ok := range []string{"", " ", "10.0.0.0/8", "192.0.2.7, 2001:db8::/32 ,::1", "10.1.2.3/8"} {
		if _, err := ParseTrustedProxies(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0.1,nope", "fe80::1%eth0", "1.2.3"} {
		_, err := ParseTrustedProxies(bad)
		if err == nil {
			t.Errorf("%q accepted", bad)
			continue
		}
		entry := bad[strings.LastIndex(bad, ",")+1:]
		if !strings.Contains(err.Error(), `"`+entry+`"`) {
			t.Errorf("%q: the error %q does not name %q", bad, err, entry)
		}
	}
}

// TestClientIP: forwarded headers count only from a trusted peer, and
// then the rightmost untrusted hop is the client.
func TestClientIP(t *testing.T) {
	proxies, err := ParseTrustedProxies("10.0.0.0/8, 192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, peer string
		header     http.Header
		want       string
	}{
		{"no headers", "198.51.100.1:5000", nil, "198.51.100.1"},
		{"spoofed from an untrusted peer", "198.51.100.1:5000", http.Header{"X-Forwarded-For": {"203.0.113.9"}}, "198.51.100.1"},
		{"spoofed Forwarded from an untrusted peer", "198.51.100.1:5000", http.Header{"Forwarded": {"for=203.0.113.9"}}, "198.51.100.1"},
		{"trusted peer", "10.0.0.2:5000", http.Header{"X-Forwarded-For": {"203.0.113.9"}}, "203.0.113.9"},
		{"client-written hops on the left are ignored", "10.0.0.2:5000", http.Header{"X-Forwarded-For": {"1.1.1.1, 203.0.113.9, 10.0.0.3"}}, "203.0.113.9"},
		{"repeated headers", "10.0.0.2:5000", http.Header{"X-Forwarded-For": {"1.1.1.1", "203.0.113.9, 192.0.2.7"}}, "203.0.113.9"},
		{"all hops trusted", "10.0.0.2:5000", http.Header{"X-Forwarded-For": {"10.0.0.9, 10.0.0.3"}}, "10.0.0.9"},
		{"garbage stops at the nearest readable hop", "10.0.0.2:5000", http.Header{"X-Forwarded-For": {"203.0.113.9, nonsense, 10.0.0.3"}}, "10.0.0.3"},
		{"trusted peer without headers", "10.0.0.2:5000", nil, "10.0.0.2"},
		{"Forwarded", "10.0.0.2:5000", http.Header{"Forwarded": {`for=1.1.1.1, for="[2001:db8::5]:443";proto=https`}}, "2001:db8::5"},
		{"X-Forwarded-For wins over Forwarded", "10.0.0.2:5000", http.Header{"Forwarded": {"for=1.1.1.1"}, "X-Forwarded-For": {"203.0.113.9"}}, "203.0.113.9"},
		{"IPv4-mapped peer", "[::ffff:10.0.0.2]:5000", http.Header{"X-Forwarded-For": {"203.0.113.9"}}, "203.0.113.9"},
	} {
		r := &http.Request{RemoteAddr: c.peer, Header: c.header}
		if r.Header == nil {
			r.Header = http.Header{}
		}
		if got := proxies.ClientIP(r); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	var nobody TrustedProxies
	r := &http.Request{RemoteAddr: "10.0.0.2:5000", Header: http.Header{"X-Forwarded-For": {"203.0.113.9"}}}
	if got := nobody.ClientIP(r); got != "10.0.0.2" {
		t.Errorf("with no trusted proxies: %s", got)
	}
}
