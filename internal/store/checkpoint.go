package store

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// checkpointer copies SQLite's WAL back into the database file in the
// background, after write transactions, so that the writer does not. With
// only wal_autocheckpoint, the connection whose commit crosses the
// threshold runs the checkpoint inside that commit, while every other
// writer waits on the write lock: during a bulk import that was about a
// seventh of the single writer's time (docs/benchmarks.md, "Import"). A
// PASSIVE checkpoint runs beside the writer and readers and never waits
// for them; the next write transaction after a complete one starts the
// WAL over. wal_autocheckpoint stays as the safety net, for writes made
// outside Tx and for when this goroutine falls behind.
type checkpointer struct {
	db       *sql.DB
	interval time.Duration // at most one checkpoint per interval
	kick     chan struct{}
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
}

// checkpointInterval spaces checkpoints: a bulk import commits a batch
// every 50 to 150 ms, so each checkpoint copies a few batches' pages, and
// a page the next batches write again (the tail of a table or index) is
// copied once for all of them.
const checkpointInterval = 250 * time.Millisecond

func startCheckpointer(db *sql.DB, interval time.Duration) *checkpointer {
	c := &checkpointer{db: db, interval: interval, kick: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// committed tells the checkpointer a write transaction committed; it never
// blocks (kicks coalesce while a checkpoint runs).
func (c *checkpointer) committed() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer close(c.done)
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
		}
		// A failed checkpoint (busy, or the database closing) leaves the
		// frames in the WAL for the next one or for wal_autocheckpoint;
		// nothing is lost, so there is nobody to report it to.
		_, _ = c.db.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`)
		select {
		case <-c.stop:
			return
		case <-time.After(c.interval):
		}
	}
}

// close stops the goroutine and waits for it (and its checkpoint) to end.
// Closing twice is harmless, as closing a Store twice is.
func (c *checkpointer) close() {
	c.once.Do(func() { close(c.stop) })
	<-c.done
}
