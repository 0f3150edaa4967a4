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

// The keycloak format reads a realm export (`kc.sh export --realm NAME
// --file realm.json`, or --dir with the users in realm-users-N.json files,
// all given together): users with their password credentials
// (secretData and credentialData, converted by passwords.Keycloak; PBKDF2
// and argon2 as Keycloak stores them), attributes and realm roles, and the
// realm's organizations (Keycloak 26) with their members.
//
// A user's id becomes the external id, and an organization's alias (the
// key Keycloak puts in tokens; its id when it has none) the organization's.
// Attributes become metadata (several values as a JSON array). Keycloak's
// roles belong to the realm, not to organizations: a user's realm roles
// (without default-roles-<realm>, offline_access and uma_authorization)
// are given to each of their memberships, so create them in Gatehouse
// first. Members are matched to users by id, then username, then email.

type keycloakRealm struct {
	Realm string `json:"realm"`
	Users []struct {
		ID            string              `json:"id"`
		Username      string              `json:"username"`
		Email         string              `json:"email"`
		EmailVerified bool                `json:"emailVerified"`
		FirstName     string              `json:"firstName"`
		LastName      string              `json:"lastName"`
		Enabled       *bool               `json:"enabled"`
		Attributes    map[string][]string `json:"attributes"`
		RealmRoles    []string            `json:"realmRoles"`
		Credentials   []struct {
			Type           string `json:"type"`
			SecretData     string `json:"secretData"`
			CredentialData string `json:"credentialData"`
		} `json:"credentials"`
	} `json:"users"`
	Organizations []struct {
		ID          string              `json:"id"`
		Name        string              `json:"name"`
		Alias       string              `json:"alias"`
		Description string              `json:"description"`
		Attributes  map[string][]string `json:"attributes"`
		Members     []struct {
			ID       string `json:"id"`
			Username string `json:"username"`
			Email    string `json:"email"`
		} `json:"members"`
	} `json:"organizations"`
}

func readKeycloak(paths []string, _ Options) (*Dataset, error) {
	d := &Dataset{}
	byID, byUsername, byEmail := map[string]int{}, map[string]int{}, map[string]int{}
	roles := map[int][]string{}
	var realms []struct {
		name string
		r    keycloakRealm
	}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var r keycloakRealm
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("%s: not a Keycloak realm export: %w", p, err)
		}
		name := filepath.Base(p)
		realms = append(realms, struct {
			name string
			r    keycloakRealm
		}{name, r})
		for i, ku := range r.Users {
			verified := ku.EmailVerified
			u := User{Source: fmt.Sprintf("%s users[%d]", name, i), ExternalID: ku.ID, Email: ku.Email, EmailVerified: &verified,
				FirstName: ku.FirstName, LastName: ku.LastName}
			meta := attributes(ku.Attributes)
			if ku.Username != "" && !strings.EqualFold(ku.Username, ku.Email) {
				meta["username"] = ku.Username
			}
			if len(meta) > 0 {
				u.Metadata = meta
			}
			if ku.Enabled != nil && !*ku.Enabled {
				d.note("Keycloak users marked disabled are imported as ordinary users; disable them again in Gatehouse if needed.")
			}
			if ku.Email == "" {
				d.rejectUser(u, "email", "required", "the Keycloak user %q has no email; Gatehouse users sign in by email", ku.Username)
				continue
			}
			rejectedHash := false
			for _, c := range ku.Credentials {
				if c.Type != "password" {
					if c.Type == "otp" {
						d.note("Keycloak OTP credentials are not imported: those users set up their second factor again.")
					}
					continue
				}
				h, err := passwords.Keycloak(c.SecretData, c.CredentialData)
				if err != nil {
					rule := "malformed_hash"
					if errors.Is(err, passwords.ErrUnsupported) {
						rule = "unsupported_hash"
					}
					d.rejectUser(u, "credentials", rule, "%v", err)
					rejectedHash = true
					break
				}
				u.PasswordHash = h
				break
			}
			if rejectedHash {
				continue
			}
			idx := len(d.Users)
			d.Users = append(d.Users, u)
			byID[ku.ID] = idx
			if ku.Username != "" {
				byUsername[strings.ToLower(ku.Username)] = idx
			}
			byEmail[strings.ToLower(ku.Email)] = idx
			for _, role := range ku.RealmRoles {
				if role == "offline_access" || role == "uma_authorization" || strings.HasPrefix(role, "default-roles-") {
					continue
				}
				roles[idx] = append(roles[idx], role)
			}
		}
	}
	for _, x := range realms {
		for i, o := range x.r.Organizations {
			ext := o.Alias
			if ext == "" {
				ext = o.ID
			}
			src := fmt.Sprintf("%s organizations[%d]", x.name, i)
			meta := attributes(o.Attributes)
			if o.Description != "" {
				meta["description"] = o.Description
			}
			if len(meta) == 0 {
				meta = nil
			}
			d.Organizations = append(d.Organizations, Organization{Source: src, ExternalID: ext, DisplayName: o.Name, Metadata: meta})
			for _, m := range o.Members {
				idx, ok := byID[m.ID]
				if !ok {
					idx, ok = byUsername[strings.ToLower(m.Username)]
				}
				if !ok && m.Email != "" {
					idx, ok = byEmail[strings.ToLower(m.Email)]
				}
				if !ok {
					d.Rejected = append(d.Rejected, Rejection{Kind: "user", Source: src, ExternalID: m.ID, Email: m.Email, Field: "members",
						Rule: "unknown_user", Reason: fmt.Sprintf("organization %s lists member %q, who is in no users file given", ext, m.Username)})
					continue
				}
				d.Users[idx].Memberships = append(d.Users[idx].Memberships, Membership{OrganizationExternalID: ext, Roles: cleanRoles(roles[idx])})
			}
		}
	}
	return d, nil
}

// attributes flattens Keycloak's multi-valued attributes: one value as
// itself, several as a JSON array.
func attributes(a map[string][]string) map[string]string {
	out := map[string]string{}
	for k, vs := range a {
		switch len(vs) {
		case 0:
		case 1:
			out[k] = vs[0]
		default:
			b, _ := json.Marshal(vs)
			out[k] = string(b)
		}
	}
	return out
}
