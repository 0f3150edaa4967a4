package importer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gatehouse/gatehouse/internal/passwords"
)

// The firebase format reads `firebase auth:export users.json
// --format=json`: {"users": [{"localId", "email", "emailVerified",
// "passwordHash", "salt", "displayName", "customAttributes", "disabled",
// ...}]}. Password hashes are Firebase's modified scrypt, which also needs
// the project's hash parameters, not in the export: pass them as the
// Firebase CLI's auth:import takes them (--hash-key, --salt-separator,
// --rounds, --mem-cost; in the console under Authentication, Users, ⋮,
// "Password hash parameters"). Each hash is stored self-contained
// ($firebase-scrypt$..., internal/passwords).
//
// localId becomes the external id; displayName the name; the custom claims
// (customAttributes, a JSON string) the metadata. Firebase has no
// organizations: users arrive without memberships unless a mapping file
// (mapping.go) gives them.

type firebaseExport struct {
	Users []struct {
		LocalID          string `json:"localId"`
		Email            string `json:"email"`
		EmailVerified    bool   `json:"emailVerified"`
		PasswordHash     string `json:"passwordHash"`
		Salt             string `json:"salt"`
		DisplayName      string `json:"displayName"`
		CustomAttributes string `json:"customAttributes"`
		Disabled         bool   `json:"disabled"`
		MFAInfo          []any  `json:"mfaInfo"`
	} `json:"users"`
}

func readFirebase(paths []string, opts Options) (*Dataset, error) {
	d := &Dataset{}
	p := opts.Firebase
	haveParams := p.SignerKey != "" || p.SaltSeparator != "" || p.Rounds != 0 || p.MemCost != 0
	for _, path := range paths {
		if strings.EqualFold(filepath.Ext(path), ".csv") {
			return nil, fmt.Errorf("%s: the firebase format reads the JSON export (firebase auth:export users.json --format=json), not the CSV one", path)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		var ex firebaseExport
		if err := json.Unmarshal(raw, &ex); err != nil {
			return nil, fmt.Errorf("%s: not a firebase auth:export JSON file: %w", path, err)
		}
		name := filepath.Base(path)
		for i, f := range ex.Users {
			verified := f.EmailVerified
			u := User{Source: fmt.Sprintf("%s users[%d]", name, i), ExternalID: f.LocalID, Email: f.Email,
				EmailVerified: &verified, Name: f.DisplayName}
			if f.CustomAttributes != "" {
				var claims map[string]any
				if err := json.Unmarshal([]byte(f.CustomAttributes), &claims); err != nil {
					d.rejectUser(u, "customAttributes", "json", "is not a JSON object: %v", err)
					continue
				}
				u.Metadata = stringMap(claims)
			}
			if len(f.MFAInfo) > 0 {
				d.note("Firebase second factors (mfaInfo) are not imported: those users enrol again.")
			}
			if f.Disabled {
				d.note("Firebase users marked disabled are imported as ordinary users; disable them again in Gatehouse if needed.")
			}
			if f.PasswordHash != "" {
				if !haveParams {
					return nil, errors.New("the export holds password hashes: pass the project's --hash-key, --salt-separator, --rounds and --mem-cost (Firebase console: Authentication, Users, ⋮, Password hash parameters)")
				}
				h, err := passwords.FirebaseScrypt(p, f.Salt, f.PasswordHash)
				if err != nil {
					d.rejectUser(u, "passwordHash", "malformed_hash", "%v", err)
					continue
				}
				u.PasswordHash = h
			}
			d.Users = append(d.Users, u)
		}
	}
	if len(d.Users) > 0 {
		d.note(noOrganizationsNote("Firebase"))
	}
	return d, nil
}
