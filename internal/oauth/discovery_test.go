package oauth_test

import (
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/internal/servertest"
)

// TestDiscoveryListsUserFlows: discovery lists exactly the endpoints,
// grants and methods that exist (C01), on top of checkDiscovery's rules.
func TestDiscoveryListsUserFlows(t *testing.T) {
	in := servertest.Start(t, servertest.Options{})
	d := checkDiscovery(t, in.URL, in.URL)
	for k, want := range map[string]string{
		"authorization_endpoint": "/oauth/authorize", "token_endpoint": "/oauth/token", "userinfo_endpoint": "/userinfo",
		"end_session_endpoint": "/oidc/logout", "revocation_endpoint": "/oauth/revoke", "introspection_endpoint": "/oauth/introspect",
		"jwks_uri": "/keys",
	} {
		if d[k] != in.URL+want {
			t.Errorf("%s = %v, want %s", k, d[k], in.URL+want)
		}
	}
	list := func(k string) []string { return strList(d[k]) }
	if got := list("grant_types_supported"); !slices.Equal(got, []string{"authorization_code", "refresh_token", "client_credentials"}) {
		t.Errorf("grant_types_supported = %v", got)
	}
	if got := list("response_types_supported"); !slices.Equal(got, []string{"code"}) {
		t.Errorf("response_types_supported = %v", got)
	}
	if got := list("scopes_supported"); !slices.Equal(got, []string{"openid", "profile", "email", "offline_access"}) {
		t.Errorf("scopes_supported = %v", got)
	}
	for _, c := range []string{"sub", "oid", "sid", "email", "email_verified", "name", "given_name", "family_name", "amr", "auth_time"} {
		if !slices.Contains(list("claims_supported"), c) {
			t.Errorf("claims_supported lacks %s: %v", c, list("claims_supported"))
		}
	}
	if d["backchannel_logout_supported"] != true || d["request_parameter_supported"] != false || d["request_uri_parameter_supported"] != false {
		t.Errorf("logout / request object metadata: %v", d)
	}
	if got := list("token_endpoint_auth_methods_supported"); !slices.Equal(got, []string{"client_secret_basic", "client_secret_post", "none"}) {
		t.Errorf("token_endpoint_auth_methods_supported = %v", got)
	}
}
