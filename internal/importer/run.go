package importer

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// DefaultConcurrency is the batches in flight at once unless --concurrency
// says otherwise: enough to keep the server busy while the client reads
// and encodes the next batches and waits on the network, without queuing
// many batches behind SQLite's single writer.
const DefaultConcurrency = 4

// Config is one import run.
type Config struct {
	Format  string
	Files   []string
	Options Options

	// Conn reaches the server (not used before the files are read).
	Conn *Conn
	// DryRun validates everything on the server and writes nothing.
	DryRun bool
	// Compat writes through the Scalekit-compatible API only (compat.go).
	Compat bool
	// BatchSize is the rows per batch (1 to MaxBatchSize).
	BatchSize int
	// Concurrency is the batches in flight at once.
	Concurrency int
	// StatePath is the state file (state.go); ignored in a dry run.
	StatePath string
	// ReportPath receives the failed rows as CSV when there are any.
	ReportPath string

	// Progress receives progress lines; Terminal draws a bar instead.
	Progress io.Writer
	Terminal bool
	Now      func() time.Time
}

// Summary is what a run did (or, dry, would do).
type Summary struct {
	DryRun        bool
	Compat        bool
	Organizations Counts
	Users         Counts
	// Failures lists every failed row, the reader's rejections first.
	Failures []Rejection
	// HashesSkipped counts users whose password hash --compat could not
	// send.
	HashesSkipped int
	// EmailsVerified counts users --compat created with their email
	// verified although the source did not mark it verified: the Scalekit
	// API verifies every email it adds without an invitation.
	EmailsVerified int
	Notes          []string
	// ResumedBatches were done by an earlier run (the state file).
	ResumedBatches int
	// ReportPath is where the failures were written, if there were any.
	ReportPath string
}

type runner struct {
	cfg   Config
	state *stateFile
	prog  *progress
	sum   *Summary
	mu    sync.Mutex // guards sum
	// compat's organization ids by external id, and the roles it has
	// listed (compat.go).
	orgIDs      sync.Map
	compatRoles compatRoles
	// fileOrgs are the source's organizations by external id.
	fileOrgs map[string]bool
}

// Run reads the source and writes it to the server, batch by batch,
// organizations before users, Concurrency batches at a time. It stops at
// the first error a retry cannot fix (the server unreachable, the token
// refused); the state file then lets the next run carry on.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	if cfg.BatchSize < 1 || cfg.BatchSize > MaxBatchSize {
		return nil, fmt.Errorf("--batch-size %d: must be 1 to %d", cfg.BatchSize, MaxBatchSize)
	}
	if cfg.Concurrency < 1 {
		return nil, fmt.Errorf("--concurrency %d: must be at least 1", cfg.Concurrency)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	d, err := Read(cfg.Format, cfg.Files, cfg.Options)
	if err != nil {
		return nil, err
	}
	sum := &Summary{DryRun: cfg.DryRun, Compat: cfg.Compat, Notes: d.Notes}
	for _, rj := range d.Rejected {
		if rj.Kind == "organization" {
			sum.Organizations.Failed++
		} else {
			sum.Users.Failed++
		}
	}
	mode := "bulk"
	if cfg.Compat {
		mode = "compat"
	}
	orgBatches, userBatches := makeBatches(d, cfg.BatchSize, cfg.DryRun, mode)
	r := &runner{cfg: cfg, sum: sum, prog: &progress{w: cfg.Progress, terminal: cfg.Terminal, now: cfg.Now}, fileOrgs: map[string]bool{}}
	for _, o := range d.Organizations {
		r.fileOrgs[o.ExternalID] = true
	}
	cfg.Conn.Notice = r.prog.notice
	if !cfg.DryRun && cfg.StatePath != "" {
		if r.state, err = openState(cfg.StatePath); err != nil {
			return nil, err
		}
		defer r.state.close()
	}
	if err := cfg.Conn.Start(ctx); err != nil {
		return nil, err
	}
	if err := r.defineRoles(ctx, d); err != nil {
		return sum, err
	}
	var failures []Rejection
	for _, phase := range []struct {
		name    string
		batches []*batch
	}{{"organizations", orgBatches}, {"users", userBatches}} {
		recs, err := r.runPhase(ctx, phase.name, phase.batches)
		for _, rec := range recs {
			if rec != nil {
				failures = append(failures, rec.Failures...)
			}
		}
		if err != nil {
			return sum, err
		}
	}
	after, err := r.afterUsers(ctx, d)
	failures = append(failures, after...)
	if err != nil {
		return sum, err
	}
	sum.Failures = append(append([]Rejection{}, d.Rejected...), failures...)
	if r.state != nil {
		if err := r.state.remove(); err != nil {
			return sum, fmt.Errorf("removing the finished state file: %w", err)
		}
	}
	if len(sum.Failures) > 0 && cfg.ReportPath != "" {
		if err := writeReport(cfg.ReportPath, sum.Failures); err != nil {
			return sum, err
		}
		sum.ReportPath = cfg.ReportPath
	}
	return sum, nil
}

// runPhase sends a phase's batches, skipping those the state file has,
// and returns each batch's record in order.
func (r *runner) runPhase(ctx context.Context, phase string, batches []*batch) ([]*record, error) {
	recs := make([]*record, len(batches))
	var todo []int
	total, resumed := 0, 0
	for i, b := range batches {
		total += b.size()
		if r.state != nil {
			if rec, ok := r.state.done[b.digest]; ok {
				recs[i] = &rec
				r.count(rec)
				r.sum.ResumedBatches++
				resumed += b.size()
				continue
			}
		}
		todo = append(todo, i)
	}
	if len(batches) == 0 {
		return recs, nil
	}
	r.prog.begin(phase, total, resumed)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for w := 0; w < min(r.cfg.Concurrency, len(todo)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				rec, err := r.send(ctx, batches[i])
				if err == nil && r.state != nil {
					err = r.state.add(rec)
				}
				if err != nil {
					once.Do(func() { first = err; cancel() })
					continue
				}
				recs[i] = &rec
				r.count(rec)
				r.prog.add(batches[i].size())
			}
		}()
	}
	for _, i := range todo {
		select {
		case next <- i:
			continue
		case <-ctx.Done():
		}
		break
	}
	close(next)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return recs, first
}

func (r *runner) send(ctx context.Context, b *batch) (record, error) {
	if r.cfg.Compat {
		return r.sendCompat(ctx, b)
	}
	return r.sendBulk(ctx, b)
}

func (r *runner) count(rec record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sum.Organizations.add(rec.Organizations)
	r.sum.Users.add(rec.Users)
	r.sum.HashesSkipped += rec.HashesSkipped
	r.sum.EmailsVerified += rec.EmailsVerified
}

// writeReport writes the failed rows as CSV: kind, row (file:line),
// external_id, email, field, rule, reason.
func writeReport(path string, failures []Rejection) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"kind", "row", "external_id", "email", "field", "rule", "reason"})
	for _, x := range failures {
		_ = w.Write([]string{x.Kind, x.Source, x.ExternalID, x.Email, x.Field, x.Rule, x.Reason})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("writing the report: %w", err)
	}
	return f.Close()
}
