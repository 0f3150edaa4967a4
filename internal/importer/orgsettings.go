package importer

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"

	"google.golang.org/protobuf/types/known/wrapperspb"

	commonsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/commons"
	organizationsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations"
)

// Organizations' settings, as `gatehouse export` writes them on the
// organization line:
//
//	"features": {"sso": true, "dir_sync": false},
//	"session_policy": {"absolute_timeout": 7, "absolute_timeout_unit": "DAYS",
//	                   "idle_timeout_enabled": true, "idle_timeout": 2, "idle_timeout_unit": "HOURS"}
//
// They are written through the Scalekit OrganizationService
// (UpdateOrganizationSettings, UpdateOrganizationSessionPolicy) once the
// organizations exist, and only where the server holds something else,
// so importing again changes nothing. Features the file does not name are
// left as they are, and so is the session policy of an organization whose
// line has none (as for every field the import leaves empty).

// SessionPolicy is an organization's own (CUSTOM) session policy, in the
// units it was set in: MINUTES, HOURS or DAYS.
type SessionPolicy struct {
	AbsoluteTimeout     int32  `json:"absolute_timeout"`
	AbsoluteTimeoutUnit string `json:"absolute_timeout_unit"`
	IdleTimeoutEnabled  bool   `json:"idle_timeout_enabled,omitempty"`
	IdleTimeout         int32  `json:"idle_timeout,omitempty"`
	IdleTimeoutUnit     string `json:"idle_timeout_unit,omitempty"`
}

// settingsCounts tallies the organizations whose settings were written.
type settingsCounts struct{ updated, unchanged, failed int }

// applyOrgSettings brings the settings of the file's organizations that
// carry any up to date and returns the organizations it could not. A dry
// run writes nothing and says so.
func (r *runner) applyOrgSettings(ctx context.Context, orgs []Organization) ([]Rejection, error) {
	var todo []Organization
	for _, o := range orgs {
		if len(o.Features) > 0 || o.SessionPolicy != nil {
			todo = append(todo, o)
		}
	}
	if len(todo) == 0 {
		return nil, nil
	}
	if r.cfg.DryRun {
		r.note(fmt.Sprintf("dry run: the settings (features, session policy) of %d organizations were not written", len(todo)))
		return nil, nil
	}
	var n settingsCounts
	var failures []Rejection
	for _, o := range todo {
		changed, err := r.orgSettings(ctx, o)
		switch {
		case rowFailed(err):
			n.failed++
			field, rule := rowErrorFields(err, "settings")
			failures = append(failures, Rejection{Kind: "organization", Source: o.Source, ExternalID: o.ExternalID,
				Field: field, Rule: rule, Reason: describe(err)})
		case err != nil:
			return failures, err
		case changed:
			n.updated++
		default:
			n.unchanged++
		}
	}
	r.note(fmt.Sprintf("organization settings: %d updated, %d unchanged, %d failed", n.updated, n.unchanged, n.failed))
	return failures, nil
}

// note adds a line to the summary's notes.
func (r *runner) note(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sum.Notes = append(r.sum.Notes, s)
}

// orgSettings writes one organization's settings where they differ and
// reports whether any did.
func (r *runner) orgSettings(ctx context.Context, o Organization) (bool, error) {
	id := o.ID
	if id == "" {
		var err error
		if id, err = r.orgID(ctx, o.ExternalID); err != nil {
			return false, err
		}
	}
	c := r.cfg.Conn
	changed := false
	if len(o.Features) > 0 {
		got, err := Call(ctx, c, c.Orgs.GetOrganization, &organizationsv1.GetOrganizationRequest{
			Identities: &organizationsv1.GetOrganizationRequest_Id{Id: id}})
		if err != nil {
			return false, err
		}
		have := map[string]bool{}
		for _, f := range got.GetOrganization().GetSettings().GetFeatures() {
			have[f.GetName()] = f.GetEnabled()
		}
		set := &organizationsv1.OrganizationSettings{}
		for name, on := range o.Features {
			if v, ok := have[name]; !ok || v != on {
				set.Features = append(set.Features, &organizationsv1.OrganizationSettingsFeature{Name: name, Enabled: on})
			}
		}
		if len(set.Features) > 0 {
			if _, err := Call(ctx, c, c.Orgs.UpdateOrganizationSettings, &organizationsv1.UpdateOrganizationSettingsRequest{Id: id, Settings: set}); err != nil {
				return false, err
			}
			changed = true
		}
	}
	if p := o.SessionPolicy; p != nil {
		pc, err := r.sessionPolicy(ctx, id, p)
		if err != nil {
			return false, err
		}
		changed = changed || pc
	}
	return changed, nil
}

