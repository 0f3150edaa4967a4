package accounts

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/store"
)

// orgRow is one organization of a batch as it goes through check, plan and
// write.
type orgRow struct {
	in   ImportOrg // trimmed
	perm []RowError

	// Set by plan, afresh on each attempt.
	errs   []RowError
	status ImportStatus
	stored *store.Organization // what the row creates or updates to, or the stored one
	create bool
	update bool
}

func (r *orgRow) failed() bool { return len(r.errs) > 0 }

// fail records a rule broken whatever the database holds (it survives a
// new plan).
func (r *orgRow) fail(field, rule, desc string) {
	e := RowError{Field: field, Rule: rule, Description: desc}
	r.perm = append(r.perm, e)
	r.errs = append(r.errs, e)
}

// userRow is one user of a batch as it goes through check, plan and write.
type userRow struct {
	in        ImportUser // trimmed
	emailNorm string
	ext       *string // nil when the row has none
	perm      []RowError

	// The password hash, from check and prepareHashes.
	hashFormat passwords.Format
	hashBase   string // the import record's hash_source the hash was compared with
	hashSame   bool   // the hash is the one hashBase records
	hashReady  bool   // hashBase and hashSame were worked out
	imported   string // passwords.Import(hash), when it is to be written
	hashSource string // what user_imports.hash_source records for imported

	// Set by plan, afresh on each attempt.
	errs        []RowError
	status      ImportStatus
	stored      *store.User // the user as it will be (or is), without memberships
	create      bool
	update      bool // the user's own fields change
	memberships []*membershipPlan
	writeHash   bool
}

func (r *userRow) failed() bool { return len(r.errs) > 0 }

func (r *userRow) fail(field, rule, desc string) {
	e := RowError{Field: field, Rule: rule, Description: desc}
	r.perm = append(r.perm, e)
	r.errs = append(r.errs, e)
}

// planFail records a rule broken against the current database state.
func (r *userRow) planFail(field, rule, desc string) {
	r.errs = append(r.errs, RowError{Field: field, Rule: rule, Description: desc})
}

// membershipPlan is one membership a user row creates or updates.
type membershipPlan struct {
	m              *store.Membership
	create, update bool
}

// fromViolations turns the shared validators' violations into row errors,
// naming a rule from the description.
func fromViolations(vs apierr.Violations, rule string) []RowError {
	out := make([]RowError, 0, len(vs))
	for _, v := range vs {
		r := rule
		switch {
		case strings.HasPrefix(v.Description, "must not be empty"):
			r = "required"
		case strings.HasPrefix(v.Description, "must be at most"):
			r = "max_length"
		}
		out = append(out, RowError{Field: v.Field, Rule: r, Description: v.Description})
	}
	return out
}

// checkOrgs applies the rules that need no database to each organization.
func checkOrgs(in []ImportOrg) []*orgRow {
	rows := make([]*orgRow, len(in))
	seen := map[string]int{}
	for i, o := range in {
		r := &orgRow{in: ImportOrg{ExternalID: strings.TrimSpace(o.ExternalID), ID: strings.TrimSpace(o.ID),
			DisplayName: strings.TrimSpace(o.DisplayName), Metadata: o.Metadata, Slug: strings.TrimSpace(o.Slug),
			LogoURL: strings.TrimSpace(o.LogoURL), RegionCode: o.RegionCode}}
		rows[i] = r
		var v apierr.Violations
		switch {
		case r.in.ExternalID == "" && r.in.ID == "":
			v.Add("external_id", "must not be empty: imported organizations are keyed by external_id (or id, for one without)")
		case r.in.ExternalID != "" && r.in.ID != "":
			v.Add("id", "give external_id or id, not both")
		case r.in.ExternalID != "":
			normExternalID(&v, "external_id", &r.in.ExternalID)
		case !id.HasPrefix(r.in.ID, id.Organization):
			v.Add("id", "must be an organization id (org_...)")
		}
		if utf8.RuneCountInString(r.in.DisplayName) > MaxDisplayNameLen {
			v.Add("display_name", fmt.Sprintf("must be at most %d characters", MaxDisplayNameLen))
		}
		if utf8.RuneCountInString(r.in.Slug) > MaxDisplayNameLen {
			v.Add("slug", fmt.Sprintf("must be at most %d characters", MaxDisplayNameLen))
		}
		checkURL(&v, "logo_url", &r.in.LogoURL)
		if r.in.RegionCode < 0 || r.in.RegionCode > 2 {
			v.Add("region_code", "must be 0 (unset), 1 (US) or 2 (EU)")
		}
		r.perm = append(r.perm, fromViolations(v, "format")...)
		var mv apierr.Violations
		checkMetadata(&mv, "metadata", o.Metadata)
		r.perm = append(r.perm, fromViolations(mv, "metadata")...)
		if key := orgKey(r.in.ExternalID, r.in.ID); key != "\x00" {
			if j, dup := seen[key]; dup {
				r.perm = append(r.perm, RowError{Field: "external_id", Rule: "duplicate_in_batch",
					Description: fmt.Sprintf("organizations[%d] has the same external_id or id", j)})
			} else {
				seen[key] = i
			}
		}
	}
	return rows
}

