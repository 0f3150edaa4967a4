package importer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"connectrpc.com/connect"

	commonsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/commons"
	organizationsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations"
	rolesv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/roles"
	usersv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/users"
)

// --compat writes through the Scalekit-compatible API only, one object per
// call, as the migration guide does: GetOrganizationByExternalId,
// CreateOrganization and UpdateOrganization; GetUser (by external id) or
// SearchUsers (by email), CreateUserAndMembership with
// send_invitation_email=false, UpdateUser, CreateMembership and
// UpdateMembership. So it serves any Scalekit-compatible server. What that
// API cannot carry is left out and counted: password hashes (users then
// sign in by email code, magic link or a password reset), and
// email_verified=false (send_invitation_email=false marks the email
// verified; the summary counts such users). A user without memberships
// cannot be created (Scalekit creates users inside an organization).
// Memberships' roles are checked against the RolesService's lists before
// anything is written (checkRoles), so a dry run reports unknown_role as
// the bulk API does. Each row is matched first, so a re-run, or a resumed
// one, changes nothing it already wrote.

// sendCompat writes a batch one row at a time.
func (r *runner) sendCompat(ctx context.Context, b *batch) (record, error) {
	rec := record{Digest: b.digest, Phase: b.phase, Index: b.index}
	for _, o := range b.orgs {
		st, err := r.compatOrg(ctx, o)
		if rowFailed(err) {
			rec.Organizations.Failed++
			rec.Failures = append(rec.Failures, Rejection{Kind: "organization", Source: o.Source, ExternalID: o.ExternalID,
				Field: fieldOf(err), Rule: ruleOf(err), Reason: describe(err)})
			continue
		} else if err != nil {
			return rec, err
		}
		bump(&rec.Organizations, st)
	}
	for _, u := range b.users {
		if u.PasswordHash != "" {
			rec.HashesSkipped++
		}
		st, err := r.compatUser(ctx, u)
		if rowFailed(err) {
			rec.Users.Failed++
			rec.Failures = append(rec.Failures, Rejection{Kind: "user", Source: u.Source, ExternalID: u.ExternalID, Email: u.Email,
				Field: fieldOf(err), Rule: ruleOf(err), Reason: describe(err)})
			continue
		} else if err != nil {
			return rec, err
		}
		if st == created && (u.EmailVerified == nil || !*u.EmailVerified) {
			rec.EmailsVerified++ // send_invitation_email=false verifies it
		}
		bump(&rec.Users, st)
	}
	return rec, nil
}

type status int

const (
	created status = iota + 1
	updated
	unchanged
)

func bump(c *Counts, s status) {
	switch s {
	case created:
		c.Created++
	case updated:
		c.Updated++
	default:
		c.Unchanged++
	}
}

// rowError is a row --compat cannot write, whatever the server says.
type rowError struct{ field, rule, msg string }

func (e *rowError) Error() string { return e.msg }

func rowFailed(err error) bool {
	var re *rowError
	return errors.As(err, &re) || (err != nil && permanent(err))
}

func fieldOf(err error) string {
	var re *rowError
	if errors.As(err, &re) {
		return re.field
	}
	return ""
}

func ruleOf(err error) string {
	var re *rowError
	if errors.As(err, &re) {
		return re.rule
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return strings.ToLower(ce.Code().String())
	}
	return ""
}

func isNotFound(err error) bool { return connect.CodeOf(err) == connect.CodeNotFound }

