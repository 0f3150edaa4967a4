package config

import (
	"strings"
	"testing"
)

func TestEnvironmentType(t *testing.T) {
	for _, tc := range []struct {
		dev       bool
		envType   string
		publicURL string
		want      string
		trial     bool
		err       string
	}{
		{dev: false, want: "production", trial: true}, // the default http://127.0.0.1:8080 is a local trial
		{dev: true, want: "development"},
		{dev: true, envType: "development", want: "development"},
		{dev: false, envType: "development", want: "development"},
		{dev: false, envType: "production", publicURL: "https://auth.example.com", want: "production"},
		{dev: false, publicURL: "http://localhost:9000", want: "production", trial: true},
		{dev: false, publicURL: "http://[::1]:9000", want: "production", trial: true},
		{dev: false, publicURL: "http://app.localhost:9000", want: "production", trial: true},
		{dev: true, publicURL: "http://auth.example.com", want: "development"},
		{dev: false, publicURL: "http://auth.example.com", err: "production environment needs an https URL"},
		{dev: false, publicURL: "http://192.168.1.10:8080", err: "--public-url"},
		{dev: true, envType: "production", err: "contradicts --dev"},
		{dev: false, envType: "Production", err: `--environment-type "Production": must be development or production`},
	} {
		c := Defaults()
		c.Dev, c.EnvType, c.PublicURL = tc.dev, tc.envType, tc.publicURL
		err := c.Resolve()
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%+v: Resolve = %v, want an error saying %q", tc, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%+v: Resolve = %v", tc, err)
			continue
		}
		if got := c.EnvironmentType(); got != tc.want {
			t.Errorf("%+v: EnvironmentType = %q, want %q", tc, got, tc.want)
		}
		if got := c.LocalTrial(); got != tc.trial {
			t.Errorf("%+v: LocalTrial = %v, want %v", tc, got, tc.trial)
		}
	}
}
