package cli_test

// The settings commands run in-process through cli.Main against a real
// server on loopback, as a user would run them against theirs.

import (
	"bytes"
	"encoding/json"
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/cli"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// run runs the gatehouse command line and returns its exit code and output.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli.Main(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// against returns the connection flags for in.
func against(in *servertest.Instance) []string {
	return []string{"--server", in.URL, "--client-id", servertest.ClientID, "--client-secret", servertest.ClientSecret}
}

// mustRun runs a command that must succeed and returns its stdout.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := run(t, args...)
	if code != 0 || errOut != "" {
		t.Fatalf("gatehouse %s: exit %d, stderr %q", strings.Join(args, " "), code, errOut)
	}
	return out
}

// wantFail runs a command that must fail with one line on stderr holding
// each of parts.
func wantFail(t *testing.T, args []string, parts ...string) {
	t.Helper()
	code, out, errOut := run(t, args...)
	if code == 0 {
		t.Fatalf("gatehouse %s succeeded (%q), want a failure", strings.Join(args, " "), out)
	}
	if strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "gatehouse: ") {
		t.Errorf("gatehouse %s: stderr is not one line starting with \"gatehouse: \": %q", strings.Join(args, " "), errOut)
	}
	for _, p := range parts {
		if !strings.Contains(errOut, p) {
			t.Errorf("gatehouse %s: stderr %q does not say %q", strings.Join(args, " "), errOut, p)
		}
	}
}

func cmd(in *servertest.Instance, args ...string) []string { return append(args, against(in)...) }

// serverRedirects reads the redirects over REST, to check the commands
// against the server itself.
func serverRedirects(t *testing.T, in *servertest.Instance) map[string]any {
	t.Helper()
	status, body := in.Do(t, in.Token(t), "GET", "/api/v1/settings/redirects", "")
	if status != 200 {
		t.Fatalf("GET redirects: %d %v", status, body)
	}
	return body
}

func TestRedirectsCommands(t *testing.T) {
	t.Parallel()
	in := servertest.Start(t, servertest.Options{})
	if out := mustRun(t, cmd(in, "redirects", "list")...); !strings.Contains(out, "No redirect URLs are registered.") {
		t.Errorf("list on a new environment: %q", out)
	}
	for _, c := range []struct {
		args []string
		say  string
	}{
		{[]string{"redirects", "add", "https://app.example.com/callback"}, "Added callback URL https://app.example.com/callback"},
		{[]string{"redirects", "add", "--kind", "callback", "http://localhost:3000/callback"}, "Added callback URL http://localhost:3000/callback"},
		{[]string{"redirects", "add", "https://app.example.com/callback"}, "already a callback URL; nothing to do"},
		{[]string{"redirects", "add", "--kind", "post-logout", "https://app.example.com/"}, "Added post-logout URL https://app.example.com/"},
		{[]string{"redirects", "add", "--kind", "initiate-login", "https://app.example.com/start"}, "Set the initiate-login URL to https://app.example.com/start"},
		{[]string{"redirects", "add", "--kind", "initiate-login", "https://app.example.com/login"}, "(it was https://app.example.com/start)"},
		{[]string{"redirects", "add", "--kind", "backchannel-logout", "https://app.example.com/bc"}, "Set the backchannel-logout URL"},
	} {
		if out := mustRun(t, cmd(in, c.args...)...); !strings.Contains(out, c.say) {
			t.Errorf("gatehouse %s: %q, want it to say %q", strings.Join(c.args, " "), out, c.say)
		}
	}
	want := map[string]any{
		"callback_urls":      []any{"https://app.example.com/callback", "http://localhost:3000/callback"},
		"initiate_login_url": "https://app.example.com/login", "post_logout_urls": []any{"https://app.example.com/"},
		"backchannel_logout_url": "https://app.example.com/bc",
	}
	if got := serverRedirects(t, in); !reflect.DeepEqual(got, want) {
		t.Fatalf("the server has %v, want %v", got, want)
	}
	out := mustRun(t, cmd(in, "redirects", "list")...)
	for _, line := range []string{
		"callback            https://app.example.com/callback", "callback            http://localhost:3000/callback",
		"initiate-login      https://app.example.com/login", "post-logout         https://app.example.com/",
		"backchannel-logout  https://app.example.com/bc",
	} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("list does not show %q:\n%s", line, out)
		}
	}
	var listed map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, cmd(in, "redirects", "list", "--json")...)), &listed); err != nil || !reflect.DeepEqual(listed, want) {
		t.Errorf("list --json = %v (%v), want %v", listed, err, want)
	}

	// The server's refusal, in one line naming the URL and the rule.
	wantFail(t, cmd(in, "redirects", "add", "https://*.com/callback"), "callback_urls[2] (https://*.com/callback)", "wildcard_root")
	wantFail(t, cmd(in, "redirects", "add", "https://app.example.com/cb?next=1"), "query")
	wantFail(t, cmd(in, "redirects", "add", "--kind", "initiate-login", "https://*.example.com/login"), "initiate_login_url", "wildcard_kind")
	wantFail(t, cmd(in, "redirects", "remove", "https://other.example.com/callback"), "is not a registered callback URL")
	wantFail(t, cmd(in, "redirects", "remove", "--kind", "initiate-login", "https://other.example.com/"), "is not the initiate-login URL")
	wantFail(t, cmd(in, "redirects", "add", "--kind", "logout", "https://app.example.com/"), "--kind", "callback, initiate-login, post-logout or backchannel-logout")
	wantFail(t, cmd(in, "redirects", "add"), "accepts 1 arg")
	if got := serverRedirects(t, in); !reflect.DeepEqual(got, want) {
		t.Fatalf("refused commands changed the server's redirects: %v", got)
	}

	for _, c := range []struct {
		args []string
		say  string
	}{
		{[]string{"redirects", "remove", "http://localhost:3000/callback"}, "Removed callback URL http://localhost:3000/callback"},
		{[]string{"redirects", "remove", "--kind", "initiate-login", "https://app.example.com/login"}, "Removed the initiate-login URL"},
	} {
		if out := mustRun(t, cmd(in, c.args...)...); !strings.Contains(out, c.say) {
			t.Errorf("gatehouse %s: %q, want it to say %q", strings.Join(c.args, " "), out, c.say)
		}
	}
	want["callback_urls"], want["initiate_login_url"] = []any{"https://app.example.com/callback"}, ""
	if got := serverRedirects(t, in); !reflect.DeepEqual(got, want) {
		t.Errorf("after the removals the server has %v, want %v", got, want)
	}
}

