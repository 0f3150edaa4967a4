package httpx

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// TrustedProxies are the reverse proxies whose forwarded headers are
// believed (--trusted-proxies). The zero value trusts nobody: the client
// is the TCP peer, whatever X-Forwarded-For or Forwarded say, because any
// client can send those headers (SECURITY-BAR A11).
type TrustedProxies struct {
	prefixes []netip.Prefix
}

// ParseTrustedProxies reads a comma-separated list of IP addresses and
// CIDR ranges ("10.0.0.0/8, 192.0.2.7"); an empty list trusts nobody. The
// error names the first entry that is neither.
func ParseTrustedProxies(list string) (TrustedProxies, error) {
	var t TrustedProxies
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if p, err := netip.ParsePrefix(e); err == nil {
			t.prefixes = append(t.prefixes, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(e)
		if err != nil || a.Zone() != "" {
			return TrustedProxies{}, fmt.Errorf("%q is neither an IP address nor a CIDR range (like 10.0.0.0/8)", e)
		}
		a = a.Unmap()
		t.prefixes = append(t.prefixes, netip.PrefixFrom(a, a.BitLen()))
	}
	return t, nil
}

// trusted reports whether a is one of the proxies.
func (t TrustedProxies) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP is the address a request came from. When the TCP peer is a
// trusted proxy, it is the rightmost address of X-Forwarded-For (or, without
// that header, of Forwarded's for= parameters) that is not itself a trusted
// proxy: addresses further left were written by the client and prove
// nothing. Otherwise, and whenever the headers cannot be read, it is the
// peer (or the nearest trusted hop that can be read).
func (t TrustedProxies) ClientIP(r *http.Request) string {
	peer, ok := parseHost(r.RemoteAddr)
	if !ok {
		return r.RemoteAddr
	}
	if !t.trusted(peer) {
		return peer.String()
	}
	hops := forwardedFor(r.Header)
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHost(hops[i])
		if !ok {
			break
		}
		client = a.Unmap()
		if !t.trusted(client) {
			break
		}
	}
	return client.String()
}

// forwardedFor lists the hops of X-Forwarded-For, or of Forwarded's for=
// parameters when there is no X-Forwarded-For, left (client) to right
// (nearest proxy), across repeated headers.
func forwardedFor(h http.Header) []string {
	var hops []string
	if xff := h.Values("X-Forwarded-For"); len(xff) > 0 {
		for _, line := range xff {
			for _, e := range strings.Split(line, ",") {
				hops = append(hops, strings.TrimSpace(e))
			}
		}
		return hops
	}
	for _, line := range h.Values("Forwarded") {
		for _, elem := range strings.Split(line, ",") {
			for _, pair := range strings.Split(elem, ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(k, "for") {
					hops = append(hops, strings.Trim(v, `"`))
				}
			}
		}
	}
	return hops
}

// parseHost reads an address with or without a port ("192.0.2.1",
// "192.0.2.1:443", "[2001:db8::1]:443", "2001:db8::1").
func parseHost(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil && a.Zone() == "" {
		return a.Unmap(), true
	}
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

type clientIPKey struct{}

// WithClientIP works out each request's client address once, with the
// trusted proxies, for ClientIP to read anywhere below.
func WithClientIP(t TrustedProxies, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientIPKey{}, t.ClientIP(r))))
	})
}

// ClientIP is the client address WithClientIP found for r; without that
// middleware (a handler served on its own), the TCP peer.
func ClientIP(r *http.Request) string {
	if ip, ok := r.Context().Value(clientIPKey{}).(string); ok {
		return ip
	}
	return TrustedProxies{}.ClientIP(r)
}
