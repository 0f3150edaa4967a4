package accounts

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/store"
)

// importPlan is what a batch will do, worked out against the database as
// q sees it (inside the write transaction for a real run).
type importPlan struct {
	orgs  []*orgRow
	users []*userRow
	now   time.Time
}

// knownOrg is an organization memberships may name: stored, or created by
// this batch.
type knownOrg struct {
	org     *store.Organization
	created bool
}

// plan matches every row that passed check with what is stored and works
// out what changes. Rows that break a rule depending on stored data (an
// unknown organization or role, an email another user has) fail here.
func (s *Service) plan(ctx context.Context, q *store.Q, orgs []*orgRow, users []*userRow, dry bool) (*importPlan, error) {
	p := &importPlan{orgs: orgs, users: users, now: s.Now()}
	refs := map[string]bool{}
	for _, r := range orgs {
		r.errs, r.status, r.stored, r.create, r.update = slices.Clone(r.perm), 0, nil, false, false
		if !r.failed() {
			refs[orgKey(r.in.ExternalID, r.in.ID)] = true
		}
	}
	for _, r := range users {
		r.errs, r.status, r.stored, r.create, r.update, r.memberships, r.writeHash = slices.Clone(r.perm), 0, nil, false, false, nil, false
		if !r.failed() {
			for _, m := range r.in.Memberships {
				refs[orgKey(m.OrgExternalID, m.OrgID)] = true
			}
		}
	}
	stored, err := storedOrgs(ctx, q, s.EnvID, refs)
	if err != nil {
		return nil, err
	}
	known, failedOrgs := s.planOrgs(p, stored)
	var storedOrgIDs []string
	for _, o := range stored {
		storedOrgIDs = append(storedOrgIDs, o.ID)
	}
	slices.Sort(storedOrgIDs)
	rs, err := s.loadImportRoles(ctx, q, storedOrgIDs)
	if err != nil {
		return nil, err
	}
	if err := s.planUsers(ctx, q, p, known, failedOrgs, rs, dry); err != nil {
		return nil, err
	}
	return p, nil
}

