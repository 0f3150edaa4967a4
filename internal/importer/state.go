package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
)

// The state file makes a run resumable. It is a JSON Lines log with one
// record per batch the server has answered, appended and synced to disk
// before the batch counts as done. A run killed at any moment (SIGKILL
// included) leaves at worst a torn last line, which the next run cuts
// off: that batch, and any batch that was in flight, is sent again, which
// the bulk API's idempotency makes harmless (its rows come back
// unchanged). A run that finishes removes the file.

// Counts are a summary's tallies for one kind of row.
type Counts struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Failed    int `json:"failed"`
}

func (c *Counts) add(o Counts) {
	c.Created += o.Created
	c.Updated += o.Updated
	c.Unchanged += o.Unchanged
	c.Failed += o.Failed
}

// Total is the number of rows counted.
func (c Counts) Total() int { return c.Created + c.Updated + c.Unchanged + c.Failed }

// record is one finished batch.
type record struct {
	Digest        string      `json:"digest"`
	Phase         string      `json:"phase"`
	Index         int         `json:"index"`
	Organizations Counts      `json:"organizations"`
	Users         Counts      `json:"users"`
	Failures      []Rejection `json:"failures,omitempty"`
	HashesSkipped int         `json:"hashes_skipped,omitempty"`
	// EmailsVerified counts users --compat created verified although the
	// source did not mark their email verified.
	EmailsVerified int `json:"emails_verified,omitempty"`
}

type stateFile struct {
	path string
	mu   sync.Mutex
	f    *os.File
	done map[string]record
}

// openState reads the records of an earlier run at path, if any, and
// opens the file for appending.
func openState(path string) (*stateFile, error) {
	s := &stateFile{path: path, done: map[string]record{}}
	raw, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading the state file: %w", err)
	}
	// Only lines ending in a newline were written whole.
	complete := raw[:bytes.LastIndexByte(raw, '\n')+1]
	for n, line := range bytes.Split(bytes.TrimSuffix(complete, []byte("\n")), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var r record
		if err := json.Unmarshal(line, &r); err != nil || r.Digest == "" {
			return nil, fmt.Errorf("the state file %s is damaged at line %d; remove it to start over (the import is idempotent)", path, n+1)
		}
		s.done[r.Digest] = r
	}
	if len(complete) != len(raw) {
		if err := os.Truncate(path, int64(len(complete))); err != nil {
			return nil, fmt.Errorf("repairing the state file: %w", err)
		}
	}
	s.f, err = os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the state file: %w", err)
	}
	return s, nil
}

// add appends r and syncs it to disk.
func (s *stateFile) add(r record) error {
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("writing the state file: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("syncing the state file: %w", err)
	}
	s.done[r.Digest] = r
	return nil
}

func (s *stateFile) close() error { return s.f.Close() }

// remove deletes the file after a finished run.
func (s *stateFile) remove() error {
	_ = s.f.Close()
	return os.Remove(s.path)
}
