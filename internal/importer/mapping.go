package importer

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// A mapping file (--mapping, docs/migrate-from/mapping.md) gives users
// organizations and roles when the source has no organizations of its own
// (Cognito, Firebase, Supabase, a Clerk users export), or adds to those it
// has. It is CSV with a header row:
//
//	match,organization_external_id,organization_name,roles
//	ann@example.com,org_acme,Acme Corp,admin;member
//	@acme.com,org_acme,Acme Corp,member
//	usr_123,org_beta,,
//	*,org_everyone,Everyone,member
//
// match is a user's email (any case) or their id in the source (their
// external_id here), an email domain (@acme.com: addresses at exactly that
// domain), or * (the default). The most specific match wins: a user's own
// rows (id or email), else their domain's rows, else the * rows; every row
// at that level gives a membership, so a user in two organizations has two
// rows. organization_name, when set, creates the organization (an
// organization the source defines itself stands as it is); without it the
// organization must exist in Gatehouse already. roles are separated by ';'
// (none: the default member role); where the source already made the user
// a member of that organization, the roles are added to that membership.
// Lines starting with '#' are comments.
//
// The file is checked whole before anything is read from the source: every
// malformed row is reported as file:line, column, rule and reason, and
// nothing is imported. Rows matching no user, and users matching no row
// and left without any organization, are reported in the summary's notes.

// mappingColumns are the header's columns; the first two are required.
var mappingColumns = []string{"match", "organization_external_id", "organization_name", "roles"}

// maxMappingErrors bounds the errors reported for one file, so a wrong
// file (say, the export itself) does not print thousands of lines.
const maxMappingErrors = 20

// noOrganizationsSuffix ends the note a reader of a source without
// organizations adds; a mapping file replaces that note with its own.
const noOrganizationsSuffix = "users are imported without memberships unless a --mapping file gives them (docs/migrate-from/mapping.md)."

// noOrganizationsNote is that note for the named source.
func noOrganizationsNote(source string) string {
	return source + " has no organizations: " + noOrganizationsSuffix
}

// mappingRule is one row of a mapping file.
type mappingRule struct {
	src   string // "map.csv:3"
	match string // as written
	org   string
	roles []string
	used  bool
}

// mapping is a parsed mapping file.
type mapping struct {
	name     string                    // the file's base name, for notes
	byID     map[string][]*mappingRule // exact match keys, as written
	byEmail  map[string][]*mappingRule // the same keys, lower-cased
	byDomain map[string][]*mappingRule // "acme.com"
	defaults []*mappingRule
	rules    []*mappingRule // in file order
	orgs     []Organization // named organizations, in order of first row
}

// mappingError is one malformed row.
type mappingError struct {
	src, field, rule, reason string
}

func (e mappingError) Error() string {
	return fmt.Sprintf("%s: %s: %s: %s", e.src, e.field, e.rule, e.reason)
}

// readMapping parses and checks a mapping file.
func readMapping(path string) (*mapping, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--mapping: %w", err)
	}
	defer f.Close()
	name := filepath.Base(path)
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	header, err := cr.Read()
	if err != nil {
		return nil, mappingError{name + ":1", "header", "csv", fmt.Sprintf("reading the header: %v", err)}
	}
	cols, err := mappingHeader(name, header)
	if err != nil {
		return nil, err
	}
	m := &mapping{name: name, byID: map[string][]*mappingRule{}, byEmail: map[string][]*mappingRule{}, byDomain: map[string][]*mappingRule{}}
	p := &mappingParser{m: m, cols: cols, orgName: map[string]string{}, orgSrc: map[string]string{}, pairs: map[string]string{}}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line, _ := cr.FieldPos(0)
		src := fmt.Sprintf("%s:%d", name, line)
		if err != nil {
			p.fail(src, "line", "csv", err.Error())
			continue
		}
		p.row(src, rec)
	}
	if len(p.errs) > 0 {
		return nil, p.err()
	}
	return m, nil
}

// mappingHeader maps column names to indexes, refusing unknown and
// missing columns.
func mappingHeader(name string, header []string) (map[string]int, error) {
	cols := map[string]int{}
	var errs []error
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		known := false
		for _, c := range mappingColumns {
			known = known || c == h
		}
		if !known {
			errs = append(errs, mappingError{name + ":1", "header", "unknown_column",
				fmt.Sprintf("column %q is not one of %s", h, strings.Join(mappingColumns, ", "))})
			continue
		}
		cols[h] = i
	}
	for _, c := range mappingColumns[:2] {
		if _, ok := cols[c]; !ok {
			errs = append(errs, mappingError{name + ":1", "header", "missing_column",
				fmt.Sprintf("the header needs a %s column (%s)", c, strings.Join(mappingColumns, ","))})
		}
	}
	return cols, errors.Join(errs...)
}

// mappingParser checks rows against each other while reading them.
type mappingParser struct {
	m       *mapping
	cols    map[string]int
	orgName map[string]string // organization -> the name a row gave it
	orgSrc  map[string]string // organization -> the row that named it
	pairs   map[string]string // match + "\x00" + organization -> row
	errs    []error
}

func (p *mappingParser) fail(src, field, rule, reason string) {
	p.errs = append(p.errs, mappingError{src, field, rule, reason})
}

func (p *mappingParser) err() error {
	errs := p.errs
	if len(errs) > maxMappingErrors {
		errs = append(errs[:maxMappingErrors:maxMappingErrors], fmt.Errorf("and %d more errors", len(p.errs)-maxMappingErrors))
	}
	return errors.Join(errs...)
}

func (p *mappingParser) get(rec []string, col string) string {
	if i, ok := p.cols[col]; ok && i < len(rec) {
		return strings.TrimSpace(rec[i])
	}
	return ""
}

