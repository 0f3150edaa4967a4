package importer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
)

// TestStateFileSurvivesATornWrite: a run killed while appending leaves a
// partial last line; the next run drops it (that batch is sent again) and
// keeps every whole record.
func TestStateFileSurvivesATornWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	s, err := openState(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := s.add(record{Digest: fmt.Sprint("d", i), Phase: "users", Index: i, Users: Counts{Created: 10}}); err != nil {
			t.Fatal(err)
		}
	}
	s.close()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"digest":"d3","phase":"us`) // killed mid-write
	f.Close()

	s, err = openState(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.done) != 3 || s.done["d2"].Users.Created != 10 {
		t.Fatalf("records after a torn write: %+v", s.done)
	}
	if err := s.add(record{Digest: "d3", Phase: "users", Index: 3}); err != nil {
		t.Fatal(err)
	}
	s.close()
	raw, _ := os.ReadFile(path)
	if lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n"); len(lines) != 4 || !strings.HasPrefix(lines[3], `{"digest":"d3"`) {
		t.Errorf("the torn line was not cut off before appending:\n%s", raw)
	}

	os.WriteFile(path, []byte("{\"digest\":\"a\"}\ngarbage\n{\"digest\":\"b\"}\n"), 0o600)
	if _, err := openState(path); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("a damaged middle line: %v", err)
	}
}

// TestBatchesAreStable: the same dataset cuts into the same batches with
// the same digests, whatever else changes; a changed row changes only its
// batch's digest; an oversized batch is split under the request limit.
func TestBatchesAreStable(t *testing.T) {
	d := &Dataset{Organizations: []Organization{{ExternalID: "o1", DisplayName: "O"}}}
	for i := range 25 {
		d.Users = append(d.Users, User{Email: fmt.Sprintf("u%d@example.com", i), ExternalID: fmt.Sprint("u", i)})
	}
	_, a := makeBatches(d, 10, false, "bulk")
	_, b := makeBatches(d, 10, false, "bulk")
	if len(a) != 3 || a[2].size() != 5 {
		t.Fatalf("batches of 10 over 25 users: %d", len(a))
	}
	for i := range a {
		if a[i].digest != b[i].digest {
			t.Errorf("batch %d: digests differ between two cuts", i)
		}
	}
	d.Users[12].FirstName = "Changed"
	_, c := makeBatches(d, 10, false, "bulk")
	if c[0].digest != a[0].digest || c[1].digest == a[1].digest || c[2].digest != a[2].digest {
		t.Error("a changed row should change its own batch's digest only")
	}
	if _, compat := makeBatches(d, 10, false, "compat"); compat[0].digest == c[0].digest {
		t.Error("compat and bulk batches share digests")
	}

	big := &Dataset{}
	meta := map[string]string{}
	for k := range 60 {
		meta[fmt.Sprint("k", k)] = strings.Repeat("v", 500)
	}
	for i := range 100 {
		big.Users = append(big.Users, User{Email: fmt.Sprintf("b%d@example.com", i), Metadata: meta})
	}
	_, parts := makeBatches(big, 100, false, "bulk")
	total := 0
	for _, p := range parts {
		if n := len(mustMarshal(t, p)); n > maxBatchBytes {
			t.Errorf("a batch of %d bytes", n)
		}
		total += p.size()
	}
	if len(parts) < 2 || total != 100 {
		t.Errorf("3 MB of users cut into %d batches holding %d users", len(parts), total)
	}
}

func mustMarshal(t *testing.T, b *batch) []byte {
	t.Helper()
	raw, err := proto.Marshal(b.request(false))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
