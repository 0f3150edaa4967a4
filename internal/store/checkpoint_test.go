package store

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testdb"
)

// TestCheckpointAfterTx: on SQLite, a write transaction far below
// wal_autocheckpoint's 10,000 pages still reaches the database file soon
// after it commits, copied by the background checkpointer rather than by
// the writer; and Close stops it. (PostgreSQL has no WAL to copy back.)
func TestCheckpointAfterTx(t *testing.T) {
	path := testdb.SQLite(t)
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	var before int64
	if fi, err := os.Stat(path); err == nil {
		before = fi.Size()
	}
	payload := `"` + strings.Repeat("x", 2000) + `"`
	err = s.Tx(t.Context(), func(q *Q) error {
		es := make([]*Event, 500) // about 1 MiB, some 250 pages
		for i := range es {
			es[i] = &Event{ID: fmt.Sprintf("evt_%04d", i), EnvID: "env_a", Type: "test", ObjectID: "o", Payload: payload, CreatedAt: time.Now()}
		}
		return q.AddEvents(t.Context(), es)
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() >= before+900_000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes 5 s after the commit (%d before): the WAL was not checkpointed", fi.Size(), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
	done := make(chan error)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return: the checkpointer did not stop")
	}
}
