package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The generic format: Gatehouse's own interchange for home-grown systems,
// in JSON Lines or CSV (chosen by the file extension, .csv for CSV).
//
// JSONL: one object per line, "type" saying what it is:
//
//	{"type": "organization", "external_id": "org_123", "display_name": "Megasoft Inc", "metadata": {"plan": "enterprise"},
//	 "slug": "megasoft", "logo_url": "https://example.com/logo.png", "region_code": 1,
//	 "features": {"sso": true}, "session_policy": {"absolute_timeout": 7, "absolute_timeout_unit": "DAYS"}}
//	{"type": "user", "email": "user@example.com", "first_name": "John", "last_name": "Doe", "email_verified": true,
//	 "external_id": "usr_987", "metadata": {"department": "engineering"},
//	 "password_hash": "$2b$10$...", "phone_number": "+14155550100", "preferred_username": "jdoe",
//	 "picture": "https://example.com/jdoe.png", "gender": "male", "groups": ["eng"],
//	 "profile_metadata": {"team": "core"}, "custom_attributes": {"badge": "42"},
//	 "memberships": [{"organization_external_id": "org_123", "roles": ["admin"], "metadata": {}},
//	                 {"organization_external_id": "org_456", "roles": ["viewer"], "status": "PENDING_INVITE",
//	                  "expires_at": "2026-12-07T09:45:13Z", "inviter_email": "boss@example.com"}]}
//
// password_hash is any encoding docs/migrating.md lists; instead of it a
// user may carry custom_password_hash in Auth0's bulk-import shape
// (CustomPasswordHash). Non-string metadata values are kept as JSON text.
// Blank lines are skipped; an unknown field is an error naming it.
//
// CSV: a header row, then one row per membership (a user in three
// organizations has three rows, the user's own columns repeated or left
// empty after the first). Columns: email, external_id, first_name,
// last_name, name, locale, email_verified (true/false), password_hash,
// custom_password_hash (JSON), metadata (a JSON object) or metadata.<key>,
// the profile's phone_number, preferred_username, picture, gender, groups
// (names separated by ';'), profile_metadata and custom_attributes (JSON
// objects),
// organization_external_id, organization_display_name (creates the
// organization when set), roles (names separated by ';') and
// membership_metadata (a JSON object).

// genericLine is a JSONL line of any type: organization, user, and the
// role and permission definitions of roles.go (Name is a user's full name
// or a definition's name).
type genericLine struct {
	Type               string              `json:"type"`
	ExternalID         string              `json:"external_id"`
	ID                 string              `json:"id"`
	DisplayName        string              `json:"display_name"`
	Metadata           map[string]any      `json:"metadata"`
	Email              string              `json:"email"`
	FirstName          string              `json:"first_name"`
	LastName           string              `json:"last_name"`
	Name               string              `json:"name"`
	Locale             string              `json:"locale"`
	EmailVerified      *bool               `json:"email_verified"`
	PasswordHash       string              `json:"password_hash"`
	CustomPasswordHash *CustomPasswordHash `json:"custom_password_hash"`
	PhoneNumber        string              `json:"phone_number"`
	PreferredUsername  string              `json:"preferred_username"`
	Picture            string              `json:"picture"`
	Gender             string              `json:"gender"`
	Groups             []string            `json:"groups"`
	ProfileMetadata    map[string]any      `json:"profile_metadata"`
	CustomAttributes   map[string]any      `json:"custom_attributes"`
	Slug               string              `json:"slug"`
	LogoURL            string              `json:"logo_url"`
	RegionCode         int32               `json:"region_code"`
	Features           map[string]bool     `json:"features"`
	SessionPolicy      *SessionPolicy      `json:"session_policy"`
	Memberships        []struct {
		OrganizationExternalID string         `json:"organization_external_id"`
		OrganizationID         string         `json:"organization_id"`
		Roles                  []string       `json:"roles"`
		Metadata               map[string]any `json:"metadata"`
		// Status, ExpiresAt and InviterEmail make it a membership
		// that is not active (invitations.go).
		Status       string    `json:"status"`
		ExpiresAt    time.Time `json:"expires_at"`
		InviterEmail string    `json:"inviter_email"`
	} `json:"memberships"`
	// Definitions (roles.go).
	Description       string   `json:"description"`
	Extends           string   `json:"extends"`
	Permissions       []string `json:"permissions"`
	DefaultCreator    bool     `json:"default_creator"`
	DefaultMember     bool     `json:"default_member"`
	Roles             []Role   `json:"roles"`
	DefaultMemberRole string   `json:"default_member_role"`
}

