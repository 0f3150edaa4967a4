package config

import (
	"strings"
	"testing"
)

// TestBreachedPasswordsURL: off by default; https anywhere, http only on
// loopback; no query, fragment or credentials; the trailing slash dropped.
func TestBreachedPasswordsURL(t *testing.T) {
	if Defaults().BreachedPasswordsURL != "" {
		t.Error("the breached-password check is on by default")
	}
	for _, tc := range []struct{ in, want, err string }{
		{in: ""},
		{in: "https://api.pwnedpasswords.com", want: "https://api.pwnedpasswords.com"},
		{in: "https://api.pwnedpasswords.com/", want: "https://api.pwnedpasswords.com"},
		{in: "https://mirror.example/hibp/", want: "https://mirror.example/hibp"},
		{in: "http://127.0.0.1:8787", want: "http://127.0.0.1:8787"},
		{in: "http://localhost:8787/", want: "http://localhost:8787"},
		{in: "http://[::1]:8787", want: "http://[::1]:8787"},
		{in: "http://api.pwnedpasswords.com", err: "http only on a loopback address"},
		{in: "http://10.0.0.5:8787", err: "--breached-passwords-url"},
		{in: "ftp://api.pwnedpasswords.com", err: "--breached-passwords-url"},
		{in: "api.pwnedpasswords.com", err: "--breached-passwords-url"},
		{in: "https://", err: "--breached-passwords-url"},
		{in: "https://api.pwnedpasswords.com/?k=1", err: "--breached-passwords-url"},
		{in: "https://api.pwnedpasswords.com/#x", err: "--breached-passwords-url"},
		{in: "https://user:pass@api.pwnedpasswords.com", err: "--breached-passwords-url"},
	} {
		c := Defaults()
		c.BreachedPasswordsURL = tc.in
		err := c.Resolve()
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: %v, want an error saying %q", tc.in, err, tc.err)
		case tc.err == "" && c.BreachedPasswordsURL != tc.want:
			t.Errorf("%q: resolved to %q, want %q", tc.in, c.BreachedPasswordsURL, tc.want)
		}
	}
}