// storedOrgs reads the organizations the batch names (orgKey), by key.
func storedOrgs(ctx context.Context, q *store.Q, envID string, refs map[string]bool) (map[string]*store.Organization, error) {
	var exts, ids []string
	for _, k := range sortedKeys(refs) {
		if id, ok := strings.CutPrefix(k, "\x00"); ok {
			ids = append(ids, id)
		} else {
			exts = append(exts, k)
		}
	}
	stored, err := q.OrganizationsByExternalIDs(ctx, envID, exts)
	if err != nil || len(ids) == 0 {
		return stored, err
	}
	byID, err := q.OrganizationsByIDs(ctx, envID, ids)
	for id, o := range byID {
		stored[orgKey("", id)] = o
	}
	return stored, err
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// planOrgs matches organization rows by external id: a stored one is
// updated where the row differs, else created.
func (s *Service) planOrgs(p *importPlan, stored map[string]*store.Organization) (map[string]knownOrg, map[string]bool) {
	known := map[string]knownOrg{}
	for ext, o := range stored {
		known[ext] = knownOrg{org: o}
	}
	failed := map[string]bool{}
	for _, r := range p.orgs {
		key := orgKey(r.in.ExternalID, r.in.ID)
		if r.failed() {
			if key != orgKey("", "") && stored[key] == nil {
				failed[key] = true
			}
			continue
		}
		if ex := stored[key]; ex != nil {
			o := *ex
			if r.in.DisplayName != "" && r.in.DisplayName != o.DisplayName {
				o.DisplayName, r.update = r.in.DisplayName, true
			}
			if len(r.in.Metadata) > 0 && !maps.Equal(r.in.Metadata, o.Metadata) {
				o.Metadata, r.update = r.in.Metadata, true
			}
			for _, f := range []struct {
				dst **string
				v   string
			}{{&o.Slug, r.in.Slug}, {&o.LogoURL, r.in.LogoURL}} {
				if f.v != "" && (*f.dst == nil || **f.dst != f.v) {
					v := f.v
					*f.dst, r.update = &v, true
				}
			}
			if r.in.RegionCode != 0 && r.in.RegionCode != o.RegionCode {
				o.RegionCode, r.update = r.in.RegionCode, true
			}
			r.stored, r.status = &o, ImportUnchanged
			if r.update {
				o.UpdatedAt, r.status = p.now, ImportUpdated
			}
			known[key] = knownOrg{org: r.stored}
			continue
		}
		if r.in.DisplayName == "" {
			r.errs = append(r.errs, RowError{Field: "display_name", Rule: "required",
				Description: "must not be empty to create an organization"})
			failed[key] = true
			continue
		}
		orgID, ext := r.in.ID, &r.in.ExternalID
		if orgID == "" {
			orgID = s.IDs.New(id.Organization)
		} else {
			ext = nil // keyed by the id it is created with
		}
		r.stored = &store.Organization{ID: orgID, EnvID: s.EnvID, DisplayName: r.in.DisplayName,
			ExternalID: ext, Metadata: r.in.Metadata, Features: map[string]bool{}, CreatedAt: p.now, UpdatedAt: p.now,
			Slug: nonEmptyPtr(r.in.Slug), LogoURL: nonEmptyPtr(r.in.LogoURL), RegionCode: r.in.RegionCode}
		r.create, r.status = true, ImportCreated
		known[key] = knownOrg{org: r.stored, created: true}
	}
	return known, failed
}

// importRoles are the roles memberships may hold: the environment's, each
// stored organization's own, and the default member roles.
type importRoles struct {
	env      map[string]store.RoleRef
	org      map[string]map[string]store.RoleRef // org id -> name -> role
	defaults map[string]store.RoleRef            // org id ("" for the environment) -> role
}

func (s *Service) loadImportRoles(ctx context.Context, q *store.Q, orgIDs []string) (*importRoles, error) {
	roles, err := q.RolesForImport(ctx, s.EnvID, orgIDs)
	if err != nil {
		return nil, err
	}
	rs := &importRoles{env: map[string]store.RoleRef{}, org: map[string]map[string]store.RoleRef{}}
	for _, r := range roles {
		if r.OrgID == "" {
			rs.env[r.Name] = r.RoleRef
			continue
		}
		if rs.org[r.OrgID] == nil {
			rs.org[r.OrgID] = map[string]store.RoleRef{}
		}
		rs.org[r.OrgID][r.Name] = r.RoleRef
	}
	if rs.defaults, err = q.DefaultMemberRolesForImport(ctx, s.EnvID, orgIDs); err != nil {
		return nil, err
	}
	return rs, nil
}

// resolve maps role names to roles as resolveRoles does: an organization's
// own role hides an environment role of the same name; no names means the
// default member role. It returns the names that name no role.
func (rs *importRoles) resolve(orgID string, names []string) ([]store.RoleRef, []string) {
	if len(names) == 0 {
		if d, ok := rs.defaults[orgID]; ok {
			return []store.RoleRef{d}, nil
		}
		if d, ok := rs.defaults[""]; ok {
			return []store.RoleRef{d}, nil
		}
		names = []string{RoleMember}
	}
	var out []store.RoleRef
	var unknown []string
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		if r, ok := rs.org[orgID][n]; ok {
			out = append(out, r)
		} else if r, ok := rs.env[n]; ok {
			out = append(out, r)
		} else {
			unknown = append(unknown, n)
		}
	}
	slices.SortFunc(out, func(a, b store.RoleRef) int { return strings.Compare(a.Name, b.Name) })
	return out, unknown
}

func sameRoles(a, b []store.RoleRef) bool {
	ids := func(rs []store.RoleRef) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = r.ID
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(ids(a), ids(b))
}

