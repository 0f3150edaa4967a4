package clients_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/clients"
	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testdb"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func openStore(t *testing.T, dsn string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newService(t *testing.T, st *store.Store) *clients.Service {
	t.Helper()
	now := func() time.Time { return t0 }
	ids := id.NewGenerator(now)
	envID := ids.New(id.Environment)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	if err := st.Q().CreateEnvironment(context.Background(), &store.Environment{ID: envID, Type: "development",
		PageTokenKey: base64.StdEncoding.EncodeToString(key), CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	return &clients.Service{Store: st, IDs: ids, Now: now, EnvID: envID}
}

func create(t *testing.T, s *clients.Service, clientID, secret string) (string, string) {
	t.Helper()
	gotID, gotSecret, err := s.Create(context.Background(), s.Store.Q(), "test", clientID, secret)
	if err != nil {
		t.Fatalf("Create(%q, %q): %v", clientID, secret, err)
	}
	return gotID, gotSecret
}

// textValues returns every non-NULL value of every column of table, as text.
func textValues(t *testing.T, db *sql.DB, table string) []string {
	t.Helper()
	rows, err := db.Query(`SELECT * FROM ` + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			switch v := v.(type) {
			case nil:
			case []byte:
				out = append(out, string(v))
			default:
				out = append(out, fmt.Sprint(v))
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// allTables lists every table of the database.
func allTables(t *testing.T, st *store.Store) []string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if st.Dialect() == store.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	rows, err := st.DB().Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// assertNowhere fails if secret appears in any column of any table.
func assertNowhere(t *testing.T, st *store.Store, secret string) {
	t.Helper()
	tables := allTables(t, st)
	seen := map[string]bool{}
	for _, table := range tables {
		seen[table] = true
		for _, v := range textValues(t, st.DB(), table) {
			if strings.Contains(v, secret) {
				t.Errorf("the client secret is stored in clear in %s: %q", table, v)
			}
		}
	}
	if !seen["client_secrets"] || !seen["api_clients"] {
		t.Fatalf("table listing %v misses client_secrets or api_clients", tables)
	}
}

func TestSecretsStoredHashed(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		st := openStore(t, dsn)
		s := newService(t, st)
		clientID, secret := create(t, s, "", "")
		if !id.HasPrefix(clientID, id.Client) {
			t.Errorf("generated client id %q is not an skc_ id", clientID)
		}
		if !strings.HasPrefix(secret, clients.SecretPrefix) || len(secret) < len(clients.SecretPrefix)+43 {
			t.Errorf("generated secret %q is not skcs_ followed by 256 bits", secret)
		}
		_, secret2 := create(t, s, "", "")
		if secret2 == secret {
			t.Error("two generated secrets are equal")
		}
		chosenID, chosen := create(t, s, "skc_bootstrap_client", "skcs_chosen_secret_0123456789abcdefghij")
		if chosenID != "skc_bootstrap_client" {
			t.Errorf("Create with a chosen id returned %q", chosenID)
		}

		for _, sec := range []string{secret, secret2, chosen} {
			want := sha256.Sum256([]byte(sec))
			if clients.Hash(sec) != hex.EncodeToString(want[:]) || clients.Hash(sec) == sec {
				t.Errorf("Hash(%q) = %q, want its SHA-256", sec, clients.Hash(sec))
			}
		}
		rows, err := st.DB().Query(`SELECT client_id, secret_hash, hint FROM client_secrets ORDER BY client_id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		hashes := map[string]string{}
		for rows.Next() {
			var cid, h, hint string
			if err := rows.Scan(&cid, &h, &hint); err != nil {
				t.Fatal(err)
			}
			hashes[cid] = h
			if len(hint) > 4 {
				t.Errorf("hint %q reveals more than 4 characters of the secret", hint)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if len(hashes) != 3 {
			t.Fatalf("client_secrets has rows for %d clients, want 3", len(hashes))
		}
		if h := hashes[clientID]; h == secret || h != clients.Hash(secret) {
			t.Errorf("secret_hash = %q for secret %q, want the hash", h, secret)
		}
		if h := hashes["skc_bootstrap_client"]; h != clients.Hash(chosen) {
			t.Errorf("secret_hash of the chosen secret = %q", h)
		}
		for _, sec := range []string{secret, secret2, chosen} {
			assertNowhere(t, st, sec)
			// Nor without its prefix, nor any 16-character run of it.
			assertNowhere(t, st, strings.TrimPrefix(sec, clients.SecretPrefix))
			for i := 0; i+16 <= len(sec); i += 8 {
				assertNowhere(t, st, sec[i:i+16])
			}
		}
	})
}

// TestServerStoresBootstrapSecretHashed checks a real server's database.
func TestServerStoresBootstrapSecretHashed(t *testing.T) {
	servertest.Each(t, servertest.Options{}, func(t *testing.T, in *servertest.Instance) {
		st := in.Server.Store()
		var h string
		if err := st.DB().QueryRow(`SELECT secret_hash FROM client_secrets WHERE client_id = $1`, servertest.ClientID).Scan(&h); err != nil {
			t.Fatal(err)
		}
		if h != clients.Hash(servertest.ClientSecret) {
			t.Errorf("the bootstrap client's secret_hash = %q, want Hash(secret)", h)
		}
		assertNowhere(t, st, servertest.ClientSecret)
		assertNowhere(t, st, strings.TrimPrefix(servertest.ClientSecret, clients.SecretPrefix))
		// The secret works, which shows the stored hash is the live one.
		if tok := in.Token(t); tok == "" {
			t.Error("no token for the bootstrap client")
		}
	})
}

func TestAuthenticate(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		st := openStore(t, dsn)
		s := newService(t, st)
		ctx := context.Background()
		idA, secA := create(t, s, "", "")
		idB, secB := create(t, s, "", "")
		if err := s.Authenticate(ctx, idA, secA); err != nil {
			t.Fatalf("Authenticate with the right secret: %v", err)
		}
		if err := s.Authenticate(ctx, idB, secB); err != nil {
			t.Fatalf("Authenticate client B: %v", err)
		}

		// The same client in another environment of the same database.
		other := newService(t, st)
		other.IDs = s.IDs
		var storedHash string
		if err := st.DB().QueryRow(`SELECT secret_hash FROM client_secrets WHERE client_id = $1`, idA).Scan(&storedHash); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name             string
			svc              *clients.Service
			clientID, secret string
		}{
			{"wrong secret", s, idA, secA[:len(secA)-1] + "x"},
			{"empty secret", s, idA, ""},
			{"secret with a suffix", s, idA, secA + "x"},
			{"secret prefix", s, idA, secA[:len(secA)-1]},
			{"secret in upper case", s, idA, strings.ToUpper(secA)},
			{"another client's secret", s, idA, secB},
			{"the stored hash as the secret", s, idA, storedHash},
			{"unknown client", s, "skc_no_such_client", secA},
			{"unknown client, empty secret", s, "skc_no_such_client", ""},
			{"empty client id", s, "", secA},
			{"empty everything", s, "", ""},
			{"client id in upper case", s, strings.ToUpper(idA), secA},
			{"client id with a space", s, idA + " ", secA},
			{"SQL in the client id", s, "' OR '1'='1", "' OR '1'='1"},
			{"the unknown-client decoy string", s, "skc_no_such_client", "no such client: compare anyway so timing says nothing"},
			{"right credentials, another environment", other, idA, secA},
		}
		for _, c := range cases {
			err := c.svc.Authenticate(ctx, c.clientID, c.secret)
			// The very same error value, so callers cannot tell the reasons apart.
			if err != clients.ErrInvalidClient {
				t.Errorf("%s: Authenticate = %v, want exactly ErrInvalidClient", c.name, err)
			}
		}
		if !errors.Is(s.Authenticate(ctx, "skc_no_such_client", "x"), clients.ErrInvalidClient) {
			t.Error("unknown client is not ErrInvalidClient")
		}
	})
}

func TestCreateRejectsBadCredentials(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		st := openStore(t, dsn)
		s := newService(t, st)
		ctx := context.Background()
		good := "skcs_" + strings.Repeat("a", 27) // exactly 32 characters
		bad := []struct{ name, id, secret string }{
			{"id without skc_", "client_1234567", good},
			{"id with another prefix", "usr_1234567890", good},
			{"id skc without underscore", "skc1234567890", good},
			{"id too short", "skc_", good},
			{"id SKC_ upper case", "SKC_1234567890", good},
			{"secret of 31 characters", "skc_valid_id_1", good[:31]},
			{"secret of 1 character", "skc_valid_id_2", "x"},
		}
		for _, c := range bad {
			if gotID, gotSecret, err := s.Create(ctx, st.Q(), "bad", c.id, c.secret); err == nil {
				t.Errorf("%s: Create(%q, %q) = %q, %q, nil; want an error", c.name, c.id, c.secret, gotID, gotSecret)
			}
		}
		// Generated secrets are checked with the id too.
		if _, _, err := s.Create(ctx, st.Q(), "bad", "nope_1234567", ""); err == nil {
			t.Error("Create with a bad id and a generated secret succeeded")
		}
		if n, err := st.Q().CountAPIClients(ctx, s.EnvID); err != nil || n != 0 {
			t.Fatalf("refused Creates left %d clients (%v), want 0", n, err)
		}
		var secrets int
		if err := st.DB().QueryRow(`SELECT COUNT(*) FROM client_secrets`).Scan(&secrets); err != nil || secrets != 0 {
			t.Fatalf("refused Creates left %d secrets (%v)", secrets, err)
		}

		gotID, gotSecret := create(t, s, "skc_exactly32", good)
		if gotID != "skc_exactly32" || gotSecret != good {
			t.Errorf("Create with a 32-character secret returned %q, %q", gotID, gotSecret)
		}
		if err := s.Authenticate(ctx, gotID, good); err != nil {
			t.Errorf("the chosen credentials do not authenticate: %v", err)
		}
		if _, _, err := s.Create(ctx, st.Q(), "dup", "skc_exactly32", "skcs_another_secret_0123456789abcdef"); err == nil {
			t.Error("Create with a taken client id succeeded")
		}
		if err := s.Authenticate(ctx, gotID, "skcs_another_secret_0123456789abcdef"); err != clients.ErrInvalidClient {
			t.Errorf("the refused duplicate's secret authenticates: %v", err)
		}
	})
}
