package cli_test

import "testing"

// TestLegacyIssuerOptions: the token-exchange options and their variables
// are checked before anything starts.
func TestLegacyIssuerOptions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   map[string]string
		args  []string
		parts []string
	}{
		{"issuer without audience or key", nil, []string{"serve", "--legacy-issuer", "https://old.example/"},
			[]string{"--legacy-audience is required", "exactly one of --legacy-jwks-url and --legacy-hs-secret"}},
		{"short secret from the variable", map[string]string{"GATEHOUSE_LEGACY_ISSUER": "old", "GATEHOUSE_LEGACY_AUDIENCE": "app",
			"GATEHOUSE_LEGACY_HS_SECRET": "short"}, []string{"serve"}, []string{"--legacy-hs-secret", "32 characters"}},
		{"unknown subject claim", nil, []string{"serve", "--legacy-issuer", "old", "--legacy-audience", "app",
			"--legacy-jwks-url", "https://old.example/jwks", "--legacy-subject-claim", "username"}, []string{`"username"`, "external_id or email"}},
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