// compatOrg creates or updates one organization.
func (r *runner) compatOrg(ctx context.Context, o Organization) (status, error) {
	c := r.cfg.Conn
	if o.ExternalID == "" {
		return 0, &rowError{"external_id", "required", "must not be empty: imported organizations are keyed by external_id"}
	}
	var got *organizationsv1.Organization
	err := c.Do(ctx, func(ctx context.Context) error {
		res, err := c.Orgs.GetOrganizationByExternalId(ctx, connect.NewRequest(&organizationsv1.GetOrganizationRequest{
			Identities: &organizationsv1.GetOrganizationRequest_ExternalId{ExternalId: o.ExternalID}}))
		if err == nil {
			got = res.Msg.GetOrganization()
		}
		return err
	})
	switch {
	case isNotFound(err):
		if r.cfg.DryRun {
			return created, nil
		}
		ext := o.ExternalID
		return created, c.Do(ctx, func(ctx context.Context) error {
			res, err := c.Orgs.CreateOrganization(ctx, connect.NewRequest(&organizationsv1.CreateOrganizationRequest{
				Organization: &organizationsv1.CreateOrganization{DisplayName: o.DisplayName, ExternalId: &ext, Metadata: o.Metadata}}))
			if err == nil {
				r.orgIDs.Store(ext, res.Msg.GetOrganization().GetId())
			}
			return err
		})
	case err != nil:
		return 0, err
	}
	r.orgIDs.Store(o.ExternalID, got.GetId())
	upd := &organizationsv1.UpdateOrganization{}
	changed := false
	if o.DisplayName != "" && o.DisplayName != got.GetDisplayName() {
		upd.DisplayName, changed = &o.DisplayName, true
	}
	if len(o.Metadata) > 0 && !maps.Equal(o.Metadata, got.GetMetadata()) {
		upd.Metadata, changed = o.Metadata, true
	}
	if !changed {
		return unchanged, nil
	}
	if r.cfg.DryRun {
		return updated, nil
	}
	return updated, c.Do(ctx, func(ctx context.Context) error {
		_, err := c.Orgs.UpdateOrganization(ctx, connect.NewRequest(&organizationsv1.UpdateOrganizationRequest{
			Identities: &organizationsv1.UpdateOrganizationRequest_Id{Id: got.GetId()}, Organization: upd}))
		return err
	})
}

// orgID finds an organization's id by external id. In a dry run an
// organization the file would create has none yet: "" and true.
func (r *runner) orgID(ctx context.Context, ext string) (string, error) {
	if id, ok := r.orgIDs.Load(ext); ok {
		return id.(string), nil
	}
	c := r.cfg.Conn
	var id string
	err := c.Do(ctx, func(ctx context.Context) error {
		res, err := c.Orgs.GetOrganizationByExternalId(ctx, connect.NewRequest(&organizationsv1.GetOrganizationRequest{
			Identities: &organizationsv1.GetOrganizationRequest_ExternalId{ExternalId: ext}}))
		if err == nil {
			id = res.Msg.GetOrganization().GetId()
		}
		return err
	})
	if isNotFound(err) {
		return "", &rowError{"organization_external_id", "unknown_organization", "no organization has external_id " + ext}
	}
	if err == nil {
		r.orgIDs.Store(ext, id)
	}
	return id, err
}

