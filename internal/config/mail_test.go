package config_test

import (
	"bytes"
	"net"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/cli"
	"github.com/gatehouse/gatehouse/internal/config"
)

// TestMailSettings: --smtp-url takes smtp:// and smtps:// URLs with a
// host; --mail-from must be an address once mail is delivered. Each bad
// value is reported with the flag's name.
func TestMailSettings(t *testing.T) {
	for _, tc := range []struct {
		smtp, from string
		err        string
	}{
		{smtp: "", from: "Gatehouse <no-reply@localhost>"},
		{smtp: "", from: "not an address"}, // unused without SMTP
		{smtp: "smtp://mail.example.com:587", from: "Gatehouse <auth@example.com>"},
		{smtp: "smtps://user:p%40ss@mail.example.com:465", from: "auth@example.com"},
		{smtp: "smtp://mail.example.com", from: "auth@example.com"},
		{smtp: "http://mail.example.com", from: "auth@example.com", err: "--smtp-url"},
		{smtp: "smtp://", from: "auth@example.com", err: "--smtp-url"},
		{smtp: "smtp://mail.example.com:port", from: "auth@example.com", err: "--smtp-url"},
		{smtp: "mail.example.com:587", from: "auth@example.com", err: "--smtp-url"},
		{smtp: "smtp://mail.example.com:587", from: "Gatehouse", err: `--mail-from "Gatehouse"`},
		{smtp: "smtp://mail.example.com:587", from: "", err: "--mail-from"},
	} {
		c := config.Defaults()
		c.SMTPURL, c.MailFrom = tc.smtp, tc.from
		err := c.Resolve()
		if tc.err == "" && err != nil {
			t.Errorf("%+v: %v", tc, err)
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%+v: Resolve = %v, want an error naming %s", tc, err, tc.err)
		}
	}
}

// TestMailFlagsAndEnv runs `gatehouse serve` with the mail settings as
// flags and as GATEHOUSE_SMTP_URL / GATEHOUSE_MAIL_FROM. The listen
// address is taken, so a configuration that resolves fails only at
// listening: a bad value reaching the configuration is reported by its
// flag's name, a good one gets as far as listening, and a flag wins over
// its variable.
func TestMailFlagsAndEnv(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"flags", nil, []string{"--smtp-url", "smtp://u:p@mail.example.com:587", "--mail-from", "Gatehouse <auth@example.com>"}, "cannot listen"},
		{"variables", map[string]string{"GATEHOUSE_SMTP_URL": "smtps://mail.example.com:465", "GATEHOUSE_MAIL_FROM": "auth@example.com"}, nil, "cannot listen"},
		{"bad flag", nil, []string{"--smtp-url", "ftp://mail.example.com"}, "--smtp-url"},
		{"bad variable", map[string]string{"GATEHOUSE_SMTP_URL": "ftp://mail.example.com"}, nil, "--smtp-url"},
		{"bad sender variable", map[string]string{"GATEHOUSE_SMTP_URL": "smtp://mail.example.com", "GATEHOUSE_MAIL_FROM": "nobody"}, nil, `--mail-from "nobody"`},
		{"flag over variable", map[string]string{"GATEHOUSE_SMTP_URL": "ftp://mail.example.com"}, []string{"--smtp-url", "smtp://mail.example.com"}, "cannot listen"},
		{"sender flag over variable", map[string]string{"GATEHOUSE_SMTP_URL": "smtp://mail.example.com", "GATEHOUSE_MAIL_FROM": "nobody"},
			[]string{"--mail-from", "auth@example.com"}, "cannot listen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := append([]string{"serve", "--data-dir", t.TempDir(), "--addr", busy.Addr().String()}, tc.args...)
			var stdout, stderr bytes.Buffer
			if code := cli.Main(args, &stdout, &stderr); code == 0 {
				t.Fatalf("serve succeeded on a taken address: %s", stdout.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr %q does not say %q", stderr.String(), tc.want)
			}
			if tc.want == "cannot listen" && strings.Contains(stderr.String(), "invalid configuration") {
				t.Errorf("a good mail configuration was refused: %s", stderr.String())
			}
		})
	}
}