func TestRedirectsCommandsInProduction(t *testing.T) {
	t.Parallel()
	in := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) { c.Dev = false }})
	wantFail(t, cmd(in, "redirects", "add", "http://localhost:3000/callback"), "callback_urls[0] (http://localhost:3000/callback)", "scheme")
	wantFail(t, cmd(in, "redirects", "add", "https://localhost:3000/callback"), "localhost")
	wantFail(t, cmd(in, "redirects", "add", "https://*.example.com/callback"), "wildcard")
	mustRun(t, cmd(in, "redirects", "add", "com.example.app://callback")...)
	if got := serverRedirects(t, in); !reflect.DeepEqual(got["callback_urls"], []any{"com.example.app://callback"}) {
		t.Errorf("the server has %v", got)
	}
}

// TestConnectionSettings: flags, their GATEHOUSE_* variables, and the
// errors when the server cannot be used.
func TestConnectionSettings(t *testing.T) {
	in := servertest.Start(t, servertest.Options{})
	t.Setenv("GATEHOUSE_SERVER", in.URL)
	t.Setenv("GATEHOUSE_CLIENT_ID", servertest.ClientID)
	t.Setenv("GATEHOUSE_CLIENT_SECRET", servertest.ClientSecret)
	mustRun(t, "redirects", "add", "https://env.example.com/cb")
	if out := mustRun(t, "redirects", "list"); !strings.Contains(out, "https://env.example.com/cb") {
		t.Errorf("list with the variables: %q", out)
	}
	// A flag beats its variable.
	wantFail(t, []string{"redirects", "list", "--client-secret", "skcs_wrong_secret_0123456789abcdefghij"}, "refused the client credentials", "invalid_client")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	wantFail(t, []string{"branding", "get", "--server", dead}, "cannot reach the server at "+dead)
	wantFail(t, []string{"branding", "get", "--server", "ftp://x"}, "--server")
	t.Setenv("GATEHOUSE_CLIENT_SECRET", "")
	wantFail(t, []string{"redirects", "list"}, "--client-id and --client-secret")
}