// findUser looks a user up by external id, then by exact email.
func (r *runner) findUser(ctx context.Context, u User) (*usersv1.User, error) {
	c := r.cfg.Conn
	if u.ExternalID != "" {
		var got *usersv1.User
		err := c.Do(ctx, func(ctx context.Context) error {
			res, err := c.Users.GetUser(ctx, connect.NewRequest(&usersv1.GetUserRequest{
				Identities: &usersv1.GetUserRequest_ExternalId{ExternalId: u.ExternalID}}))
			if err == nil {
				got = res.Msg.GetUser()
			}
			return err
		})
		if err == nil || !isNotFound(err) {
			return got, err
		}
	}
	want := strings.ToLower(strings.TrimSpace(u.Email))
	token := ""
	for page := 0; page < 20; page++ {
		var res *connect.Response[usersv1.SearchUsersResponse]
		err := c.Do(ctx, func(ctx context.Context) error {
			var err error
			res, err = c.Users.SearchUsers(ctx, connect.NewRequest(&usersv1.SearchUsersRequest{Query: want, PageSize: 100, PageToken: token}))
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, x := range res.Msg.GetUsers() {
			if strings.ToLower(x.GetEmail()) == want {
				if u.ExternalID != "" && x.ExternalId != nil && x.GetExternalId() != u.ExternalID {
					return nil, &rowError{"external_id", "external_id_mismatch", "the stored user with this email has external_id " + x.GetExternalId()}
				}
				return x, nil
			}
		}
		if token = res.Msg.GetNextPageToken(); token == "" {
			break
		}
	}
	return nil, nil
}

func roles(names []string) []*commonsv1.Role {
	out := make([]*commonsv1.Role, len(names))
	for i, n := range names {
		out[i] = &commonsv1.Role{Name: n}
	}
	return out
}

// compatUser creates or updates one user and their memberships.
func (r *runner) compatUser(ctx context.Context, u User) (status, error) {
	c := r.cfg.Conn
	got, err := r.findUser(ctx, u)
	if err != nil {
		return 0, err
	}
	ids := make([]string, len(u.Memberships))
	for i, m := range u.Memberships {
		if ids[i], err = r.orgID(ctx, m.OrganizationExternalID); err != nil {
			if r.cfg.DryRun && r.fileOrg(m.OrganizationExternalID) {
				continue // the dry run's organization phase would create it
			}
			return 0, err
		}
	}
	for i, m := range u.Memberships {
		if err := r.checkRoles(ctx, i, ids[i], m.Roles); err != nil {
			return 0, err
		}
	}
	if got == nil {
		if len(u.Memberships) == 0 {
			return 0, &rowError{"memberships", "required", "--compat: the Scalekit API creates a user only inside an organization; give the user a membership"}
		}
		if r.cfg.DryRun {
			return created, nil
		}
		first := u.Memberships[0]
		cu := &usersv1.CreateUser{Email: u.Email, Metadata: u.Metadata,
			Membership: &usersv1.CreateMembership{Roles: roles(first.Roles), Metadata: first.Metadata},
			UserProfile: &usersv1.CreateUserProfile{FirstName: u.FirstName, LastName: u.LastName, Name: u.Name, Locale: u.Locale,
				PhoneNumber: u.PhoneNumber, PreferredUsername: u.PreferredUsername, Picture: optional(u.Picture),
				Gender: optional(u.Gender), Groups: u.Groups, Metadata: u.ProfileMetadata, CustomAttributes: u.CustomAttributes}}
		if u.ExternalID != "" {
			cu.ExternalId = &u.ExternalID
		}
		no := false
		err := c.Do(ctx, func(ctx context.Context) error {
			res, err := c.Users.CreateUserAndMembership(ctx, connect.NewRequest(&usersv1.CreateUserAndMembershipRequest{
				OrganizationId: ids[0], User: cu, SendInvitationEmail: &no}))
			if err == nil {
				got = res.Msg.GetUser()
			}
			return err
		})
		if err != nil {
			return 0, err
		}
		if _, err := r.compatMemberships(ctx, u, ids, got); err != nil {
			return 0, err
		}
		return created, nil
	}
	changed := false
	upd := &usersv1.UpdateUser{UserProfile: &usersv1.UpdateUserProfile{}}
	p := got.GetUserProfile()
	for _, f := range []struct {
		want, have string
		dst        **string
	}{{u.FirstName, p.GetFirstName(), &upd.UserProfile.FirstName}, {u.LastName, p.GetLastName(), &upd.UserProfile.LastName},
		{u.Name, p.GetName(), &upd.UserProfile.Name}, {u.Locale, p.GetLocale(), &upd.UserProfile.Locale},
		{u.PhoneNumber, p.GetPhoneNumber(), &upd.UserProfile.PhoneNumber},
		{u.PreferredUsername, p.GetPreferredUsername(), &upd.UserProfile.PreferredUsername},
		{u.Picture, p.GetPicture(), &upd.UserProfile.Picture}, {u.Gender, p.GetGender(), &upd.UserProfile.Gender}} {
		if f.want != "" && f.want != f.have {
			v := f.want
			*f.dst, changed = &v, true
		}
	}
	if len(u.Groups) > 0 && !slices.Equal(u.Groups, p.GetGroups()) {
		upd.UserProfile.Groups, changed = u.Groups, true
	}
	if len(u.ProfileMetadata) > 0 && !maps.Equal(u.ProfileMetadata, p.GetMetadata()) {
		upd.UserProfile.Metadata, changed = u.ProfileMetadata, true
	}
	if len(u.CustomAttributes) > 0 && !maps.Equal(u.CustomAttributes, p.GetCustomAttributes()) {
		upd.UserProfile.CustomAttributes, changed = u.CustomAttributes, true
	}
	if u.ExternalID != "" && u.ExternalID != got.GetExternalId() {
		upd.ExternalId, changed = &u.ExternalID, true
	}
	if len(u.Metadata) > 0 && !maps.Equal(u.Metadata, got.GetMetadata()) {
		upd.Metadata, changed = u.Metadata, true
	}
	if changed && !r.cfg.DryRun {
		err := c.Do(ctx, func(ctx context.Context) error {
			_, err := c.Users.UpdateUser(ctx, connect.NewRequest(&usersv1.UpdateUserRequest{
				Identities: &usersv1.UpdateUserRequest_Id{Id: got.GetId()}, User: upd}))
			return err
		})
		if err != nil {
			return 0, err
		}
	}
	mchanged, err := r.compatMemberships(ctx, u, ids, got)
	if err != nil {
		return 0, err
	}
	if changed || mchanged {
		return updated, nil
	}
	return unchanged, nil
}

// compatMemberships brings the user's memberships in the row's
// organizations up to date, and reports whether any changed.
func (r *runner) compatMemberships(ctx context.Context, u User, ids []string, got *usersv1.User) (bool, error) {
	c := r.cfg.Conn
	have := map[string]*commonsv1.OrganizationMembership{}
	for _, m := range got.GetMemberships() {
		have[m.GetOrganizationId()] = m
	}
	changed := false
	no := false
	for i, m := range u.Memberships {
		if ids[i] == "" {
			changed = true // dry run: a membership of an organization yet to be created
			continue
		}
		ex := have[ids[i]]
		if ex == nil {
			changed = true
			if r.cfg.DryRun {
				continue
			}
			err := c.Do(ctx, func(ctx context.Context) error {
				_, err := c.Users.CreateMembership(ctx, connect.NewRequest(&usersv1.CreateMembershipRequest{OrganizationId: ids[i],
					Identities: &usersv1.CreateMembershipRequest_Id{Id: got.GetId()}, SendInvitationEmail: &no,
					Membership: &usersv1.CreateMembership{Roles: roles(m.Roles), Metadata: m.Metadata}}))
				return err
			})
			if err != nil && connect.CodeOf(err) != connect.CodeAlreadyExists {
				return false, err
			}
			continue
		}
		var names []string
		for _, role := range ex.GetRoles() {
			names = append(names, role.GetName())
		}
		want := slices.Sorted(slices.Values(m.Roles))
		slices.Sort(names)
		upd := &usersv1.UpdateMembership{}
		mchanged := false
		if len(m.Roles) > 0 && !slices.Equal(want, names) {
			upd.Roles, mchanged = roles(m.Roles), true
		}
		if len(m.Metadata) > 0 && !maps.Equal(m.Metadata, ex.GetMetadata()) {
			upd.Metadata, mchanged = m.Metadata, true
		}
		if !mchanged {
			continue
		}
		changed = true
		if r.cfg.DryRun {
			continue
		}
		err := c.Do(ctx, func(ctx context.Context) error {
			_, err := c.Users.UpdateMembership(ctx, connect.NewRequest(&usersv1.UpdateMembershipRequest{OrganizationId: ids[i],
				Identities: &usersv1.UpdateMembershipRequest_Id{Id: got.GetId()}, Membership: upd}))
			return err
		})
		if err != nil {
			return false, err
		}
	}
	return changed, nil
}

// fileOrg reports whether the source defines the organization.
func (r *runner) fileOrg(ext string) bool { return r.fileOrgs[ext] }

// roleNames are the roles usable in one scope, by name, and whether one of
// them is the default member role.
type roleNames struct {
	names         map[string]bool
	defaultMember bool
}

// compatRoles caches the role lists a --compat run has read through the
// Scalekit RolesService: the environment's (ListRoles) and, by
// organization id, an organization's (ListOrganizationRoles: the
// environment's roles and its own). Each list is read once a run: roles
// are defined before the users phase (defineRoles) and --compat creates
// none after.
type compatRoles struct {
	mu   sync.Mutex
	env  *roleNames
	orgs map[string]*roleNames
}

// compatDefaultRole is the role the server falls back to for a membership
// naming none when no default member role is set (accounts.RoleMember).
const compatDefaultRole = "member"

// scopeRoles returns the roles usable in the organization with id orgID,
// or in the environment when orgID is "".
func (r *runner) scopeRoles(ctx context.Context, orgID string) (*roleNames, error) {
	cr := &r.compatRoles
	cr.mu.Lock()
	defer cr.mu.Unlock() // held across the call: each list is read once
	if orgID == "" && cr.env != nil {
		return cr.env, nil
	}
	if rn := cr.orgs[orgID]; orgID != "" && rn != nil {
		return rn, nil
	}
	c := r.cfg.Conn
	var list []*rolesv1.Role
	if orgID == "" {
		res, err := call(ctx, c, c.Roles.ListRoles, &rolesv1.ListRolesRequest{})
		if err != nil {
			return nil, fmt.Errorf("listing the environment's roles: %w", err)
		}
		list = res.GetRoles()
	} else {
		res, err := call(ctx, c, c.Roles.ListOrganizationRoles, &rolesv1.ListOrganizationRolesRequest{OrgId: orgID})
		if err != nil {
			return nil, fmt.Errorf("listing the roles of organization %s: %w", orgID, err)
		}
		list = res.GetRoles()
	}
	rn := &roleNames{names: make(map[string]bool, len(list))}
	for _, ro := range list {
		rn.names[ro.GetName()] = true
		rn.defaultMember = rn.defaultMember || ro.GetDefaultMember()
	}
	if orgID == "" {
		cr.env = rn
	} else {
		if cr.orgs == nil {
			cr.orgs = map[string]*roleNames{}
		}
		cr.orgs[orgID] = rn
	}
	return rn, nil
}

// checkRoles fails the row's i-th membership, as the bulk API does (rule
// unknown_role), when the organization cannot grant its roles: each name
// must be an environment role or one of the organization's own, and a
// membership naming none needs a default member role or a role named
// member. Without it a dry run would report such rows as created; the
// real run checks too, so both report the same rule. orgID is "" for an
// organization a dry run has yet to create: only environment roles count
// there (--compat creates no organization roles).
func (r *runner) checkRoles(ctx context.Context, i int, orgID string, names []string) error {
	field := fmt.Sprintf("memberships[%d].roles", i)
	env, err := r.scopeRoles(ctx, "")
	if err != nil {
		return err
	}
	if len(names) == 0 {
		if env.defaultMember || env.names[compatDefaultRole] {
			return nil
		}
		if orgID != "" {
			org, err := r.scopeRoles(ctx, orgID)
			if err != nil {
				return err
			}
			if org.defaultMember || org.names[compatDefaultRole] {
				return nil
			}
		}
		return &rowError{field, "unknown_role", "the organization has no default member role; name the roles"}
	}
	var unknown []string
	for _, n := range names {
		if !env.names[n] {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 && orgID != "" {
		org, err := r.scopeRoles(ctx, orgID)
		if err != nil {
			return err
		}
		unknown = slices.DeleteFunc(unknown, func(n string) bool { return org.names[n] })
	}
	switch len(unknown) {
	case 0:
		return nil
	case 1:
		return &rowError{field, "unknown_role", fmt.Sprintf("role %q does not exist; create it first or use an existing role such as %q", unknown[0], compatDefaultRole)}
	}
	return &rowError{field, "unknown_role", fmt.Sprintf("roles %s do not exist; create them first or use an existing role such as %q", quoteAll(unknown), compatDefaultRole)}
}

// quoteAll renders names as `"a", "b"`.
func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}
