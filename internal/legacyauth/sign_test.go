package legacyauth_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/legacyauth"
)

// The example of the Standard Webhooks specification (and of Svix's
// libraries): Sign must produce what every Standard Webhooks verifier
// accepts.
func TestSignMatchesStandardWebhooks(t *testing.T) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	got := legacyauth.Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}