// planUsers matches user rows (by external id, then email) and works out
// each one's changes.
func (s *Service) planUsers(ctx context.Context, q *store.Q, p *importPlan, known map[string]knownOrg, failedOrgs map[string]bool, rs *importRoles, dry bool) error {
	var exts, emails []string
	for _, r := range p.users {
		if r.failed() {
			continue
		}
		if r.ext != nil {
			exts = append(exts, *r.ext)
		}
		emails = append(emails, r.emailNorm)
	}
	slices.Sort(exts)
	slices.Sort(emails)
	found, err := q.UsersForImport(ctx, s.EnvID, exts, emails)
	if err != nil {
		return err
	}
	byExt, byEmail := map[string]*store.User{}, map[string]*store.User{}
	var ids []string
	for _, u := range found {
		if u.ExternalID != nil {
			byExt[*u.ExternalID] = u
		}
		byEmail[strings.ToLower(u.Email)] = u
		ids = append(ids, u.ID)
	}
	slices.Sort(ids)
	records, err := q.UserImports(ctx, s.EnvID, ids)
	if err != nil {
		return err
	}
	claimed := map[string]int{}
	for i, r := range p.users {
		if r.failed() {
			continue
		}
		u := s.matchUser(r, byExt, byEmail)
		if r.failed() {
			continue
		}
		if u != nil {
			if j, dup := claimed[u.ID]; dup {
				r.planFail("email", "duplicate_in_batch", fmt.Sprintf("users[%d] matches the same stored user (%s)", j, u.ID))
				continue
			}
			claimed[u.ID] = i
		}
		s.planUserFields(p, r, u)
		s.planMemberships(p, r, u, known, failedOrgs, rs)
		if r.failed() {
			continue
		}
		if err := s.planHash(r, u, records, dry); err != nil {
			return err
		}
		switch {
		case r.create:
			r.status = ImportCreated
		case r.update || r.writeHash || slices.ContainsFunc(r.memberships, func(m *membershipPlan) bool { return m.create || m.update }):
			r.status = ImportUpdated
		default:
			r.status = ImportUnchanged
		}
	}
	return nil
}

// matchUser finds the stored user a row names: by external id, else by
// email. A row whose external id and email name two different users, or
// whose email names a user keyed by another external id, fails.
func (s *Service) matchUser(r *userRow, byExt, byEmail map[string]*store.User) *store.User {
	byMail := byEmail[r.emailNorm]
	if r.ext != nil {
		if u := byExt[*r.ext]; u != nil {
			if byMail != nil && byMail.ID != u.ID {
				r.planFail("email", "taken", fmt.Sprintf("belongs to another user (%s) than the one with this external_id (%s)", byMail.ID, u.ID))
				return nil
			}
			return u
		}
		if byMail != nil && byMail.ExternalID != nil {
			r.planFail("external_id", "external_id_mismatch",
				fmt.Sprintf("the stored user with this email (%s) has external_id %q", byMail.ID, *byMail.ExternalID))
			return nil
		}
	}
	return byMail
}

// planUserFields works out the user as it will be: new, or the stored one
// with the row's non-empty fields.
func (s *Service) planUserFields(p *importPlan, r *userRow, u *store.User) {
	in := r.in
	if u == nil {
		nu := &store.User{ID: s.IDs.New(id.User), EnvID: s.EnvID, Email: in.Email, ExternalID: r.ext,
			GivenName: in.FirstName, FamilyName: in.LastName, Name: in.Name, Locale: in.Locale,
			PhoneNumber: in.PhoneNumber, PreferredUsername: in.PreferredUsername, Picture: in.Picture, Gender: in.Gender,
			Groups: in.Groups, ProfileMetadata: in.ProfileMetadata, CustomAttributes: in.CustomAttributes,
			EmailVerified: in.EmailVerified != nil && *in.EmailVerified, Metadata: in.Metadata,
			CreatedAt: p.now, UpdatedAt: p.now}
		r.stored, r.create = nu, true
		return
	}
	nu := *u
	nu.Memberships = nil
	set := func(dst *string, v string) {
		if v != "" && *dst != v {
			*dst, r.update = v, true
		}
	}
	set(&nu.Email, in.Email)
	set(&nu.GivenName, in.FirstName)
	set(&nu.FamilyName, in.LastName)
	set(&nu.Name, in.Name)
	set(&nu.Locale, in.Locale)
	set(&nu.PhoneNumber, in.PhoneNumber)
	set(&nu.PreferredUsername, in.PreferredUsername)
	set(&nu.Picture, in.Picture)
	set(&nu.Gender, in.Gender)
	if r.ext != nil && (nu.ExternalID == nil || *nu.ExternalID != *r.ext) {
		nu.ExternalID, r.update = r.ext, true
	}
	if in.EmailVerified != nil && *in.EmailVerified != nu.EmailVerified {
		nu.EmailVerified, r.update = *in.EmailVerified, true
	}
	for _, f := range []struct {
		dst *map[string]string
		v   map[string]string
	}{
		{&nu.Metadata, in.Metadata}, {&nu.ProfileMetadata, in.ProfileMetadata}, {&nu.CustomAttributes, in.CustomAttributes}} {
		if len(f.v) > 0 && !maps.Equal(f.v, *f.dst) {
			*f.dst, r.update = f.v, true
		}
	}
	if len(in.Groups) > 0 && !slices.Equal(in.Groups, nu.Groups) {
		nu.Groups, r.update = in.Groups, true
	}
	if r.update {
		nu.UpdatedAt = p.now
	}
	r.stored = &nu
}

