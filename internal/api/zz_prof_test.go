package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

func TestZZProfImportPG(t *testing.T) {
	in := servertest.Start(t, servertest.Options{Postgres: true})
	acc := in.Server.Accounts
	var orgs []accounts.ImportOrg
	for o := range 100 {
		orgs = append(orgs, accounts.ImportOrg{ExternalID: fmt.Sprint("org_", o), DisplayName: fmt.Sprint("Org ", o)})
	}
	if _, err := acc.ImportBatch(context.Background(), accounts.ImportBatch{Organizations: orgs}); err != nil {
		t.Fatal(err)
	}
	mk := func(b int) []accounts.ImportUser {
		var users []accounts.ImportUser
		for i := range 1000 {
			n := b*1000 + i
			users = append(users, accounts.ImportUser{Email: fmt.Sprintf("u%d@example.com", n), ExternalID: fmt.Sprint("u", n),
				FirstName: "F", PasswordHash: "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a",
				Memberships: []accounts.ImportMembership{{OrgExternalID: fmt.Sprint("org_", n%100), Roles: []string{"member"}}}})
		}
		return users
	}
	for b := range 5 {
		t0 := time.Now()
		if _, err := acc.ImportBatch(context.Background(), accounts.ImportBatch{Users: mk(b)}); err != nil {
			t.Fatal(err)
		}
		t.Logf("create batch %d: %v", b, time.Since(t0))
	}
	for b := range 2 {
		t0 := time.Now()
		if _, err := acc.ImportBatch(context.Background(), accounts.ImportBatch{Users: mk(b)}); err != nil {
			t.Fatal(err)
		}
		t.Logf("unchanged batch %d: %v", b, time.Since(t0))
	}
	db := in.Server.Store().DB()
	var ids []string
	for i := range 100 {
		ids = append(ids, fmt.Sprintf("'u%d'", i))
	}
	for _, q := range []string{
		`EXPLAIN ANALYZE SELECT id FROM users WHERE env_id = '` + acc.EnvID + `' AND external_id IN (` + strings.Join(ids, ",") + `)`,
		`EXPLAIN ANALYZE SELECT m.org_id FROM memberships m JOIN organizations o ON o.id = m.org_id AND o.env_id = m.env_id WHERE m.env_id = '` + acc.EnvID + `' AND m.user_id IN (SELECT id FROM users LIMIT 100)`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			rows.Scan(&s)
			t.Log(s)
		}
		rows.Close()
	}
}
