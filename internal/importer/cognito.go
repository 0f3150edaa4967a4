package importer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The cognito format reads an Amazon Cognito user pool in either form:
//
//   - the JSON `aws cognito-idp list-users --user-pool-id ID` prints
//     (Cognito's only export; the CLI pages through the pool itself):
//     {"Users": [{"Username", "Attributes": [{"Name", "Value"}], "Enabled",
//     "UserStatus", ...}]}, chosen by a .json file name;
//   - CSV with the header of the pool's own import template
//     (GetCSVHeader: name, given_name, family_name, ..., email,
//     email_verified, ..., locale, ..., cognito:mfa_enabled,
//     cognito:username, and custom:<attribute> columns), as backup tools
//     write it; a sub column is used when present.
//
// The external id is sub, else the username (Username, cognito:username).
// Custom attributes become metadata, and the username too when it is not
// the sub.
//
// Cognito never exports password hashes: these users sign in with an email
// code or magic link, reset their password, or move over by lazy migration
// (docs/lazy-migration.md). Cognito groups are not
// organizations: users arrive without memberships unless a mapping file
// (mapping.go) gives them.

// cognitoListUsers is the output of `aws cognito-idp list-users`.
type cognitoListUsers struct {
	Users []struct {
		Username   string `json:"Username"`
		Attributes []struct {
			Name  string `json:"Name"`
			Value string `json:"Value"`
		} `json:"Attributes"`
		Enabled *bool `json:"Enabled"`
	} `json:"Users"`
}

func readCognito(paths []string, _ Options) (*Dataset, error) {
	d := &Dataset{}
	for _, p := range paths {
		if strings.EqualFold(filepath.Ext(p), ".json") {
			if err := readCognitoJSON(d, p); err != nil {
				return nil, err
			}
			continue
		}
		err := eachCSVRow(d, p, []string{"email", "cognito:username"}, func(r csvRow) {
			names := make([]string, 0, len(r.cols))
			for c := range r.cols {
				names = append(names, c)
			}
			d.addCognitoUser(r.src, r.get, names)
		})
		if err != nil {
			return nil, err
		}
	}
	if len(d.Users) > 0 {
		d.note("Cognito exports no password hashes: imported users sign in with an email code or magic link, reset their password, or move over by lazy migration (docs/lazy-migration.md).")
		d.note(noOrganizationsNote("Cognito"))
	}
	return d, nil
}

// readCognitoJSON reads the output of `aws cognito-idp list-users`.
func readCognitoJSON(d *Dataset, path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	// Go matches JSON keys in any case; Firebase's {"users": ...} must not
	// pass for Cognito's {"Users": ...}.
	var probe map[string]json.RawMessage
	var lu cognitoListUsers
	if err := json.Unmarshal(raw, &probe); err != nil || probe["Users"] == nil {
		return fmt.Errorf("%s: not the JSON of aws cognito-idp list-users (an object with \"Users\"); is this the right --from format?", path)
	}
	if err := json.Unmarshal(raw, &lu); err != nil {
		return fmt.Errorf("%s: not the JSON of aws cognito-idp list-users: %w", path, err)
	}
	name := filepath.Base(path)
	for i, cu := range lu.Users {
		attrs := map[string]string{"cognito:username": cu.Username}
		names := []string{"cognito:username"}
		for _, a := range cu.Attributes {
			attrs[a.Name] = strings.TrimSpace(a.Value)
			names = append(names, a.Name)
		}
		if cu.Enabled != nil && !*cu.Enabled {
			d.note("Cognito users marked disabled are imported as ordinary users; disable them again in Gatehouse if needed.")
		}
		d.addCognitoUser(fmt.Sprintf("%s Users[%d]", name, i), func(k string) string { return attrs[k] }, names)
	}
	return nil
}

// addCognitoUser maps one user, read by attribute name (names lists the
// attributes present, for the custom ones).
func (d *Dataset) addCognitoUser(src string, get func(string) string, names []string) {
	ext := get("sub")
	if ext == "" {
		ext = get("cognito:username")
	}
	u := User{Source: src, ExternalID: ext, Email: get("email"), FirstName: get("given_name"),
		LastName: get("family_name"), Name: get("name"), Locale: get("locale")}
	if v := get("email_verified"); v != "" {
		b, err := parseBool(v)
		if err != nil {
			d.rejectUser(u, "email_verified", "format", "%q is not true or false", v)
			return
		}
		u.EmailVerified = &b
	}
	for _, c := range names {
		if k, ok := strings.CutPrefix(c, "custom:"); ok && get(c) != "" {
			if u.Metadata == nil {
				u.Metadata = map[string]string{}
			}
			u.Metadata[k] = get(c)
		}
	}
	if un := get("cognito:username"); un != "" && un != ext {
		if u.Metadata == nil {
			u.Metadata = map[string]string{}
		}
		u.Metadata["cognito_username"] = un
	}
	d.Users = append(d.Users, u)
}