// checkUsers applies the rules that need no database to each user: the
// email, external id, names, metadata, memberships as written, the password
// hash's format, and uniqueness of email and external id in the batch.
func checkUsers(in []ImportUser) []*userRow {
	rows := make([]*userRow, len(in))
	seenEmail, seenExt := map[string]int{}, map[string]int{}
	for i, u := range in {
		r := &userRow{}
		rows[i] = r
		var v apierr.Violations
		email, norm := NormalizeEmail(&v, "email", u.Email)
		r.perm = append(r.perm, fromViolations(v, "email")...)
		r.emailNorm = norm
		v = nil
		ext := strings.TrimSpace(u.ExternalID)
		r.ext = normExternalID(&v, "external_id", &ext)
		for _, f := range []struct{ name, val string }{{"first_name", u.FirstName}, {"last_name", u.LastName}, {"name", u.Name},
			{"locale", u.Locale}, {"phone_number", u.PhoneNumber}, {"preferred_username", u.PreferredUsername}, {"gender", u.Gender}} {
			if utf8.RuneCountInString(strings.TrimSpace(f.val)) > MaxDisplayNameLen {
				v.Add(f.name, fmt.Sprintf("must be at most %d characters", MaxDisplayNameLen))
			}
		}
		picture := strings.TrimSpace(u.Picture)
		checkURL(&v, "picture", &picture)
		r.perm = append(r.perm, fromViolations(v, "format")...)
		v = nil
		checkMetadata(&v, "metadata", u.Metadata)
		checkMetadata(&v, "profile_metadata", u.ProfileMetadata)
		checkMetadata(&v, "custom_attributes", u.CustomAttributes)
		r.perm = append(r.perm, fromViolations(v, "metadata")...)
		r.in = ImportUser{Email: email, ExternalID: ext, FirstName: strings.TrimSpace(u.FirstName),
			LastName: strings.TrimSpace(u.LastName), Name: strings.TrimSpace(u.Name), Locale: strings.TrimSpace(u.Locale),
			EmailVerified: u.EmailVerified, Metadata: u.Metadata, PasswordHash: strings.TrimSpace(u.PasswordHash),
			PhoneNumber: strings.TrimSpace(u.PhoneNumber), PreferredUsername: strings.TrimSpace(u.PreferredUsername),
			Picture: picture, Gender: strings.TrimSpace(u.Gender), Groups: u.Groups,
			ProfileMetadata: u.ProfileMetadata, CustomAttributes: u.CustomAttributes}
		orgsSeen := map[string]int{}
		for j, m := range u.Memberships {
			field := fmt.Sprintf("memberships[%d]", j)
			tm := ImportMembership{OrgExternalID: strings.TrimSpace(m.OrgExternalID), OrgID: strings.TrimSpace(m.OrgID), Metadata: m.Metadata}
			key := orgKey(tm.OrgExternalID, tm.OrgID)
			switch prev, dup := orgsSeen[key]; {
			case key == "\x00":
				r.perm = append(r.perm, RowError{Field: field + ".organization_external_id", Rule: "required", Description: "must not be empty"})
			case tm.OrgExternalID != "" && tm.OrgID != "":
				r.perm = append(r.perm, RowError{Field: field + ".organization_id", Rule: "conflict", Description: "give organization_external_id or organization_id, not both"})
			case dup:
				r.perm = append(r.perm, RowError{Field: field + ".organization_external_id", Rule: "duplicate_in_row",
					Description: fmt.Sprintf("memberships[%d] names the same organization", prev)})
			default:
				orgsSeen[key] = j
			}
			for _, name := range m.Roles {
				name = strings.TrimSpace(name)
				if name == "" {
					r.perm = append(r.perm, RowError{Field: field + ".roles", Rule: "required", Description: "a role name must not be empty"})
					continue
				}
				tm.Roles = append(tm.Roles, name)
			}
			v = nil
			checkMetadata(&v, field+".metadata", m.Metadata)
			r.perm = append(r.perm, fromViolations(v, "metadata")...)
			r.in.Memberships = append(r.in.Memberships, tm)
		}
		if h := r.in.PasswordHash; h != "" {
			f, err := passwords.Parse(h)
			switch {
			case errors.Is(err, passwords.ErrUnsupported):
				r.perm = append(r.perm, RowError{Field: "password_hash", Rule: "unsupported_hash", Description: err.Error()})
			case err != nil:
				r.perm = append(r.perm, RowError{Field: "password_hash", Rule: "malformed_hash", Description: err.Error()})
			default:
				r.hashFormat = f
			}
		}
		if norm != "" {
			if j, dup := seenEmail[norm]; dup {
				r.perm = append(r.perm, RowError{Field: "email", Rule: "duplicate_in_batch",
					Description: fmt.Sprintf("users[%d] has the same email", j)})
			} else {
				seenEmail[norm] = i
			}
		}
		if r.ext != nil {
			if j, dup := seenExt[*r.ext]; dup {
				r.perm = append(r.perm, RowError{Field: "external_id", Rule: "duplicate_in_batch",
					Description: fmt.Sprintf("users[%d] has the same external_id", j)})
			} else {
				seenExt[*r.ext] = i
			}
		}
	}
	return rows
}
