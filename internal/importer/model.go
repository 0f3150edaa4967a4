package importer

import (
	"fmt"
	"sort"
	"strings"
)

// Organization is one organization read from a source, keyed by the
// source's own id (its external_id here).
type Organization struct {
	Source     string // where it was read: "orgs.jsonl:3"
	ExternalID string
	// ID keys an organization without external_id by its Gatehouse id
	// (`gatehouse export` writes it): it is matched by, and created with,
	// that id.
	ID          string
	DisplayName string
	Metadata    map[string]string
	// Roles are the organization's own role definitions (roles.go).
	Roles []Role
	// DefaultMemberRole is the organization's own default member role.
	DefaultMemberRole string
	// As scalekit.v1 Organization has them (the gatehouse and generic
	// JSONL formats carry them).
	Slug       string
	LogoURL    string
	RegionCode int32
	// Features and SessionPolicy are the organization's settings (the
	// gatehouse and generic JSONL formats carry them), written once the
	// organizations exist (orgsettings.go).
	Features      map[string]bool
	SessionPolicy *SessionPolicy
}

// User is one user read from a source, in the migration guide's minimal
// schema plus what Gatehouse imports besides.
type User struct {
	Source        string
	Email         string
	ExternalID    string
	FirstName     string
	LastName      string
	Name          string
	Locale        string
	EmailVerified *bool
	Metadata      map[string]string
	// PasswordHash is in an encoding internal/passwords accepts (readers
	// convert vendor-specific forms with its constructors).
	PasswordHash string
	Memberships  []Membership
	// Invitations are the user's memberships that are not active
	// (invitations.go), written after the users.
	Invitations []Invitation
	// The rest of the profile (the gatehouse and generic JSONL formats
	// carry it, so an export reads back whole).
	PhoneNumber       string
	PreferredUsername string
	Picture           string
	Gender            string
	Groups            []string
	ProfileMetadata   map[string]string
	CustomAttributes  map[string]string
}

// Membership makes a user a member of an organization of the source.
type Membership struct {
	OrganizationExternalID string
	// OrganizationID names an organization without external_id by id.
	OrganizationID string
	Roles          []string
	Metadata       map[string]string
}

// Rejection is a row refused before anything is sent: the reader could not
// map it, or it repeats another row's email or external id.
type Rejection struct {
	Kind       string `json:"kind"` // "organization", "user", or "line" (unreadable)
	Source     string `json:"source"`
	ExternalID string `json:"external_id,omitempty"`
	Email      string `json:"email,omitempty"`
	Field      string `json:"field,omitempty"`
	Rule       string `json:"rule,omitempty"`
	Reason     string `json:"reason"`
}

// Dataset is everything read from a source.
type Dataset struct {
	Organizations []Organization
	Users         []User
	// Permissions and Roles are the environment's definitions (roles.go),
	// created before any user is written.
	Permissions []Permission
	Roles       []Role
	Rejected    []Rejection
	// Notes are things the reader could not carry over, said once each
	// ("Cognito exports no password hashes"), for the summary.
	Notes []string
}

func (d *Dataset) rejectUser(u User, field, rule, format string, args ...any) {
	d.Rejected = append(d.Rejected, Rejection{Kind: "user", Source: u.Source, ExternalID: u.ExternalID, Email: u.Email,
		Field: field, Rule: rule, Reason: fmt.Sprintf(format, args...)})
}

func (d *Dataset) note(s string) {
	for _, n := range d.Notes {
		if n == s {
			return
		}
	}
	d.Notes = append(d.Notes, s)
}

// Dedupe enforces that the file names each organization and each user
// once: a repeated organization external_id is merged when identical and
// rejected otherwise; a user repeating an earlier user's external_id or
// email (ignoring case) is rejected, naming the earlier row. Matching on
// the server is by external_id, then email, so either would make two rows
// write one user.
func (d *Dataset) Dedupe() {
	orgs := d.Organizations[:0:0]
	seenOrg := map[string]int{}
	for _, o := range d.Organizations {
		if j, ok := seenOrg[o.ExternalID]; ok && o.ExternalID != "" {
			prev := orgs[j]
			if prev.DisplayName == o.DisplayName && sameMap(prev.Metadata, o.Metadata) && prev.Slug == o.Slug &&
				prev.LogoURL == o.LogoURL && prev.RegionCode == o.RegionCode {
				continue
			}
			d.Rejected = append(d.Rejected, Rejection{Kind: "organization", Source: o.Source, ExternalID: o.ExternalID,
				Field: "external_id", Rule: "duplicate_in_file", Reason: "another organization in the file has this external_id (" + prev.Source + ")"})
			continue
		}
		seenOrg[o.ExternalID] = len(orgs)
		orgs = append(orgs, o)
	}
	d.Organizations = orgs
	users := d.Users[:0:0]
	seenExt, seenEmail := map[string]string{}, map[string]string{}
	for _, u := range d.Users {
		norm := strings.ToLower(strings.TrimSpace(u.Email))
		ext := strings.TrimSpace(u.ExternalID)
		if prev, ok := seenExt[ext]; ok && ext != "" {
			d.rejectUser(u, "external_id", "duplicate_in_file", "another user in the file has this external_id (%s)", prev)
			continue
		}
		if prev, ok := seenEmail[norm]; ok && norm != "" {
			d.rejectUser(u, "email", "duplicate_in_file", "another user in the file has this email (%s)", prev)
			continue
		}
		if ext != "" {
			seenExt[ext] = u.Source
		}
		if norm != "" {
			seenEmail[norm] = u.Source
		}
		users = append(users, u)
	}
	d.Users = users
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// cleanRoles returns roles without duplicates or blanks, in order of
// first appearance.
func cleanRoles(in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range in {
		r = strings.TrimSpace(r)
		if r != "" && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// stringMap flattens a JSON object into string metadata: strings stay,
// other values are written as JSON.
func stringMap(m map[string]any) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out[k] = jsonText(m[k])
	}
	return out
}
