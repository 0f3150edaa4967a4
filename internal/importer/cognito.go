package importer

import (
	"strings"
)

// The cognito format reads an Amazon Cognito user pool as CSV, with the
// header of the pool's own import template (GetCSVHeader: name,
// given_name, family_name, ..., email, email_verified, ..., locale, ...,
// cognito:mfa_enabled, cognito:username, and custom:<attribute> columns),
// as cognito-backup tools and `aws cognito-idp list-users` converted to
// that CSV write it; a sub column is used when present. The external id is
// sub, else cognito:username. Custom attributes become metadata.
//
// Cognito never exports password hashes: these users sign in with an email
// code or magic link, or reset their password. Cognito groups are not
// organizations: users arrive without memberships unless a mapping file
// (mapping.go) gives them.

func readCognito(paths []string, _ Options) (*Dataset, error) {
	d := &Dataset{}
	for _, p := range paths {
		err := eachCSVRow(d, p, []string{"email", "cognito:username"}, func(r csvRow) {
			ext := r.get("sub")
			if ext == "" {
				ext = r.get("cognito:username")
			}
			u := User{Source: r.src, ExternalID: ext, Email: r.get("email"), FirstName: r.get("given_name"),
				LastName: r.get("family_name"), Name: r.get("name"), Locale: r.get("locale")}
			if v := r.get("email_verified"); v != "" {
				b, err := parseBool(v)
				if err != nil {
					d.rejectUser(u, "email_verified", "format", "%q is not true or false", v)
					return
				}
				u.EmailVerified = &b
			}
			for c := range r.cols {
				if k, ok := strings.CutPrefix(c, "custom:"); ok && r.get(c) != "" {
					if u.Metadata == nil {
						u.Metadata = map[string]string{}
					}
					u.Metadata[k] = r.get(c)
				}
			}
			if un := r.get("cognito:username"); un != "" && un != ext {
				if u.Metadata == nil {
					u.Metadata = map[string]string{}
				}
				u.Metadata["cognito_username"] = un
			}
			d.Users = append(d.Users, u)
		})
		if err != nil {
			return nil, err
		}
	}
	if len(d.Users) > 0 {
		d.note("Cognito exports no password hashes: imported users sign in with an email code or magic link, or reset their password.")
		d.note(noOrganizationsNote("Cognito"))
	}
	return d, nil
}