func readGeneric(paths []string, _ Options) (*Dataset, error) {
	d := &Dataset{}
	for _, p := range paths {
		var err error
		if strings.EqualFold(filepath.Ext(p), ".csv") {
			err = readGenericCSV(d, p)
		} else {
			err = readGenericJSONL(d, p)
		}
		if err != nil {
			return nil, err
		}
	}
	return d, nil
}

func readGenericJSONL(d *Dataset, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	name := filepath.Base(path)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		src := fmt.Sprintf("%s:%d", name, n)
		var g genericLine
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&g); err != nil {
			d.Rejected = append(d.Rejected, Rejection{Kind: "line", Source: src, Field: "line", Rule: "json", Reason: err.Error()})
			continue
		}
		switch g.Type {
		case "organization":
			d.Organizations = append(d.Organizations, Organization{Source: src, ExternalID: strings.TrimSpace(g.ExternalID),
				ID: strings.TrimSpace(g.ID), DisplayName: g.DisplayName, Metadata: stringMap(g.Metadata), Roles: g.Roles,
				DefaultMemberRole: strings.TrimSpace(g.DefaultMemberRole), Slug: strings.TrimSpace(g.Slug),
				LogoURL: strings.TrimSpace(g.LogoURL), RegionCode: g.RegionCode, Features: g.Features, SessionPolicy: g.SessionPolicy})
		case "permission":
			d.Permissions = append(d.Permissions, Permission{Name: strings.TrimSpace(g.Name), Description: g.Description})
		case "role":
			d.Roles = append(d.Roles, Role{Name: strings.TrimSpace(g.Name), DisplayName: g.DisplayName, Description: g.Description,
				Extends: strings.TrimSpace(g.Extends), Permissions: g.Permissions, DefaultCreator: g.DefaultCreator, DefaultMember: g.DefaultMember})
		case "user":
			u := User{Source: src, Email: g.Email, ExternalID: strings.TrimSpace(g.ExternalID), FirstName: g.FirstName,
				LastName: g.LastName, Name: g.Name, Locale: g.Locale, EmailVerified: g.EmailVerified,
				Metadata: stringMap(g.Metadata), PasswordHash: g.PasswordHash, PhoneNumber: g.PhoneNumber,
				PreferredUsername: g.PreferredUsername, Picture: g.Picture, Gender: g.Gender, Groups: g.Groups,
				ProfileMetadata: stringMap(g.ProfileMetadata), CustomAttributes: stringMap(g.CustomAttributes)}
			ok := true
			for i, m := range g.Memberships {
				ms := Membership{OrganizationExternalID: strings.TrimSpace(m.OrganizationExternalID),
					OrganizationID: strings.TrimSpace(m.OrganizationID), Roles: cleanRoles(m.Roles), Metadata: stringMap(m.Metadata)}
				status, err := membershipStatus(m.Status)
				if err != nil {
					d.rejectUser(u, fmt.Sprintf("memberships[%d].status", i), "status", "%v", err)
					ok = false
					break
				}
				if status == "" || status == statusActive {
					u.Memberships = append(u.Memberships, ms)
					continue
				}
				u.Invitations = append(u.Invitations, Invitation{Membership: ms, Status: status, ExpiresAt: m.ExpiresAt,
					InviterEmail: strings.TrimSpace(m.InviterEmail)})
			}
			if !ok {
				continue
			}
			if g.CustomPasswordHash != nil {
				if g.PasswordHash != "" {
					d.rejectUser(u, "custom_password_hash", "conflict", "give password_hash or custom_password_hash, not both")
					continue
				}
				if !d.setCustom(&u, g.CustomPasswordHash) {
					continue
				}
			}
			d.Users = append(d.Users, u)
		default:
			d.Rejected = append(d.Rejected, Rejection{Kind: "line", Source: src, Field: "type", Rule: "required",
				Reason: fmt.Sprintf("type %q: want \"organization\", \"user\", \"role\" or \"permission\"", g.Type)})
		}
	}
	return sc.Err()
}

