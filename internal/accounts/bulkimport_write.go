package accounts

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/store"
)

// errBatchConflict says a multi-row insert hit a unique constraint: which
// row is unknown, so ImportBatch writes the batch again row by row, where
// the conflict is pinned on its row.
var errBatchConflict = errors.New("accounts: a multi-row insert of the import conflicted")

// importWriter writes a plan. Batched, it queues new rows (users,
// memberships, password hashes, import records, events) and inserts each
// kind in multi-row statements at flush, which is most of the time a
// batch of new users takes; row by row, it writes each at once so that a
// unique constraint names the row it refused.
type importWriter struct {
	s       *Service
	q       *store.Q
	p       *importPlan
	batched bool

	users   []*store.User
	norms   []string
	ms      []*store.Membership
	hashes  []store.PasswordHashRow
	imports []store.UserImport
	events  []*store.Event
	// payloads[i] is events[i]'s payload, encoded at flush (encodeEvents).
	payloads []any
}

// write applies a plan inside the caller's transaction: organizations
// first, since the batch's users may be members of them, then each user
// with their memberships, password hash and import record, every write
// with its event. A unique constraint refusing a row aborts the whole
// write with a *rowConflict (or errBatchConflict), for ImportBatch to plan
// again.
func (s *Service) write(ctx context.Context, q *store.Q, p *importPlan, batched bool) error {
	w := &importWriter{s: s, q: q, p: p, batched: batched}
	for _, r := range p.orgs {
		switch {
		case r.failed():
		case r.create:
			if err := q.CreateOrganization(ctx, r.stored); err != nil {
				return asConflict(err, nil, r)
			}
			if err := w.event(ctx, "organization.created", r.stored.ID, orgEvent(r.stored)); err != nil {
				return err
			}
		case r.update:
			if err := q.UpdateOrganization(ctx, r.stored); err != nil {
				return asConflict(err, nil, r)
			}
			if err := w.event(ctx, "organization.updated", r.stored.ID, orgEvent(r.stored)); err != nil {
				return err
			}
		}
	}
	for _, r := range p.users {
		if r.failed() || r.status == ImportUnchanged {
			continue
		}
		if err := w.user(ctx, r); err != nil {
			return err
		}
	}
	return w.flush(ctx)
}

func (w *importWriter) user(ctx context.Context, r *userRow) error {
	q, u := w.q, r.stored
	norm := strings.ToLower(u.Email)
	if r.create {
		// How the user arrived, for the migration status (users.origin).
		u.Origin, u.MigratedAt = store.OriginImportNoHash, w.p.now
		if r.writeHash {
			u.Origin = store.OriginImportHash
		}
	}
	switch {
	case r.create && w.batched:
		w.users, w.norms = append(w.users, u), append(w.norms, norm)
	case r.create:
		if err := q.CreateUser(ctx, u, norm); err != nil {
			return asConflict(err, r, nil)
		}
	case r.update:
		if err := q.UpdateUser(ctx, u, norm); err != nil {
			return asConflict(err, r, nil)
		}
	}
	switch {
	case r.create:
		if err := w.event(ctx, "user.created", u.ID, userEvent(u)); err != nil {
			return err
		}
	case r.update:
		if err := w.event(ctx, "user.updated", u.ID, userEvent(u)); err != nil {
			return err
		}
	}
	for _, mp := range r.memberships {
		switch {
		case mp.create && w.batched:
			w.ms = append(w.ms, mp.m)
		case mp.create:
			if err := q.CreateMembership(ctx, mp.m); err != nil {
				return asConflict(err, r, nil)
			}
		case mp.update:
			if err := q.UpdateMembership(ctx, mp.m); err != nil {
				return asConflict(err, r, nil)
			}
		}
		switch {
		case mp.create:
			if err := w.event(ctx, "membership.created", u.ID, membershipEvent(mp.m)); err != nil {
				return err
			}
		case mp.update:
			if err := w.event(ctx, "membership.updated", u.ID, membershipEvent(mp.m)); err != nil {
				return err
			}
		}
	}
	now := w.p.now
	var rec *store.UserImport
	switch {
	case r.writeHash:
		rec = &store.UserImport{EnvID: w.s.EnvID, UserID: u.ID, HashSource: r.hashSource, HashFormat: string(r.hashFormat), CreatedAt: now, UpdatedAt: now}
		if w.batched {
			w.hashes = append(w.hashes, store.PasswordHashRow{UserID: u.ID, Hash: r.imported})
		} else if err := q.PutImportedPasswordHash(ctx, w.s.EnvID, u.ID, r.imported, now); err != nil {
			return err
		}
		if err := w.event(ctx, "user.password_imported", u.ID, map[string]string{"id": u.ID, "format": string(r.hashFormat)}); err != nil {
			return err
		}
	case r.create:
		// Record how the user arrived, for the migration status.
		rec = &store.UserImport{EnvID: w.s.EnvID, UserID: u.ID, CreatedAt: now, UpdatedAt: now}
	}
	if rec == nil {
		return nil
	}
	if w.batched {
		w.imports = append(w.imports, *rec)
		return nil
	}
	return q.PutUserImport(ctx, *rec)
}

// event emits at once, or queues when batched (its payload is encoded at
// flush).
func (w *importWriter) event(ctx context.Context, typ, objectID string, payload any) error {
	if !w.batched {
		return w.s.emit(ctx, w.q, typ, objectID, payload)
	}
	w.events = append(w.events, &store.Event{ID: w.s.IDs.New(id.Event), EnvID: w.s.EnvID, Type: typ, ObjectID: objectID,
		CreatedAt: w.p.now})
	w.payloads = append(w.payloads, payload)
	return nil
}

// encodeEvents encodes the queued events' payloads. flush runs it on
// another goroutine while it inserts the other rows: the transaction
// holds SQLite's single write lock, and the JSON of three events per user
// was a tenth of the time it held it. The payloads only read the plan's
// users and memberships, which the inserts only read too.
func (w *importWriter) encodeEvents() error {
	for i, payload := range w.payloads {
		b, err := json.Marshal(payload)
		if err != nil {
			return err
		}
		w.events[i].Payload = string(b)
	}
	return nil
}

// flush inserts what was queued, in foreign-key order.
func (w *importWriter) flush(ctx context.Context) error {
	if !w.batched {
		return nil
	}
	encoded := make(chan error, 1)
	go func() { encoded <- w.encodeEvents() }()
	if err := w.flushRows(ctx); err != nil {
		<-encoded // the events are not written, but the goroutine ends here
		return err
	}
	if err := <-encoded; err != nil {
		return err
	}
	return w.q.AddEvents(ctx, w.events)
}

// flushRows inserts the queued rows but the events.
func (w *importWriter) flushRows(ctx context.Context) error {
	conflict := func(err error) error {
		var c *store.ErrConflict
		if errors.As(err, &c) {
			return errBatchConflict
		}
		return err
	}
	if err := w.q.CreateUsers(ctx, w.users, w.norms); err != nil {
		return conflict(err)
	}
	if err := w.q.CreateMemberships(ctx, w.ms); err != nil {
		return conflict(err)
	}
	if err := w.q.PutImportedPasswordHashes(ctx, w.s.EnvID, w.hashes, w.p.now); err != nil {
		return err
	}
	return w.q.PutUserImports(ctx, w.imports)
}
