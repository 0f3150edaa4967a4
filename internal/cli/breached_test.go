package cli_test

import "testing"

// TestBreachedPasswordsOption: --breached-passwords-url and its variable
// are checked before anything starts.
func TestBreachedPasswordsOption(t *testing.T) {
	t.Run("flag", func(t *testing.T) {
		wantFail(t, []string{"serve", "--breached-passwords-url", "http://api.pwnedpasswords.com",
			"--data-dir", t.TempDir(), "--addr", "127.0.0.1:1"}, "--breached-passwords-url", "https")
	})
	t.Run("variable", func(t *testing.T) {
		t.Setenv("GATEHOUSE_BREACHED_PASSWORDS_URL", "https://api.pwnedpasswords.com/range?x=1")
		wantFail(t, []string{"serve", "--data-dir", t.TempDir(), "--addr", "127.0.0.1:1"}, `"https://api.pwnedpasswords.com/range?x=1"`)
	})
}