// sessionPolicy makes p the organization's own session policy unless it
// already is.
func (r *runner) sessionPolicy(ctx context.Context, orgID string, p *SessionPolicy) (bool, error) {
	c := r.cfg.Conn
	got, err := Call(ctx, c, c.Orgs.GetOrganizationSessionPolicy, &organizationsv1.GetOrganizationSessionPolicyRequest{OrganizationId: orgID})
	if err != nil {
		return false, err
	}
	have := got.GetPolicy()
	if have.GetPolicySource() == organizationsv1.SessionPolicyType_CUSTOM &&
		have.GetAbsoluteSessionTimeout().GetValue() == p.AbsoluteTimeout && unitName(have.AbsoluteSessionTimeoutUnit) == p.AbsoluteTimeoutUnit &&
		have.GetIdleSessionTimeoutEnabled().GetValue() == p.IdleTimeoutEnabled &&
		have.GetIdleSessionTimeout().GetValue() == p.IdleTimeout && unitName(have.IdleSessionTimeoutUnit) == p.IdleTimeoutUnit {
		return false, nil
	}
	req := &organizationsv1.UpdateOrganizationSessionPolicyRequest{OrganizationId: orgID,
		PolicySource:               organizationsv1.SessionPolicyType_CUSTOM,
		AbsoluteSessionTimeout:     wrapperspb.Int32(p.AbsoluteTimeout),
		AbsoluteSessionTimeoutUnit: unitOf(p.AbsoluteTimeoutUnit),
		IdleSessionTimeoutEnabled:  wrapperspb.Bool(p.IdleTimeoutEnabled),
		IdleSessionTimeout:         wrapperspb.Int32(p.IdleTimeout),
		IdleSessionTimeoutUnit:     unitOf(p.IdleTimeoutUnit),
	}
	if _, err := Call(ctx, c, c.Orgs.UpdateOrganizationSessionPolicy, req); err != nil {
		return false, err
	}
	return true, nil
}

// Call runs one API call through the Conn's retries and returns its
// error as it came, so that a caller can tell a refused row from an
// unreachable server (rowFailed). The exporter uses it too.
func Call[Req, Res any](ctx context.Context, c *Conn, fn func(context.Context, *connect.Request[Req]) (*connect.Response[Res], error), req *Req) (*Res, error) {
	var res *connect.Response[Res]
	err := c.Do(ctx, func(ctx context.Context) error {
		var err error
		res, err = fn(ctx, connect.NewRequest(req))
		return err
	})
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

// rowErrorFields names the field and rule of a failed row: a rowError's
// own, else field with rule "refused" (the reason holds the server's
// violations).
func rowErrorFields(err error, field string) (string, string) {
	var re *rowError
	if errors.As(err, &re) {
		return re.field, re.rule
	}
	return field, "refused"
}

// unitName is a wire time unit's name ("DAYS"), "" when unset.
func unitName(u *commonsv1.TimeUnit) string {
	if u == nil || *u == commonsv1.TimeUnit_SESSION_TIME_UNIT_UNSPECIFIED {
		return ""
	}
	return u.String()
}

// unitOf is the wire time unit named s; nil for "" (not given). An
// unknown name goes as an unknown number, for the server to refuse.
func unitOf(s string) *commonsv1.TimeUnit {
	if s == "" {
		return nil
	}
	v, ok := commonsv1.TimeUnit_value[s]
	if !ok {
		v = -1
	}
	u := commonsv1.TimeUnit(v)
	return &u
}

// afterUsers writes what needs the organizations and users in place: the
// organizations' settings, then the memberships that are not active
// (invitations.go). It returns the rows it could not write.
func (r *runner) afterUsers(ctx context.Context, d *Dataset) ([]Rejection, error) {
	failures, err := r.applyOrgSettings(ctx, d.Organizations)
	if err != nil {
		return failures, err
	}
	more, err := r.importInvitations(ctx, d.Users)
	return append(failures, more...), err
}
