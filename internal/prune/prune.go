// Package prune deletes what Gatehouse no longer needs, in the background
// of every server: expired sign-ins, codes, links and authorization
// requests soon after they expire, ended sessions and used or revoked
// refresh tokens and delivered (or given up) emails after a retention,
// authentication log entries after theirs (--auth-log-retention) and
// events after theirs (--event-retention). Deletes run in small batches,
// each its own statement, so none holds a lock for long; several nodes may
// prune the same database at once (a row deleted twice is simply gone).
package prune

import (
	"context"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Defaults, documented in docs/configuration.md.
const (
	DefaultInterval         = 10 * time.Minute
	DefaultAuthLogRetention = 90 * 24 * time.Hour
	// DefaultEventRetention keeps the outbox of writes (events) about as
	// long as the authentication log, long enough for audit and for a
	// consumer that was down for weeks to catch up.
	DefaultEventRetention = 90 * 24 * time.Hour
	// DefaultSessionRetention keeps ended sessions (and their refresh
	// tokens) readable through the SessionService for a while.
	DefaultSessionRetention = 30 * 24 * time.Hour
	// ExpiredGrace is how long expired short-lived rows stay, so a
	// request racing its expiry still finds them.
	ExpiredGrace = time.Hour
	// DefaultBatch is the most rows one statement deletes.
	DefaultBatch = 500
)

// Pruner prunes one environment.
type Pruner struct {
	Store *store.Store
	EnvID string
	Now   func() time.Time
	Log   *slog.Logger
	// Zero fields take the defaults above.
	Interval         time.Duration
	AuthLogRetention time.Duration
	EventRetention   time.Duration
	SessionRetention time.Duration
	Batch            int
}

// Run prunes at once, then every Interval, until ctx ends.
func (p *Pruner) Run(ctx context.Context) {
	interval := p.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := p.Once(ctx); err != nil && ctx.Err() == nil {
			p.Log.WarnContext(ctx, "pruning failed", "err", err)
		} else if n > 0 {
			p.Log.InfoContext(ctx, "pruned old rows", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once runs every prune kind to the end and returns the rows deleted.
func (p *Pruner) Once(ctx context.Context) (int64, error) {
	now := p.Now()
	authLog := p.AuthLogRetention
	if authLog <= 0 {
		authLog = DefaultAuthLogRetention
	}
	events := p.EventRetention
	if events <= 0 {
		events = DefaultEventRetention
	}
	sessions := p.SessionRetention
	if sessions <= 0 {
		sessions = DefaultSessionRetention
	}
	expired := now.Add(-ExpiredGrace)
	var total int64
	for _, k := range []struct {
		kind   string
		cutoff time.Time
	}{
		{store.PruneLoginFlows, expired},
		{store.PruneLoginChallenges, expired},
		{store.PrunePasswordResets, expired},
		{store.PruneThrottles, expired},
		{store.PruneAuthRequests, expired},
		{store.PruneCodes, expired},
		{store.PruneAccessTokens, expired},
		{store.PruneRefreshTokens, now.Add(-sessions)},
		{store.PruneSessions, now.Add(-sessions)},
		{store.PruneAuthLog, now.Add(-authLog)},
		{store.PruneEmails, now.Add(-sessions)},
		{store.PruneEvents, now.Add(-events)},
	} {
		n, err := p.drain(ctx, k.kind, k.cutoff)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// drain deletes batches of one kind until a batch comes back short.
func (p *Pruner) drain(ctx context.Context, kind string, cutoff time.Time) (int64, error) {
	batch := p.Batch
	if batch <= 0 {
		batch = DefaultBatch
	}
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := p.Store.Q().PruneBatch(ctx, p.EnvID, kind, cutoff, batch)
		total += n
		if err != nil || n < int64(batch) {
			return total, err
		}
	}
}
