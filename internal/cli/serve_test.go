package cli_test

import (
	"testing"
)

// TestEnvironmentTypeOptions: --environment-type and its variable are
// checked before anything starts, and contradicting --dev is an error.
func TestEnvironmentTypeOptions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   map[string]string
		args  []string
		parts []string
	}{
		{"production with --dev", nil, []string{"serve", "--dev", "--environment-type", "production"},
			[]string{"--environment-type production contradicts --dev"}},
		{"production variable with the --dev variable", map[string]string{"GATEHOUSE_DEV": "1", "GATEHOUSE_ENVIRONMENT_TYPE": "production"},
			[]string{"serve"}, []string{"contradicts --dev"}},
		{"unknown type", nil, []string{"serve", "--environment-type", "staging"},
			[]string{`--environment-type "staging"`, "development or production"}},
		{"unknown type in the variable", map[string]string{"GATEHOUSE_ENVIRONMENT_TYPE": "prod"}, []string{"serve"},
			[]string{`"prod"`, "development or production"}},
		{"production on a public http URL", nil, []string{"serve", "--public-url", "http://auth.example.com"},
			[]string{"--public-url", "production environment needs an https URL"}},
		{"explicit production on a public http URL", nil, []string{"serve", "--environment-type", "production", "--public-url", "http://10.0.0.5:8080"},
			[]string{"--public-url", "https"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := append([]string{}, tc.args...)
			args = append(args, "--data-dir", t.TempDir(), "--addr", "127.0.0.1:1")
			wantFail(t, args, tc.parts...)
		})
	}
}
