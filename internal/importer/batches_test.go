package importer

import (
	"fmt"
	"testing"
)

// TestMakeBatchesDigests: the digests makeBatches computes on all CPUs are
// every batch's own (as computed one by one), distinct, the same on every
// run, and tied to the mode.
func TestMakeBatchesDigests(t *testing.T) {
	d := &Dataset{}
	for i := range 1200 {
		d.Organizations = append(d.Organizations, Organization{ExternalID: fmt.Sprintf("org-%d", i), DisplayName: fmt.Sprint("Org ", i),
			Metadata: map[string]string{"a": "1", "b": fmt.Sprint(i)}})
	}
	for i := range 2500 {
		d.Users = append(d.Users, User{Email: fmt.Sprintf("u%d@x.test", i), ExternalID: fmt.Sprint("u-", i),
			Metadata:    map[string]string{"k": fmt.Sprint(i), "z": "last"},
			Memberships: []Membership{{OrganizationExternalID: fmt.Sprintf("org-%d", i%1200), Roles: []string{"member"}}}})
	}
	orgs, users := makeBatches(d, 1000, false, "bulk")
	if len(orgs) != 2 || len(users) != 3 {
		t.Fatalf("%d organization and %d user batches, want 2 and 3", len(orgs), len(users))
	}
	again, againUsers := makeBatches(d, 1000, false, "bulk")
	compat, compatUsers := makeBatches(d, 1000, false, "compat")
	seen := map[string]bool{}
	for i, b := range append(orgs, users...) {
		if b.digest == "" || b.digest != digest(b, "bulk") {
			t.Errorf("batch %d (%s %d): digest %q, want %q", i, b.phase, b.index, b.digest, digest(b, "bulk"))
		}
		if seen[b.digest] {
			t.Errorf("batch %d (%s %d): digest %s seen twice", i, b.phase, b.index, b.digest)
		}
		seen[b.digest] = true
		if other := append(again, againUsers...)[i]; other.digest != b.digest {
			t.Errorf("batch %d: digest %s, then %s on the same dataset", i, b.digest, other.digest)
		}
		if other := append(compat, compatUsers...)[i]; other.digest == b.digest {
			t.Errorf("batch %d: the same digest in bulk and compat mode", i)
		}
	}
}
