package importer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// The auth0 format reads the files Auth0 gives, in any order and mix:
//
//   - a user export (the "Export users" job of the User Import / Export
//     extension or POST /api/v2/jobs/users-exports), JSON Lines of user
//     objects: user_id, email, email_verified, given_name, family_name,
//     name, user_metadata, app_metadata, ...;
//   - a bulk-import file (a JSON array of the same objects, with
//     password_hash or custom_password_hash, as "Bulk User Import Database
//     Schema and Examples" documents);
//   - the password hash export Auth0 support provides on request: JSON
//     Lines with "_id": {"$oid": ...}, "email", "email_verified" and
//     "passwordHash" (bcrypt), joined to users by "auth0|<oid>";
//   - organizations: a JSON array of organizations as the Management API
//     returns them (GET /api/v2/organizations: id, name, display_name,
//     metadata), each with "members", as GET .../organizations/{id}/members
//     returns them, and each member's "roles" (GET .../members/{user_id}/
//     roles: [{"id", "name"}]).
//
// The export job's file comes gzipped (its location ends in .json.gz):
// it is read as it is, or unzipped first.
//
// user_id becomes the external id (so "auth0|64f...", as Auth0's own APIs
// name the user); an organization's id (org_...) its external id and
// display_name (else name) its name. user_metadata and app_metadata are
// flattened into metadata, app_metadata winning on a shared key.

type auth0User struct {
	UserID             string              `json:"user_id"`
	Email              string              `json:"email"`
	EmailVerified      *bool               `json:"email_verified"`
	GivenName          string              `json:"given_name"`
	FamilyName         string              `json:"family_name"`
	Name               string              `json:"name"`
	UserMetadata       map[string]any      `json:"user_metadata"`
	AppMetadata        map[string]any      `json:"app_metadata"`
	PasswordHash       string              `json:"password_hash"`
	CustomPasswordHash *CustomPasswordHash `json:"custom_password_hash"`
	Blocked            bool                `json:"blocked"`

	// The password hash export's fields.
	OID *struct {
		OID string `json:"$oid"`
	} `json:"_id"`
	ExportedHash string `json:"passwordHash"`
}

type auth0Org struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	DisplayName string         `json:"display_name"`
	Metadata    map[string]any `json:"metadata"`
	Members     []struct {
		UserID string `json:"user_id"`
		Roles  []struct {
			Name string `json:"name"`
		} `json:"roles"`
	} `json:"members"`
}

