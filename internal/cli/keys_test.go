package cli_test

// gatehouse keys list and rotate, in-process through cli.Main against real
// servers on loopback (SQLite and PostgreSQL) with a fake clock.

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/servertest"
)

type keysClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *keysClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *keysClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// jwksKids fetches /keys and returns its kids in order.
func jwksKids(t *testing.T, in *servertest.Instance) []string {
	t.Helper()
	resp, err := http.Get(in.URL + "/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.Kid)
	}
	return out
}

// keyLine matches one line of the keys table: id and state.
var keyLine = regexp.MustCompile(`(?m)^(key_\S+)\s+(next|active|retiring|removed)\s`)

func keyStates(out string) map[string]string {
	m := map[string]string{}
	for _, g := range keyLine.FindAllStringSubmatch(out, -1) {
		m[g[1]] = g[2]
	}
	return m
}

func TestKeysCommands(t *testing.T) {
	clk := &keysClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	servertest.Each(t, servertest.Options{Now: clk.Now}, func(t *testing.T, in *servertest.Instance) {
		out := mustRun(t, cmd(in, "keys", "list")...)
		first := keyStates(out)
		if len(first) != 1 || !strings.HasPrefix(out, "KEY ID") {
			t.Fatalf("keys list on a new server: %q", out)
		}
		var oldKid string
		for k, s := range first {
			if oldKid = k; s != "active" {
				t.Fatalf("the first key is %s, want active", s)
			}
		}

		wantFail(t, cmd(in, "keys", "rotate", "--delay", "1m"), "publication_delay_seconds", "at least 300")
		wantFail(t, cmd(in, "keys", "rotate", "--remove-previous"), "--remove-previous needs --now")
		wantFail(t, cmd(in, "keys", "rotate", "--now", "--delay", "10m"), "cannot be used together")

		out = mustRun(t, cmd(in, "keys", "rotate")...)
		m := regexp.MustCompile(`New key (key_\S+) is published and signs from (\S+)\.`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("keys rotate: %q", out)
		}
		newKid := m[1]
		if at, err := time.Parse(time.RFC3339, m[2]); err != nil || !at.Equal(clk.Now().Add(10*time.Minute)) {
			t.Errorf("the new key signs from %s, want 10 minutes from now (%s)", m[2], clk.Now().Add(10*time.Minute))
		}
		if s := keyStates(out); s[newKid] != "next" || s[oldKid] != "active" {
			t.Errorf("after rotate: %v", s)
		}
		if kids := jwksKids(t, in); len(kids) != 2 || kids[0] != oldKid || kids[1] != newKid {
			t.Errorf("/keys after rotate = %v, want %s then %s", kids, oldKid, newKid)
		}
		wantFail(t, cmd(in, "keys", "rotate", "--now"), "already waiting to become active")

		clk.Add(10 * time.Minute)
		js := mustRun(t, cmd(in, "keys", "list", "--json")...)
		var keys []map[string]any
		if err := json.Unmarshal([]byte(js), &keys); err != nil || len(keys) != 2 {
			t.Fatalf("keys list --json: %q %v", js, err)
		}
		if keys[0]["id"] != newKid || keys[0]["state"] != "active" || keys[1]["state"] != "retiring" || keys[1]["remove_time"] == nil {
			t.Errorf("keys list --json after activation: %v", keys)
		}

		out = mustRun(t, cmd(in, "keys", "rotate", "--now", "--remove-previous")...)
		m = regexp.MustCompile(`New key (key_\S+) signs now\.`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("keys rotate --now --remove-previous: %q", out)
		}
		if s := keyStates(out); len(s) != 3 || s[m[1]] != "active" || s[newKid] != "removed" || s[oldKid] != "removed" {
			t.Errorf("after an emergency rotation: %v", s)
		}
		if kids := jwksKids(t, in); len(kids) != 1 || kids[0] != m[1] {
			t.Errorf("/keys after an emergency rotation = %v, want only %s", kids, m[1])
		}
	})
}
