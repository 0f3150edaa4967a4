package importer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The supabase format reads Supabase Auth's auth.users table as CSV (the
// SQL editor's "Download CSV" of `select * from auth.users`, or psql's
// `\copy (select * from auth.users) to 'users.csv' csv header`) or as a
// JSON array of its rows (`select json_agg(u) from auth.users u`).
// Columns used: id (the external id), email, encrypted_password (bcrypt,
// as GoTrue stores it), email_confirmed_at (set: verified),
// raw_user_meta_data (names from full_name/name/first_name/last_name,
// the rest as metadata), deleted_at and is_anonymous (such rows are
// skipped). Supabase has no organizations: users arrive without
// memberships unless a mapping file (mapping.go) gives them.

func readSupabase(paths []string, _ Options) (*Dataset, error) {
	d := &Dataset{}
	for _, p := range paths {
		if strings.EqualFold(filepath.Ext(p), ".json") {
			raw, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			var rows []map[string]any
			if err := json.Unmarshal(raw, &rows); err != nil {
				return nil, fmt.Errorf("%s: not a JSON array of auth.users rows: %w", p, err)
			}
			for i, row := range rows {
				get := func(k string) string {
					switch v := row[k].(type) {
					case nil:
						return ""
					case string:
						return v
					case bool:
						return fmt.Sprint(v)
					default:
						b, _ := json.Marshal(v)
						return string(b)
					}
				}
				d.addSupabaseUser(fmt.Sprintf("%s[%d]", filepath.Base(p), i), get)
			}
			continue
		}
		err := eachCSVRow(d, p, []string{"id", "email", "encrypted_password"}, func(r csvRow) { d.addSupabaseUser(r.src, r.get) })
		if err != nil {
			return nil, err
		}
	}
	if len(d.Users) > 0 {
		d.note(noOrganizationsNote("Supabase"))
	}
	return d, nil
}

func (d *Dataset) addSupabaseUser(src string, get func(string) string) {
	if get("deleted_at") != "" || get("is_anonymous") == "true" || get("is_anonymous") == "t" {
		return
	}
	verified := get("email_confirmed_at") != ""
	u := User{Source: src, ExternalID: get("id"), Email: get("email"), EmailVerified: &verified, PasswordHash: get("encrypted_password")}
	if raw := get("raw_user_meta_data"); raw != "" {
		var meta map[string]any
		if err := json.Unmarshal([]byte(raw), &meta); err != nil {
			d.rejectUser(u, "raw_user_meta_data", "json", "is not a JSON object: %v", err)
			return
		}
		take := func(k string) string {
			s, _ := meta[k].(string)
			delete(meta, k)
			return s
		}
		u.FirstName, u.LastName = take("first_name"), take("last_name")
		if u.Name = take("full_name"); u.Name == "" {
			u.Name = take("name")
		}
		delete(meta, "email_verified") // GoTrue's copy of the column
		delete(meta, "email")
		delete(meta, "sub")
		u.Metadata = stringMap(meta)
	}
	d.Users = append(d.Users, u)
}