// setCustom converts a custom_password_hash into u, or rejects u.
func (d *Dataset) setCustom(u *User, c *CustomPasswordHash) bool {
	h, err := c.Encode()
	var he *hashError
	if errors.As(err, &he) {
		d.rejectUser(*u, "custom_password_hash", he.rule, "%s", he.msg)
		return false
	}
	u.PasswordHash = h
	return true
}

// csvColumns are the generic CSV's columns; metadata.<key> columns come
// besides.
var csvColumns = map[string]bool{
	"email": true, "external_id": true, "first_name": true, "last_name": true, "name": true, "locale": true,
	"email_verified": true, "password_hash": true, "custom_password_hash": true, "metadata": true,
	"organization_external_id": true, "organization_display_name": true, "roles": true, "membership_metadata": true,
	"phone_number": true, "preferred_username": true, "picture": true, "gender": true, "groups": true,
	"profile_metadata": true, "custom_attributes": true,
}

func readGenericCSV(d *Dataset, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("%s: reading the header: %w", path, err)
	}
	cols := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !csvColumns[h] && !strings.HasPrefix(h, "metadata.") {
			return fmt.Errorf("%s: unknown column %q (see docs/migrating.md for the generic CSV columns)", path, header[i])
		}
		cols[h] = i
	}
	if _, ok := cols["email"]; !ok {
		return fmt.Errorf("%s: the header has no email column", path)
	}
	name := filepath.Base(path)
	byKey := map[string]int{} // user key -> index in d.Users
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		line, _ := r.FieldPos(0)
		src := fmt.Sprintf("%s:%d", name, line)
		if err != nil {
			d.Rejected = append(d.Rejected, Rejection{Kind: "line", Source: src, Field: "line", Rule: "csv", Reason: err.Error()})
			continue
		}
		col := func(c string) string {
			if i, ok := cols[c]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		u := User{Source: src, Email: col("email"), ExternalID: col("external_id"), FirstName: col("first_name"),
			LastName: col("last_name"), Name: col("name"), Locale: col("locale"), PasswordHash: col("password_hash"),
			PhoneNumber: col("phone_number"), PreferredUsername: col("preferred_username"), Picture: col("picture"),
			Gender: col("gender"), Groups: cleanRoles(strings.Split(col("groups"), ";"))}
		if v := col("email_verified"); v != "" {
			b, err := parseBool(v)
			if err != nil {
				d.rejectUser(u, "email_verified", "format", "%q is not true or false", v)
				continue
			}
			u.EmailVerified = &b
		}
		if u.Metadata, err = csvMetadata(col("metadata")); err != nil {
			d.rejectUser(u, "metadata", "json", "must be a JSON object: %v", err)
			continue
		}
		if u.ProfileMetadata, err = csvMetadata(col("profile_metadata")); err != nil {
			d.rejectUser(u, "profile_metadata", "json", "must be a JSON object: %v", err)
			continue
		}
		if u.CustomAttributes, err = csvMetadata(col("custom_attributes")); err != nil {
			d.rejectUser(u, "custom_attributes", "json", "must be a JSON object: %v", err)
			continue
		}
		for c, i := range cols {
			if k, ok := strings.CutPrefix(c, "metadata."); ok && i < len(rec) && rec[i] != "" {
				if u.Metadata == nil {
					u.Metadata = map[string]string{}
				}
				u.Metadata[k] = rec[i]
			}
		}
		if c := col("custom_password_hash"); c != "" {
			var ch CustomPasswordHash
			if err := json.Unmarshal([]byte(c), &ch); err != nil {
				d.rejectUser(u, "custom_password_hash", "json", "must be a JSON object: %v", err)
				continue
			}
			if !d.setCustom(&u, &ch) {
				continue
			}
		}
		if org := col("organization_external_id"); org != "" {
			mm, err := csvMetadata(col("membership_metadata"))
			if err != nil {
				d.rejectUser(u, "membership_metadata", "json", "must be a JSON object: %v", err)
				continue
			}
			u.Memberships = []Membership{{OrganizationExternalID: org, Roles: cleanRoles(strings.Split(col("roles"), ";")), Metadata: mm}}
			if dn := col("organization_display_name"); dn != "" {
				d.Organizations = append(d.Organizations, Organization{Source: src, ExternalID: org, DisplayName: dn})
			}
		}
		key := strings.ToLower(u.Email)
		if u.ExternalID != "" {
			key = "ext:" + u.ExternalID
		}
		j, seen := byKey[key]
		if !seen {
			byKey[key] = len(d.Users)
			d.Users = append(d.Users, u)
			continue
		}
		if field := mergeUser(&d.Users[j], u); field != "" {
			d.rejectUser(u, field, "conflict", "differs from the same user's row %s", d.Users[j].Source)
		}
	}
	return nil
}

