package importer

import (
	"context"
	"errors"

	"connectrpc.com/connect"

	gatehousev1 "github.com/gatehouse/gatehouse/gen/gatehouse/v1"
)

// sendBulk writes a batch through gatehouse.v1.ImportService.
func (r *runner) sendBulk(ctx context.Context, b *batch) (record, error) {
	var res *connect.Response[gatehousev1.ImportBatchResponse]
	err := r.cfg.Conn.Do(ctx, func(ctx context.Context) error {
		var err error
		res, err = r.cfg.Conn.Import.ImportBatch(ctx, connect.NewRequest(b.request(r.cfg.DryRun)))
		return err
	})
	rec := record{Digest: b.digest, Phase: b.phase, Index: b.index}
	if err != nil {
		if !permanent(err) {
			return rec, err
		}
		failBatch(&rec, b, "batch", describe(err))
		return rec, nil
	}
	out := res.Msg
	for i, row := range out.GetOrganizations() {
		if i >= len(b.orgs) {
			break // a dry run's known organizations
		}
		o := b.orgs[i]
		tally(&rec.Organizations, row.GetStatus())
		for _, e := range row.GetErrors() {
			rec.Failures = append(rec.Failures, Rejection{Kind: "organization", Source: o.Source, ExternalID: o.ExternalID,
				Field: e.GetField(), Rule: e.GetRule(), Reason: e.GetDescription()})
		}
	}
	for i, row := range out.GetUsers() {
		u := b.users[i]
		tally(&rec.Users, row.GetStatus())
		for _, e := range row.GetErrors() {
			rec.Failures = append(rec.Failures, Rejection{Kind: "user", Source: u.Source, ExternalID: u.ExternalID, Email: u.Email,
				Field: e.GetField(), Rule: e.GetRule(), Reason: e.GetDescription()})
		}
	}
	return rec, nil
}

func tally(c *Counts, s gatehousev1.ImportStatus) {
	switch s {
	case gatehousev1.ImportStatus_IMPORT_STATUS_CREATED:
		c.Created++
	case gatehousev1.ImportStatus_IMPORT_STATUS_UPDATED:
		c.Updated++
	case gatehousev1.ImportStatus_IMPORT_STATUS_UNCHANGED:
		c.Unchanged++
	default:
		c.Failed++
	}
}

// permanent reports whether an API error will come back the same however
// often the batch is sent (the batch as a whole is refused), as opposed to
// the server being unreachable or failing, which stops the run.
func permanent(err error) bool {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return false
	}
	switch ce.Code() {
	case connect.CodeInvalidArgument, connect.CodeFailedPrecondition, connect.CodeNotFound, connect.CodeAlreadyExists,
		connect.CodeOutOfRange, connect.CodeResourceExhausted:
		return true
	}
	return false
}

// failBatch records every row of b as failed for one reason.
func failBatch(rec *record, b *batch, rule, reason string) {
	for _, o := range b.orgs {
		rec.Organizations.Failed++
		rec.Failures = append(rec.Failures, Rejection{Kind: "organization", Source: o.Source, ExternalID: o.ExternalID, Rule: rule, Reason: reason})
	}
	for _, u := range b.users {
		rec.Users.Failed++
		rec.Failures = append(rec.Failures, Rejection{Kind: "user", Source: u.Source, ExternalID: u.ExternalID, Email: u.Email, Rule: rule, Reason: reason})
	}
}
