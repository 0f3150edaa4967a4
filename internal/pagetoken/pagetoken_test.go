package pagetoken

import "testing"

func TestRoundTripAndTampering(t *testing.T) {
	c := New([]byte("0123456789abcdef0123456789abcdef"))
	tok := c.Encode("orgs", "q=acme", "org_01")
	got, err := c.Decode(tok, "orgs", "q=acme")
	if err != nil || got != "org_01" {
		t.Fatalf("Decode = %q, %v; want org_01", got, err)
	}
	if got, err := c.Decode("", "orgs", "q=acme"); err != nil || got != "" {
		t.Fatalf("empty token = %q, %v; want first page", got, err)
	}
	bad := []string{
		tok[:len(tok)-1] + "A", // signature changed
		"x" + tok,              // payload changed
		"nodot",                // malformed
		New([]byte("another key 0123456789abcdef0123")).Encode("orgs", "q=acme", "org_99"), // foreign key
	}
	for _, b := range bad {
		if _, err := c.Decode(b, "orgs", "q=acme"); err != ErrInvalid {
			t.Errorf("Decode(%q) error = %v, want ErrInvalid", b, err)
		}
	}
	if _, err := c.Decode(tok, "orgs", "q=other"); err != ErrInvalid {
		t.Errorf("token reused on another filter: error = %v, want ErrInvalid", err)
	}
	if _, err := c.Decode(tok, "users", "q=acme"); err != ErrInvalid {
		t.Errorf("token reused on another list: error = %v, want ErrInvalid", err)
	}
}
