package importer

import (
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/passwords"
)

// firebaseSample is the project of Firebase's published scrypt sample
// (github.com/firebase/scrypt; DESIGN.md, "Known pitfalls"), whose user's
// password is "user1password".
var firebaseSample = passwords.FirebaseParams{
	SignerKey:     "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
	SaltSeparator: "Bw==", Rounds: 8, MemCost: 14,
}

func TestFirebase(t *testing.T) {
	path := []string{"testdata/firebase/users.json"}
	d, err := Read("firebase", path, Options{Firebase: firebaseSample})
	if err != nil {
		t.Fatal(err)
	}
	u := userByEmail(t, d, "user1@example.com")
	if u.ExternalID != "Ky5ZmGvqgXQmNt3oPvVHq3OqN1D3" || u.Name != "User One" || !*u.EmailVerified ||
		u.Metadata["tenant"] != "acme" || u.Metadata["admin"] != "true" {
		t.Errorf("user1: %+v", u)
	}
	verifies(t, u.PasswordHash, "user1password")
	if s := userByEmail(t, d, "social@example.com"); s.PasswordHash != "" {
		t.Errorf("a Google user got a hash: %q", s.PasswordHash)
	}
	if got := rejected(d); !slices.Equal(got, []string{"users.json users[2] passwordHash:malformed_hash"}) {
		t.Errorf("rejections: %v", got)
	}
	if !slices.ContainsFunc(d.Notes, func(n string) bool { return strings.Contains(n, "mfaInfo") }) {
		t.Errorf("no note about second factors: %v", d.Notes)
	}
	if _, err := Read("firebase", []string{"testdata/clerk/users.csv"}, Options{}); err == nil || !strings.Contains(err.Error(), "--format=json") {
		t.Errorf("a CSV file: %v", err)
	}
	if _, err := Read("firebase", path, Options{}); err == nil || !strings.Contains(err.Error(), "--hash-key") {
		t.Errorf("hashes without the project's parameters: %v", err)
	}
}