// mergeUser adds a further CSV row of the same user to it: its non-empty
// fields must agree with the first row's, and its membership is added. It
// returns the field that disagrees, or "".
func mergeUser(into *User, u User) string {
	for _, f := range []struct {
		name     string
		dst, val *string
	}{{"email", &into.Email, &u.Email}, {"first_name", &into.FirstName, &u.FirstName}, {"last_name", &into.LastName, &u.LastName},
		{"name", &into.Name, &u.Name}, {"locale", &into.Locale, &u.Locale}, {"password_hash", &into.PasswordHash, &u.PasswordHash},
		{"phone_number", &into.PhoneNumber, &u.PhoneNumber}, {"preferred_username", &into.PreferredUsername, &u.PreferredUsername},
		{"picture", &into.Picture, &u.Picture}, {"gender", &into.Gender, &u.Gender}} {
		if *f.val != "" && *f.dst != "" && !strings.EqualFold(*f.val, *f.dst) {
			return f.name
		}
	}
	if u.EmailVerified != nil && into.EmailVerified != nil && *u.EmailVerified != *into.EmailVerified {
		return "email_verified"
	}
	for _, f := range []struct {
		name     string
		dst, val map[string]string
	}{{"metadata", into.Metadata, u.Metadata}, {"profile_metadata", into.ProfileMetadata, u.ProfileMetadata},
		{"custom_attributes", into.CustomAttributes, u.CustomAttributes}} {
		if len(f.val) > 0 && len(f.dst) > 0 && !sameMap(f.val, f.dst) {
			return f.name
		}
	}
	if len(u.Groups) > 0 && len(into.Groups) > 0 && !slices.Equal(u.Groups, into.Groups) {
		return "groups"
	}
	for _, m := range u.Memberships {
		for _, have := range into.Memberships {
			if have.OrganizationExternalID == m.OrganizationExternalID {
				return "organization_external_id"
			}
		}
	}
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	set(&into.FirstName, u.FirstName)
	set(&into.LastName, u.LastName)
	set(&into.Name, u.Name)
	set(&into.Locale, u.Locale)
	set(&into.PasswordHash, u.PasswordHash)
	set(&into.PhoneNumber, u.PhoneNumber)
	set(&into.PreferredUsername, u.PreferredUsername)
	set(&into.Picture, u.Picture)
	set(&into.Gender, u.Gender)
	if len(into.Groups) == 0 {
		into.Groups = u.Groups
	}
	if len(into.ProfileMetadata) == 0 {
		into.ProfileMetadata = u.ProfileMetadata
	}
	if len(into.CustomAttributes) == 0 {
		into.CustomAttributes = u.CustomAttributes
	}
	if into.EmailVerified == nil {
		into.EmailVerified = u.EmailVerified
	}
	if len(into.Metadata) == 0 {
		into.Metadata = u.Metadata
	}
	into.Memberships = append(into.Memberships, u.Memberships...)
	return ""
}

func csvMetadata(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	return stringMap(m), nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "yes", "y":
		return true, nil
	case "no", "n":
		return false, nil
	}
	return strconv.ParseBool(s)
}

// The gatehouse format is the generic JSONL that `gatehouse export`
// writes (organizations, users, memberships, roles and metadata, and the
// password hashes with --include-password-hashes), so an environment reads
// back as it was. Every file is read as JSONL, whatever its name.
func readGatehouse(paths []string, _ Options) (*Dataset, error) {
	d := &Dataset{}
	for _, p := range paths {
		if err := readGenericJSONL(d, p); err != nil {
			return nil, err
		}
	}
	return d, nil
}