func readAuth0(paths []string, _ Options) (*Dataset, error) {
	d := &Dataset{}
	type srcOrg struct {
		src string
		o   auth0Org
	}
	var orgs []srcOrg
	byID := map[string]int{} // user_id -> index in d.Users
	var hashes []auth0Hash
	for _, p := range paths {
		if strings.HasSuffix(strings.TrimSuffix(strings.ToLower(p), ".gz"), ".csv") {
			return nil, fmt.Errorf("%s: the auth0 format reads the export job's JSON (\"format\": \"json\"), not its CSV", p)
		}
		raw, err := readAuth0File(p)
		if err != nil {
			return nil, err
		}
		name := filepath.Base(p)
		trimmed := bytes.TrimSpace(raw)
		if len(trimmed) > 0 && trimmed[0] == '[' {
			var items []json.RawMessage
			if err := json.Unmarshal(trimmed, &items); err != nil {
				return nil, fmt.Errorf("%s: not a JSON array: %w", p, err)
			}
			for i, item := range items {
				src := fmt.Sprintf("%s[%d]", name, i)
				var probe map[string]json.RawMessage
				_ = json.Unmarshal(item, &probe)
				if _, isOrg := probe["display_name"]; isOrg || probe["members"] != nil {
					var o auth0Org
					if err := json.Unmarshal(item, &o); err != nil {
						d.Rejected = append(d.Rejected, Rejection{Kind: "organization", Source: src, Field: "organization", Rule: "json", Reason: err.Error()})
						continue
					}
					orgs = append(orgs, srcOrg{src, o})
					continue
				}
				d.addAuth0User(item, src, byID, &hashes)
			}
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(raw))
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for n := 1; sc.Scan(); n++ {
			if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
				d.addAuth0User(line, fmt.Sprintf("%s:%d", name, n), byID, &hashes)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	// Join the hash export to the users it belongs to.
	for _, h := range hashes {
		id := "auth0|" + h.u.OID.OID
		if i, ok := byID[id]; ok {
			if d.Users[i].PasswordHash == "" {
				d.Users[i].PasswordHash = h.u.ExportedHash
			}
			continue
		}
		byID[id] = len(d.Users)
		d.Users = append(d.Users, User{Source: h.src, ExternalID: id, Email: h.u.Email, EmailVerified: h.u.EmailVerified,
			PasswordHash: h.u.ExportedHash})
	}
	for _, x := range orgs {
		name := x.o.DisplayName
		if name == "" {
			name = x.o.Name
		}
		d.Organizations = append(d.Organizations, Organization{Source: x.src, ExternalID: x.o.ID, DisplayName: name,
			Metadata: stringMap(x.o.Metadata)})
		for _, m := range x.o.Members {
			i, ok := byID[m.UserID]
			if !ok {
				d.Rejected = append(d.Rejected, Rejection{Kind: "user", Source: x.src, ExternalID: m.UserID,
					Field: "members", Rule: "unknown_user", Reason: fmt.Sprintf("organization %s lists member %s, who is in no user file given", x.o.ID, m.UserID)})
				continue
			}
			var roles []string
			for _, r := range m.Roles {
				roles = append(roles, r.Name)
			}
			d.Users[i].Memberships = append(d.Users[i].Memberships, Membership{OrganizationExternalID: x.o.ID, Roles: cleanRoles(roles)})
		}
	}
	return d, nil
}

// auth0Hash is a line of the password hash export, joined to its user
// once every file is read.
type auth0Hash struct {
	src string
	u   auth0User
}

func (d *Dataset) addAuth0User(raw []byte, src string, byID map[string]int, hashes *[]auth0Hash) {
	var a auth0User
	if err := json.Unmarshal(raw, &a); err != nil {
		d.Rejected = append(d.Rejected, Rejection{Kind: "line", Source: src, Field: "line", Rule: "json", Reason: err.Error()})
		return
	}
	if a.OID != nil && a.ExportedHash != "" {
		*hashes = append(*hashes, auth0Hash{src, a})
		return
	}
	u := User{Source: src, ExternalID: a.UserID, Email: a.Email, EmailVerified: a.EmailVerified, FirstName: a.GivenName,
		LastName: a.FamilyName, Name: a.Name, PasswordHash: a.PasswordHash}
	meta := map[string]any{}
	for k, v := range a.UserMetadata {
		meta[k] = v
	}
	for k, v := range a.AppMetadata {
		meta[k] = v
	}
	u.Metadata = stringMap(meta)
	if a.Blocked {
		d.note("Auth0 users marked blocked are imported as ordinary users; block them again in Gatehouse if needed.")
	}
	if a.CustomPasswordHash != nil {
		if a.PasswordHash != "" {
			d.rejectUser(u, "custom_password_hash", "conflict", "give password_hash or custom_password_hash, not both")
			return
		}
		if !d.setCustom(&u, a.CustomPasswordHash) {
			return
		}
	}
	if u.ExternalID != "" {
		if _, dup := byID[u.ExternalID]; !dup {
			byID[u.ExternalID] = len(d.Users)
		}
	}
	d.Users = append(d.Users, u)
}

// readAuth0File reads a file, unzipping it when it is gzipped, as the
// export job's download is.
func readAuth0File(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil || len(raw) < 2 || raw[0] != 0x1f || raw[1] != 0x8b {
		return raw, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("%s: unzipping: %w", path, err)
	}
	return out, nil
}
