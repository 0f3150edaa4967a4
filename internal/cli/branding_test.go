package cli_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

func serverBranding(t *testing.T, in *servertest.Instance) map[string]any {
	t.Helper()
	status, body := in.Do(t, in.Token(t), "GET", "/api/v1/settings/branding", "")
	if status != 200 {
		t.Fatalf("GET branding: %d %v", status, body)
	}
	return body
}

func TestBrandingCommands(t *testing.T) {
	t.Parallel()
	in := servertest.Start(t, servertest.Options{})
	out := mustRun(t, cmd(in, "branding", "get")...)
	if strings.Count(out, "(default)") != 8 || !strings.Contains(out, "logo_url          (default)\n") {
		t.Errorf("get on a new environment:\n%s", out)
	}
	out = mustRun(t, cmd(in, "branding", "set", "--logo-url", "https://cdn.example.com/logo.png", "--primary-color", "#1a73e8",
		"--background-color", "#fff", "--company-name", "Acme, Inc.", "--terms-url", "https://acme.example/terms",
		"--privacy-url", "https://acme.example/privacy", "--favicon-url", "http://localhost:3000/favicon.ico",
		"--login-heading", "Sign in to Acme")...)
	if !strings.Contains(out, "company_name      Acme, Inc.\n") || !strings.Contains(out, "primary_color     #1a73e8\n") {
		t.Errorf("set printed:\n%s", out)
	}
	want := map[string]any{"logo_url": "https://cdn.example.com/logo.png", "favicon_url": "http://localhost:3000/favicon.ico",
		"primary_color": "#1a73e8", "background_color": "#fff", "company_name": "Acme, Inc.", "terms_url": "https://acme.example/terms",
		"privacy_url": "https://acme.example/privacy", "login_heading": "Sign in to Acme"}
	if got := serverBranding(t, in); !reflect.DeepEqual(got, want) {
		t.Fatalf("the server has %v, want %v", got, want)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, cmd(in, "branding", "get", "--json")...)), &got); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("get --json = %v (%v)", got, err)
	}

	// Refusals: one line naming the field and the rule; nothing changes.
	wantFail(t, cmd(in, "branding", "set", "--primary-color", "blue"), "primary_color", "hex_color")
	wantFail(t, cmd(in, "branding", "set", "--company-name", "Acme", "--logo-url", "ftp://cdn.example.com/l.png"), "logo_url", "rule url")
	wantFail(t, cmd(in, "branding", "set", "--login-heading", strings.Repeat("x", 121)), "login_heading", "max_length")
	wantFail(t, cmd(in, "branding", "set"), "nothing to set", "--logo-url")
	if got := serverBranding(t, in); !reflect.DeepEqual(got, want) {
		t.Fatalf("refused commands changed the branding: %v", got)
	}

	// Only the flags given change; an empty value clears a field.
	mustRun(t, cmd(in, "branding", "set", "--company-name", "Acme Corp", "--favicon-url", "")...)
	want["company_name"], want["favicon_url"] = "Acme Corp", ""
	if got := serverBranding(t, in); !reflect.DeepEqual(got, want) {
		t.Errorf("after a partial set the server has %v, want %v", got, want)
	}
}

func TestBrandingCommandsInProduction(t *testing.T) {
	t.Parallel()
	in := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) { c.Dev = false }})
	wantFail(t, cmd(in, "branding", "set", "--logo-url", "http://cdn.example.com/logo.png"), "logo_url", "must use https", "rule https")
	mustRun(t, cmd(in, "branding", "set", "--logo-url", "https://cdn.example.com/logo.png")...)
}