// planMemberships resolves each membership's organization and roles and
// compares it with the stored one.
func (s *Service) planMemberships(p *importPlan, r *userRow, u *store.User, known map[string]knownOrg, failedOrgs map[string]bool, rs *importRoles) {
	have := map[string]*store.Membership{}
	if u != nil {
		for _, m := range u.Memberships {
			have[m.OrgID] = m
		}
	}
	for j, in := range r.in.Memberships {
		field := fmt.Sprintf("memberships[%d]", j)
		key := orgKey(in.OrgExternalID, in.OrgID)
		k, ok := known[key]
		if !ok {
			desc := fmt.Sprintf("no organization has external_id %q; import it first or include it in the batch's organizations", in.OrgExternalID)
			if in.OrgExternalID == "" {
				desc = fmt.Sprintf("no organization has id %q; import it first or include it in the batch's organizations", in.OrgID)
			}
			if failedOrgs[key] {
				desc = fmt.Sprintf("organization %q failed in this batch", strings.TrimPrefix(key, "\x00"))
			}
			r.planFail(field+".organization_external_id", "unknown_organization", desc)
			continue
		}
		roles, unknown := rs.resolve(k.org.ID, in.Roles)
		for _, n := range unknown {
			desc := fmt.Sprintf("role %q does not exist; create it first or use an existing role such as %q", n, RoleMember)
			if len(in.Roles) == 0 {
				desc = "the organization has no default member role; name the roles"
			}
			r.planFail(field+".roles", "unknown_role", desc)
		}
		if len(unknown) > 0 {
			continue
		}
		if ex := have[k.org.ID]; ex != nil {
			m := *ex
			mp := &membershipPlan{m: &m}
			if len(in.Roles) > 0 && !sameRoles(roles, m.Roles) {
				m.Roles, mp.update = roles, true
			}
			if len(in.Metadata) > 0 && !maps.Equal(in.Metadata, m.Metadata) {
				m.Metadata, mp.update = in.Metadata, true
			}
			if mp.update {
				m.UpdatedAt = p.now
			}
			r.memberships = append(r.memberships, mp)
			continue
		}
		r.memberships = append(r.memberships, &membershipPlan{create: true, m: &store.Membership{
			EnvID: s.EnvID, OrgID: k.org.ID, UserID: r.stored.ID, Status: store.MembershipActive, Roles: roles,
			Metadata: in.Metadata, CreatedAt: p.now, UpdatedAt: p.now, AcceptedAt: p.now, OrgName: k.org.DisplayName}})
	}
}

// planHash decides whether the row's password hash is written: always for
// a new user, otherwise when it is not the hash last imported for the user.
func (s *Service) planHash(r *userRow, u *store.User, records map[string]store.UserImport, dry bool) error {
	if r.in.PasswordHash == "" {
		return nil
	}
	recorded := ""
	if u != nil {
		recorded = records[u.ID].HashSource
	}
	if !r.hashReady || recorded != r.hashBase {
		// The record changed since prepareHashes read it (a concurrent
		// import), or the row matched another user than it guessed.
		if err := r.decideHash(recorded, dry); err != nil {
			return err
		}
	}
	if u != nil && r.hashSame {
		return nil
	}
	if !dry && r.imported == "" {
		if err := r.decideHash("", dry); err != nil {
			return err
		}
	}
	r.writeHash = true
	return nil
}

// nonEmptyPtr is s as a nullable column: nil when empty, as the Scalekit
// API stores an unset slug or logo.
func nonEmptyPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