// row checks one record and files its rule.
func (p *mappingParser) row(src string, rec []string) {
	if len(rec) > len(p.cols) {
		p.fail(src, "line", "columns", fmt.Sprintf("%d fields, the header has %d (quote a value holding a comma)", len(rec), len(p.cols)))
		return
	}
	match, org, name := p.get(rec, "match"), p.get(rec, "organization_external_id"), p.get(rec, "organization_name")
	bad := len(p.errs)
	switch {
	case match == "":
		p.fail(src, "match", "required", "every row needs a match: an email, @domain, a user id, or *")
	case strings.HasPrefix(match, "@") && (len(match) == 1 || strings.ContainsAny(match[1:], "@ ")):
		p.fail(src, "match", "format", fmt.Sprintf("%q is not an email domain such as @example.com", match))
	}
	if org == "" {
		p.fail(src, "organization_external_id", "required", "every row names the organization its users join")
	}
	if name != "" && org != "" {
		if prev, ok := p.orgName[org]; ok && prev != name {
			p.fail(src, "organization_name", "conflict", fmt.Sprintf("%s names organization %s %q, this row %q", p.orgSrc[org], org, prev, name))
		}
	}
	key := strings.ToLower(match) + "\x00" + org
	if prev, ok := p.pairs[key]; ok && match != "" && org != "" {
		p.fail(src, "match", "duplicate", fmt.Sprintf("%s already maps %s to %s", prev, match, org))
	}
	if len(p.errs) > bad {
		return
	}
	p.pairs[key] = src
	if name != "" {
		if _, ok := p.orgName[org]; !ok {
			p.orgName[org], p.orgSrc[org] = name, src
			p.m.orgs = append(p.m.orgs, Organization{Source: src, ExternalID: org, DisplayName: name})
		}
	}
	r := &mappingRule{src: src, match: match, org: org, roles: cleanRoles(strings.Split(p.get(rec, "roles"), ";"))}
	p.m.rules = append(p.m.rules, r)
	switch {
	case match == "*":
		p.m.defaults = append(p.m.defaults, r)
	case strings.HasPrefix(match, "@"):
		d := strings.ToLower(match[1:])
		p.m.byDomain[d] = append(p.m.byDomain[d], r)
	default:
		p.m.byID[match] = append(p.m.byID[match], r)
		p.m.byEmail[strings.ToLower(match)] = append(p.m.byEmail[strings.ToLower(match)], r)
	}
}

// rulesFor returns the rows that apply to u: its own, else its domain's,
// else the defaults.
func (m *mapping) rulesFor(u *User) []*mappingRule {
	email := strings.ToLower(strings.TrimSpace(u.Email))
	var own []*mappingRule
	if u.ExternalID != "" {
		own = append(own, m.byID[u.ExternalID]...)
	}
	for _, r := range m.byEmail[email] {
		if email != "" && !containsRule(own, r) {
			own = append(own, r)
		}
	}
	if len(own) > 0 {
		return own
	}
	if at := strings.LastIndexByte(email, '@'); at >= 0 {
		if rs := m.byDomain[email[at+1:]]; len(rs) > 0 {
			return rs
		}
	}
	return m.defaults
}

func containsRule(rs []*mappingRule, r *mappingRule) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// apply adds the mapping's organizations and memberships to d and notes
// what matched nothing.
func (m *mapping) apply(d *Dataset) {
	have := map[string]bool{}
	for _, o := range d.Organizations {
		have[o.ExternalID] = true
	}
	for _, o := range m.orgs {
		if !have[o.ExternalID] {
			have[o.ExternalID] = true
			d.Organizations = append(d.Organizations, o)
		}
	}
	var alone []string
	mapped, memberships := 0, 0
	for i := range d.Users {
		u := &d.Users[i]
		rules := m.rulesFor(u)
		if len(rules) == 0 {
			if len(u.Memberships) == 0 {
				alone = append(alone, fmt.Sprintf("%s (%s)", userLabel(u), u.Source))
			}
			continue
		}
		mapped++
		for _, r := range rules {
			r.used = true
			memberships++
			addMembership(u, r.org, r.roles)
		}
	}
	notes := d.Notes[:0:0]
	for _, n := range d.Notes {
		if !strings.HasSuffix(n, noOrganizationsSuffix) {
			notes = append(notes, n)
		}
	}
	d.Notes = notes
	d.note(fmt.Sprintf("Mapping %s: %d users given %d memberships.", m.name, mapped, memberships))
	var unused []string
	for _, r := range m.rules {
		if !r.used && r.match != "*" {
			unused = append(unused, fmt.Sprintf("%s (%s)", r.src, r.match))
		}
	}
	if len(unused) > 0 {
		d.note(fmt.Sprintf("Mapping %s: %d rows match no user in the export: %s.", m.name, len(unused), listSome(unused)))
	}
	if len(alone) > 0 {
		d.note(fmt.Sprintf("Mapping %s: %d users match no row and are imported without an organization: %s.", m.name, len(alone), listSome(alone)))
	}
}

// addMembership makes u a member of org with roles, adding the roles to a
// membership the source already gave.
func addMembership(u *User, org string, roles []string) {
	for i, ms := range u.Memberships {
		if ms.OrganizationExternalID == org {
			u.Memberships[i].Roles = cleanRoles(append(append([]string(nil), ms.Roles...), roles...))
			return
		}
	}
	u.Memberships = append(u.Memberships, Membership{OrganizationExternalID: org, Roles: roles})
}

func userLabel(u *User) string {
	if u.Email != "" {
		return u.Email
	}
	return u.ExternalID
}

// listSome lists the first ten items and counts the rest.
func listSome(items []string) string {
	const n = 10
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(" and %d more", len(items)-n)
}
